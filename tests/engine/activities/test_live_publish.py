"""`wfe.apply_runtime_batch` publishes exactly the events it inserted, after committing."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from temporalio.testing import ActivityEnvironment

from tests.store.test_runtime import _instance, event
from workflow_engine.bus import EventFilter, InProcessEventBus, LiveEvent
from workflow_engine.engine.activities.runtime import RuntimeActivities
from workflow_engine.engine.contract import RuntimeBatch
from workflow_engine.store.database import Database
from workflow_engine.store.tables import ProcessEvent


async def test_only_inserted_events_are_published_with_context(database: Database) -> None:
    await _instance(database)
    bus = InProcessEventBus()
    acts = RuntimeActivities(database, bus=bus)
    env = ActivityEnvironment()
    first = RuntimeBatch(
        instance_id="i-1",
        through_sequence=2,
        events=[event(1, "process.started", "start"), event(2, "activity.started", "a")],
        status="running",
    )
    # The retry resends 1-2 along with the new 3 (a newer batch repeating unconfirmed events).
    second = RuntimeBatch(
        instance_id="i-1",
        through_sequence=3,
        events=[*first.events, event(3, "process.completed", "end")],
        status="completed",
        ended_at="2026-11-30T10:00:03+00:00",
    )
    got: list[LiveEvent] = []
    async with bus.subscribe(EventFilter(instance_id="i-1")) as sub:
        assert await env.run(acts.apply_runtime_batch, first) == 2
        assert await env.run(acts.apply_runtime_batch, first) == 0  # retried: nothing new
        assert await env.run(acts.apply_runtime_batch, second) == 1
        while (item := await sub.get(wait_seconds=0.2)) is not None:
            got.append(item)
    assert [(e.sequence, e.type) for e in got] == [
        (1, "process.started"),
        (2, "activity.started"),
        (3, "process.completed"),
    ]
    async with database.session() as session:
        ids = (await session.execute(select(ProcessEvent.sequence, ProcessEvent.id))).all()
    assert {e.sequence: e.id for e in got} == dict(ids)
    assert [e.instance_status for e in got] == ["running", "running", "completed"]
    assert {(e.definition_key, e.tenant_id) for e in got} == {("proc", "t1")}
    assert got[1].activity_id == "a" and got[0].timestamp == "2026-11-30T10:00:01+00:00"


class _BrokenBus(InProcessEventBus):
    async def publish(self, events: Sequence[LiveEvent]) -> None:
        raise ConnectionError("redis is down")


async def test_a_failing_bus_does_not_fail_the_batch(database: Database) -> None:
    await _instance(database)
    acts = RuntimeActivities(database, bus=_BrokenBus())
    batch = RuntimeBatch(
        instance_id="i-1", through_sequence=1, events=[event(1, "process.started", "start")]
    )
    assert await ActivityEnvironment().run(acts.apply_runtime_batch, batch) == 1
