"""Events: start, end, intermediate catch / throw, boundary nodes, event-subprocess triggers.

End events: none, terminate, error, signal, message.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from temporalio import workflow

from workflow_engine.engine.interpreter import waits
from workflow_engine.engine.interpreter.carry import blocking, parse_time, resting
from workflow_engine.engine.interpreter.catchers import error_code_of, find_error_catcher
from workflow_engine.engine.interpreter.state import (
    IncidentError,
    InstanceCancelledError,
    Next,
    Scope,
    ThrownBpmnError,
    Token,
    iso,
)
from workflow_engine.expressions import (
    apply_input_mapping,
    apply_output_mapping,
    evaluate,
    looks_like_expression,
)
from workflow_engine.expressions.timers import parse_duration
from workflow_engine.model.types import EventKind, FlowNode, NodeType

if TYPE_CHECKING:
    from workflow_engine.engine.interpreter.runtime import Runtime

ACTIVITY_BROADCAST_SIGNAL = "wfe.broadcast_signal"
ACTIVITY_SEND_MESSAGE = "wfe.send_message"
_THROW_TIMEOUT = datetime.timedelta(minutes=1)


async def start_event(rt: Runtime, token: Token, node: FlowNode) -> list[Next]:
    """A start event passes the token on (its trigger, if any, already happened)."""
    rt.record("event.passed", node=node)
    return rt.leave(token, node)


def throw_error(
    rt: Runtime, node: FlowNode, code: str, message: str, *, own_boundaries: bool
) -> ThrownBpmnError:
    """Record a BPMN error and return it for raising; uncaught errors are incidents."""
    catcher = find_error_catcher(rt.model, node.id, code, include_own_boundaries=own_boundaries)
    rt.record(
        "error.thrown", node=node, data={"error_code": code, "message": message, "catcher": catcher}
    )
    if catcher is None:
        raise IncidentError(
            f"BPMN error '{code}' thrown at '{node.id}' is caught by no error boundary event or "
            "error event subprocess",
            error_type=code,
        )
    return ThrownBpmnError(code, catcher=catcher, message=message)


async def end_event(rt: Runtime, token: Token, node: FlowNode) -> list[Next]:
    """End the token; terminate ends its whole scope; error / signal / message throw first."""
    kind = node.event_kind
    if kind is EventKind.ERROR:
        code = error_code_of(rt.model, node.config.get("error_ref")) or node.id
        raise throw_error(rt, node, code, node.name, own_boundaries=False)
    if kind in (EventKind.SIGNAL, EventKind.MESSAGE):
        await throw(rt, token, node)
    rt.record("event.passed", node=node)
    if token.scope is rt.root:
        rt.end_node_id = node.id
    if kind is EventKind.TERMINATE:
        rt.record("scope.terminated", node=node, data={"scope": token.scope.kind})
        for listener in token.scope.listeners:
            listener.cancel()
        rt.cancel_tokens(token.scope, keep=token)
    return []


async def throw(rt: Runtime, token: Token, node: FlowNode) -> None:
    """Throw the node's signal (broadcast) or message (sent through the services)."""
    variables = rt.view(token.scope)
    payload = apply_input_mapping(node.input_mapping, variables) if node.input_mapping else {}
    kind, name, _ref = waits.names(rt, node)
    if kind == "signal":
        definition = rt.model.signal_definitions.get(str(node.config.get("signal_ref")))
        rt.record("signal.thrown", node=node, data={"signal": name, "variables": payload})
        if definition is not None and definition.scope == "process_instance":
            rt.deliver_signal(name, payload)
            return
        await rt.flush()
        await workflow.execute_activity(
            ACTIVITY_BROADCAST_SIGNAL,
            {
                "name": name,
                "variables": payload,
                "tenant_id": rt.inp.tenant_id,
                "instance_id": rt.instance_id,
            },
            start_to_close_timeout=_THROW_TIMEOUT,
        )
        return
    key_raw = node.config.get("correlation_key")
    key = (
        evaluate(key_raw, variables)
        if isinstance(key_raw, str) and looks_like_expression(key_raw)
        else key_raw
    )
    rt.record(
        "message.sent",
        node=node,
        data={"message": name, "correlation_key": key, "variables": payload},
    )
    await rt.flush()
    await workflow.execute_activity(
        ACTIVITY_SEND_MESSAGE,
        {
            "name": name,
            "correlation_key": None if key is None else str(key),
            "variables": payload,
            "tenant_id": rt.inp.tenant_id,
            "instance_id": rt.instance_id,
        },
        start_to_close_timeout=_THROW_TIMEOUT,
    )


async def intermediate_throw(rt: Runtime, token: Token, node: FlowNode) -> list[Next]:
    """Throw a signal / message (a none throw event just passes)."""
    if node.event_kind in (EventKind.SIGNAL, EventKind.MESSAGE):
        await throw(rt, token, node)
    rt.record("event.passed", node=node)
    return rt.leave(token, node)


def merge_delivery(rt: Runtime, token: Token, node: FlowNode, variables: dict[str, Any]) -> None:
    """Variables that came with a signal / message: through output_mapping, else merged."""
    if node.output_mapping:
        values = apply_output_mapping(node.output_mapping, variables, rt.view(token.scope))
    else:
        values = variables
    rt.set_variables(token.scope, values, node=node, source="event")


async def intermediate_catch(rt: Runtime, token: Token, node: FlowNode) -> list[Next]:
    """Wait for a timer / signal / message, with optional `timeout` + `timeout_action`."""
    raw_timeout = node.config.get("timeout")
    timeout = parse_duration(raw_timeout).total_seconds() if isinstance(raw_timeout, str) else None
    rt.record("event.waiting", node=node)
    if timeout is not None:
        with blocking(token):  # the timeout's own timer is not carried over continue-as-new
            received = await waits.wait_trigger(rt, token, node, limit=timeout)
    else:
        received = await waits.wait_trigger(rt, token, node, rest=True)
    if received is None:
        await rt.gate()
        action = node.config.get("timeout_action", "cancel")
        rt.record("event.timed_out", node=node, data={"timeout": raw_timeout, "action": action})
        if action == "continue":
            return rt.leave(token, node)
        raise InstanceCancelledError(f"event '{node.id}' timed out after {raw_timeout}")
    return _caught(rt, token, node, received)


def _caught(rt: Runtime, token: Token, node: FlowNode, received: dict[str, Any]) -> list[Next]:
    merge_delivery(rt, token, node, received)
    rt.record("event.passed", node=node)
    return rt.leave(token, node)


async def resume_catch(
    rt: Runtime, token: Token, node: FlowNode, rest: dict[str, Any]
) -> list[Next]:
    """Go on waiting at an intermediate catch event carried over a continue-as-new."""
    if rest.get("kind") == "timer":
        with resting(token, dict(rest)):
            await waits.sleep_until(rt, parse_time(str(rest["fire_at"])))
        await rt.gate()
        rt.record("timer.fired", node=node, data={"index": rest.get("index", 0)})
        return _caught(rt, token, node, {})
    item = await waits.wait_delivery(rt, token, node, rest=True)
    raw = (item or {}).get("variables")
    return _caught(rt, token, node, dict(raw) if isinstance(raw, dict) else {})


async def boundary_event(rt: Runtime, token: Token, node: FlowNode) -> list[Next]:
    """A token on a boundary event (it fired): follow its outgoing flows."""
    rt.record("event.passed", node=node)
    return rt.leave(token, node)


def _event_subprocess_starts(rt: Runtime, scope: Scope) -> list[FlowNode]:
    if scope.kind not in ("process", "subprocess", "event_subprocess"):
        return []
    starts: list[FlowNode] = []
    for node in rt.model.nodes_in_scope(scope.node_id):
        spec = rt.model.scopes.get(node.id)
        if node.type is not NodeType.SUB_PROCESS or spec is None or not spec.triggered_by_event:
            continue
        for start in rt.model.start_events(node.id):
            if start.event_kind in (EventKind.TIMER, EventKind.MESSAGE, EventKind.SIGNAL):
                starts.append(start)
    return starts


def arm_event_subprocesses(
    rt: Runtime, scope: Scope, *, restore: dict[str, dict[str, Any]] | None = None
) -> None:
    """Start waiting for the triggers of the scope's event subprocesses.

    Args:
        rt: The runtime.
        scope: The scope whose event subprocesses are armed.
        restore: After a continue-as-new: only the triggers still armed, as they were.
    """
    for start in _event_subprocess_starts(rt, scope):
        state = None
        if restore is not None:
            state = restore.get(start.id)
            if state is None:
                continue
        scope.listeners.append(
            rt.create_task(_event_subprocess_trigger(rt, scope, start, state=state))
        )


async def _event_subprocess_trigger(
    rt: Runtime, scope: Scope, start: FlowNode, *, state: dict[str, Any] | None = None
) -> None:
    interrupting = start.config.get("is_interrupting", True) is not False
    probe = Token(id=scope.id, node_id=start.id, scope=scope)
    armed = parse_time(str(state["armed_at"])) if state else workflow.now()
    index = int(state.get("index", 0)) if state else 0
    announce = state is None
    scope.armed[start.id] = {"armed_at": iso(armed), "index": index}
    try:
        while True:
            if start.event_kind is EventKind.TIMER:
                fired = await waits.wait_timer(
                    rt, probe, start, index=index, armed_at=armed, announce=announce
                )
                if not fired:
                    return
                announce = True
                index += 1
                scope.armed[start.id]["index"] = index
                variables: dict[str, Any] = {}
            else:
                item = await waits.wait_delivery(rt, probe, start)
                assert item is not None
                raw = item.get("variables")
                variables = dict(raw) if isinstance(raw, dict) else {}
            rt.record("event_subprocess.triggered", node=start, data={"interrupting": interrupting})
            rt.set_variables(scope, variables, node=start, source="event")
            rt.trigger_event_subprocess(scope, start, interrupting=interrupting)
            if interrupting:
                return
    finally:
        scope.armed.pop(start.id, None)
