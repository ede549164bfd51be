"""Steps: an instance's event log grouped into node runs (seed `GetStepDetail`).

A *step* is one run of one flow node by one token: a service task from `activity.started` to
`activity.completed`, a catch event from `event.waiting` to `event.passed`, a gateway's
`gateway.taken`, one instance of a multi-instance activity, ... Its id is the sequence number
of its first event: stable, unique within the instance, and it says where the step sits in the
log.

Grouping, per node: an event joins the latest open step of its node whose execution (the
token id the interpreter records as `execution_id`) matches, or either side has none; when
there is none it opens a new step, except for events that only annotate a step (variables,
incidents, listeners), which join the node's latest step. `activity.completed` /
`activity.interrupted` / `event.passed` / `gateway.taken` close the step, and with it the
steps of the same node that it contains (the instances of a multi-instance activity). Steps of
different nodes never share an event, so a node's steps can be rebuilt from that node's events
alone (what the step detail reads).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from workflow_engine.store.instances import EventRecord

#: Events that end a step, and the step's status then.
_CLOSERS: Final = {
    "activity.completed": "completed",
    "activity.interrupted": "interrupted",
    "event.passed": "completed",
    "gateway.taken": "completed",
}
#: Events that describe a step but never start one on their own.
_ANNOTATIONS: Final = frozenset(
    {
        "variable.updated",
        "incident.created",
        "incident.resolved",
        "incident.retried",
        "listener.executed",
        "listener.skipped",
        "multi_instance.completion_condition",
        "task.cancelled",
        "error.thrown",
        "scope.terminated",
    }
)


@dataclass
class Attempt:
    """One try of a step's activity (a Temporal activity scheduled by the interpreter).

    Temporal's own retries of that activity happen inside one attempt: `temporal_attempts` is
    their count when the failure says it (retries exhausted), else None.
    """

    number: int
    sequence: int
    activity: str | None
    input: Any
    scheduled_at: datetime
    status: str = "running"
    ended_at: datetime | None = None
    result: Any = None
    error_type: str | None = None
    error_message: str | None = None
    retry_state: str | None = None
    temporal_attempts: int | None = None


@dataclass
class StepIncident:
    """An incident opened at the step (and when it was resolved by a retry)."""

    incident_id: str | None
    error_type: str | None
    message: str
    attempts: int | None
    created_at: datetime
    resolved_at: datetime | None = None


@dataclass
class Step:
    """One node run, built from its events."""

    step_id: int
    node_id: str
    node_name: str | None
    node_type: str | None
    execution_id: str | None
    parent_step_id: int | None
    status: str
    started_at: datetime
    ended_at: datetime | None = None
    input: Any = None
    output: Any = None
    variables: dict[str, Any] = field(default_factory=dict)
    user_id: str | None = None
    task_id: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    incidents: list[StepIncident] = field(default_factory=list)
    event_sequences: list[int] = field(default_factory=list)
    event_types: list[str] = field(default_factory=list)

    @property
    def duration_ms(self) -> int | None:
        """Milliseconds from the first to the closing event (None while open)."""
        if self.ended_at is None:
            return None
        return max(0, int((self.ended_at - self.started_at).total_seconds() * 1000))

    @property
    def open(self) -> bool:
        """True until a closing event (or the end of its enclosing step) arrived."""
        return self.ended_at is None


def _data(event: EventRecord) -> Mapping[str, Any]:
    return event.data if isinstance(event.data, Mapping) else {}


def _execution(event: EventRecord) -> str | None:
    value = _data(event).get("execution_id")
    return None if value is None else str(value)


class _Builder:
    def __init__(self) -> None:
        self.steps: list[Step] = []
        self._open: dict[str, list[Step]] = {}
        self._last: dict[str, Step] = {}

    def _matching(self, node: str, execution: str | None) -> Step | None:
        for step in reversed(self._open.get(node, [])):
            if execution is None or step.execution_id is None or step.execution_id == execution:
                return step
        return None

    def _new(self, event: EventRecord, node: str, execution: str | None) -> Step:
        data = _data(event)
        # Only a multi-instance activity's step encloses other steps of its node (its
        # instances); two tokens running the same node side by side are siblings.
        enclosing = [
            s for s in self._open.get(node, []) if "multi_instance.started" in s.event_types
        ]
        step = Step(
            step_id=event.sequence,
            node_id=node,
            node_name=event.event_name,
            node_type=None if data.get("node_type") is None else str(data["node_type"]),
            execution_id=execution,
            # The open step of the same node with another token encloses this one (a
            # multi-instance activity and its instances; siblings never enclose each other).
            parent_step_id=enclosing[0].step_id if enclosing else None,
            status="running",
            started_at=event.timestamp,
        )
        self.steps.append(step)
        self._open.setdefault(node, []).append(step)
        return step

    def add(self, event: EventRecord) -> None:
        node = event.activity_id
        if node is None:
            return
        execution = _execution(event)
        step = self._matching(node, execution)
        if step is None:
            last = self._last.get(node)
            if event.event_type in _ANNOTATIONS and last is not None:
                step = last
            else:
                step = self._new(event, node, execution)
        if step.execution_id is None and execution is not None:
            step.execution_id = execution
        self._last[node] = step
        _apply(step, event)
        closing = _CLOSERS.get(event.event_type)
        if closing is not None and step.open:
            self._close(node, step, closing, event.timestamp)

    def _close(self, node: str, step: Step, status: str, at: datetime) -> None:
        step.status = status
        step.ended_at = at
        still_open = self._open.get(node, [])
        for inner in [s for s in still_open if s.parent_step_id == step.step_id]:
            inner.ended_at = inner.ended_at or at
            inner.status = "completed" if inner.output is not None else "cancelled"
            still_open.remove(inner)
        if step in still_open:
            still_open.remove(step)


def _apply(step: Step, event: EventRecord) -> None:
    data = _data(event)
    kind = event.event_type
    step.event_sequences.append(event.sequence)
    step.event_types.append(kind)
    if step.node_name is None and event.event_name:
        step.node_name = event.event_name
    if step.node_type is None and data.get("node_type") is not None:
        step.node_type = str(data["node_type"])
    if event.task_id and step.task_id is None:
        step.task_id = event.task_id
    if event.user_id and (step.user_id is None or kind == "task.completed"):
        step.user_id = event.user_id
    if kind == "activity.scheduled":
        step.input = data.get("input")
        step.attempts.append(
            Attempt(
                number=len(step.attempts) + 1,
                sequence=event.sequence,
                activity=None if data.get("activity") is None else str(data["activity"]),
                input=data.get("input"),
                scheduled_at=event.timestamp,
            )
        )
    elif kind == "activity.result":
        step.output = data.get("result")
        if step.attempts:
            attempt = step.attempts[-1]
            attempt.status = "completed"
            attempt.ended_at = event.timestamp
            attempt.result = data.get("result")
    elif kind == "activity.failed":
        if step.attempts:
            attempt = step.attempts[-1]
            attempt.status = "failed"
            attempt.ended_at = event.timestamp
            attempt.error_type = _opt(data.get("error_type"))
            attempt.error_message = _opt(data.get("message"))
            attempt.retry_state = _opt(data.get("retry_state"))
            maximum = data.get("max_attempts")
            if attempt.retry_state == "MAXIMUM_ATTEMPTS_REACHED" and isinstance(maximum, int):
                attempt.temporal_attempts = maximum
        if step.open:
            step.status = "failed"
    elif kind == "task.created":
        step.input = {"assignee": data.get("assignee")} if data.get("assignee") else step.input
    elif kind == "task.completed":
        variables = data.get("variables")
        step.output = variables if isinstance(variables, Mapping) else step.output
    elif kind == "decision.evaluated":
        step.output = data.get("output")
    elif kind == "call.started":
        step.input = {k: data.get(k) for k in ("called_element", "version", "child_instance_id")}
    elif kind == "variable.updated":
        values = data.get("variables")
        if isinstance(values, Mapping):
            step.variables.update(values)
            if step.output is None and data.get("source") in ("script", "call", "output"):
                step.output = dict(values)
    elif kind == "incident.created":
        attempts = data.get("attempts")
        step.incidents.append(
            StepIncident(
                incident_id=_opt(data.get("incident_id")),
                error_type=_opt(data.get("error_type")),
                message=str(data.get("message") or ""),
                attempts=attempts if isinstance(attempts, int) else None,
                created_at=event.timestamp,
            )
        )
        step.status = "incident"
    elif kind in ("incident.resolved", "incident.retried"):
        for incident in step.incidents:
            if incident.resolved_at is None and (
                data.get("incident_id") is None or incident.incident_id == data.get("incident_id")
            ):
                incident.resolved_at = event.timestamp
        if step.open:
            step.status = "running"


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def build_steps(events: Iterable[EventRecord], *, ended_status: str | None = None) -> list[Step]:
    """Group events (ascending by sequence) into steps, in order of their first event.

    Args:
        events: The log, or any one node's part of it.
        ended_status: The instance's final status when it has ended: steps still open then
            were cut short by the end (`cancelled`, or `terminated` ...), unless they failed.
    """
    builder = _Builder()
    for event in events:
        builder.add(event)
    if ended_status is not None:
        for step in builder.steps:
            if step.open and step.status == "running":
                step.status = "cancelled" if ended_status == "completed" else ended_status
    return builder.steps
