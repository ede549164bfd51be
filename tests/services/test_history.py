"""HistoryService on SQLite and PostgreSQL, fed through the real runtime projection.

Instances are written the way the engine writes them (RuntimeBatch -> RuntimeProjection), so
these tests cover the move to the history tables at the end, the event log pages and type
filters, steps and their attempts (incl. a failed try and a multi-instance activity), the
historic list filters and the retention cleanup in bounded batches.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from workflow_engine.engine.contract import EngineEvent, RuntimeBatch, TaskRecord
from workflow_engine.services.errors import InvalidArgumentError, NotFoundError
from workflow_engine.services.history import HistoryService
from workflow_engine.store.database import Database
from workflow_engine.store.definitions import DefinitionRepository
from workflow_engine.store.history import HistoricInstanceFilters
from workflow_engine.store.instances import InstanceRepository
from workflow_engine.store.runtime import RuntimeProjection
from workflow_engine.store.tables import (
    HistoricProcessInstance,
    HistoricTaskCandidate,
    HistoricTaskInstance,
    HistoricVariableInstance,
    ProcessEvent,
    ProcessInstance,
    ProcessVariable,
    TaskCandidate,
    TaskInstance,
)
from workflow_engine.store.tasks import TaskFilters, TaskRepository

BASE = datetime(2026, 11, 30, 10, 0, 0, tzinfo=UTC)


def _at(seconds: float) -> str:
    return (BASE + timedelta(seconds=seconds)).isoformat()


def ev(seq: int, kind: str, node: str | None = None, **data: Any) -> EngineEvent:
    user = data.pop("user_id", None)
    task = data.pop("task_id", None)
    return EngineEvent(
        sequence=seq,
        type=kind,
        timestamp=_at(seq),
        activity_id=node,
        name=None if node is None else node.upper(),
        user_id=user,
        task_id=task,
        data=data,
    )


async def _definition(database: Database) -> int:
    async with database.session() as session:
        record = await DefinitionRepository(session).create_next_version(
            tenant_id="",
            key="order",
            name="Order",
            content_hash="b" * 64,
            resource="{}",
            resource_type="json",
            model_json="{}",
        )
    return record.id


async def _instance(
    database: Database, instance_id: str, definition_id: int, *, business_key: str = "bk"
) -> None:
    async with database.session() as session:
        await InstanceRepository(session).create(
            instance_id=instance_id,
            workflow_id=f"pi-{instance_id}",
            definition_id=definition_id,
            definition_key="order",
            definition_version=1,
            business_key=business_key,
            start_user_id="alice",
            start_time=BASE,
        )


async def _apply(database: Database, batch: RuntimeBatch) -> None:
    async with database.session() as session:
        await RuntimeProjection(session).apply(batch)


def _task(state: str, **extra: Any) -> TaskRecord:
    return TaskRecord(
        task_id="t-1",
        node_id="review",
        name="Review",
        state=state,
        created_at=_at(3),
        candidate_groups=["sales"],
        **extra,
    )


def _run_events() -> list[EngineEvent]:
    """A start event, a user task, a service task failing once then succeeding after a
    retry, a parallel multi-instance service task with two instances, an end event."""
    return [
        ev(1, "process.started", user_id="alice"),
        ev(2, "event.passed", "start", node_type="startEvent"),
        ev(3, "activity.started", "review", execution_id="tok1", node_type="userTask"),
        ev(4, "task.created", "review", execution_id="tok1", task_id="t-1", assignee="bob"),
        ev(
            5,
            "task.completed",
            "review",
            execution_id="tok1",
            task_id="t-1",
            user_id="bob",
            variables={"ok": True},
        ),
        ev(6, "variable.updated", "review", variables={"ok": True}, source="task"),
        ev(7, "activity.completed", "review", execution_id="tok1"),
        ev(8, "activity.started", "pay", execution_id="tok1"),
        ev(9, "activity.scheduled", "pay", execution_id="tok1", activity="Pay", input={"n": 1}),
        ev(
            10,
            "activity.failed",
            "pay",
            execution_id="tok1",
            error_type="Declined",
            message="card declined",
            retry_state="MAXIMUM_ATTEMPTS_REACHED",
            max_attempts=3,
        ),
        ev(11, "incident.created", "pay", incident_id="inc-1", error_type="Declined", message="x"),
        ev(12, "incident.resolved", "pay", incident_id="inc-1"),
        ev(13, "activity.scheduled", "pay", execution_id="tok1", activity="Pay", input={"n": 2}),
        ev(14, "activity.result", "pay", execution_id="tok1", result={"paid": True}),
        ev(15, "activity.completed", "pay", execution_id="tok1"),
        ev(16, "activity.started", "notify", execution_id="tok1"),
        ev(17, "multi_instance.started", "notify", instances=2, sequential=False),
        ev(18, "activity.scheduled", "notify", execution_id="mi-a", activity="N", input={"i": 0}),
        ev(19, "activity.scheduled", "notify", execution_id="mi-b", activity="N", input={"i": 1}),
        ev(20, "activity.result", "notify", execution_id="mi-b", result="b"),
        ev(21, "activity.result", "notify", execution_id="mi-a", result="a"),
        ev(22, "activity.completed", "notify", execution_id="tok1"),
        ev(23, "event.passed", "end"),
        ev(24, "process.completed"),
    ]


async def _run(database: Database, instance_id: str, definition_id: int, **kw: Any) -> None:
    await _instance(database, instance_id, definition_id, **kw)
    events = _run_events()
    await _apply(
        database,
        RuntimeBatch(
            instance_id=instance_id,
            through_sequence=4,
            events=events[:4],
            active_node_ids=["review"],
            variables={"amount": 5},
            tasks=[_task("created")],
        ),
    )
    await _apply(
        database,
        RuntimeBatch(
            instance_id=instance_id,
            through_sequence=24,
            events=events[4:],
            status="completed",
            variables={"ok": True},
            tasks=[_task("completed", ended_at=_at(5), completed_by="bob")],
            ended_at=_at(24),
        ),
    )


@pytest.fixture
def history(database: Database) -> HistoryService:
    return HistoryService(database=database, ttl_days=30, cleanup_batch_size=2)


async def _count(database: Database, table: Any, instance_id: str | None = None) -> int:
    stmt = select(func.count()).select_from(table)
    if instance_id is not None:
        stmt = stmt.where(table.c.process_instance_id == instance_id)
    async with database.session() as session:
        return int((await session.execute(stmt)).scalar_one())


async def test_an_ended_instance_moves_tasks_and_variables_to_history(
    database: Database,
) -> None:
    definition = await _definition(database)
    await _run(database, "i-1", definition)
    assert await _count(database, TaskInstance.__table__) == 0
    assert await _count(database, TaskCandidate.__table__) == 0
    assert await _count(database, ProcessVariable.__table__) == 0
    assert await _count(database, HistoricTaskInstance.__table__) == 1
    assert await _count(database, HistoricTaskCandidate.__table__) == 1
    assert await _count(database, HistoricVariableInstance.__table__, "i-1") == 2
    # Readers find them in history: the instance's variables, the task by id and in lists.
    async with database.session() as session:
        assert await InstanceRepository(session).variables("i-1") == {"amount": 5, "ok": True}
        tasks = TaskRepository(session)
        task = await tasks.get("t-1")
        assert task is not None and task.state == "completed" and task.assignee == "bob"
        by_group, _ = await tasks.list(TaskFilters(candidate_group="sales"))
        assert [t.id for t in by_group] == ["t-1"]
        open_only, _ = await tasks.list(TaskFilters(candidate_group="sales", state="created"))
        assert open_only == []
    # The final batch sent again changes nothing (no runtime rows come back).
    await _apply(
        database,
        RuntimeBatch(
            instance_id="i-1",
            through_sequence=24,
            status="completed",
            variables={"ok": True},
            tasks=[_task("completed", ended_at=_at(5), completed_by="bob")],
            ended_at=_at(24),
        ),
    )
    assert await _count(database, TaskInstance.__table__) == 0
    assert await _count(database, ProcessVariable.__table__) == 0
    assert await _count(database, HistoricTaskInstance.__table__) == 1


async def test_history_pages_and_type_filters(database: Database, history: HistoryService) -> None:
    definition = await _definition(database)
    await _run(database, "i-1", definition)
    seen: list[int] = []
    token = None
    while True:
        page = await history.history("i-1", page_size=5, page_token=token)
        seen += [e.sequence for e in page.events]
        token = page.next_page_token
        if token is None:
            break
    assert seen == list(range(1, 25))
    family = await history.history("i-1", types=["activity.*"])
    assert {e.event_type for e in family.events} == {
        "activity.started",
        "activity.scheduled",
        "activity.failed",
        "activity.result",
        "activity.completed",
    }
    mixed = await history.history("i-1", types=["task.created,incident.*", "process.completed"])
    assert [e.sequence for e in mixed.events] == [4, 11, 12, 24]
    first = await history.history("i-1", types=["activity.*"], page_size=2)
    with pytest.raises(InvalidArgumentError, match="page_token"):
        await history.history("i-1", page_token=first.next_page_token)
    with pytest.raises(InvalidArgumentError, match="wildcard"):
        await history.history("i-1", types=["*.started"])
    with pytest.raises(NotFoundError):
        await history.history("nope")


async def test_steps_group_node_runs_with_attempts(
    database: Database, history: HistoryService
) -> None:
    definition = await _definition(database)
    await _run(database, "i-1", definition)
    steps = await history.steps("i-1")
    assert [(s.step_id, s.node_id, s.status) for s in steps] == [
        (2, "start", "completed"),
        (3, "review", "completed"),
        (8, "pay", "completed"),
        (16, "notify", "completed"),
        (18, "notify", "completed"),
        (19, "notify", "completed"),
        (23, "end", "completed"),
    ]
    review = steps[1]
    assert review.user_id == "bob" and review.task_id == "t-1"
    assert review.output == {"ok": True}
    assert review.duration_ms == 4000
    pay = await history.step("i-1", 8)
    assert pay.input == {"n": 2} and pay.output == {"paid": True}
    assert [(a.number, a.status, a.error_type, a.temporal_attempts) for a in pay.attempts] == [
        (1, "failed", "Declined", 3),
        (2, "completed", None, None),
    ]
    assert [i.incident_id for i in pay.incidents] == ["inc-1"]
    assert pay.incidents[0].resolved_at is not None
    assert (pay.started_at, pay.ended_at) == (
        BASE + timedelta(seconds=8),
        BASE + timedelta(seconds=15),
    )
    inner = await history.step("i-1", 19)
    assert inner.parent_step_id == 16 and inner.execution_id == "mi-b"
    assert inner.input == {"i": 1} and inner.output == "b"
    with pytest.raises(NotFoundError, match="no step 9"):
        await history.step("i-1", 9)  # an event inside a step is not a step id


async def test_historic_list_filters(database: Database, history: HistoryService) -> None:
    definition = await _definition(database)
    for n in range(4):
        await _run(database, f"i-{n}", definition, business_key=f"bk-{n % 2}")
    everything = await history.historic_instances(HistoricInstanceFilters())
    assert [r.process_instance_id for r in everything.items] == ["i-3", "i-2", "i-1", "i-0"]
    assert everything.items[0].duration == 24_000
    assert everything.items[0].start_activity_id == "start"
    by_key = await history.historic_instances(HistoricInstanceFilters(business_key="bk-1"))
    assert [r.process_instance_id for r in by_key.items] == ["i-3", "i-1"]
    assert (
        await history.historic_instances(HistoricInstanceFilters(definition_id=definition))
    ).items
    assert not (
        await history.historic_instances(HistoricInstanceFilters(status="terminated"))
    ).items
    assert not (
        await history.historic_instances(HistoricInstanceFilters(min_duration=24_001))
    ).items
    assert (
        len((await history.historic_instances(HistoricInstanceFilters(max_duration=24_000))).items)
        == 4
    )
    window = HistoricInstanceFilters(
        ended_after=BASE + timedelta(seconds=24), ended_before=BASE + timedelta(seconds=25)
    )
    assert len((await history.historic_instances(window)).items) == 4
    late = HistoricInstanceFilters(started_after=BASE + timedelta(seconds=1))
    assert not (await history.historic_instances(late)).items
    pages: list[str] = []
    token = None
    while True:
        page = await history.historic_instances(
            HistoricInstanceFilters(definition_key="order"), page_size=3, page_token=token
        )
        pages += [r.process_instance_id for r in page.items]
        token = page.next_page_token
        if token is None:
            break
    assert pages == ["i-3", "i-2", "i-1", "i-0"]
    with pytest.raises(InvalidArgumentError, match="min_duration"):
        await history.historic_instances(HistoricInstanceFilters(min_duration=5, max_duration=1))
    with pytest.raises(InvalidArgumentError, match="time zone"):
        await history.historic_instances(HistoricInstanceFilters(ended_after=datetime(2026, 1, 1)))


async def test_cleanup_deletes_expired_history_in_bounded_batches(
    database: Database, history: HistoryService
) -> None:
    definition = await _definition(database)
    for n in range(5):
        await _run(database, f"i-{n}", definition)
    await _instance(database, "live", definition)  # running: never touched
    # Nothing is older than 30 days yet.
    assert (await history.cleanup(now=BASE + timedelta(days=29))).instances_deleted == 0
    one = await history.cleanup(now=BASE + timedelta(days=31), max_batches=1)
    assert (one.instances_deleted, one.batches) == (2, 1)
    rest = await history.cleanup(now=BASE + timedelta(days=31))
    assert (rest.instances_deleted, rest.batches) == (3, 2)
    for table in (
        HistoricProcessInstance.__table__,
        HistoricTaskInstance.__table__,
        HistoricTaskCandidate.__table__,
        HistoricVariableInstance.__table__,
    ):
        assert await _count(database, table) == 0
    assert await _count(database, ProcessEvent.__table__) == 0
    async with database.session() as session:
        ids = (await session.execute(select(ProcessInstance.id))).scalars().all()
    assert ids == ["live"]
    with pytest.raises(NotFoundError):
        await history.steps("i-0")
    # No retention configured: keep forever.
    keep = HistoryService(database=database)
    assert (await keep.cleanup(now=BASE + timedelta(days=10_000))).batches == 0
    with pytest.raises(InvalidArgumentError, match="batch_size"):
        await history.cleanup(batch_size=0)
