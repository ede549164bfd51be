"""Retention of `request_outcome` and `audit_log` (issue 15, finding 11): old rows go, young
rows stay, on both databases, with an injected clock (no dependence on today's date)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from workflow_engine.config import Settings
from workflow_engine.services.record_retention import (
    RecordRetention,
    prune_periodically,
)
from workflow_engine.store.database import Database
from workflow_engine.store.tables import AuditEntry, RequestOutcome

NOW = datetime(2031, 5, 17, 12, 0, tzinfo=UTC)


async def _seed(database: Database, ages_days: dict[str, float]) -> None:
    async with database.session() as session:
        for name, age in ages_days.items():
            moment = NOW - timedelta(days=age)
            session.add(
                RequestOutcome(
                    key=name.ljust(64, "0"),
                    kind="signal",
                    request_id=name,
                    fingerprint="f" * 64,
                    outcome={},
                    completed=True,
                    created_at=moment,
                )
            )
            session.add(
                AuditEntry(
                    occurred_at=moment,
                    action="instance.pause",
                    resource_type="instance",
                    resource_id=name,
                    actor_roles=[],
                    details={},
                )
            )


async def _left(database: Database) -> tuple[set[str], set[str]]:
    async with database.session() as session:
        outcome_ids = {
            row.request_id
            for row in (await session.execute(RequestOutcome.__table__.select())).all()
        }
        audit_ids = {
            row.resource_id for row in (await session.execute(AuditEntry.__table__.select())).all()
        }
    return outcome_ids, audit_ids


async def test_old_rows_go_and_young_rows_stay(database: Database) -> None:
    await _seed(database, {"ancient": 400, "old": 8, "week": 6.9, "fresh": 0.01})
    retention = RecordRetention(
        database,
        request_outcome_ttl_days=7,
        audit_log_ttl_days=30,
        batch_size=1,  # several batches
        clock=lambda: NOW,
    )
    result = await retention.prune()
    assert (result.request_outcomes, result.audit_entries) == (2, 1)
    outcomes, audits = await _left(database)
    assert outcomes == {"week", "fresh"}
    assert audits == {"old", "week", "fresh"}
    # Nothing more to do at the same moment; a month later the rest of the audit goes.
    assert await retention.prune() == type(result)()
    later = RecordRetention(
        database,
        request_outcome_ttl_days=7,
        audit_log_ttl_days=30,
        clock=lambda: NOW + timedelta(days=31),
    )
    await later.prune()
    assert await _left(database) == (set(), set())


async def test_unset_ages_keep_everything(database: Database) -> None:
    await _seed(database, {"ancient": 4000})
    retention = RecordRetention(
        database, request_outcome_ttl_days=None, audit_log_ttl_days=None, clock=lambda: NOW
    )
    assert not retention.configured
    await retention.prune()
    assert await _left(database) == ({"ancient"}, {"ancient"})


async def test_the_periodic_job_prunes_until_stopped(database: Database) -> None:
    await _seed(database, {"old": 10, "fresh": 1})
    retention = RecordRetention(
        database, request_outcome_ttl_days=7, audit_log_ttl_days=7, clock=lambda: NOW
    )
    stop = asyncio.Event()
    job = asyncio.create_task(prune_periodically(retention, interval_seconds=3600, stop=stop))
    for _ in range(200):
        if await _left(database) == ({"fresh"}, {"fresh"}):
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(job, timeout=5)
    assert await _left(database) == ({"fresh"}, {"fresh"})


def test_defaults_prune_request_outcomes_and_keep_the_audit_log() -> None:
    fields = Settings.model_fields
    assert fields["request_outcome_ttl_days"].default == 7
    assert fields["audit_log_ttl_days"].default is None
