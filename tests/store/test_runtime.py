"""The runtime projection (RuntimeBatch → tables) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from workflow_engine.engine.contract import (
    EngineEvent,
    RuntimeBatch,
    SubscriptionRecord,
    TaskRecord,
)
from workflow_engine.store.database import Database
from workflow_engine.store.definitions import DefinitionRepository
from workflow_engine.store.instances import InstanceRepository
from workflow_engine.store.runtime import InstanceMissingError, RuntimeProjection, infer_type
from workflow_engine.store.subscriptions import SubscriptionRepository
from workflow_engine.store.tables import (
    HistoricProcessInstance,
    ProcessEvent,
    ProcessVariable,
    TaskCandidate,
)
from workflow_engine.store.tasks import TaskFilters, TaskRepository

T0 = "2026-11-30T10:00:00+00:00"


def event(seq: int, kind: str, node: str | None = None, **data: Any) -> EngineEvent:
    return EngineEvent(
        sequence=seq,
        type=kind,
        timestamp=f"2026-11-30T10:00:{seq:02d}+00:00",
        activity_id=node,
        data=data,
    )


async def _instance(database: Database, instance_id: str = "i-1") -> None:
    async with database.session() as session:
        definition = await DefinitionRepository(session).create_next_version(
            tenant_id="t1",
            key="proc",
            name="Process",
            content_hash="a" * 64,
            resource="{}",
            resource_type="json",
            model_json="{}",
        )
        await InstanceRepository(session).create(
            instance_id=instance_id,
            workflow_id=f"pi-{instance_id}",
            definition_id=definition.id,
            definition_key="proc",
            definition_version=1,
            tenant_id="t1",
            business_key="bk-1",
            start_user_id="alice",
            # The instance starts when its events say it did: a start time taken from the
            # wall clock would put the fixed end time below in the past one day.
            start_time=datetime.fromisoformat(T0),
        )


async def _apply(database: Database, batch: RuntimeBatch) -> tuple[int, bool]:
    async with database.session() as session:
        result = await RuntimeProjection(session).apply(batch)
    return result.events_inserted, result.state_applied


def _first_batch() -> RuntimeBatch:
    return RuntimeBatch(
        instance_id="i-1",
        through_sequence=3,
        events=[
            event(1, "process.started", "start"),
            event(2, "activity.started", "review"),
            event(3, "task.created", "review"),
        ],
        status="running",
        active_node_ids=["review", "wait_signal"],
        variables={"amount": 12, "ok": True, "name": "x", "ratio": 0.5, "tags": ["a"]},
        tasks=[
            TaskRecord(
                task_id="task-1",
                node_id="review",
                name="Review",
                state="created",
                created_at=T0,
                candidate_users=["bob", "carol"],
                candidate_groups=["managers"],
                priority=70,
                due_date="2026-11-30T11:00:00+00:00",
                form_key="review-form",
            )
        ],
        subscriptions=[
            SubscriptionRecord(kind="signal", name="go", node_id="wait_signal", execution_id="e1"),
            SubscriptionRecord(
                kind="message",
                name="paid",
                node_id="wait_msg",
                execution_id="e2",
                correlation_key="order-7",
            ),
        ],
    )


async def test_first_batch_writes_events_state_variables_tasks_and_subscriptions(
    database: Database,
) -> None:
    await _instance(database)
    inserted, applied = await _apply(database, _first_batch())
    assert (inserted, applied) == (3, True)
    async with database.session() as session:
        instance = await InstanceRepository(session).get("i-1")
        variables = await InstanceRepository(session).variables("i-1")
        types = dict(
            (await session.execute(select(ProcessVariable.name, ProcessVariable.type))).all()
        )
        task = await TaskRepository(session).get("task-1")
        by_group, _ = await TaskRepository(session).list(TaskFilters(candidate_group="managers"))
        by_user, _ = await TaskRepository(session).list(TaskFilters(candidate_user="carol"))
        nobody, _ = await TaskRepository(session).list(TaskFilters(candidate_user="dave"))
        signal_waits = await SubscriptionRepository(session).find("signal", "go")
        message_waits = await SubscriptionRepository(session).find(
            "message", "paid", correlation_key="order-7"
        )
        by_business_key = await SubscriptionRepository(session).find(
            "message", "paid", business_key="bk-1"
        )
        other_key = await SubscriptionRepository(session).find(
            "message", "paid", correlation_key="order-8"
        )
    assert instance is not None
    assert instance.status == "running"
    assert instance.active_activity_ids == ("review", "wait_signal")
    assert instance.activity_id == "review"
    assert instance.last_sequence == 3
    assert variables == {"amount": 12, "ok": True, "name": "x", "ratio": 0.5, "tags": ["a"]}
    assert types == {
        "amount": "integer",
        "ok": "boolean",
        "name": "string",
        "ratio": "number",
        "tags": "array",
    }
    assert task is not None
    assert task.state == "created"
    assert task.priority == 70
    assert task.tenant_id == "t1"
    assert task.candidate_users == ("bob", "carol")
    assert task.due_date is not None and task.due_date.hour == 11
    assert [t.id for t in by_group] == [t.id for t in by_user] == ["task-1"]
    assert nobody == []
    assert [(s.node_id, s.workflow_id, s.tenant_id) for s in signal_waits] == [
        ("wait_signal", "pi-i-1", "t1")
    ]
    assert [s.node_id for s in message_waits] == ["wait_msg"]
    assert [s.node_id for s in by_business_key] == ["wait_msg"]
    assert other_key == []


async def test_reapplying_a_batch_changes_nothing(database: Database) -> None:
    await _instance(database)
    await _apply(database, _first_batch())
    inserted, applied = await _apply(database, _first_batch())
    assert inserted == 0
    assert applied is True  # same sequence: identical state written again
    async with database.session() as session:
        events = (await session.execute(select(func.count()).select_from(ProcessEvent))).scalar()
        candidates = (
            await session.execute(select(func.count()).select_from(TaskCandidate))
        ).scalar()
        subs = await SubscriptionRepository(session).of_instance("i-1")
    assert events == 3
    assert candidates == 3
    assert len(subs) == 2


async def test_an_old_batch_arriving_late_cannot_roll_state_back(database: Database) -> None:
    await _instance(database)
    await _apply(database, _first_batch())
    newer = RuntimeBatch(
        instance_id="i-1",
        through_sequence=5,
        events=[event(4, "task.completed", "review"), event(5, "activity.started", "pay")],
        status="running",
        active_node_ids=["pay"],
        variables={"amount": 99},
        tasks=[
            TaskRecord(
                task_id="task-1",
                node_id="review",
                name="Review",
                state="completed",
                created_at=T0,
                ended_at="2026-11-30T10:00:04+00:00",
                completed_by="bob",
            )
        ],
        subscriptions=[],
    )
    assert await _apply(database, newer) == (2, True)
    stale = _first_batch()
    stale.events.append(event(6, "late.event"))  # a new event in an old batch is still logged
    inserted, applied = await _apply(database, stale)
    assert (inserted, applied) == (1, False)
    async with database.session() as session:
        instance = await InstanceRepository(session).get("i-1")
        variables = await InstanceRepository(session).variables("i-1")
        task = await TaskRepository(session).get("task-1")
        subs = await SubscriptionRepository(session).of_instance("i-1")
    assert instance is not None
    assert instance.active_activity_ids == ("pay",)
    assert instance.last_sequence == 5
    assert variables["amount"] == 99
    assert task is not None and task.state == "completed" and task.assignee == "bob"
    assert subs == []


async def test_subscriptions_none_keeps_the_mirrored_set(database: Database) -> None:
    await _instance(database)
    await _apply(database, _first_batch())
    await _apply(
        database,
        RuntimeBatch(
            instance_id="i-1",
            through_sequence=4,
            events=[event(4, "x")],
            active_node_ids=["review"],
            subscriptions=None,
        ),
    )
    async with database.session() as session:
        assert len(await SubscriptionRepository(session).of_instance("i-1")) == 2


async def test_end_writes_status_duration_history_and_closes_everything(
    database: Database,
) -> None:
    await _instance(database)
    await _apply(database, _first_batch())
    end = RuntimeBatch(
        instance_id="i-1",
        through_sequence=7,
        events=[event(6, "process.terminated", "review"), event(7, "process.ended")],
        status="terminated",
        active_node_ids=["review"],
        ended_at="2026-11-30T12:00:00+00:00",
        end_reason="operator said so",
    )
    await _apply(database, end)
    await _apply(database, end)  # the retry of the last batch is harmless
    async with database.session() as session:
        instance = await InstanceRepository(session).get("i-1")
        task = await TaskRepository(session).get("task-1")
        subs = await SubscriptionRepository(session).of_instance("i-1")
        history = (await session.execute(select(HistoricProcessInstance))).scalars().all()
    assert instance is not None
    assert instance.status == "terminated"
    assert instance.ended
    assert instance.active_activity_ids == ()
    assert instance.end_time is not None and instance.end_time.hour == 12
    assert instance.duration == 2 * 3600 * 1000
    assert instance.delete_reason == "operator said so"
    assert task is not None and task.state == "cancelled"
    assert subs == []
    assert len(history) == 1
    row = history[0]
    assert row.status == "terminated"
    assert row.process_definition_name == "Process"
    assert row.process_definition_key == "proc"
    assert row.start_activity_id == "start"
    assert row.duration == instance.duration
    assert row.business_key == "bk-1"
    assert row.start_user_id == "alice"


async def test_claims_survive_a_later_batch_that_repeats_the_task(database: Database) -> None:
    await _instance(database)
    await _apply(database, _first_batch())
    async with database.session() as session:
        repo = TaskRepository(session)
        task = await repo.get("task-1")
        assert task is not None
        assert await repo.update_if_version("task-1", task.version, assignee="bob", state="claimed")
        # The same version again is a lost race.
        assert not await repo.update_if_version("task-1", task.version, assignee="carol")
    batch = _first_batch()
    batch.through_sequence = 4
    batch.events = [event(4, "variable.updated")]
    await _apply(database, batch)
    async with database.session() as session:
        task = await TaskRepository(session).get("task-1")
    assert task is not None and task.assignee == "bob" and task.state == "claimed"


async def test_unknown_instance_and_bad_values_are_refused(database: Database) -> None:
    with pytest.raises(InstanceMissingError, match="nope"):
        await _apply(database, RuntimeBatch(instance_id="nope", through_sequence=1))
    await _instance(database)
    with pytest.raises(ValueError, match=r"batch\.status"):
        await _apply(database, RuntimeBatch(instance_id="i-1", through_sequence=1, status="odd"))
    bad_time = RuntimeBatch(
        instance_id="i-1",
        through_sequence=1,
        events=[EngineEvent(sequence=1, type="x", timestamp="yesterday")],
    )
    with pytest.raises(ValueError, match=r"events\[0\].timestamp"):
        await _apply(database, bad_time)


def test_infer_type() -> None:
    assert [infer_type(v) for v in (None, True, 1, 1.5, "s", {}, [])] == [
        "null",
        "boolean",
        "integer",
        "number",
        "string",
        "object",
        "array",
    ]
