"""Boundary events: timer (interrupting, non-interrupting cycle), message, signal, error."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from workflow_engine.engine.contract import (
    SIGNAL_BPMN_SIGNAL,
    UPDATE_COMPLETE_TASK,
    CompleteTaskRequest,
    CompleteTaskResult,
    SignalDelivery,
)

from .harness import doc, el, engine, until

pytestmark = pytest.mark.temporal


def _task_with(boundary: dict[str, Any]) -> dict[str, Any]:
    return doc(
        el("start", "startEvent", "t"),
        el("t", "userTask", "end"),
        el("end", "endEvent"),
        {**boundary, "outgoing": ["b_path"]},
        el(
            "b_path",
            "scriptTask",
            "b_end",
            config={"script": {"via_boundary": "${via_boundary + 1}"}},
        ),
        el("b_end", "endEvent"),
        signal_definitions=[{"id": "s", "name": "escalate"}],
    )


async def test_interrupting_timer_boundary_cancels_the_task(temporal_client: Client) -> None:
    definition = _task_with(
        el("b", "boundaryEvent", attached_to="t", config={"timer_duration": "PT1S"})
    )
    async with engine(temporal_client) as eng:
        result = await (await eng.start(definition, variables={"via_boundary": 0})).result()
    assert result.end_node_id == "b_end" and result.variables["via_boundary"] == 1
    assert [t.state for t in eng.tasks().values()] == ["cancelled"]
    assert "activity.interrupted" in eng.types()


async def test_non_interrupting_cycle_timer_leaves_task_running(temporal_client: Client) -> None:
    definition = _task_with(
        el(
            "b",
            "boundaryEvent",
            attached_to="t",
            config={"timer_cycle": "R2/PT1S", "cancel_activity": False},
        )
    )
    async with engine(temporal_client) as eng:
        handle = await eng.start(definition, variables={"via_boundary": 0})
        snap = await until(handle, lambda s: s.variables.get("via_boundary") == 2)
        assert snap.open_task_ids and snap.active_node_ids == ["t"]
        await handle.execute_update(
            UPDATE_COMPLETE_TASK,
            CompleteTaskRequest(task_id=snap.open_task_ids[0]),
            result_type=CompleteTaskResult,
        )
        result = await handle.result()
    assert result.variables["via_boundary"] == 2
    assert [t.state for t in eng.tasks().values()] == ["completed"]


async def test_signal_boundary_interrupting(temporal_client: Client) -> None:
    definition = _task_with(el("b", "boundaryEvent", attached_to="t", config={"signal_ref": "s"}))
    async with engine(temporal_client) as eng:
        handle = await eng.start(definition, variables={"via_boundary": 0})
        await until(handle, lambda s: bool(s.open_task_ids))
        await handle.signal(SIGNAL_BPMN_SIGNAL, SignalDelivery(name="escalate"))
        result = await handle.result()
    assert result.end_node_id == "b_end"


async def test_error_boundary_catches_bpmn_error_of_activity(temporal_client: Client) -> None:
    @activity.defn(name="Charge")
    async def charge(arg: dict[str, Any]) -> dict[str, Any]:
        raise ApplicationError("card declined", type="CARD_DECLINED")

    definition = doc(
        el("start", "startEvent", "pay"),
        el("pay", "serviceTask", "end", config={"activity_name": "Charge"}),
        el("end", "endEvent"),
        el("declined", "boundaryEvent", "b_end", attached_to="pay", config={"error_ref": "e_card"}),
        el("b_end", "endEvent"),
        error_definitions=[{"id": "e_card", "error_code": "CARD_DECLINED"}],
    )
    async with engine(temporal_client, charge) as eng:
        result = await (await eng.start(definition)).result()
    assert result.end_node_id == "b_end"
    assert "error.thrown" in eng.types()
