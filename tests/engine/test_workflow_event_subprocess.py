"""Event subprocesses at process level: timer, signal, message and error starts."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import ApplicationError

from workflow_engine.engine.contract import (
    SIGNAL_BPMN_MESSAGE,
    SIGNAL_BPMN_SIGNAL,
    UPDATE_COMPLETE_TASK,
    CompleteTaskRequest,
    CompleteTaskResult,
    InstanceSnapshot,
    MessageDelivery,
    SignalDelivery,
)

from .harness import Engine, doc, el, engine, eventually, snapshot, until

pytestmark = pytest.mark.temporal

EVENTS: dict[str, Any] = {
    "signal_definitions": [{"id": "sig_audit", "name": "audit"}],
    "message_definitions": [{"id": "msg_question", "name": "question"}],
    "error_definitions": [{"id": "err_stock", "error_code": "OUT_OF_STOCK"}],
}


def _event_subprocess(start_config: dict[str, Any], *inner: dict[str, Any]) -> dict[str, Any]:
    """Event subprocess `esp`: e_start (with `start_config`) -> inner... -> e_end."""
    first = inner[0]["id"] if inner else "e_end"
    return el(
        "esp",
        "subProcess",
        config={
            "triggered_by_event": True,
            "elements": [
                el("e_start", "startEvent", first, config=start_config),
                *inner,
                el("e_end", "endEvent"),
            ],
        },
    )


def _main_task(*extra: dict[str, Any]) -> dict[str, Any]:
    """start -> review (user task) -> end, plus `extra` elements."""
    return doc(
        el("start", "startEvent", "review"),
        el("review", "userTask", "end"),
        el("end", "endEvent"),
        *extra,
        **EVENTS,
    )


def _handled(variable: str) -> dict[str, Any]:
    """A script task in the event subprocess that records it ran."""
    return el("e_work", "scriptTask", "e_end", config={"script": {variable: "${true}"}})


async def _complete(handle: WorkflowHandle[Any, Any], task_id: str, **variables: Any) -> None:
    await handle.execute_update(
        UPDATE_COMPLETE_TASK,
        CompleteTaskRequest(task_id=task_id, variables=variables),
        result_type=CompleteTaskResult,
    )


def _mirrors(eng: Engine, instance_id: str, kind: str, node_id: str) -> bool:
    current = [
        b.subscriptions
        for b in eng.batches
        if b.instance_id == instance_id and b.subscriptions is not None
    ]
    return bool(current) and (kind, node_id) in [(s.kind, s.node_id) for s in current[-1]]


async def test_timer_start_interrupts_the_process(temporal_client: Client) -> None:
    definition = _main_task(
        _event_subprocess({"timer_duration": "PT1S"}, _handled("timed_out_handled"))
    )
    async with engine(temporal_client) as eng:
        result = await (await eng.start(definition)).result()
    assert result.status == "completed" and result.variables["timed_out_handled"] is True
    assert [t.state for t in eng.tasks().values()] == ["cancelled"]
    types = eng.types()
    assert types.index("timer.fired") < types.index("event_subprocess.triggered")
    assert "task.cancelled" in types and "review" not in eng.passed()
    assert eng.passed()[-4:] == ["e_start", "e_work", "e_end", "esp"]
    triggered = next(e for e in eng.events() if e.type == "event_subprocess.triggered")
    assert triggered.activity_id == "e_start" and triggered.data["interrupting"] is True


async def test_non_interrupting_signal_start_lets_the_main_path_continue(
    temporal_client: Client,
) -> None:
    definition = _main_task(
        _event_subprocess(
            {"signal_ref": "sig_audit", "is_interrupting": False},
            el("e_work", "scriptTask", "e_end", config={"script": {"audits": "${audits + 1}"}}),
        )
    )
    instance_id = str(uuid.uuid4())
    async with engine(temporal_client) as eng:
        handle = await eng.start(definition, variables={"audits": 0}, instance_id=instance_id)
        first = await until(handle, lambda s: bool(s.open_task_ids))
        await eventually(lambda: _mirrors(eng, instance_id, "signal", "e_start"))
        await handle.signal(SIGNAL_BPMN_SIGNAL, SignalDelivery(name="audit", variables={"by": "x"}))
        snap = await until(handle, lambda s: s.variables.get("audits") == 1)
        assert snap.open_task_ids == first.open_task_ids and snap.status == "running"
        # Still armed after firing: a second signal runs the event subprocess again.
        await eventually(lambda: _mirrors(eng, instance_id, "signal", "e_start"))
        await handle.signal(SIGNAL_BPMN_SIGNAL, SignalDelivery(name="audit"))
        await until(handle, lambda s: s.variables.get("audits") == 2)
        await _complete(handle, first.open_task_ids[0], approved=True)
        result = await handle.result()
    assert result.status == "completed" and result.end_node_id == "end"
    assert result.variables == {"audits": 2, "by": "x", "approved": True}
    assert [t.state for t in eng.tasks().values()] == ["completed"]
    assert eng.types().count("event_subprocess.triggered") == 2
    assert eng.last(instance_id).subscriptions == []


async def test_non_interrupting_message_start_waits_for_both_tasks(
    temporal_client: Client,
) -> None:
    """Camunda 7: a non-interrupting message event subprocess with a user task; the instance
    ends only after the main task and the event subprocess's task are both completed."""
    definition = _main_task(
        _event_subprocess(
            {"message_ref": "msg_question", "is_interrupting": False},
            el("answer", "userTask", "e_end"),
        )
    )
    instance_id = str(uuid.uuid4())
    async with engine(temporal_client) as eng:
        handle = await eng.start(definition, instance_id=instance_id)
        first = await until(handle, lambda s: bool(s.open_task_ids))
        main_task = first.open_task_ids[0]
        await handle.signal(
            SIGNAL_BPMN_MESSAGE, MessageDelivery(name="question", variables={"q": "why?"})
        )
        both = await until(handle, lambda s: len(s.open_task_ids) == 2)
        assert both.active_node_ids == ["review", "esp", "answer"]
        answer_task = next(t for t in both.open_task_ids if t != main_task)
        await _complete(handle, main_task, reviewed=True)

        def main_done(s: InstanceSnapshot) -> bool:
            return s.open_task_ids == [answer_task]

        after_main = await until(handle, main_done)
        assert after_main.status == "running" and after_main.active_node_ids == ["esp", "answer"]
        assert (await snapshot(handle)).status == "running"
        await _complete(handle, answer_task, a="because")
        result = await handle.result()
    assert result.status == "completed"
    assert result.variables == {"q": "why?", "reviewed": True, "a": "because"}
    states = {t.node_id: t.state for t in eng.tasks().values()}
    assert states == {"review": "completed", "answer": "completed"}
    assert eng.types()[-1] == "process.completed"
    assert eng.passed()[-3:] == ["answer", "e_end", "esp"]


async def test_error_start_catches_an_error_end_event(temporal_client: Client) -> None:
    definition = doc(
        el("start", "startEvent", "check"),
        el("check", "scriptTask", "fail", config={"script": {"checked": "${true}"}}),
        el("fail", "endEvent", config={"error_ref": "err_stock"}),
        _event_subprocess({"error_ref": "err_stock"}, _handled("compensated")),
        **EVENTS,
    )
    async with engine(temporal_client) as eng:
        result = await (await eng.start(definition)).result()
    assert result.status == "completed"
    assert result.variables == {"checked": True, "compensated": True}
    thrown = next(e for e in eng.events() if e.type == "error.thrown")
    assert thrown.activity_id == "fail" and thrown.data["catcher"] == "e_start"
    assert thrown.data["error_code"] == "OUT_OF_STOCK"
    assert eng.passed()[-4:] == ["e_start", "e_work", "e_end", "esp"]
    assert "incident.created" not in eng.types()


async def test_error_start_catches_a_service_task_bpmn_error(temporal_client: Client) -> None:
    """The error of a service task on one branch ends the other branch's user task too."""

    @activity.defn(name="Reserve")
    async def reserve(arg: dict[str, Any]) -> dict[str, Any]:
        raise ApplicationError("nothing left", type="OUT_OF_STOCK")

    definition = doc(
        el("start", "startEvent", "fork"),
        el("fork", "parallelGateway", "review", "reserve"),
        el("review", "userTask", "join"),
        el("reserve", "serviceTask", "join", config={"activity_name": "Reserve"}),
        el("join", "parallelGateway", "end"),
        el("end", "endEvent"),
        _event_subprocess({"error_ref": None}, _handled("compensated")),
        **EVENTS,
    )
    async with engine(temporal_client, reserve) as eng:
        result = await (await eng.start(definition)).result()
    assert result.status == "completed" and result.variables["compensated"] is True
    assert [t.state for t in eng.tasks().values()] == ["cancelled"]
    types = eng.types()
    assert types.index("activity.failed") < types.index("error.thrown")
    thrown = next(e for e in eng.events() if e.type == "error.thrown")
    assert thrown.activity_id == "reserve" and thrown.data["catcher"] == "e_start"
    assert "join" not in eng.passed() and "end" not in eng.passed()
    assert "incident.created" not in types


async def test_error_start_inside_an_embedded_subprocess(temporal_client: Client) -> None:
    """The subprocess's own error event subprocess handles it; the parent path goes on."""
    definition = doc(
        el("start", "startEvent", "sub"),
        el(
            "sub",
            "subProcess",
            "after",
            config={
                "elements": [
                    el("s_start", "startEvent", "s_fail"),
                    el("s_fail", "endEvent", config={"error_ref": "err_stock"}),
                    el(
                        "inner_esp",
                        "subProcess",
                        config={
                            "triggered_by_event": True,
                            "elements": [
                                el("ie_start", "startEvent", "ie_work", config={"error_ref": None}),
                                el(
                                    "ie_work",
                                    "scriptTask",
                                    "ie_end",
                                    config={"script": {"handled": "${true}"}},
                                ),
                                el("ie_end", "endEvent"),
                            ],
                        },
                    ),
                ]
            },
        ),
        el("after", "scriptTask", "end", config={"script": {"after": "${true}"}}),
        el("end", "endEvent"),
        # A process-level error event subprocess must not win over the inner one.
        _event_subprocess({"error_ref": "err_stock"}, _handled("outer_handled")),
        **EVENTS,
    )
    async with engine(temporal_client) as eng:
        result = await (await eng.start(definition)).result()
    assert result.status == "completed" and result.end_node_id == "end"
    assert result.variables == {"handled": True, "after": True}
    thrown = next(e for e in eng.events() if e.type == "error.thrown")
    assert thrown.data["catcher"] == "ie_start"
    assert eng.passed()[-5:] == ["ie_end", "inner_esp", "sub", "after", "end"]


async def test_interrupting_message_start_cancels_a_running_activity(
    temporal_client: Client,
) -> None:
    started = asyncio.Event()

    @activity.defn(name="Slow")
    async def slow(arg: dict[str, Any]) -> dict[str, Any]:
        started.set()
        while True:
            activity.heartbeat()
            await asyncio.sleep(0.2)

    definition = _main_task(
        _event_subprocess({"message_ref": "msg_question"}, _handled("interrupted")),
    )
    definition["elements"][0]["outgoing"] = ["work"]
    definition["elements"].append(
        el("work", "serviceTask", "review", config={"activity_name": "Slow", "timeout": "PT30S"})
    )
    async with engine(temporal_client, slow) as eng:
        handle = await eng.start(definition)
        await asyncio.wait_for(started.wait(), 20)
        await handle.signal(SIGNAL_BPMN_MESSAGE, MessageDelivery(name="question"))
        result = await handle.result()
    assert result.status == "completed" and result.variables == {"interrupted": True}
    passed = eng.passed()
    assert "work" not in passed and "review" not in passed and not eng.tasks()
    assert "activity.result" not in eng.types()
