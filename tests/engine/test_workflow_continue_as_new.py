"""Continue-as-new: long instances hand their state to a new run and go on exactly.

A low `continue_as_new_after` makes a count loop continue as new several times; the event log
across the runs stays contiguous, and waits (user task, timer, signal catch) survive it.
"""

from __future__ import annotations

from typing import Any

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle

from workflow_engine.engine.contract import (
    SIGNAL_BPMN_SIGNAL,
    UPDATE_COMPLETE_TASK,
    CompleteTaskRequest,
    CompleteTaskResult,
    SignalDelivery,
)

from .harness import Engine, doc, el, engine, flow, until

pytestmark = pytest.mark.temporal


@activity.defn(name="count_up")
async def count_up(data: dict[str, Any]) -> dict[str, Any]:
    return {"count": int(data["count"]) + 1}


async def run_ids(client: Client, handle: WorkflowHandle[Any, Any]) -> list[str]:
    """Every run of the workflow, oldest first (following continued-as-new links)."""
    first = handle.first_execution_run_id or handle.result_run_id
    assert first is not None
    runs = [first]
    while True:
        history = await client.get_workflow_handle(handle.id, run_id=runs[-1]).fetch_history()
        last = history.events[-1]
        if last.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            return runs
        runs.append(last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id)


def assert_log_contiguous(eng: Engine, instance_id: str) -> None:
    """Sequences 1..N without gap; a sequence written twice (a retried batch) is identical."""
    by_sequence: dict[int, Any] = {}
    for batch in eng.batches:
        if batch.instance_id != instance_id:
            continue
        for event in batch.events:
            seen = by_sequence.setdefault(event.sequence, event)
            assert seen == event, f"sequence {event.sequence} written twice differently"
    assert sorted(by_sequence) == list(range(1, len(by_sequence) + 1))


def _loop(times: int, *before: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        el("inc", "serviceTask", "more", config={"activity_name": "count_up"}),
        el("more", "exclusiveGateway", "again", "done"),
        flow("again", "more", "inc", f"${{count < {times}}}"),
        flow("done", "more", "loop_end", f"${{count >= {times}}}"),
        *before,
    ]


async def test_count_loop_continues_as_new_and_ends_right(temporal_client: Client) -> None:
    definition = doc(
        el("start", "startEvent", "inc"),
        *_loop(300),
        el("loop_end", "endEvent"),
    )
    async with engine(temporal_client, count_up) as eng:
        handle = await eng.start(definition, variables={"count": 0}, continue_as_new_after=200)
        result = await handle.result()
        runs = await run_ids(temporal_client, handle)
    assert result.status == "completed" and result.variables["count"] == 300
    assert len(runs) >= 5, runs
    instance_id = eng.batches[0].instance_id
    assert_log_contiguous(eng, instance_id)
    types = eng.types(instance_id)
    assert types.count("process.started") == 1 and types[-1] == "process.completed"
    assert types.count("activity.result") == 300
    assert eng.last(instance_id).status == "completed"


async def test_waits_survive_continue_as_new(temporal_client: Client) -> None:
    definition = doc(
        el("start", "startEvent", "fork"),
        el("fork", "parallelGateway", "review", "inc", "nap", "hear"),
        el("review", "userTask", "join"),
        *_loop(60),
        el("loop_end", "parallelGateway", "join"),
        el("nap", "intermediateCatchEvent", "join", config={"timer_duration": "PT6S"}),
        el("hear", "intermediateCatchEvent", "join", config={"signal_ref": "go"}),
        el("join", "parallelGateway", "end"),
        el("end", "endEvent"),
        signal_definitions=[{"id": "go", "name": "go"}],
    )
    async with engine(temporal_client, count_up) as eng:
        handle = await eng.start(definition, variables={"count": 0}, continue_as_new_after=60)
        snap = await until(handle, lambda s: s.variables.get("count") == 60, within=60)
        task_id = snap.open_task_ids[0]
        assert len(await run_ids(temporal_client, handle)) >= 2
        await handle.signal(SIGNAL_BPMN_SIGNAL, SignalDelivery(name="go", variables={"heard": 1}))
        done = await handle.execute_update(
            UPDATE_COMPLETE_TASK,
            CompleteTaskRequest(task_id=task_id, variables={"ok": True}, user_id="ann"),
            result_type=CompleteTaskResult,
        )
        assert done.node_id == "review"
        result = await handle.result()
        timer_runs = 0
        for run_id in await run_ids(temporal_client, handle):
            run = temporal_client.get_workflow_handle(handle.id, run_id=run_id)
            events = (await run.fetch_history()).events
            timer_runs += any(e.event_type == EventType.EVENT_TYPE_TIMER_STARTED for e in events)
    assert timer_runs >= 2  # the timer wait was carried into a continued run
    assert result.status == "completed" and result.end_node_id == "end"
    assert result.variables["count"] == 60
    assert result.variables["ok"] is True and result.variables["heard"] == 1
    instance_id = eng.batches[0].instance_id
    assert_log_contiguous(eng, instance_id)
    types = eng.types(instance_id)
    assert types.count("timer.scheduled") == 1 and types.count("timer.fired") == 1
    by_type = {e.type: e for e in eng.events(instance_id)}
    assert by_type["timer.fired"].timestamp >= by_type["timer.scheduled"].data["fire_at"]
    assert types.count("task.created") == 1 and types.count("signal.received") == 1
    assert [t.state for t in eng.tasks(instance_id).values()] == ["completed"]
    assert eng.tasks(instance_id)[task_id].completed_by == "ann"
