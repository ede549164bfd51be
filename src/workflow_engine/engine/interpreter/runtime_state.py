"""The state of one workflow run and the bookkeeping every part of the runtime records into.

`RuntimeState` is the base of `Runtime`: the instance's attributes (tokens live in scopes, the
event log waiting for the next flush, tasks, subscriptions, incidents, control requests), the
event log itself (`record`, `status`), variables (`view`, `set_variables`), user task records
and control requests. The mechanics built on it live in sibling modules (`batching`, `tokens`,
`listeners`, `deliveries`) and in `runtime` (the instance's life from start to end).
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Coroutine, Mapping
from dataclasses import replace
from typing import Any, TypeVar

from temporalio import workflow

from workflow_engine.engine.contract import (
    EngineEvent,
    IncidentInfo,
    InstanceSnapshot,
    RuntimeBatch,
    StartInstanceInput,
    SubscriptionRecord,
    TaskRecord,
)
from workflow_engine.engine.interpreter.budgets import StepCounter
from workflow_engine.engine.interpreter.state import (
    EscalationFrame,
    OpenIncident,
    OpenTask,
    Scope,
    Subscription,
    Token,
    iso,
)
from workflow_engine.model.types import FlowNode, ProcessModel

T = TypeVar("T")


class RuntimeState:
    """The state of one running process instance and its event log, variables and records."""

    def __init__(self, inp: StartInstanceInput, model: ProcessModel) -> None:
        """Prepare the instance; nothing runs before `run()`."""
        self.inp = inp
        self.model = model
        self.instance_id = inp.instance_id
        self.sequence = inp.next_sequence
        self.pending: list[EngineEvent] = []
        self.changed_vars: dict[str, Any] = {}
        self.changed_tasks: dict[str, TaskRecord] = {}
        self.tasks: dict[str, TaskRecord] = {}
        self.open_tasks: dict[str, OpenTask] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.subscriptions_dirty = False
        self.message_buffer: list[dict[str, Any]] = []
        self.seen_deliveries: set[str] = set()
        self.incidents: dict[str, OpenIncident] = {}
        self.paused = False
        self.control: tuple[str, str] | None = None  # (status, reason) of terminate/cancel/...
        self.final_status: str | None = None
        # The end the supervisor chose and is writing (set before the end's first await), and
        # whether the final batch is applied: control updates order themselves by these.
        self.ending: str | None = None
        self.end_written = False
        self.end_node_id: str | None = None
        self.joins: dict[tuple[str, str], list[Token]] = {}
        self.steps = StepCounter(inp.max_steps_without_wait)
        self.node_order = {node_id: i for i, node_id in enumerate(model.nodes)}
        self.root = Scope(id=inp.instance_id, kind="process", node_id=None, parent=None)
        self.scopes: dict[str, Scope] = {}
        self.error: BaseException | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._outbox: list[RuntimeBatch] = []
        self._riders: list[RuntimeBatch] = []  # riding on activities not finished yet
        self._batches_made = 0
        self._batches_applied = 0
        self.last_status = ""
        self.last_active: list[str] = []
        self.started_at = workflow.now()
        self.carried: dict[str, Any] = {}
        #: Activities with escalation boundaries whose body runs, by the running token's id.
        self.escalation_frames: dict[str, EscalationFrame] = {}

    # --- tasks -------------------------------------------------------------------------------

    def create_task(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Start a workflow task the runtime keeps track of (cancelled when the instance ends)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- event log ---------------------------------------------------------------------------

    def now(self) -> str:
        """Workflow time as ISO text."""
        return iso(workflow.now())

    @staticmethod
    def now_of(moment: datetime.datetime) -> str:
        """A moment as ISO text."""
        return iso(moment)

    def record(
        self,
        type_: str,
        *,
        node: FlowNode | None = None,
        task_id: str | None = None,
        user_id: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> EngineEvent:
        """Append an event to the log (written at the next flush)."""
        event = EngineEvent(
            sequence=self.sequence,
            type=type_,
            timestamp=self.now(),
            activity_id=node.id if node is not None else None,
            task_id=task_id,
            name=(node.name or None) if node is not None else None,
            user_id=user_id,
            data=dict(data or {}),
        )
        if node is not None:
            event.data.setdefault("node_type", node.type.value)
        self.sequence += 1
        self.pending.append(event)
        return event

    def status(self) -> str:
        """The instance status now."""
        if self.final_status is not None:
            return self.final_status
        if self.paused:
            return "paused"
        if self.incidents:
            return "incident"
        return "running"

    def active_node_ids(self) -> list[str]:
        """Nodes holding a token, in document order."""
        found: set[str] = set()
        for scope in [self.root, *self.scopes.values()]:
            for token in scope.tokens.values():
                found.add(token.node_id)
        return sorted(found, key=lambda n: self.node_order.get(n, 0))

    def subscription_records(self) -> list[SubscriptionRecord]:
        """The mirrored set of current signal / message waits."""
        return [
            SubscriptionRecord(
                kind=s.kind,
                name=s.name,
                node_id=s.node_id,
                execution_id=s.execution_id,
                correlation_key=s.correlation_key,
            )
            for s in self.subscriptions.values()
        ]

    # --- variables ---------------------------------------------------------------------------

    def view(self, scope: Scope) -> dict[str, Any]:
        """Variables visible in `scope`: the process variables overlaid by local ones."""
        chain: list[Scope] = []
        current: Scope | None = scope
        while current is not None:
            chain.append(current)
            current = current.parent
        merged: dict[str, Any] = {}
        for item in reversed(chain):
            merged.update(item.variables)
        return merged

    def set_variables(
        self,
        scope: Scope,
        values: Mapping[str, Any],
        *,
        node: FlowNode | None = None,
        source: str = "",
        user_id: str | None = None,
    ) -> None:
        """Set variables where they live: the innermost scope defining them, else the process."""
        if not values:
            return
        for name, value in values.items():
            target = self.root
            current: Scope | None = scope
            while current is not None and current is not self.root:
                if name in current.variables:
                    target = current
                    break
                current = current.parent
            target.variables[name] = value
            if target is self.root:
                self.changed_vars[name] = value
        self.record(
            "variable.updated",
            node=node,
            user_id=user_id,
            data={"variables": dict(values), "source": source},
        )

    # --- user tasks --------------------------------------------------------------------------

    def put_task(self, record: TaskRecord) -> None:
        """Remember a task's new state for the next batch."""
        self.tasks[record.task_id] = record
        self.changed_tasks[record.task_id] = replace(record)

    # --- control -----------------------------------------------------------------------------

    def request_control(self, status: str, reason: str) -> None:
        """Ask the instance to end with `status` (first request wins)."""
        if self.control is None:
            self.control = (status, reason)

    def end_state(self) -> str | None:
        """Why nothing but reads may happen any more: ended, ending, or an end requested.

        None while the instance runs on. Control updates and task completions check this in
        their validators (and handlers), so of two racing operations the one the workflow saw
        first wins and the other is refused with this text.
        """
        if self.final_status is not None:
            return f"has ended ({self.final_status})"
        if self.ending is not None:
            return f"is ending ({self.ending})"
        if self.control is not None:
            return f"is ending ({self.control[0]} requested)"
        return None

    def snapshot(self) -> InstanceSnapshot:
        """The live state (query)."""
        return InstanceSnapshot(
            status=self.status(),
            active_node_ids=self.active_node_ids(),
            variables=dict(self.root.variables),
            open_task_ids=[t for t, o in self.open_tasks.items() if not o.closed],
            incidents=[
                IncidentInfo(
                    node_id=i.node_id,
                    execution_id=i.execution_id,
                    error_type=i.error_type,
                    message=i.message,
                    attempts=i.attempts,
                )
                for i in self.incidents.values()
            ],
            paused=self.paused,
        )
