"""Dispatch: which behaviour runs a node, and the common path of every activity."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

from temporalio import workflow

from workflow_engine.engine.interpreter import (
    boundary,
    carry,
    escalations,
    events,
    gateways,
    links,
    multi_instance,
    subprocess,
    tasks,
)
from workflow_engine.engine.interpreter.events import arm_event_subprocesses
from workflow_engine.engine.interpreter.state import IncidentError, Next, Token
from workflow_engine.model.types import EventKind, FlowNode, NodeType

if TYPE_CHECKING:
    from workflow_engine.engine.interpreter.runtime import Runtime

__all__ = ["arm_event_subprocesses", "dispatch", "resume"]

_Step = Callable[["Runtime", Token, FlowNode], Awaitable[list[Next]]]
_Work = Callable[["Runtime", Token, FlowNode], Awaitable[None]]

_STEPS: dict[NodeType, _Step] = {
    NodeType.START_EVENT: events.start_event,
    NodeType.END_EVENT: events.end_event,
    NodeType.INTERMEDIATE_CATCH_EVENT: events.intermediate_catch,
    NodeType.INTERMEDIATE_THROW_EVENT: events.intermediate_throw,
    NodeType.BOUNDARY_EVENT: events.boundary_event,
    NodeType.EXCLUSIVE_GATEWAY: gateways.exclusive,
    NodeType.PARALLEL_GATEWAY: gateways.parallel,
    NodeType.INCLUSIVE_GATEWAY: gateways.inclusive,
    NodeType.EVENT_BASED_GATEWAY: gateways.event_based,
}

_WORK: dict[NodeType, _Work] = {
    NodeType.SERVICE_TASK: tasks.service_task,
    NodeType.SEND_TASK: tasks.send_task,
    NodeType.SCRIPT_TASK: tasks.script_task,
    NodeType.USER_TASK: tasks.user_task,
    NodeType.RECEIVE_TASK: tasks.receive_task,
    NodeType.BUSINESS_RULE_TASK: tasks.business_rule_task,
    NodeType.MANUAL_TASK: tasks.manual_task,
    NodeType.TASK: tasks.manual_task,
    NodeType.SUB_PROCESS: subprocess.embedded,
    NodeType.CALL_ACTIVITY: subprocess.call_activity,
}

#: Activities whose waits a continue-as-new cannot carry (child workflows, child scopes, a
#: receive task's message wait inside the activity frame).
_BLOCKING = frozenset({NodeType.CALL_ACTIVITY, NodeType.SUB_PROCESS, NodeType.RECEIVE_TASK})
#: `workflow.patched` id of the link behaviour (see `dispatch`; escalations: `escalations`).
PATCH_LINK_EVENTS = "wfe-link-events"
#: Event types that throw an escalation when their kind is escalation.
_ESCALATION_THROWERS = frozenset({NodeType.INTERMEDIATE_THROW_EVENT, NodeType.END_EVENT})
_LINK_EVENTS = frozenset({NodeType.INTERMEDIATE_THROW_EVENT, NodeType.INTERMEDIATE_CATCH_EVENT})


def _is_event_subprocess(rt: Runtime, node: FlowNode) -> bool:
    spec = rt.model.scopes.get(node.id)
    return node.type is NodeType.SUB_PROCESS and spec is not None and spec.triggered_by_event


async def dispatch(rt: Runtime, token: Token, node: FlowNode) -> list[Next]:
    """Run `node` for `token`; the flows to follow."""
    if node.type is NodeType.SUB_PROCESS and _is_event_subprocess(rt, node):
        return await subprocess.event_subprocess(rt, token, node)
    # Only link / escalation events take these paths. Before them, such events passed as none
    # events: an instance started then replays that way (no patch marker in its history).
    if (
        node.event_kind is EventKind.LINK
        and node.type in _LINK_EVENTS
        and workflow.patched(PATCH_LINK_EVENTS)
    ):
        return await links.link_event(rt, token, node)
    if (
        node.event_kind is EventKind.ESCALATION
        and node.type in _ESCALATION_THROWERS
        and escalations.supported()
    ):
        return await escalations.throw_event(rt, token, node)
    step = _STEPS.get(node.type)
    if step is not None:
        return await step(rt, token, node)
    if node.type in _WORK:
        return await run_activity(rt, token, node)
    raise IncidentError(
        f"node '{node.id}' of type {node.type.value} cannot run", error_type="Unsupported"
    )


async def run_single(rt: Runtime, token: Token, node: FlowNode) -> None:
    """One execution of an activity's work, retried through incidents."""
    work = _WORK[node.type]
    await rt.guarded(token, node, lambda: work(rt, token, node))


async def run_body(rt: Runtime, token: Token, node: FlowNode) -> None:
    """The activity's work: multi-instance or single."""
    if node.multi_instance is not None:
        await multi_instance.run(rt, token, node, lambda t: run_single(rt, t, node))
    else:
        await run_single(rt, token, node)


async def run_activity(rt: Runtime, token: Token, node: FlowNode) -> list[Next]:
    """Start / end records and listeners around the body and its boundary events."""
    rt.record("activity.started", node=node, data={"execution_id": token.id})
    await rt.run_listeners(node.listeners, "start", node=node, scope=token.scope)
    has_boundaries = bool(rt.model.boundary_events(node.id))
    blocks = has_boundaries or node.multi_instance is not None or node.type in _BLOCKING
    with carry.blocking(token) if blocks else nullcontext():
        if has_boundaries:
            taken = await boundary.run_with_boundaries(
                rt, token, node, lambda: run_body(rt, token, node)
            )
            if taken is not None:
                return taken
        else:
            await run_body(rt, token, node)
    return await _complete_activity(rt, token, node)


async def _complete_activity(rt: Runtime, token: Token, node: FlowNode) -> list[Next]:
    rt.record("activity.completed", node=node, data={"execution_id": token.id})
    await rt.run_listeners(node.listeners, "end", node=node, scope=token.scope)
    return rt.leave(token, node)


async def resume(rt: Runtime, token: Token, node: FlowNode, rest: dict[str, Any]) -> list[Next]:
    """Pick up a wait carried over a continue-as-new (`rest` as `carry.capture` wrote it)."""
    kind = rest.get("kind")
    if kind == "user_task":
        await tasks.await_user_task(rt, token, node, str(rest["task_id"]))
        return await _complete_activity(rt, token, node)
    if kind in ("timer", "delivery"):
        return await events.resume_catch(rt, token, node, rest)
    raise IncidentError(
        f"node '{node.id}': a carried wait of kind {kind!r} cannot be resumed",
        error_type="Unsupported",
    )
