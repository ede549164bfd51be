"""Task completion racing terminate / cancel (issue 15, finding 5): one ordered truth.

Real interpreter on a real Temporal dev server, SQLite and PostgreSQL. Each pair fires a
completion of an instance's only user task and a terminate (or cancel) at the same moment;
afterwards the instance row must say exactly what Temporal says, and each API answer must
match what happened: a completion answered with success is in the tables, a refused one is
not; a terminate answered with success ended the instance as terminated, a refused one did
not; nothing answers 503.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import Client, WorkflowExecutionStatus

from tests.api.live_engine import running_engine
from tests.services.support import deploy_document, eventually
from workflow_engine.engine.contract import InstanceResult, workflow_id
from workflow_engine.services.container import Services
from workflow_engine.services.errors import ConflictError
from workflow_engine.store.tables import (
    HistoricTaskInstance,
    ProcessEvent,
    ProcessInstance,
    TaskInstance,
)
from workflow_engine.store.tasks import TaskFilters

PAIRS = 24


def one_task(key: str = "approval") -> dict[str, Any]:
    """start -> user task `approve` -> end."""
    return {
        "process": {"id": key, "key": key, "executable": True},
        "elements": [
            {"id": "start", "type": "startEvent", "outgoing": ["approve"]},
            {"id": "approve", "type": "userTask", "outgoing": ["end"]},
            {"id": "end", "type": "endEvent"},
        ],
    }


@pytest.fixture
async def engine(db_url: str, tmp_path: Path, temporal_client: Client) -> AsyncIterator[Services]:
    """Services over `db_url` with the real interpreter running on a queue of their own."""
    async with running_engine(db_url, tmp_path, temporal_client) as services:
        yield services


async def temporal_status(client: Client, instance_id: str) -> str:
    """What Temporal says: its execution status, or for a completed run the result's status."""
    handle = client.get_workflow_handle(workflow_id(instance_id), result_type=InstanceResult)
    described = await handle.describe()
    if described.status == WorkflowExecutionStatus.COMPLETED:
        return (await handle.result()).status
    assert described.status is not None
    return described.status.name.lower()


async def row_status(services: Services, instance_id: str) -> str:
    async with services.database.session() as session:
        return (
            await session.execute(
                select(ProcessInstance.status).where(ProcessInstance.id == instance_id)
            )
        ).scalar_one()


async def task_state(services: Services, task_id: str) -> str:
    """The task's state wherever it is (runtime table, or history once the instance ended)."""
    async with services.database.session() as session:
        for table in (TaskInstance, HistoricTaskInstance):
            found = (
                await session.execute(select(table.state).where(table.id == task_id))
            ).scalar_one_or_none()
            if found is not None:
                return str(found)
    raise AssertionError(f"task {task_id} has no row")


async def open_task(services: Services, instance_id: str) -> str:
    page = await eventually(
        lambda: services.tasks.list(TaskFilters(instance_id=instance_id)),
        lambda p: bool(p.items),
        within=30,
    )
    return page.items[0].id


async def _outcome(call: Any) -> Any:
    try:
        return await call
    except ConflictError as exc:
        return exc


@pytest.mark.parametrize("control", ["terminate", "cancel"])
async def test_completion_racing_an_end_leaves_tables_equal_to_temporal(
    engine: Services, temporal_client: Client, control: str
) -> None:
    services = engine
    await deploy_document(services, one_task())
    records = [
        await services.instances.start(definition_key="approval", variables={})
        for _ in range(PAIRS)
    ]
    task_ids = [await open_task(services, r.id) for r in records]
    rng = random.Random(15)
    end = services.instances.terminate if control == "terminate" else services.instances.cancel
    ended_status = "terminated" if control == "terminate" else "cancelled"

    async def pair(instance_id: str, task_id: str) -> tuple[Any, Any]:
        # Alternate who leaves first, with a jitter around zero, so both orders happen.
        delay = rng.uniform(0, 0.02)
        first_complete = rng.random() < 0.5

        async def complete() -> Any:
            if not first_complete:
                await asyncio.sleep(delay)
            return await _outcome(services.tasks.complete(task_id, variables={"ok": True}))

        async def stop() -> Any:
            if first_complete:
                await asyncio.sleep(delay)
            return await _outcome(end(instance_id, reason="race"))

        done = await asyncio.gather(complete(), stop())
        return done[0], done[1]

    outcomes = await asyncio.gather(
        *(pair(r.id, t) for r, t in zip(records, task_ids, strict=True))
    )
    seen: set[tuple[bool, bool]] = set()
    for record, task_id, (completed, stopped) in zip(records, task_ids, outcomes, strict=True):
        truth = await temporal_status(temporal_client, record.id)
        status = await eventually(
            lambda r=record: row_status(services, r.id),  # type: ignore[misc]
            lambda s: s in ("completed", "terminated", "cancelled"),
        )
        assert status == truth, f"{record.id}: table {status}, Temporal {truth}"
        completed_ok = not isinstance(completed, ConflictError)
        stopped_ok = not isinstance(stopped, ConflictError)
        seen.add((completed_ok, stopped_ok))
        assert completed_ok or stopped_ok, f"{record.id}: both refused"
        if stopped_ok:
            assert stopped.status == ended_status
            assert truth == ended_status
        else:
            assert truth == "completed", f"{record.id}: {control} refused, Temporal says {truth}"
        # A completion that answered success happened; a refused one did not.
        state = await task_state(services, task_id)
        assert state == ("completed" if completed_ok else "cancelled"), (record.id, state)
        async with services.database.session() as session:
            types = (
                await session.execute(
                    select(ProcessEvent.event_type).where(
                        ProcessEvent.process_instance_id == record.id
                    )
                )
            ).scalars()
            assert ("task.completed" in list(types)) == completed_ok
    # Both orders occur over the pairs: the race is real, not always won by the same side.
    assert {(True, False), (False, True)} <= seen, seen
