"""Statistics on known data: exact counts, buckets, percentiles and ages on both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from workflow_engine.services.errors import InvalidArgumentError
from workflow_engine.services.stats import StatsService, resolve_scope
from workflow_engine.store.database import Database
from workflow_engine.store.stats import percentile_cont
from workflow_engine.store.tables import (
    HistoricProcessInstance,
    ProcessDefinition,
    ProcessEvent,
    ProcessInstance,
    TaskInstance,
)

NOW = datetime(2026, 3, 1, 12, 30, 30, tzinfo=UTC)


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 3, 1, hour, minute, second, tzinfo=UTC)


DEFINITION_IDS = {"a": 1, "b": 2}


def _definition(key: str) -> ProcessDefinition:
    return ProcessDefinition(
        id=DEFINITION_IDS[key],
        key=key,
        version=1,
        resource="{}",
        resource_type="json",
        model_json="{}",
        content_hash=key * 64,
    )


def _live(key: str, status: str, started: datetime, *, tenant: str = "") -> ProcessInstance:
    iid = str(uuid.uuid4())
    return ProcessInstance(
        id=iid,
        process_definition_id=DEFINITION_IDS[key],
        definition_key=key,
        definition_version=1,
        status=status,
        start_time=started,
        workflow_id=f"pi-{iid}",
        tenant_id=tenant,
    )


def _ended(
    key: str, status: str, ended: datetime, duration_ms: int, *, tenant: str = ""
) -> HistoricProcessInstance:
    return HistoricProcessInstance(
        process_instance_id=str(uuid.uuid4()),
        process_definition_key=key,
        process_definition_version=1,
        status=status,
        start_time=ended - timedelta(milliseconds=duration_ms),
        end_time=ended,
        duration=duration_ms,
        tenant_id=tenant,
    )


def _task(instance: ProcessInstance, created: datetime, state: str = "created") -> TaskInstance:
    return TaskInstance(
        id=str(uuid.uuid4()),
        process_instance_id=instance.id,
        process_definition_id=instance.process_definition_id,
        task_definition_key="review",
        state=state,
        create_time=created,
        tenant_id=instance.tenant_id,
    )


async def _seed(database: Database) -> None:
    a_running = _live("a", "running", at(12, 20))
    a_old = _live("a", "running", at(9, 0))  # started before the range
    a_paused = _live("a", "paused", at(12, 1), tenant="t2")
    b_incident = _live("b", "incident", at(12, 25))
    async with database.session() as session:
        session.add_all([_definition("a"), _definition("b")])
        await session.flush()
        session.add_all([a_running, a_old, a_paused, b_incident])
        await session.flush()
        session.add_all(
            [
                # a: five completed in the range, one terminated, one timed out, one too old.
                _ended("a", "completed", at(12, 5, 0), 100),
                _ended("a", "completed", at(12, 5, 1), 200),
                _ended("a", "completed", at(12, 5, 2), 300),
                _ended("a", "completed", at(12, 5, 3), 400),
                _ended("a", "completed", at(12, 15, 0), 1000),
                _ended("a", "terminated", at(12, 10), 5000),
                _ended("a", "timed_out", at(12, 35), 60_000),
                _ended("a", "completed", at(10, 0), 7),
                # b: two completed, one cancelled.
                _ended("b", "completed", at(11, 45), 50),
                _ended("b", "completed", at(11, 45, 30), 150),
                _ended("b", "cancelled", at(11, 50), 10),
                _task(a_running, at(12, 0, 30)),
                _task(a_running, at(12, 20, 30)),
                _task(a_running, at(11, 0), state="completed"),
                _task(b_incident, at(11, 30, 30)),
                ProcessEvent(
                    process_instance_id=b_incident.id,
                    sequence=1,
                    event_type="incident.created",
                    timestamp=at(12, 26),
                ),
                ProcessEvent(
                    process_instance_id=a_old.id,
                    sequence=1,
                    event_type="incident.created",
                    timestamp=at(9, 30),  # outside the range
                ),
            ]
        )


async def test_report_on_known_data(database: Database) -> None:
    await _seed(database)
    report = await StatsService(database=database).report(window="PT1H", bucket="PT10M", now=NOW)

    assert report.start == at(11, 40)
    assert report.end == at(12, 40)
    assert report.bucket_seconds == 600
    assert [d.definition_key for d in report.definitions] == ["a", "b"]
    a, b = report.definitions
    overall = report.overall

    assert a.counts == {
        "running": 2,
        "paused": 1,
        "incident": 0,
        "completed": 5,
        "terminated": 1,
        "cancelled": 0,
        "timed_out": 1,
    }
    assert b.counts["incident"] == 1 and b.counts["completed"] == 2 and b.counts["cancelled"] == 1
    assert overall.counts["running"] == 2 and overall.counts["completed"] == 7
    assert (a.ended, a.failed, a.failure_rate) == (7, 2, round(2 / 7, 6))
    assert (b.ended, b.failed, b.failure_rate) == (3, 0, 0.0)
    assert (overall.ended, overall.failed) == (10, 2)

    # Durations of completed instances ended in the range: a = 100..400, 1000.
    assert a.duration_ms.count == 5
    assert a.duration_ms.average == 400.0
    assert (a.duration_ms.p50, a.duration_ms.p95, a.duration_ms.p99) == (300.0, 880.0, 976.0)
    assert a.duration_ms.max == 1000.0
    assert overall.duration_ms.count == 7
    assert overall.duration_ms.average == round(2200 / 7, 3)
    assert (overall.duration_ms.p50, overall.duration_ms.p95, overall.duration_ms.p99) == (
        200.0,
        820.0,
        964.0,
    )
    assert b.duration_ms.p50 == 100.0

    # Started in the range: a_running, a_paused, every ended one started in the range.
    # a: running 12:20, paused 12:01, five completed (~12:05 / 12:15), terminated (12:09:55);
    # the timed-out one started 12:34, inside too.
    assert a.started == 9
    assert b.started == 1 + 3  # incident 12:25 + three ended ones started ~11:45-11:50
    assert overall.started == 13
    buckets = [(x.start.strftime("%H:%M"), x.started, x.completed, x.failed) for x in a.throughput]
    assert buckets == [
        ("11:40", 0, 0, 0),
        ("11:50", 0, 0, 0),
        ("12:00", 6, 4, 0),  # paused 12:01, four completed, terminated 12:09:55
        ("12:10", 1, 1, 1),
        ("12:20", 1, 0, 0),
        ("12:30", 1, 0, 1),
    ]
    assert [x.completed for x in overall.throughput] == [2, 0, 4, 1, 0, 0]

    assert (b.incidents.open, b.incidents.created, b.incidents.rate) == (1, 1, 0.25)
    assert (a.incidents.open, a.incidents.created) == (0, 0)
    assert overall.incidents.created == 1

    # Open tasks: a has two (12:00:30, 12:20:30), b one (11:30:30); NOW is 12:30:30.
    assert a.open_tasks.count == 2
    assert a.open_tasks.oldest_age_seconds == 1800.0
    assert a.open_tasks.p50_age_seconds == 1200.0
    assert overall.open_tasks.count == 3
    assert overall.open_tasks.oldest_age_seconds == 3600.0
    assert overall.open_tasks.p50_age_seconds == 1800.0


async def test_filters_by_definition_and_tenant(database: Database) -> None:
    await _seed(database)
    service = StatsService(database=database)
    only_b = await service.report(definition_key="b", window="PT1H", bucket="PT10M", now=NOW)
    assert [d.definition_key for d in only_b.definitions] == ["b"]
    assert only_b.overall.counts == only_b.definitions[0].counts
    assert only_b.overall.duration_ms.p99 == pytest.approx(149.0)
    tenant = await service.report(tenant_id="t2", window="PT1H", bucket="PT10M", now=NOW)
    assert tenant.overall.counts["paused"] == 1
    assert sum(tenant.overall.counts.values()) == 1
    assert tenant.overall.duration_ms.count == 0
    assert tenant.overall.duration_ms.p50 is None
    assert tenant.overall.open_tasks.count == 0


async def test_explicit_range(database: Database) -> None:
    await _seed(database)
    report = await StatsService(database=database).report(
        start=at(9, 0), end=at(13, 0), bucket="PT1H", now=NOW
    )
    assert len(report.overall.throughput) == 4
    a = report.definitions[0]
    assert a.counts["completed"] == 6  # the 10:00 one now counts
    assert a.duration_ms.count == 6
    assert a.incidents.created == 1  # a_old's incident at 09:30


def test_scope_validation() -> None:
    with pytest.raises(InvalidArgumentError, match="window"):
        resolve_scope(now=NOW, window="1 hour")
    with pytest.raises(InvalidArgumentError, match="bucket must be whole seconds"):
        resolve_scope(now=NOW, bucket="PT0.5S")
    with pytest.raises(InvalidArgumentError, match="at most 1440"):
        resolve_scope(now=NOW, window="P2D", bucket="PT1M")
    with pytest.raises(InvalidArgumentError, match="from needs a time zone"):
        resolve_scope(now=NOW, start=datetime(2026, 1, 1))
    with pytest.raises(InvalidArgumentError, match="later than from"):
        resolve_scope(now=NOW, start=at(12, 0), end=at(11, 0))
    scope = resolve_scope(now=NOW, window="PT5M", bucket="PT1M")
    assert (scope.start, scope.end) == (at(12, 26), at(12, 31))


def test_percentile_cont_matches_postgres_definition() -> None:
    assert percentile_cont([1.0], 0.99) == 1.0
    assert percentile_cont([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile_cont([10.0, 20.0], 0.95) == pytest.approx(19.5)
    with pytest.raises(ValueError, match="no values"):
        percentile_cont([], 0.5)
