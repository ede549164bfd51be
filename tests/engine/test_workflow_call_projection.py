"""A call activity's child instance through the REAL projection (database), both databases.

The parent starts through the instance service; the child is registered by the workflow
(`wfe.register_instance`) and both write their logs through `wfe.apply_runtime_batch`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from tests.services.support import deploy_document, eventually
from workflow_engine.config import load_settings
from workflow_engine.engine.worker import build_worker
from workflow_engine.services.container import Services, build_services
from workflow_engine.store.instances import (
    EventRecord,
    InstanceFilters,
    InstanceRecord,
    InstanceRepository,
)
from workflow_engine.store.tasks import TaskFilters

from .harness import doc, el

pytestmark = pytest.mark.temporal

CHILD = doc(
    el("c_start", "startEvent", "c_calc"),
    el("c_calc", "scriptTask", "c_check", config={"script": {"doubled": "${x * 2}"}}),
    el("c_check", "userTask", "c_end", config={"assignee": "${initiator}"}),
    el("c_end", "endEvent"),
    id="child",
    key="child",
    name="child",
)
PARENT = doc(
    el("start", "startEvent", "call"),
    el(
        "call",
        "callActivity",
        "end",
        config={
            "called_element": "child",
            "in_mapping": {"x": "${value}"},
            "out_mapping": {"result_value": "${doubled}", "checked": "${checked}"},
        },
    ),
    el("end", "endEvent"),
    id="parent",
    key="parent",
    name="parent",
)


@pytest.fixture
async def services(db_url: str, tmp_path: Path, temporal_client: Client) -> AsyncIterator[Services]:
    """Services and a real interpreter worker (engine activities only) on a queue of their own."""
    queue = f"wfe-call-{uuid.uuid4().hex}"
    settings = load_settings(database_url=db_url, data_dir=tmp_path, task_queue=queue)
    built = await build_services(settings, temporal_client=temporal_client)
    worker = build_worker(temporal_client, task_queue=queue, activities=built.engine_activities())
    try:
        async with worker:
            yield built
    finally:
        await built.aclose()


async def _instance(services: Services, instance_id: str) -> InstanceRecord | None:
    async with services.database.session() as session:
        return await InstanceRepository(session).get(instance_id)


async def _children(services: Services) -> list[InstanceRecord]:
    async with services.database.session() as session:
        found, _ = await InstanceRepository(session).list(InstanceFilters(definition_key="child"))
    return found


async def _log(services: Services, instance_id: str) -> tuple[list[EventRecord], dict[str, Any]]:
    async with services.database.session() as session:
        repo = InstanceRepository(session)
        return await repo.events(instance_id), await repo.variables(instance_id)


def _contiguous(events: list[EventRecord]) -> bool:
    return [e.sequence for e in events] == list(range(1, len(events) + 1))


async def test_call_activity_child_in_the_database(services: Services) -> None:
    await deploy_document(services, CHILD)
    await deploy_document(services, PARENT)
    parent = await services.instances.start(
        definition_key="parent", variables={"value": 21}, user_id="carol"
    )
    children = await eventually(lambda: _children(services), lambda found: len(found) == 1)
    child = children[0]
    assert child.super_instance_id == parent.id and child.id != parent.id
    assert child.definition_key == "child" and child.start_user_id == "carol"
    assert child.workflow_id == f"pi-{child.id}"

    async def child_tasks() -> list[Any]:
        page = await services.tasks.list(TaskFilters(instance_id=child.id, state="created"))
        return list(page.items)

    tasks = await eventually(child_tasks, lambda found: len(found) == 1)
    assert tasks[0].assignee == "carol" and tasks[0].task_definition_key == "c_check"
    running = await _instance(services, parent.id)
    assert running is not None and running.status == "running"
    await services.tasks.complete(tasks[0].id, variables={"checked": True}, user_id="carol")

    done = await eventually(
        lambda: _instance(services, parent.id), lambda r: r is not None and r.status == "completed"
    )
    child_done = await _instance(services, child.id)
    assert done is not None and done.end_time is not None
    assert child_done is not None and child_done.status == "completed"
    assert child_done.end_time is not None and child_done.super_instance_id == parent.id

    parent_events, parent_vars = await _log(services, parent.id)
    child_events, child_vars = await _log(services, child.id)
    for events, record in ((parent_events, done), (child_events, child_done)):
        assert _contiguous(events), [e.sequence for e in events]
        assert record.last_sequence == events[-1].sequence
        assert events[0].event_type == "process.started"
        assert events[-1].event_type == "process.completed"
    assert parent_vars == {"value": 21, "initiator": "carol", "result_value": 42, "checked": True}
    assert child_vars["x"] == 21 and child_vars["doubled"] == 42 and child_vars["checked"] is True
    assert "value" not in child_vars
    started = next(e for e in parent_events if e.event_type == "call.started")
    assert started.data["child_instance_id"] == child.id
    completed = next(e for e in parent_events if e.event_type == "call.completed")
    assert completed.data["status"] == "completed"
    child_start = child_events[0].data
    assert child_start["parent_instance_id"] == parent.id
    assert child_start["parent_node_id"] == "call"
