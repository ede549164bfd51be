"""Waiting for timers, signals and messages (catch events, receive tasks, boundaries).

A wait honours pause: a timer that fires, or a signal / message that arrives while the instance
is paused, is kept and acted on after resume.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from temporalio import workflow

from workflow_engine.engine.interpreter.carry import resting
from workflow_engine.engine.interpreter.state import IncidentError, Token, iso
from workflow_engine.expressions import evaluate, looks_like_expression
from workflow_engine.expressions.timers import parse_cycle, parse_date, parse_duration
from workflow_engine.model.types import EventKind, FlowNode, TimerKind

if TYPE_CHECKING:
    from workflow_engine.engine.interpreter.runtime import Runtime


def timer_text(rt: Runtime, token: Token, node: FlowNode) -> str:
    """The timer's ISO text (a `${...}` value is evaluated first)."""
    if node.timer is None:
        raise IncidentError(f"event '{node.id}' has no timer_date, timer_duration or timer_cycle")
    value: Any = node.timer.value
    if looks_like_expression(value):
        value = evaluate(value, rt.view(token.scope))
    return str(value)


def fire_time(
    rt: Runtime, token: Token, node: FlowNode, *, index: int, armed_at: datetime.datetime
) -> datetime.datetime | None:
    """When timer fire number `index` (0-based) is due; None when there is no such fire.

    Dates and durations fire once; cycles fire per their repetitions.
    """
    text = timer_text(rt, token, node)
    kind = node.timer.kind if node.timer is not None else TimerKind.DURATION
    if kind is TimerKind.DATE:
        return parse_date(text) if index == 0 else None
    if kind is TimerKind.DURATION:
        return armed_at + parse_duration(text, base=armed_at) if index == 0 else None
    return parse_cycle(text).fire_time(index, armed_at=armed_at)


async def sleep_until(rt: Runtime, moment: datetime.datetime) -> None:
    """Sleep until `moment` (workflow time); at once when it has passed."""
    delay = (moment - workflow.now()).total_seconds()
    if delay > 0:
        await workflow.sleep(delay)


async def wait_timer(
    rt: Runtime,
    token: Token,
    node: FlowNode,
    *,
    index: int = 0,
    armed_at: datetime.datetime,
    announce: bool = True,
    rest: bool = False,
) -> bool:
    """Wait for fire `index` of the node's timer; False when the timer never fires again.

    Args:
        rt: The runtime.
        token: The waiting token.
        node: The timer event.
        index: Which fire (0-based; cycles fire more than once).
        armed_at: When the timer was armed (durations and cycles count from it).
        announce: Record `timer.scheduled` (False: a run continued as new already did).
        rest: The token rests while it sleeps (a continue-as-new may carry the wait).
    """
    moment = fire_time(rt, token, node, index=index, armed_at=armed_at)
    if moment is None:
        return False
    if announce:
        rt.record("timer.scheduled", node=node, data={"fire_at": rt.now_of(moment), "index": index})
    await rt.flush()
    if rest:
        with resting(token, {"kind": "timer", "fire_at": iso(moment), "index": index}):
            await sleep_until(rt, moment)
    else:
        await sleep_until(rt, moment)
    await rt.gate()
    rt.record("timer.fired", node=node, data={"index": index})
    return True


def names(rt: Runtime, node: FlowNode) -> tuple[str, str, str]:
    """(kind, resolved name, ref) of a signal / message event."""
    if node.event_kind is EventKind.SIGNAL or (
        node.event_kind is None and node.config.get("signal_ref") is not None
    ):
        ref = str(node.config.get("signal_ref"))
        definition = rt.model.signal_definitions.get(ref)
        return "signal", (definition.name if definition and definition.name else ref), ref
    ref = str(node.config.get("message_ref"))
    message = rt.model.message_definitions.get(ref)
    return "message", (message.name if message and message.name else ref), ref


def correlation_key(rt: Runtime, token: Token, node: FlowNode) -> str | None:
    """The correlation key a message wait expects (node config, else the message's)."""
    raw = node.config.get("correlation_key")
    if raw is None:
        message = rt.model.message_definitions.get(str(node.config.get("message_ref")))
        raw = message.correlation_key if message is not None else None
    if raw is None:
        return None
    value = evaluate(raw, rt.view(token.scope)) if looks_like_expression(raw) else raw
    return None if value is None else str(value)


async def wait_delivery(
    rt: Runtime, token: Token, node: FlowNode, *, limit: float | None = None, rest: bool = False
) -> dict[str, Any] | None:
    """Subscribe to the node's signal / message and wait for it; None on timeout.

    With `rest` the token rests while it waits (a continue-as-new may carry the wait).
    """
    kind, name, ref = names(rt, node)
    key = correlation_key(rt, token, node) if kind == "message" else None
    sub = rt.subscribe(
        kind=kind, name=name, ref=ref, node=node, execution_id=token.id, correlation_key=key
    )
    try:
        await rt.flush()
        try:
            if rest:
                with resting(token, {"kind": "delivery", "subscription": sub.id}):
                    await workflow.wait_condition(lambda: bool(sub.inbox), timeout=limit)
            else:
                await workflow.wait_condition(lambda: bool(sub.inbox), timeout=limit)
        except TimeoutError:
            return None
        item = sub.inbox.pop(0)
    finally:
        rt.unsubscribe(sub)
    await rt.gate()
    rt.record(
        f"{kind}.received",
        node=node,
        data={kind: name, "variables": item.get("variables", {}), "correlation_key": key},
    )
    return item


async def wait_trigger(
    rt: Runtime, token: Token, node: FlowNode, *, limit: float | None = None, rest: bool = False
) -> dict[str, Any] | None:
    """Wait for a catch event's trigger (timer, signal or message); the delivered variables.

    Returns None on timeout. With `rest` (and no `limit`) the token rests while it waits.
    """
    if node.event_kind is EventKind.TIMER:
        armed = workflow.now()
        if limit is None:
            await wait_timer(rt, token, node, armed_at=armed, rest=rest)
            return {}
        moment = fire_time(rt, token, node, index=0, armed_at=armed)
        if moment is None:
            return None
        delay = (moment - armed).total_seconds()
        if delay > limit:
            await workflow.sleep(limit)
            return None
        await wait_timer(rt, token, node, armed_at=armed)
        return {}
    if node.event_kind in (EventKind.SIGNAL, EventKind.MESSAGE) or node.config.get("message_ref"):
        item = await wait_delivery(rt, token, node, limit=limit, rest=rest and limit is None)
        if item is None:
            return None
        variables = item.get("variables")
        return dict(variables) if isinstance(variables, dict) else {}
    raise IncidentError(
        f"event '{node.id}' has no trigger the engine can wait for "
        f"({node.event_kind.value if node.event_kind else 'none'})"
    )
