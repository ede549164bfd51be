"""Control: pause / resume (events kept), terminate, cancel, set variables, snapshot."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import Client

from workflow_engine.engine.contract import (
    SIGNAL_BPMN_SIGNAL,
    SIGNAL_CANCEL,
    SIGNAL_PAUSE,
    SIGNAL_RESUME,
    SIGNAL_SET_VARIABLES,
    SIGNAL_TERMINATE,
    ControlRequest,
    SetVariablesRequest,
    SignalDelivery,
)

from .harness import doc, el, engine, eventually, until

pytestmark = pytest.mark.temporal


async def test_pause_with_timer_firing_during_pause(temporal_client: Client) -> None:
    definition = doc(
        el("start", "startEvent", "wait"),
        el("wait", "intermediateCatchEvent", "after", config={"timer_duration": "PT1S"}),
        el("after", "scriptTask", "end", config={"script": {"done": "${true}"}}),
        el("end", "endEvent"),
    )
    async with engine(temporal_client) as eng:
        handle = await eng.start(definition)
        await until(handle, lambda s: s.active_node_ids == ["wait"])
        await handle.signal(SIGNAL_PAUSE, ControlRequest(reason="check"))
        snap = await until(handle, lambda s: s.paused)
        assert snap.status == "paused"
        await asyncio.sleep(2.0)  # the timer is due meanwhile
        snap = await until(handle, lambda s: True)
        assert snap.active_node_ids == ["wait"] and "timer.fired" not in eng.types()
        await eventually(lambda: eng.batches[-1].status == "paused")
        await handle.signal(SIGNAL_RESUME, ControlRequest())
        result = await handle.result()
    assert result.status == "completed" and result.variables["done"] is True
    types = eng.types()
    assert (
        types.index("process.paused") < types.index("process.resumed") < types.index("timer.fired")
    )


async def test_signal_during_pause_is_handled_on_resume(temporal_client: Client) -> None:
    definition = doc(
        el("start", "startEvent", "wait"),
        el("wait", "intermediateCatchEvent", "end", config={"signal_ref": "go"}),
        el("end", "endEvent"),
    )
    async with engine(temporal_client) as eng:
        handle = await eng.start(definition)
        await until(handle, lambda s: s.active_node_ids == ["wait"])
        await handle.signal(SIGNAL_PAUSE, ControlRequest())
        await handle.signal(SIGNAL_BPMN_SIGNAL, SignalDelivery(name="go", variables={"v": 1}))
        await asyncio.sleep(0.5)
        assert (await until(handle, lambda s: True)).active_node_ids == ["wait"]
        await handle.signal(SIGNAL_RESUME, ControlRequest())
        result = await handle.result()
    assert result.variables["v"] == 1


async def test_terminate_with_open_task(temporal_client: Client) -> None:
    definition = doc(
        el("start", "startEvent", "t"), el("t", "userTask", "end"), el("end", "endEvent")
    )
    async with engine(temporal_client) as eng:
        handle = await eng.start(definition)
        await until(handle, lambda s: bool(s.open_task_ids))
        await handle.signal(SIGNAL_TERMINATE, ControlRequest(reason="wrong order", user_id="op"))
        result = await handle.result()
    assert result.status == "terminated" and result.reason == "wrong order"
    assert [t.state for t in eng.tasks().values()] == ["cancelled"]
    last = eng.batches[-1]
    assert last.status == "terminated" and last.end_reason == "wrong order" and last.ended_at


async def test_cancel_runs_down_a_running_activity(temporal_client: Client) -> None:
    from temporalio import activity

    started = asyncio.Event()

    @activity.defn(name="Slow")
    async def slow(arg: dict[str, object]) -> None:
        started.set()
        await asyncio.sleep(30)

    definition = doc(
        el("start", "startEvent", "s"),
        el("s", "serviceTask", "end", config={"activity_name": "Slow"}),
        el("end", "endEvent"),
    )
    async with engine(temporal_client, slow) as eng:
        handle = await eng.start(definition)
        await asyncio.wait_for(started.wait(), 10)
        await handle.signal(SIGNAL_CANCEL, ControlRequest(reason="no longer needed"))
        result = await asyncio.wait_for(handle.result(), 15)
    assert result.status == "cancelled"
    assert "activity.completed" not in eng.types()


async def test_set_variables_and_snapshot(temporal_client: Client) -> None:
    definition = doc(
        el("start", "startEvent", "t"), el("t", "userTask", "end"), el("end", "endEvent")
    )
    async with engine(temporal_client) as eng:
        handle = await eng.start(definition, variables={"a": 1})
        await until(handle, lambda s: bool(s.open_task_ids))
        await handle.signal(
            SIGNAL_SET_VARIABLES, SetVariablesRequest(variables={"b": 2}, user_id="op")
        )
        snap = await until(handle, lambda s: s.variables.get("b") == 2)
        assert snap.variables["a"] == 1 and snap.active_node_ids == ["t"]
        await eventually(lambda: any(b.variables.get("b") == 2 for b in eng.batches))
        await handle.signal(SIGNAL_TERMINATE, ControlRequest())
        await handle.result()


async def test_terminate_end_event_ends_everything(temporal_client: Client) -> None:
    definition = doc(
        el("start", "startEvent", "fork"),
        el("fork", "parallelGateway", "t", "stop"),
        el("t", "userTask", "end"),
        el("stop", "endEvent", config={"terminate": True}),
        el("end", "endEvent"),
    )
    async with engine(temporal_client) as eng:
        result = await (await eng.start(definition)).result()
    assert result.status == "completed" and result.end_node_id == "stop"
    assert [t.state for t in eng.tasks().values()] == ["cancelled"]
