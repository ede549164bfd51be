"""Continue-as-new (DESIGN §3): when a run's history grows long, carry the state to a new run.

A run continues as new only where every token *rests* in a way plain data can describe: a token
between two steps (or held by a pause), a user task waiting for completion, an intermediate
timer / signal / message catch, a token waiting at a join. Waits that plain data cannot
describe (call activities, child scopes — embedded or event subprocesses, multi-instance
bodies —, activities guarded by boundary events, event-based gateways, catches with a timeout,
open incidents) *block* it: while one exists no token parks and the run goes on until the next
chance. Once a continue-as-new is wanted, tokens reaching a step boundary park there so the
instance comes to rest; a token that starts a blocking wait releases them again.

The carried state is JSON (it travels in `StartInstanceInput.carry`): process variables, the
root tokens with how each rests, open user tasks, buffered messages, seen delivery ids, the pause
flag, armed event-subprocess triggers and the start time (for the process timeout). The event
sequence goes on in `StartInstanceInput.next_sequence`.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from temporalio import workflow

from workflow_engine.engine.contract import TaskRecord
from workflow_engine.engine.interpreter.state import OpenTask, Token, iso

if TYPE_CHECKING:
    from workflow_engine.engine.interpreter.runtime import Runtime

#: Version of the carried format (checked on restore).
CARRY_VERSION = 1


def wanted(rt: Runtime) -> bool:
    """True when this run should hand over to a new one (history length or Temporal says so)."""
    info = workflow.info()
    return (
        info.is_continue_as_new_suggested()
        or info.get_current_history_length() >= rt.inp.continue_as_new_after
    )


@contextmanager
def blocking(token: Token) -> Iterator[None]:
    """Mark `token` as being in a wait a continue-as-new cannot carry."""
    token.blocked += 1
    try:
        yield
    finally:
        token.blocked -= 1


@contextmanager
def resting(token: Token, rest: dict[str, Any]) -> Iterator[None]:
    """Mark `token` as resting (carryable) as `rest` describes, while inside the block."""
    token.rest = rest
    try:
        yield
    finally:
        token.rest = None


def _unblocked(rt: Runtime) -> bool:
    return (
        not rt.scopes
        and not rt.incidents
        and rt.control is None
        and rt.error is None
        and all(t.blocked == 0 for t in rt.root.tokens.values())
    )


def may_park(rt: Runtime, token: Token) -> bool:
    """Whether `token`, at a step boundary, should park so the instance can come to rest."""
    return token.scope is rt.root and _unblocked(rt) and wanted(rt)


def _rests(rt: Runtime, token: Token) -> bool:
    rest = token.rest
    if rest is None or token.blocked:
        return False
    kind = rest.get("kind")
    if kind == "user_task":
        open_task = rt.open_tasks.get(str(rest.get("task_id")))
        return open_task is not None and not open_task.closed
    if kind == "delivery":
        sub = rt.subscriptions.get(str(rest.get("subscription")))
        return sub is not None and not sub.inbox
    return kind in ("step", "join", "timer")


def ready(rt: Runtime) -> bool:
    """Every token rests and nothing blocks: the run may continue as new now."""
    return _unblocked(rt) and all(_rests(rt, t) for t in rt.root.tokens.values()) and wanted(rt)


def capture(rt: Runtime) -> dict[str, Any]:
    """The carried state of a run at rest (see `ready`)."""
    joiners: list[Token] = []
    for (scope_id, _node), arrived in rt.joins.items():
        if scope_id == rt.root.id:
            joiners.extend(t for t in arrived if not t.consumed)
    others = [t for t in rt.root.tokens.values() if t not in joiners]
    tokens = []
    # Joiners first, in arrival order: restored tokens start in list order, and a token that
    # walks on could otherwise reach a join before those that were already waiting there.
    for token in [*joiners, *others]:
        rest = dict(token.rest or {"kind": "step"})
        rest.pop("subscription", None)
        tokens.append(
            {
                "id": token.id,
                "node_id": token.node_id,
                "via": token.via,
                "entry": token.entry,
                "rest": rest,
            }
        )
    return {
        "version": CARRY_VERSION,
        "variables": dict(rt.root.variables),
        "tokens": tokens,
        "tasks": [asdict(rt.tasks[task_id]) for task_id in rt.open_tasks if task_id in rt.tasks],
        "message_buffer": list(rt.message_buffer),
        "seen_deliveries": sorted(rt.seen_deliveries),
        "paused": rt.paused,
        "end_node_id": rt.end_node_id,
        "started_at": iso(rt.started_at),
        "armed": {k: dict(v) for k, v in rt.root.armed.items()},
        "last_status": rt.last_status,
        "last_active": list(rt.last_active),
        "runs": int(rt.carried.get("runs", 1)) + 1 if rt.carried else 2,
    }


def parse_time(text: str) -> datetime.datetime:
    """An ISO time written by `iso`."""
    return datetime.datetime.fromisoformat(text)


def restore(rt: Runtime, carry: dict[str, Any]) -> list[Token]:
    """Put the carried state into `rt`; the root tokens to start (in order).

    Raises:
        ValueError: the carried state is of an unknown version.
    """
    if carry.get("version") != CARRY_VERSION:
        raise ValueError(f"carried state version {carry.get('version')!r} is not supported")
    rt.carried = carry
    rt.root.variables.update(carry.get("variables", {}))
    rt.message_buffer = list(carry.get("message_buffer", []))
    rt.seen_deliveries = set(carry.get("seen_deliveries", []))
    rt.paused = bool(carry.get("paused", False))
    rt.end_node_id = carry.get("end_node_id")
    rt.started_at = parse_time(str(carry["started_at"]))
    rt.last_status = str(carry.get("last_status", ""))
    rt.last_active = list(carry.get("last_active", []))
    for raw in carry.get("tasks", []):
        record = TaskRecord(**raw)
        rt.tasks[record.task_id] = record
        rt.open_tasks[record.task_id] = OpenTask(
            task_id=record.task_id, node_id=record.node_id, execution_id=record.execution_id or ""
        )
    tokens = []
    for raw in carry.get("tokens", []):
        rest = dict(raw.get("rest") or {"kind": "step"})
        tokens.append(
            Token(
                id=str(raw["id"]),
                node_id=str(raw["node_id"]),
                scope=rt.root,
                via=raw.get("via"),
                entry=raw.get("entry"),
                resume=rest if rest.get("kind") in ("user_task", "timer", "delivery") else None,
            )
        )
    return tokens
