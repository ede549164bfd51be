"""Timer start events: schedule plans (pure) and the schedule life cycle on a real Temporal
dev server, with the interpreter running the started instances into the real database."""

from __future__ import annotations

import asyncio
import datetime
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from tests.services.support import eventually
from workflow_engine.config import load_settings
from workflow_engine.engine.contract import instance_id_of
from workflow_engine.engine.worker import build_worker
from workflow_engine.model.types import TimerKind, TimerSpec
from workflow_engine.services.container import Services, build_services
from workflow_engine.services.definition_source import DefinitionFormat
from workflow_engine.services.definitions import DeployResult
from workflow_engine.services.timer_starts import (
    NOT_SCHEDULED,
    TimerStartError,
    TimerStartSchedules,
    action_workflow_id,
    plan_timer,
    schedule_id,
)
from workflow_engine.store.database import Database
from workflow_engine.store.instances import InstanceFilters, InstanceRecord, InstanceRepository

NOW = datetime.datetime(2026, 3, 1, 12, 0, 0, 400_000, tzinfo=datetime.UTC)
UTC = datetime.UTC


# --- plans (pure) -----------------------------------------------------------------------------


def test_cycle_plan_is_an_interval_limited_to_its_repetitions() -> None:
    plan = plan_timer(TimerSpec(TimerKind.CYCLE, "R3/PT10M"), now=NOW)
    assert plan.remaining_actions == 3
    assert plan.first_fire == datetime.datetime(2026, 3, 1, 12, 10, tzinfo=UTC)
    (interval,) = plan.spec.intervals
    assert interval.every == datetime.timedelta(minutes=10)
    # Aligned to the (whole-second) deployment moment: 12:00:00 is a multiple of 10 minutes.
    assert interval.offset == datetime.timedelta(0)
    assert plan.spec.start_at is not None
    assert NOW < plan.spec.start_at < plan.first_fire
    assert plan.spec.end_at is None


def test_unbounded_cycle_offset_follows_the_deployment_second() -> None:
    plan = plan_timer(TimerSpec(TimerKind.CYCLE, "R/PT1H"), now=NOW + datetime.timedelta(seconds=7))
    assert plan.remaining_actions is None
    (interval,) = plan.spec.intervals
    assert interval.offset == datetime.timedelta(seconds=7)
    assert plan.first_fire == datetime.datetime(2026, 3, 1, 13, 0, 7, tzinfo=UTC)


def test_cycle_with_a_past_start_counts_missed_starts_and_keeps_the_end() -> None:
    plan = plan_timer(
        TimerSpec(TimerKind.CYCLE, "R5/2026-03-01T09:30:00Z/PT1H"), now=NOW
    )  # 09:30, 10:30, 11:30 missed; 12:30, 13:30 left
    assert plan.remaining_actions == 2
    assert plan.first_fire == datetime.datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    assert plan.spec.intervals[0].offset == datetime.timedelta(minutes=30)
    end = plan_timer(TimerSpec(TimerKind.CYCLE, "R/PT1H/2026-03-02T00:00:00Z"), now=NOW)
    assert end.spec.end_at == datetime.datetime(2026, 3, 2, tzinfo=UTC)


def test_duration_and_date_plans_fire_once_at_an_exact_second() -> None:
    plan = plan_timer(TimerSpec(TimerKind.DURATION, "PT5M"), now=NOW)
    assert plan.remaining_actions == 1
    assert plan.first_fire == datetime.datetime(2026, 3, 1, 12, 5, tzinfo=UTC)
    (calendar,) = plan.spec.calendars
    assert [r.start for r in (*calendar.year, *calendar.month, *calendar.day_of_month)] == [
        2026,
        3,
        1,
    ]
    assert [r.start for r in (*calendar.hour, *calendar.minute, *calendar.second)] == [12, 5, 0]
    date = plan_timer(TimerSpec(TimerKind.DATE, "2026-12-01T10:00:00+02:00"), now=NOW)
    assert date.first_fire == datetime.datetime(2026, 12, 1, 8, tzinfo=UTC)
    overdue = plan_timer(TimerSpec(TimerKind.DATE, "2020-01-01T00:00:00Z"), now=NOW)
    assert overdue.first_fire == datetime.datetime(2026, 3, 1, 12, 0, 1, tzinfo=UTC)


def test_unschedulable_timers_are_refused_with_the_reason() -> None:
    with pytest.raises(TimerStartError, match="no start left"):
        plan_timer(TimerSpec(TimerKind.CYCLE, "R/PT1H/2020-01-01T00:00:00Z"), now=NOW)
    with pytest.raises(TimerStartError, match="once a second"):
        plan_timer(TimerSpec(TimerKind.CYCLE, "R/PT0.5S"), now=NOW)
    with pytest.raises(TimerStartError, match="timer_duration"):
        plan_timer(TimerSpec(TimerKind.DURATION, "soon"), now=NOW)


def test_started_workflow_ids_name_an_instance_that_fits_the_id_column() -> None:
    sid = schedule_id("acme", "orders", "every_hour")
    assert sid == "timer-start:acme:orders:every_hour"
    prefix = action_workflow_id(sid, 42)
    assert prefix != action_workflow_id(sid, 43)
    started = f"{prefix}-2026-03-01T12:00:00Z"  # what Temporal makes of it
    instance_id = instance_id_of(started)
    assert instance_id is not None and len(instance_id) <= 36


# --- life cycle on Temporal -------------------------------------------------------------------


def _definition(key: str, config: dict[str, Any] | None) -> bytes:
    start: dict[str, Any] = {"id": "tick", "type": "startEvent", "outgoing": ["end"]}
    if config is not None:
        start["config"] = config
    return json.dumps(
        {
            "process": {"id": key, "key": key, "name": key},
            "elements": [start, {"id": "end", "type": "endEvent", "incoming": ["tick"]}],
        }
    ).encode()


@pytest.fixture
async def engine(db_url: str, tmp_path: Path, temporal_client: Client) -> AsyncIterator[Services]:
    """Services with the timer start collaborator and a worker on a queue of their own."""
    queue = f"timer-start-{uuid.uuid4().hex}"
    settings = load_settings(database_url=db_url, data_dir=tmp_path, task_queue=queue)
    services = await build_services(settings, temporal_client=temporal_client)
    worker = build_worker(
        temporal_client, task_queue=queue, activities=services.engine_activities()
    )
    try:
        async with worker:
            yield services
    finally:
        await services.aclose()


async def _deploy(services: Services, key: str, config: dict[str, Any] | None) -> DeployResult:
    return await services.definitions.deploy(_definition(key, config), fmt=DefinitionFormat.JSON)


async def _instances(database: Database, key: str) -> list[InstanceRecord]:
    async with database.session() as session:
        items, _ = await InstanceRepository(session).list(
            InstanceFilters(definition_key=key), page_size=100
        )
    return items


def _schedules(services: Services) -> TimerStartSchedules:
    assert services.definitions.timer_starts is not None
    return services.definitions.timer_starts


@pytest.mark.temporal_clock
async def test_cycle_starts_instances_that_register_and_complete(engine: Services) -> None:
    key = f"tick_{uuid.uuid4().hex[:8]}"
    result = await _deploy(engine, key, {"timer_cycle": "R2/PT2S"})
    assert [w.code for w in result.warnings] == []
    described = await _schedules(engine).describe("", key, "tick")
    assert described is not None
    assert await described.memo_value("definition_id", None) == result.definition.id

    done = await eventually(
        lambda: _instances(engine.database, key),
        lambda items: len(items) == 2 and all(i.status == "completed" for i in items),
        within=30,
    )
    first, second = sorted(done, key=lambda i: i.start_time)
    gap = (second.start_time - first.start_time).total_seconds()
    assert 1.0 <= gap <= 4.0
    for record in done:
        assert record.workflow_id == f"pi-{record.id}"
        assert record.process_definition_id == result.definition.id
        async with engine.database.session() as session:
            events = await InstanceRepository(session).events(record.id)
        started = next(e for e in events if e.event_type == "process.started")
        assert started.data["start_node_id"] == "tick"
    # Exhausted: no third start, the schedule has no action left (or is gone).
    await asyncio.sleep(3)
    assert len(await _instances(engine.database, key)) == 2
    after = await _schedules(engine).describe("", key, "tick")
    assert after is None or after.schedule.state.remaining_actions == 0
    await engine.definitions.delete(result.definition.id, cascade=True)
    assert await _schedules(engine).describe("", key, "tick") is None


@pytest.mark.temporal_clock
async def test_duration_starts_exactly_one_instance(engine: Services) -> None:
    key = f"once_{uuid.uuid4().hex[:8]}"
    result = await _deploy(engine, key, {"timer_duration": "PT2S"})
    assert result.warnings == ()
    assert await _instances(engine.database, key) == []
    done = await eventually(
        lambda: _instances(engine.database, key),
        lambda items: len(items) == 1 and items[0].ended,
        within=20,
    )
    assert done[0].status == "completed"
    await asyncio.sleep(2.5)
    assert len(await _instances(engine.database, key)) == 1
    await engine.definitions.delete(result.definition.id, cascade=True)


async def test_suspend_pauses_and_versions_replace_or_remove_the_schedule(
    engine: Services,
) -> None:
    key = f"hourly_{uuid.uuid4().hex[:8]}"
    timers = _schedules(engine)
    v1 = (await _deploy(engine, key, {"timer_cycle": "R/PT1H"})).definition

    suspended = await engine.definitions.set_suspended(v1.id, suspended=True)
    assert suspended.suspended
    described = await timers.describe("", key, "tick")
    assert described is not None and described.schedule.state.paused
    await engine.definitions.set_suspended(v1.id, suspended=False)
    described = await timers.describe("", key, "tick")
    assert described is not None and not described.schedule.state.paused
    assert described.schedule.state.limited_actions is False

    # A newer version with another timer replaces the schedule (its own document and input).
    v2 = (await _deploy(engine, key, {"timer_cycle": "R3/PT2H"})).definition
    described = await timers.describe("", key, "tick")
    assert described is not None
    assert await described.memo_value("definition_id", None) == v2.id
    assert described.schedule.state.remaining_actions == 3

    # A version without a timer start removes it; deleting that version restores v2's.
    v3 = (await _deploy(engine, key, None)).definition
    assert await timers.describe("", key, "tick") is None
    await engine.definitions.delete(v3.id)
    described = await timers.describe("", key, "tick")
    assert described is not None
    assert await described.memo_value("definition_id", None) == v2.id

    # Deleting an older version leaves the latest one's schedule alone.
    await engine.definitions.delete(v1.id)
    assert await timers.describe("", key, "tick") is not None
    await engine.definitions.delete(v2.id)
    assert await timers.describe("", key, "tick") is None
    assert await _instances(engine.database, key) == []


async def test_a_timer_that_cannot_be_scheduled_is_a_deploy_warning(engine: Services) -> None:
    key = f"ended_{uuid.uuid4().hex[:8]}"
    result = await _deploy(engine, key, {"timer_cycle": "R/PT1H/2020-01-01T00:00:00Z"})
    assert result.created
    (warning,) = result.warnings
    assert warning.code == NOT_SCHEDULED
    assert "'tick'" in warning.message and "no start left" in warning.message
    assert await _schedules(engine).describe("", key, "tick") is None


async def test_temporal_refusing_keeps_the_deployment(
    db_url: str, tmp_path: Path, temporal_client: Client
) -> None:
    # A namespace the server does not have: every schedule call is refused.
    elsewhere = await Client.connect(
        temporal_client.service_client.config.target_host, namespace="no-such-namespace"
    )
    settings = load_settings(database_url=db_url, data_dir=tmp_path)
    services = await build_services(settings, temporal_client=elsewhere)
    try:
        key = f"refused_{uuid.uuid4().hex[:8]}"
        result = await _deploy(services, key, {"timer_cycle": "R/PT1H"})
        assert result.created
        (warning,) = result.warnings
        assert warning.code == NOT_SCHEDULED and "Temporal refused" in warning.message
        assert (await services.definitions.get(result.definition.id)).key == key
    finally:
        await services.aclose()


async def test_without_temporal_timer_definitions_deploy_and_nothing_is_scheduled(
    db_url: str, tmp_path: Path
) -> None:
    settings = load_settings(database_url=db_url, data_dir=tmp_path)
    services = await build_services(settings)
    try:
        assert services.definitions.timer_starts is None
        result = await _deploy(services, "no_temporal", {"timer_cycle": "R/PT1H"})
        assert result.created and result.warnings == ()
        await services.definitions.set_suspended(result.definition.id, suspended=True)
        await services.definitions.delete(result.definition.id)
    finally:
        await services.aclose()
