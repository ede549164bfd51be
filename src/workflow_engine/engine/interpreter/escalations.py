"""Escalations: thrown by throw and end events, caught by boundaries and event subprocesses.

An escalation is not an error (BPMN 2.0 §10.5.4): who catches it is looked up outward from the
throwing token's scope — escalation start events of the scope's event subprocesses, then the
escalation boundary events of the subprocess forming the scope — and matched by
`escalation_code` (a catcher whose code is `null` catches any; an exact code wins over it).

* A non-interrupting catcher starts its path and the throwing path carries on.
* An interrupting catcher ends the scope it belongs to (its event subprocess's scope, or the
  activity its boundary sits on), the throwing path included.
* Nothing catches it: in a child instance it is passed to the calling instance, whose call
  activity's escalation boundaries may catch it; otherwise it is recorded
  (`escalation.thrown` with `caught: false`) and the path carries on.

An activity with escalation boundaries keeps an `EscalationFrame` while its body runs; the
body's tokens see the frames of every enclosing activity through a context variable (asyncio
tasks inherit the context they were created in), so the innermost frame of the catching
activity is the one told.
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.exceptions import FailureError

from workflow_engine.engine.contract import SIGNAL_CHILD_ESCALATION, workflow_id
from workflow_engine.engine.interpreter import events
from workflow_engine.engine.interpreter.state import EscalationFrame, Next, Scope, Token
from workflow_engine.model.types import EventKind, FlowNode, NodeType, ProcessModel

if TYPE_CHECKING:
    from workflow_engine.engine.interpreter.runtime import Runtime

#: Frames of the activities (with escalation boundaries) enclosing the current token, innermost
#: last.
_FRAMES: contextvars.ContextVar[tuple[EscalationFrame, ...]] = contextvars.ContextVar(
    "wfe_escalation_frames", default=()
)
_SCOPES_WITH_EVENT_SUBPROCESSES = ("process", "subprocess", "event_subprocess")


def escalation_code(node: FlowNode) -> str:
    """The code a throw / end event throws."""
    code = node.config.get("escalation_code")
    return code if isinstance(code, str) else ""


def _best(catchers: list[FlowNode], code: str) -> FlowNode | None:
    """The catcher for `code`: the first with that exact code, else the first catch-all."""
    exact = [c for c in catchers if c.config.get("escalation_code") == code]
    if exact:
        return exact[0]
    return next((c for c in catchers if c.config.get("escalation_code") is None), None)


def boundary_for(model: ProcessModel, activity_id: str, code: str) -> FlowNode | None:
    """The escalation boundary event of `activity_id` catching `code`, if any."""
    catchers = [
        b for b in model.boundary_events(activity_id) if b.event_kind is EventKind.ESCALATION
    ]
    return _best(catchers, code)


def _event_subprocess_start(
    model: ProcessModel, scope: str | None, code: str, skip: str | None
) -> FlowNode | None:
    catchers: list[FlowNode] = []
    for node in model.nodes_in_scope(scope):
        spec = model.scopes.get(node.id)
        if node.type is not NodeType.SUB_PROCESS or spec is None or not spec.triggered_by_event:
            continue
        if node.id == skip:
            continue
        catchers.extend(
            s for s in model.start_events(node.id) if s.event_kind is EventKind.ESCALATION
        )
    return _best(catchers, code)


#: `workflow.patched` id of escalation behaviour: before it, escalation events passed as none
#: events and escalation boundaries waited for a trigger they could not have (an incident).
PATCH_ESCALATIONS = "wfe-escalations"


def supported() -> bool:
    """Whether this run throws and catches escalations (False: replaying an older instance)."""
    return workflow.patched(PATCH_ESCALATIONS)


def has_escalation_boundaries(model: ProcessModel, activity_id: str) -> bool:
    """Whether an escalation boundary event is attached to the activity."""
    return any(b.event_kind is EventKind.ESCALATION for b in model.boundary_events(activity_id))


# --- the activity side: frames ----------------------------------------------------------------


def open_frame(rt: Runtime, token: Token, node: FlowNode) -> EscalationFrame | None:
    """A frame for an activity with escalation boundaries (None without them)."""
    if not has_escalation_boundaries(rt.model, node.id):
        return None
    frame = EscalationFrame(
        token=token, node_id=node.id, arrived=asyncio.get_running_loop().create_future()
    )
    rt.escalation_frames[token.id] = frame
    return frame


def start_body(rt: Runtime, frame: EscalationFrame | None, body: Any) -> asyncio.Task[None]:
    """Start the activity's body task; with a frame, its tokens see the frame."""
    if frame is None:
        task: asyncio.Task[None] = rt.create_task(body)
        return task
    reset = _FRAMES.set((*_FRAMES.get(), frame))
    try:
        return rt.create_task(body)
    finally:
        _FRAMES.reset(reset)


def close_frame(rt: Runtime, frame: EscalationFrame | None) -> None:
    """The body ended: escalations no longer reach this activity's boundaries."""
    if frame is not None:
        rt.escalation_frames.pop(frame.token.id, None)


def waiting(frame: EscalationFrame | None) -> list[asyncio.Future[None]]:
    """What the boundary loop waits on besides the body and its watchers."""
    if frame is None or frame.arrived is None:
        return []
    return [frame.arrived]


def take_caught(frame: EscalationFrame | None) -> list[tuple[str, str]]:
    """The escalations that reached the frame since the last call (and re-arm it)."""
    if frame is None or not frame.caught:
        return []
    caught = list(frame.caught)
    frame.caught.clear()
    frame.arrived = asyncio.get_running_loop().create_future()
    return caught


def _deliver(frame: EscalationFrame, boundary: FlowNode, code: str) -> None:
    frame.caught.append((boundary.id, code))
    if frame.arrived is not None and not frame.arrived.done():
        frame.arrived.set_result(None)


# --- the throwing side --------------------------------------------------------------------


def _find_frame(rt: Runtime, activity_id: str) -> EscalationFrame | None:
    for frame in reversed(_FRAMES.get()):
        if frame.node_id == activity_id and frame.token.id in rt.escalation_frames:
            return frame
    return None


def _find(
    rt: Runtime, token: Token, code: str
) -> tuple[FlowNode, Scope | None, EscalationFrame | None] | None:
    """The catcher of `code` thrown by `token`: with its scope (event subprocess) or frame."""
    scope: Scope | None = token.scope
    came_from: str | None = None
    while scope is not None:
        if scope.kind in _SCOPES_WITH_EVENT_SUBPROCESSES:
            start = _event_subprocess_start(rt.model, scope.node_id, code, came_from)
            if start is not None:
                return start, scope, None
        if scope.kind == "subprocess" and scope.node_id is not None:
            boundary = boundary_for(rt.model, scope.node_id, code)
            frame = _find_frame(rt, scope.node_id) if boundary is not None else None
            if boundary is not None and frame is not None:
                return boundary, None, frame
        if scope.kind == "event_subprocess":
            came_from = scope.node_id
        elif scope.kind == "subprocess":
            came_from = None
        scope = scope.parent
    return None


def _interrupting(catcher: FlowNode) -> bool:
    if catcher.type is NodeType.BOUNDARY_EVENT:
        return catcher.cancel_activity
    return catcher.config.get("is_interrupting", True) is not False


async def throw_event(rt: Runtime, token: Token, node: FlowNode) -> list[Next]:
    """An escalation intermediate throw or end event."""
    code = escalation_code(node)
    found = _find(rt, token, code)
    to_parent = found is None and rt.inp.parent_instance_id is not None
    data: dict[str, Any] = {
        "escalation_code": code,
        "caught": found is not None,
        "catcher": found[0].id if found else None,
    }
    if to_parent:
        data["to_parent"] = rt.inp.parent_instance_id
    rt.record("escalation.thrown", node=node, data=data)
    if found is not None:
        catcher, scope, frame = found
        interrupting = _interrupting(catcher)
        if scope is not None:
            rt.record(
                "event_subprocess.triggered",
                node=catcher,
                data={"interrupting": interrupting, "escalation_code": code},
            )
            rt.trigger_event_subprocess(scope, catcher, interrupting=interrupting)
        elif frame is not None:
            _deliver(frame, catcher, code)
        if interrupting:
            # The catcher ends the scope holding this token, which is cancelled here.
            await workflow.wait_condition(lambda: False)
    if to_parent:
        await _tell_parent(rt, code)
    if node.type is NodeType.END_EVENT:
        return await events.end_event(rt, token, node)
    rt.record("event.passed", node=node)
    return rt.leave(token, node)


async def _tell_parent(rt: Runtime, code: str) -> None:
    """Pass an escalation nothing here caught to the calling instance's call activity."""
    assert rt.inp.parent_instance_id is not None
    await rt.flush()
    handle = workflow.get_external_workflow_handle(workflow_id(rt.inp.parent_instance_id))
    try:
        await handle.signal(
            SIGNAL_CHILD_ESCALATION,
            {
                "escalation_code": code,
                "child_instance_id": rt.instance_id,
                "call_activity_id": rt.inp.parent_node_id,
            },
        )
    except FailureError as exc:
        # The caller has ended meanwhile: an escalation is no error, so this path goes on.
        rt.record(
            "escalation.not_delivered",
            data={
                "escalation_code": code,
                "parent_instance_id": rt.inp.parent_instance_id,
                "reason": str(exc),
            },
        )


def from_child(rt: Runtime, payload: dict[str, Any]) -> None:
    """An escalation a child instance did not catch reaches its call activity here."""
    code = str(payload.get("escalation_code") or "")
    activity_id = str(payload.get("call_activity_id") or "")
    node = rt.model.nodes.get(activity_id)
    boundary = boundary_for(rt.model, activity_id, code) if node is not None else None
    frame = next((f for f in rt.escalation_frames.values() if f.node_id == activity_id), None)
    caught = boundary is not None and frame is not None
    rt.record(
        "escalation.received",
        node=node,
        data={
            "escalation_code": code,
            "child_instance_id": payload.get("child_instance_id"),
            "caught": caught,
            "catcher": boundary.id if caught and boundary is not None else None,
        },
    )
    if caught and boundary is not None and frame is not None:
        _deliver(frame, boundary, code)
