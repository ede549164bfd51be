"""Instance lifecycle: registration of instances started by the engine, Temporal-level cancel."""

from __future__ import annotations

import pytest
from temporalio.client import Client

from .harness import doc, el, engine, eventually, until

pytestmark = pytest.mark.temporal


async def test_call_activity_child_is_registered_before_its_first_batch(
    temporal_client: Client,
) -> None:
    child = doc(
        el("c_start", "startEvent", "c_work"),
        el("c_work", "scriptTask", "c_end", config={"script": {"doubled": "${n * 2}"}}),
        el("c_end", "endEvent"),
        key="child",
    )
    parent = doc(
        el("start", "startEvent", "call"),
        el("call", "callActivity", "end", config={"called_element": "child"}),
        el("end", "endEvent"),
    )
    async with engine(temporal_client, definitions={"child": child}) as eng:
        handle = await eng.start(parent, variables={"n": 4})
        result = await handle.result()
    assert result.status == "completed" and result.variables["doubled"] == 8
    parent_id = eng.batches[0].instance_id
    assert [r.parent_instance_id for r in eng.registered] == [parent_id]
    registered = eng.registered[0]
    assert registered.parent_node_id == "call" and registered.definition_key == "child"
    child_batches = [b for b in eng.batches if b.instance_id == registered.instance_id]
    assert child_batches and child_batches[-1].status == "completed"
    assert eng.types(registered.instance_id)[0] == "process.started"


async def test_temporal_cancel_ends_the_instance_cancelled(temporal_client: Client) -> None:
    definition = doc(
        el("start", "startEvent", "review"),
        el("review", "userTask", "end"),
        el("end", "endEvent"),
    )
    async with engine(temporal_client) as eng:
        handle = await eng.start(definition)
        await until(handle, lambda s: bool(s.open_task_ids))
        await handle.cancel()
        result = await handle.result()
        instance_id = eng.batches[0].instance_id
        await eventually(lambda: eng.last(instance_id).ended_at is not None)
    assert result.status == "cancelled"
    last = eng.last(instance_id)
    assert last.status == "cancelled" and last.subscriptions == []
    assert eng.types(instance_id)[-1] == "process.cancelled"
    assert [t.state for t in eng.tasks(instance_id).values()] == ["cancelled"]
    assert not eng.registered  # started through the service: no registration by the workflow
