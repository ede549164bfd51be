"""Boundary events: an activity's body races its boundary events.

Timer / message / signal boundaries are watched while the body runs; error boundaries catch
BPMN errors leaving the body.

Interrupting: the body is cancelled (its activity cancelled, its user task closed as cancelled)
and the token continues at the boundary event. Non-interrupting: a new token starts at the
boundary event, the body keeps running and the boundary is armed again (a cycle timer fires
per its repetitions).
"""

from __future__ import annotations

import asyncio
import datetime
from typing import TYPE_CHECKING, Any

from temporalio import workflow

from workflow_engine.engine.interpreter import escalations, waits
from workflow_engine.engine.interpreter.events import merge_delivery
from workflow_engine.engine.interpreter.state import Next, ThrownBpmnError, Token
from workflow_engine.model.types import EventKind, FlowNode

if TYPE_CHECKING:
    from workflow_engine.engine.interpreter.runtime import Runtime


async def _watch(
    rt: Runtime, token: Token, boundary: FlowNode, index: int, armed_at: datetime.datetime
) -> dict[str, Any] | None:
    if boundary.event_kind is EventKind.TIMER:
        fired = await waits.wait_timer(rt, token, boundary, index=index, armed_at=armed_at)
        return {} if fired else None
    return await waits.wait_trigger(rt, token, boundary)


async def run_with_boundaries(
    rt: Runtime,
    token: Token,
    node: FlowNode,
    body_factory: Any,
) -> list[Next] | None:
    """Run the activity body under its boundary events.

    Returns:
        None when the body completed normally; the boundary event to continue at when an
        interrupting boundary (or an error boundary) took over.
    """
    boundaries = rt.model.boundary_events(node.id)
    error_catchers = {b.id for b in boundaries if b.event_kind is EventKind.ERROR}
    # Escalation boundaries are told by the throwing token (`escalations`), not watched. An
    # instance started before escalations ran watched them (and got an incident): it replays so.
    told = escalations.has_escalation_boundaries(rt.model, node.id) and escalations.supported()
    unwatched = (EventKind.ERROR, EventKind.ESCALATION) if told else (EventKind.ERROR,)
    watched = [b for b in boundaries if b.event_kind not in unwatched]
    frame = escalations.open_frame(rt, token, node) if told else None
    body: asyncio.Task[None] = escalations.start_body(rt, frame, body_factory())
    watchers: dict[asyncio.Task[dict[str, Any] | None], tuple[FlowNode, int]] = {}
    armed_at = workflow.now()

    def arm(boundary: FlowNode, index: int) -> None:
        watchers[rt.create_task(_watch(rt, token, boundary, index, armed_at))] = (boundary, index)

    async def fire(
        boundary: FlowNode, fired: dict[str, Any], extra: dict[str, Any]
    ) -> list[Next] | None:
        interrupting = boundary.cancel_activity
        rt.record(
            "boundary.triggered",
            node=boundary,
            data={"attached_to": node.id, "interrupting": interrupting, **extra},
        )
        merge_delivery(rt, token, boundary, fired)
        if interrupting:
            body.cancel()
            await workflow.wait([body])
            rt.record("activity.interrupted", node=node, data={"boundary": boundary.id})
            return [(boundary.id, None)]
        rt.spawn(token.scope, boundary.id)
        return None

    for boundary in watched:
        arm(boundary, 0)
    try:
        while True:
            waits_on: list[asyncio.Future[Any]] = [body, *watchers, *escalations.waiting(frame)]
            await workflow.wait(waits_on, return_when=asyncio.FIRST_COMPLETED)
            # Before the body's end: an escalation end event ends the body as it throws.
            for boundary_id, code in escalations.take_caught(frame):
                taken = await fire(rt.model.node(boundary_id), {}, {"escalation_code": code})
                if taken is not None:
                    return taken
            if body.done():
                try:
                    body.result()
                except ThrownBpmnError as exc:
                    if exc.catcher not in error_catchers:
                        raise
                    catcher = rt.model.node(exc.catcher)
                    rt.record(
                        "boundary.triggered",
                        node=catcher,
                        data={"attached_to": node.id, "interrupting": True, "error_code": exc.code},
                    )
                    rt.record("activity.interrupted", node=node, data={"boundary": catcher.id})
                    rt.set_variables(token.scope, exc.variables, node=catcher, source="error")
                    return [(catcher.id, None)]
                return None
            for task in list(watchers):
                if not task.done():
                    continue
                boundary, index = watchers.pop(task)
                fired = task.result()
                if fired is None:
                    continue
                taken = await fire(boundary, fired, {})
                if taken is not None:
                    return taken
                arm(boundary, index + 1 if boundary.event_kind is EventKind.TIMER else 0)
    finally:
        escalations.close_frame(rt, frame)
        pending = [task for task in [body, *watchers] if not task.done()]
        for task in pending:
            task.cancel()
        # Let them unwind (a watcher's `finally` drops its subscription) before the token
        # moves on: otherwise the next flush still mirrors the boundary's wait.
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
