"""Message and signal boundary events on a user task: interrupting and non-interrupting."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle

from workflow_engine.engine.contract import (
    SIGNAL_BPMN_MESSAGE,
    SIGNAL_BPMN_SIGNAL,
    UPDATE_COMPLETE_TASK,
    CompleteTaskRequest,
    CompleteTaskResult,
    MessageDelivery,
    SignalDelivery,
)

from .harness import Engine, doc, el, engine, eventually, until

pytestmark = pytest.mark.temporal

DEFINITIONS: dict[str, Any] = {
    "signal_definitions": [{"id": "sig_escalate", "name": "escalate"}],
    "message_definitions": [
        {"id": "msg_cancel", "name": "cancel_request", "correlation_key": "${order}"}
    ],
}


def _review_with(trigger: dict[str, Any], *, interrupting: bool) -> dict[str, Any]:
    """start -> review (user task) -> end; boundary `b` -> b_path (counts) -> b_end."""
    return doc(
        el("start", "startEvent", "review"),
        el("review", "userTask", "end"),
        el("end", "endEvent"),
        el(
            "b",
            "boundaryEvent",
            "b_path",
            attached_to="review",
            config={**trigger, "cancel_activity": interrupting},
        ),
        el(
            "b_path",
            "scriptTask",
            "b_end",
            config={"script": {"via_boundary": "${via_boundary + 1}"}},
        ),
        el("b_end", "endEvent"),
        **DEFINITIONS,
    )


async def _deliver(handle: WorkflowHandle[Any, Any], kind: str, payload: dict[str, Any]) -> None:
    if kind == "message":
        await handle.signal(
            SIGNAL_BPMN_MESSAGE,
            MessageDelivery(name="cancel_request", correlation_key="o-1", variables=payload),
        )
    else:
        await handle.signal(SIGNAL_BPMN_SIGNAL, SignalDelivery(name="escalate", variables=payload))


def _mirrored_wait(eng: Engine, instance_id: str, kind: str) -> bool:
    """The latest mirrored subscription set holds the boundary's wait."""
    sets = [b.subscriptions for b in eng.batches if b.instance_id == instance_id]
    current = [s for s in sets if s is not None]
    return bool(current) and [(s.kind, s.node_id) for s in current[-1]] == [(kind, "b")]


TRIGGERS = [
    pytest.param("message", {"message_ref": "msg_cancel"}, id="message"),
    pytest.param("signal", {"signal_ref": "sig_escalate"}, id="signal"),
]


@pytest.mark.parametrize(("kind", "trigger"), TRIGGERS)
async def test_interrupting_boundary_cancels_the_task(
    temporal_client: Client, kind: str, trigger: dict[str, Any]
) -> None:
    definition = _review_with(trigger, interrupting=True)
    async with engine(temporal_client) as eng:
        instance_id = str(uuid.uuid4())
        handle = await eng.start(
            definition, variables={"via_boundary": 0, "order": "o-1"}, instance_id=instance_id
        )
        await until(handle, lambda s: bool(s.open_task_ids))
        await eventually(lambda: _mirrored_wait(eng, instance_id, kind))
        if kind == "message":
            sub = eng.last(instance_id).subscriptions or []
            assert sub[0].name == "cancel_request" and sub[0].correlation_key == "o-1"
        await _deliver(handle, kind, {"reason": "customer"})
        result = await handle.result()
    assert result.status == "completed" and result.end_node_id == "b_end"
    assert result.variables["via_boundary"] == 1 and result.variables["reason"] == "customer"
    assert [t.state for t in eng.tasks().values()] == ["cancelled"]
    types = eng.types()
    assert types.index("boundary.triggered") < types.index("activity.interrupted")
    assert "task.cancelled" in types and "task.completed" not in types
    triggered = next(e for e in eng.events() if e.type == "boundary.triggered")
    assert triggered.data["interrupting"] is True and triggered.data["attached_to"] == "review"
    assert "review" not in eng.passed()
    assert eng.last(instance_id).subscriptions == []


@pytest.mark.parametrize(("kind", "trigger"), TRIGGERS)
async def test_non_interrupting_boundary_runs_an_extra_token(
    temporal_client: Client, kind: str, trigger: dict[str, Any]
) -> None:
    definition = _review_with(trigger, interrupting=False)
    async with engine(temporal_client) as eng:
        instance_id = str(uuid.uuid4())
        handle = await eng.start(
            definition, variables={"via_boundary": 0, "order": "o-1"}, instance_id=instance_id
        )
        first = await until(handle, lambda s: bool(s.open_task_ids))
        await eventually(lambda: _mirrored_wait(eng, instance_id, kind))
        await _deliver(handle, kind, {"note": "hurry"})
        snap = await until(handle, lambda s: s.variables.get("via_boundary") == 1)
        # The extra token ran to b_end; the task is the same, still open.
        assert snap.open_task_ids == first.open_task_ids and snap.active_node_ids == ["review"]
        assert snap.status == "running"
        # Re-armed: a second delivery takes the boundary path again.
        await eventually(lambda: _mirrored_wait(eng, instance_id, kind))
        await _deliver(handle, kind, {"note": "again"})
        await until(handle, lambda s: s.variables.get("via_boundary") == 2)
        await handle.execute_update(
            UPDATE_COMPLETE_TASK,
            CompleteTaskRequest(task_id=first.open_task_ids[0], variables={"done": True}),
            result_type=CompleteTaskResult,
        )
        result = await handle.result()
    assert result.status == "completed" and result.end_node_id == "end"
    assert result.variables["via_boundary"] == 2 and result.variables["note"] == "again"
    assert result.variables["done"] is True
    assert [t.state for t in eng.tasks().values()] == ["completed"]
    types = eng.types()
    assert types.count("boundary.triggered") == 2 and "activity.interrupted" not in types
    assert eng.passed().count("b_end") == 2 and eng.passed()[-1] == "end"
    assert all(
        e.data["interrupting"] is False for e in eng.events() if e.type == "boundary.triggered"
    )
    assert eng.last(instance_id).subscriptions == []
