"""`GET /api/v1/stats`: thin HTTP over `StatsService` (seed 执行统计)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from workflow_engine.api.rest.deps import ServicesDep
from workflow_engine.services.stats import DEFAULT_BUCKET, DEFAULT_WINDOW, StatsReport

router = APIRouter(prefix="/api/v1/stats", tags=["stats"])


@router.get("", response_model=StatsReport)
async def get_stats(
    services: ServicesDep,
    definition_key: str | None = None,
    tenant_id: str | None = None,
    window: Annotated[
        str, Query(description="ISO 8601 duration of the range when `from` is absent.")
    ] = DEFAULT_WINDOW,
    bucket: Annotated[
        str, Query(description="ISO 8601 width of one throughput bucket (whole seconds).")
    ] = DEFAULT_BUCKET,
    start: Annotated[
        datetime | None, Query(alias="from", description="Start of the range (inclusive).")
    ] = None,
    end: Annotated[
        datetime | None, Query(alias="to", description="End of the range (exclusive).")
    ] = None,
) -> StatsReport:
    """Execution statistics per definition and overall.

    Counts by status, throughput per bucket, durations (avg, p50/p95/p99), failure and
    incident rates, open tasks and their ages (see `workflow_engine.services.stats`).
    """
    return await services.stats.report(
        window=window,
        bucket=bucket,
        start=start,
        end=end,
        definition_key=definition_key,
        tenant_id=tenant_id,
    )
