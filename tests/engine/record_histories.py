"""Regenerate the replay corpus in tests/engine/histories/ (run after an intended change).

    python -m tests.engine.record_histories [SCENARIO ...]   (default: every scenario)

Starts its own in-memory dev server, runs each scenario with the real interpreter and the
recording activities of the test harness, and writes each workflow history as JSON. The replay
test (`test_workflow_replay.py`) then proves the current interpreter makes the same decisions.
`pre_escalation_support.json` and `pre_link_support.json` are not scenarios here: they were
recorded by the interpreter of commit a61154d, before link and escalation events ran (a link
catch followed by a timer; an interrupting escalation boundary the old interpreter turned into
an incident, recorded while it waited), and show that such instances still replay the old way
(`workflow.patched`): without the patches both fail to replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle

from workflow_engine.engine.contract import (
    SIGNAL_PAUSE,
    SIGNAL_RESUME,
    SIGNAL_RETRY,
    SIGNAL_SET_VARIABLES,
    SIGNAL_TERMINATE,
    UPDATE_COMPLETE_TASK,
    UPDATE_PAUSE,
    UPDATE_RESUME,
    UPDATE_TERMINATE,
    CompleteTaskRequest,
    CompleteTaskResult,
    ControlRequest,
    ControlResult,
    RetryRequest,
    SetVariablesRequest,
)
from workflow_engine.engine.devserver import TemporalDevServer

from .harness import Engine, doc, el, engine, flow, until

HISTORIES = Path(__file__).resolve().parent / "histories"

Scenario = Callable[[Engine], Awaitable[WorkflowHandle[Any, Any]]]


async def user_task_and_gateway(eng: Engine) -> WorkflowHandle[Any, Any]:
    definition = doc(
        el("start", "startEvent", "review", config={"initiator": "starter"}),
        el("review", "userTask", "gw", config={"assignee": "${initiator}", "due_date": "PT1H"}),
        el("gw", "exclusiveGateway", "yes", "no", config={"default_flow": "no"}),
        flow("yes", "gw", "calc", "${approved}"),
        flow("no", "gw", "end"),
        el("calc", "scriptTask", "end", config={"script": {"score": "${score * 2}"}}),
        el("end", "endEvent"),
    )
    handle = await eng.start(definition, variables={"score": 4}, initiator="ann")
    snap = await until(handle, lambda s: bool(s.open_task_ids))
    await handle.execute_update(
        UPDATE_COMPLETE_TASK,
        CompleteTaskRequest(task_id=snap.open_task_ids[0], variables={"approved": True}),
        result_type=CompleteTaskResult,
    )
    return handle


async def parallel_and_inclusive(eng: Engine) -> WorkflowHandle[Any, Any]:
    definition = doc(
        el("start", "startEvent", "fork"),
        el("fork", "parallelGateway", "a", "incl"),
        el("a", "scriptTask", "join", config={"script": {"a": "${1}"}}),
        el("incl", "inclusiveGateway", "fb", "fc"),
        flow("fb", "incl", "b", "${true}"),
        flow("fc", "incl", "c", "${false}"),
        el("b", "task", "merge"),
        el("c", "task", "merge"),
        el("merge", "inclusiveGateway", "join"),
        el("join", "parallelGateway", "end"),
        el("end", "endEvent"),
    )
    return await eng.start(definition)


async def incident_then_retry(eng: Engine) -> WorkflowHandle[Any, Any]:
    definition = doc(
        el("start", "startEvent", "gw"),
        el("gw", "exclusiveGateway", "big"),
        flow("big", "gw", "end", "${n > 10}"),
        el("end", "endEvent"),
    )
    handle = await eng.start(definition, variables={"n": 1})
    await until(handle, lambda s: s.status == "incident")
    await handle.signal(SIGNAL_SET_VARIABLES, SetVariablesRequest(variables={"n": 11}))
    await handle.signal(SIGNAL_RETRY, RetryRequest())
    return handle


async def boundary_timer(eng: Engine) -> WorkflowHandle[Any, Any]:
    definition = doc(
        el("start", "startEvent", "t"),
        el("t", "userTask", "end"),
        el("end", "endEvent"),
        el("b", "boundaryEvent", "late", attached_to="t", config={"timer_duration": "PT1S"}),
        el("late", "endEvent"),
    )
    return await eng.start(definition)


async def pause_during_timer(eng: Engine) -> WorkflowHandle[Any, Any]:
    definition = doc(
        el("start", "startEvent", "wait"),
        el("wait", "intermediateCatchEvent", "end", config={"timer_duration": "PT1S"}),
        el("end", "endEvent"),
    )
    handle = await eng.start(definition)
    await until(handle, lambda s: s.active_node_ids == ["wait"])
    await handle.signal(SIGNAL_PAUSE, ControlRequest())
    await asyncio.sleep(1.5)
    await handle.signal(SIGNAL_RESUME, ControlRequest())
    return handle


async def loop_step_budget(eng: Engine) -> WorkflowHandle[Any, Any]:
    """A loop without a wait: breathers every 100 steps, the budget's incident, terminate."""
    definition = doc(
        el("start", "startEvent", "inc"),
        el("inc", "scriptTask", "gw", config={"script": {"n": "${n + 1}"}}),
        el("gw", "exclusiveGateway"),
        flow("back", "gw", "inc", "${n >= 0}"),
        flow("out", "gw", "end", "${n < 0}"),
        el("end", "endEvent"),
    )
    handle = await eng.start(definition, variables={"n": 0}, max_steps_without_wait=250)
    await until(handle, lambda s: s.status == "incident")
    await handle.signal(SIGNAL_TERMINATE, ControlRequest(reason="runaway loop"))
    return handle


async def control_updates(eng: Engine) -> WorkflowHandle[Any, Any]:
    """Pause / resume / terminate as updates (issue 15), a completion refused after the end."""
    definition = doc(
        el("start", "startEvent", "review"),
        el("review", "userTask", "end"),
        el("end", "endEvent"),
    )
    handle = await eng.start(definition)
    snap = await until(handle, lambda s: bool(s.open_task_ids))
    for name in (UPDATE_PAUSE, UPDATE_RESUME):
        await handle.execute_update(name, ControlRequest(user_id="ops"), result_type=ControlResult)
    terminate = asyncio.create_task(
        handle.execute_update(
            UPDATE_TERMINATE,
            ControlRequest(reason="done", user_id="ops"),
            result_type=ControlResult,
        )
    )
    await until(handle, lambda s: s.status != "running")
    # Refused: the instance is ending (a rejected validation leaves no trace in the history).
    with contextlib.suppress(Exception):
        await handle.execute_update(
            UPDATE_COMPLETE_TASK,
            CompleteTaskRequest(task_id=snap.open_task_ids[0], variables={}),
            result_type=CompleteTaskResult,
        )
    await terminate
    return handle


async def link_jump(eng: Engine) -> WorkflowHandle[Any, Any]:
    definition = doc(
        el("start", "startEvent", "to_work"),
        el("to_work", "intermediateThrowEvent", config={"link_name": "work"}),
        el("work", "intermediateCatchEvent", "calc", config={"link_name": "work"}),
        el("calc", "scriptTask", "end", config={"script": {"n": "${n + 1}"}}),
        el("end", "endEvent"),
    )
    return await eng.start(definition, variables={"n": 1})


async def escalation_boundary(eng: Engine) -> WorkflowHandle[Any, Any]:
    inner = [
        el("s_start", "startEvent", "s_throw"),
        el("s_throw", "intermediateThrowEvent", "s_other", config={"escalation_code": "late"}),
        el("s_other", "intermediateThrowEvent", "s_work", config={"escalation_code": "nobody"}),
        el("s_work", "scriptTask", "s_end", config={"script": {"inner": "${true}"}}),
        el("s_end", "endEvent"),
    ]
    definition = doc(
        el("start", "startEvent", "sp"),
        el("sp", "subProcess", "end", config={"elements": inner}),
        el("end", "endEvent"),
        el(
            "b",
            "boundaryEvent",
            "b_work",
            attached_to="sp",
            config={"escalation_code": "late", "cancel_activity": False},
        ),
        el("b_work", "scriptTask", "b_end", config={"script": {"escalated": "${true}"}}),
        el("b_end", "endEvent"),
    )
    return await eng.start(definition)


SCENARIOS: dict[str, Scenario] = {
    "user_task_and_gateway": user_task_and_gateway,
    "parallel_and_inclusive": parallel_and_inclusive,
    "incident_then_retry": incident_then_retry,
    "boundary_timer": boundary_timer,
    "pause_during_timer": pause_during_timer,
    "loop_step_budget": loop_step_budget,
    "control_updates": control_updates,
    "link_jump": link_jump,
    "escalation_boundary": escalation_boundary,
}


def _write(path: Path, workflow_id: str, history_json: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"workflow_id": workflow_id, "history": json.loads(history_json)}
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return path


async def record(
    client: Client, target: Path = HISTORIES, only: set[str] | None = None
) -> list[Path]:
    """Run every scenario (or those named in `only`) and write its history to `target`."""
    written: list[Path] = []
    async with engine(client) as eng:
        for name, scenario in SCENARIOS.items():
            if only is not None and name not in only:
                continue
            handle = await scenario(eng)
            await handle.result()
            history = await handle.fetch_history()
            written.append(_write(target / f"{name}.json", handle.id, history.to_json()))
    return written


async def main() -> None:
    """Start a dev server, record, stop."""
    from tests.temporal_fixtures import free_port

    server = TemporalDevServer(port=free_port(), headless=True, db_file=None)
    await server.start(timeout=120)
    try:
        client = await Client.connect(server.address, namespace=server.namespace)
        names = set(sys.argv[1:]) or None
        for path in await record(client, only=names):
            print(path)
    finally:
        await server.stop()


if __name__ == "__main__":
    asyncio.run(main())
