"""StatsService under principals: `stats:read`, the caller's tenant only (admins: any)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.services.authz_world import (
    ACME,
    ADMIN,
    ALICE,
    GLOBEX,
    GLOBEX_OPERATOR,
    MODELER,
    OPERATOR,
    World,
    build_world,
)
from workflow_engine.security import acting_as
from workflow_engine.services.container import Services
from workflow_engine.services.errors import PermissionDeniedError
from workflow_engine.services.stats import StatsReport


async def _report(services: Services, tenant_id: str | None = None) -> StatsReport:
    # A range holding every start and end the world writes (it writes them at "now").
    now = datetime.now(UTC)
    return await services.stats.report(
        start=now - timedelta(days=360),
        end=now + timedelta(days=360),
        bucket="P30D",
        tenant_id=tenant_id,
    )


@pytest.fixture
async def world(services: Services) -> World:
    return await build_world(services)


def _totals(report: StatsReport) -> tuple[int, int, int]:
    counts = report.overall.counts
    return counts["running"], counts["completed"], report.overall.started


@pytest.mark.temporal_clock
async def test_reports_cover_the_callers_tenant_only(services: Services, world: World) -> None:
    with acting_as(OPERATOR):
        report = await _report(services)
        assert report.tenant_id == ACME
        assert _totals(report) == (2, 1, 3)
        named = await _report(services, ACME)
        assert _totals(named) == (2, 1, 3)
        with pytest.raises(PermissionDeniedError, match="tenant 'globex' is not yours"):
            await _report(services, GLOBEX)
    with acting_as(GLOBEX_OPERATOR):
        report = await _report(services)
        assert report.tenant_id == GLOBEX
        assert _totals(report) == (1, 0, 1)
        assert [d.definition_key for d in report.definitions] == ["orders"]
    with acting_as(ADMIN):
        every = await _report(services)
        assert every.tenant_id is None
        assert _totals(every) == (3, 1, 4)
        globex = await _report(services, GLOBEX)
        assert _totals(globex) == (1, 0, 1)


async def test_stats_need_stats_read(services: Services, world: World) -> None:
    for who in (ALICE, MODELER):
        with acting_as(who), pytest.raises(PermissionDeniedError) as error:
            await _report(services)
        assert error.value.permission == "stats:read"
