"""Gateways: exclusive, parallel, inclusive and event-based.

Parallel joins count one token per incoming flow; inclusive joins wait while a token of the
scope can still reach them; on an event-based gateway the first event wins.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from temporalio import workflow

from workflow_engine.engine.interpreter import waits
from workflow_engine.engine.interpreter.carry import blocking, resting
from workflow_engine.engine.interpreter.events import merge_delivery
from workflow_engine.engine.interpreter.state import IncidentError, Next, Token
from workflow_engine.expressions import evaluate_condition
from workflow_engine.model.graph import can_reach, default_flow
from workflow_engine.model.types import FlowNode, SequenceFlow

if TYPE_CHECKING:
    from workflow_engine.engine.interpreter.runtime import Runtime


def _describe(node: FlowNode) -> str:
    return f"'{node.id}'" + (f" ({node.name})" if node.name else "")


def _true_flows(
    rt: Runtime, token: Token, node: FlowNode
) -> tuple[list[SequenceFlow], SequenceFlow | None]:
    default = default_flow(rt.model, node.id)
    variables: dict[str, Any] = rt.view(token.scope)
    chosen: list[SequenceFlow] = []
    for flow in rt.model.outgoing_flows(node.id):
        if default is not None and flow.id == default.id:
            continue
        if flow.condition is None or evaluate_condition(flow.condition, variables):
            chosen.append(flow)
    return chosen, default


async def exclusive(rt: Runtime, token: Token, node: FlowNode) -> list[Next]:
    """First flow (document order) whose condition holds, else the default, else an incident."""
    default = default_flow(rt.model, node.id)
    variables = rt.view(token.scope)
    taken: SequenceFlow | None = None
    for flow in rt.model.outgoing_flows(node.id):
        if default is not None and flow.id == default.id:
            continue
        if flow.condition is None or evaluate_condition(flow.condition, variables):
            taken = flow
            break
    if taken is None:
        taken = default
    if taken is None:
        raise IncidentError(
            f"exclusive gateway {_describe(node)}: no outgoing condition is true and there is "
            "no default flow",
            error_type="NoMatchingFlow",
        )
    rt.record("gateway.taken", node=node, data={"flows": [taken.id], "default": taken is default})
    return [(taken.target, taken.id)]


def _arrivals(rt: Runtime, token: Token, node: FlowNode) -> list[Token]:
    key = (token.scope.id, node.id)
    arrived = rt.joins.setdefault(key, [])
    arrived.append(token)
    token.waiting_at = node.id
    return arrived


async def _wait_merge(rt: Runtime, token: Token, node: FlowNode, ready: Any) -> bool:
    """Wait at a join until merged into another token (False) or chosen to go on (True)."""
    key = (token.scope.id, node.id)
    try:
        with resting(token, {"kind": "join"}):
            await workflow.wait_condition(
                lambda: (
                    token.consumed
                    or (bool(rt.joins.get(key)) and rt.joins[key][0] is token and ready())
                )
            )
    except asyncio.CancelledError:
        if token in rt.joins.get(key, []):
            rt.joins[key].remove(token)
        raise
    token.waiting_at = None
    return not token.consumed


async def parallel(rt: Runtime, token: Token, node: FlowNode) -> list[Next]:
    """Join one token per incoming flow, then fork on every outgoing flow."""
    incoming = list(node.incoming)
    if len(incoming) > 1:
        key = (token.scope.id, node.id)
        arrived = _arrivals(rt, token, node)

        def complete() -> bool:
            flows = {t.via for t in rt.joins.get(key, [])}
            return all(f in flows for f in incoming)

        if not await _wait_merge(rt, token, node, complete):
            return []
        # Consume the first waiting token of every incoming flow (this one included).
        used: set[str] = set()
        for other in list(arrived):
            if other.via in used or other.via not in incoming:
                continue
            used.add(other.via or "")
            arrived.remove(other)
            if other is not token:
                other.consumed = True
        rt.record("gateway.joined", node=node, data={"flows": sorted(used)})
    flows = rt.model.outgoing_flows(node.id)
    rt.record("gateway.taken", node=node, data={"flows": [f.id for f in flows]})
    return [(f.target, f.id) for f in flows]


def _upstream_token(rt: Runtime, token: Token, node: FlowNode) -> bool:
    for other in token.scope.tokens.values():
        if other.waiting_at == node.id:
            continue
        if other.node_id == node.id or can_reach(rt.model, other.node_id, node.id):
            return True
    return False


async def inclusive(rt: Runtime, token: Token, node: FlowNode) -> list[Next]:
    """Join while a token of the scope can still arrive; fork on every true condition."""
    if len(node.incoming) > 1:
        key = (token.scope.id, node.id)
        arrived = _arrivals(rt, token, node)
        if not await _wait_merge(rt, token, node, lambda: not _upstream_token(rt, token, node)):
            return []
        merged = [t for t in arrived if t is not token]
        for other in merged:
            other.consumed = True
        rt.joins[key] = []
        rt.record("gateway.joined", node=node, data={"tokens": len(merged) + 1})
    chosen, default = _true_flows(rt, token, node)
    if not chosen and default is not None:
        chosen = [default]
    if not chosen:
        raise IncidentError(
            f"inclusive gateway {_describe(node)}: no outgoing condition is true and there is "
            "no default flow",
            error_type="NoMatchingFlow",
        )
    rt.record("gateway.taken", node=node, data={"flows": [f.id for f in chosen]})
    return [(f.target, f.id) for f in chosen]


async def event_based(rt: Runtime, token: Token, node: FlowNode) -> list[Next]:
    """Wait on every following catch event; the first to fire wins, the others are cancelled."""
    flows = rt.model.outgoing_flows(node.id)
    targets = [rt.model.node(f.target) for f in flows]
    rt.record("gateway.waiting", node=node, data={"events": [t.id for t in targets]})
    waiters = [rt.create_task(waits.wait_trigger(rt, token, target)) for target in targets]
    try:
        with blocking(token):
            await workflow.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        losers = [w for w in waiters if not w.done()]
        for waiter in losers:
            waiter.cancel()
        # Let the losers unwind (their `finally` drops the subscription) before the token
        # moves on: otherwise the next flush still mirrors the cancelled wait.
        if losers:
            await asyncio.gather(*losers, return_exceptions=True)
    index = next(i for i, w in enumerate(waiters) if w.done() and not w.cancelled())
    winner = targets[index]
    received = waiters[index].result() or {}
    rt.record("gateway.taken", node=node, data={"flows": [flows[index].id], "event": winner.id})
    merge_delivery(rt, token, winner, received)
    rt.record("event.passed", node=winner)
    return rt.leave(token, winner)
