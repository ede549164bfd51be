"""Plain interpreter state: tokens, scopes, subscriptions, incidents, joins.

Tokens and scopes live only inside one workflow run; each token is driven by one asyncio task
of the workflow (deterministic under Temporal's event loop). Scopes own tokens and local
variables: the process scope holds the process variables, embedded / event subprocesses and
multi-instance bodies nest inside it.
"""

from __future__ import annotations

import asyncio
import datetime
from dataclasses import dataclass, field
from typing import Any


def iso(moment: datetime.datetime) -> str:
    """ISO 8601 UTC text of a workflow time."""
    return moment.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


#: Where a token goes next: (target node id, the sequence flow taken or None).
Next = tuple[str, str | None]


@dataclass(eq=False)
class Token:
    """One token: the node it is at and the scope that owns it.

    Attributes:
        id: Execution id (a uuid from `workflow.uuid4()`).
        node_id: The node the token is at (or runs).
        scope: The scope owning it.
        via: The sequence flow it arrived by (joins count arrivals per incoming flow).
        entry: For an event-subprocess token: the start event that fired.
        waiting_at: The join gateway the token waits at, if any.
        consumed: Set when a join merged this token into another one.
        rest: How the token rests right now, when it is at a point a continue-as-new can
            carry over (see `interpreter.carry`); None while it works or waits otherwise.
        blocked: Nesting count of waits a continue-as-new cannot carry (call activities,
            incidents, boundary-guarded waits, ...): while > 0 no token parks for one.
        resume: Set on a token restored after a continue-as-new: the rest to pick up again.
    """

    id: str
    node_id: str
    scope: Scope
    via: str | None = None
    entry: str | None = None
    waiting_at: str | None = None
    consumed: bool = False
    rest: dict[str, Any] | None = None
    blocked: int = 0
    resume: dict[str, Any] | None = None


@dataclass(eq=False)
class Scope:
    """A variable and token container: the process, a subprocess or a multi-instance body.

    Attributes:
        id: Execution id of the scope.
        kind: `process`, `subprocess`, `event_subprocess`, `mi_body` or `mi_instance`.
        node_id: The subprocess / multi-instance node; None for the process.
        parent: The enclosing scope; None for the process.
        variables: Local variables (the process scope: the process variables).
        tokens: Live tokens by id.
        tasks: The asyncio task driving each live token, by token id.
        listeners: Event-subprocess trigger waits (do not keep the scope alive).
        outcome: Resolved when the last token leaves; an exception when a BPMN error leaves.
        armed: Event-subprocess start events still armed, by start event id: when they were
            armed and the timer fire index (carried over a continue-as-new).
    """

    id: str
    kind: str
    node_id: str | None
    parent: Scope | None
    variables: dict[str, Any] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    listeners: list[asyncio.Task[None]] = field(default_factory=list)
    outcome: asyncio.Future[None] | None = None
    armed: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(eq=False)
class EscalationFrame:
    """An activity with escalation boundary events, while its body runs.

    Attributes:
        token: The token running the activity (the boundary path starts beside it).
        node_id: The activity (a subprocess or a call activity).
        caught: Escalations that reached its boundaries and wait for the boundary loop:
            (boundary event id, escalation code), in arrival order.
        arrived: Resolved when `caught` gets an entry (the boundary loop waits on it).
    """

    token: Token
    node_id: str
    caught: list[tuple[str, str]] = field(default_factory=list)
    arrived: asyncio.Future[None] | None = None


@dataclass(eq=False)
class Subscription:
    """A wait on a BPMN signal or message (mirrored to the database as a SubscriptionRecord)."""

    id: str
    kind: str  # signal | message
    name: str
    ref: str
    node_id: str
    execution_id: str
    correlation_key: str | None = None
    inbox: list[dict[str, Any]] = field(default_factory=list)


@dataclass(eq=False)
class OpenIncident:
    """A step that failed with nothing to catch it; the token waits for a retry."""

    id: str
    node_id: str
    execution_id: str
    error_type: str
    message: str
    attempts: int = 1
    retry_requested: bool = False


@dataclass(eq=False)
class OpenTask:
    """A user task waiting for its `complete_task` update."""

    task_id: str
    node_id: str
    execution_id: str
    closed: bool = False
    variables: dict[str, Any] = field(default_factory=dict)
    completed_by: str | None = None


class ThrownBpmnError(Exception):
    """A BPMN error on its way to the catcher found for it when it was thrown.

    Attributes:
        code: The error code.
        catcher: Id of the catching node: an error boundary event or an error start event of an
            event subprocess.
        message: Text of the error.
        variables: Variables the error carries (merged when caught).
    """

    def __init__(
        self, code: str, *, catcher: str, message: str = "", variables: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"BPMN error '{code}' to {catcher}: {message}")
        self.code = code
        self.catcher = catcher
        self.message = message
        self.variables = variables or {}


class IncidentError(Exception):
    """A step failed and nothing catches it: the token waits until an operator retries it."""

    def __init__(self, message: str, *, error_type: str = "Incident", attempts: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.error_type = error_type
        self.attempts = attempts


class InstanceCancelledError(Exception):
    """A catch event's `timeout_action: cancel` ends the whole instance as cancelled."""
