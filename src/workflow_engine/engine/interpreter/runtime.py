"""The interpreter core: tokens over the graph, scopes, the event log and its flushes.

`Runtime` is created by `ProcessInstanceWorkflow` and lives for one workflow run. Every token is
an asyncio task of the workflow running `_walk`: gate (pause), run the node's behaviour, follow
the chosen flows (the first one in the same task, the others as new tokens). Behaviours live in
one module per element family and receive the runtime; they report failures as
`IncidentError` (the token waits for a retry) or `ThrownBpmnError` (unwinds to its catcher).
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import replace
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy

from workflow_engine.engine import piggyback
from workflow_engine.engine.contract import (
    ACTIVITY_APPLY_RUNTIME_BATCH,
    ACTIVITY_REGISTER_INSTANCE,
    EngineEvent,
    IncidentInfo,
    InstanceResult,
    InstanceSnapshot,
    RuntimeBatch,
    StartInstanceInput,
    SubscriptionRecord,
    TaskRecord,
)
from workflow_engine.engine.interpreter import behaviours, carry
from workflow_engine.engine.interpreter.state import (
    IncidentError,
    InstanceCancelledError,
    Next,
    OpenIncident,
    OpenTask,
    Scope,
    Subscription,
    ThrownBpmnError,
    Token,
    iso,
)
from workflow_engine.expressions import ExpressionError, evaluate_condition
from workflow_engine.expressions.timers import TimerSyntaxError, parse_duration
from workflow_engine.model.types import EventKind, FlowNode, Listener, NodeType, ProcessModel

T = TypeVar("T")

#: Activity that writes batches: generous retries, the database may be down for a while.
_BATCH_RETRY = RetryPolicy(maximum_interval=datetime.timedelta(seconds=10))
_BATCH_TIMEOUT = datetime.timedelta(seconds=30)
_LISTENER_TIMEOUT = datetime.timedelta(minutes=1)
_REGISTER_TIMEOUT = datetime.timedelta(seconds=30)


class Runtime:
    """State and mechanics of one running process instance (one workflow run)."""

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
        self.end_node_id: str | None = None
        self.joins: dict[tuple[str, str], list[Token]] = {}
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

    def _take_batch(self, *, ended: bool = False, reason: str | None = None) -> RuntimeBatch | None:
        status = self.status()
        active = [] if ended else self.active_node_ids()
        if not (
            self.pending
            or self.changed_vars
            or self.changed_tasks
            or self.subscriptions_dirty
            or ended
            or status != self.last_status
            or active != self.last_active
        ):
            return None
        batch = RuntimeBatch(
            instance_id=self.instance_id,
            through_sequence=self.sequence - 1,
            events=self.pending,
            status=status,
            active_node_ids=active,
            variables=self.changed_vars,
            tasks=list(self.changed_tasks.values()),
            subscriptions=self.subscription_records()
            if self.subscriptions_dirty or ended
            else None,
            ended_at=self.now() if ended else None,
            end_reason=reason,
        )
        if ended:
            batch.subscriptions = []
        self.pending = []
        self.changed_vars = {}
        self.changed_tasks = {}
        self.subscriptions_dirty = False
        self.last_status = status
        self.last_active = active
        return batch

    async def flush(self, *, ended: bool = False, reason: str | None = None) -> None:
        """Hand what changed to the batch writer and wait until it is applied.

        The single place batches are written (DESIGN §3: at wait points, before activities and
        at the end). Batches are applied one at a time, in order, by `_batch_writer`, so a token
        cancelled while waiting here loses nothing.
        """
        batch = self._with_riders(self._take_batch(ended=ended, reason=reason))
        if batch is None:
            return
        self._batches_made += 1
        number = self._batches_made
        self._outbox.append(batch)
        await workflow.wait_condition(lambda: self._batches_applied >= number)

    async def batch_for_ride(self) -> RuntimeBatch | None:
        """The pending batch, to ride on the next activity of the engine's queue (DESIGN §3).

        The piggy-back alternative to `flush()` before a step activity (see
        `engine.piggyback`). Batches still being written are waited for first, so the log is
        applied in order. None: nothing changed.
        """
        if self._outbox:
            number = self._batches_made
            await workflow.wait_condition(lambda: self._batches_applied >= number)
        batch = self._with_riders(self._take_batch())
        if batch is not None:
            self._riders.append(batch)
        return batch

    def ride_done(self, batch: RuntimeBatch) -> None:
        """The activity `batch` rode on has finished (so the batch was applied, or resent)."""
        self._riders = [b for b in self._riders if b is not batch]

    def _with_riders(self, batch: RuntimeBatch | None) -> RuntimeBatch | None:
        # A ridden batch is applied when its activity starts, maybe after a newer batch; the
        # projection then keeps only its events (older snapshot parts are skipped). So every
        # newer batch repeats the variables, tasks and subscriptions of unfinished riders.
        if batch is None or not self._riders:
            return batch
        variables: dict[str, Any] = {}
        tasks: dict[str, TaskRecord] = {}
        subscriptions_changed = False
        for rider in self._riders:
            variables.update(rider.variables)
            tasks.update({t.task_id: t for t in rider.tasks})
            subscriptions_changed |= rider.subscriptions is not None
        variables.update(batch.variables)
        tasks.update({t.task_id: t for t in batch.tasks})
        batch.variables = variables
        batch.tasks = list(tasks.values())
        if subscriptions_changed and batch.subscriptions is None:
            batch.subscriptions = self.subscription_records()
        return batch

    def resend(self, batch: RuntimeBatch) -> None:
        """Write a ridden batch separately: its activity failed or may never have run.

        Applying a batch twice is harmless (idempotent by sequence), losing it is not.
        """
        self._batches_made += 1
        self._outbox.append(batch)

    async def _batch_writer(self) -> None:
        while True:
            await workflow.wait_condition(lambda: bool(self._outbox))
            batch = self._outbox[0]
            if piggyback.local_writes():
                # The worker running this workflow applies it (engine.piggyback).
                await workflow.execute_local_activity(
                    ACTIVITY_APPLY_RUNTIME_BATCH,
                    batch,
                    start_to_close_timeout=_BATCH_TIMEOUT,
                    retry_policy=_BATCH_RETRY,
                )
            else:
                await workflow.execute_activity(
                    ACTIVITY_APPLY_RUNTIME_BATCH,
                    batch,
                    start_to_close_timeout=_BATCH_TIMEOUT,
                    retry_policy=_BATCH_RETRY,
                )
            self._outbox.pop(0)
            self._batches_applied += 1

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

    # --- tokens ------------------------------------------------------------------------------

    def spawn(
        self, scope: Scope, node_id: str, *, via: str | None = None, entry: str | None = None
    ) -> Token:
        """Put a new token on `node_id` in `scope` and start driving it."""
        token = Token(id=str(workflow.uuid4()), node_id=node_id, scope=scope, via=via, entry=entry)
        return self.adopt(token)

    def adopt(self, token: Token) -> Token:
        """Start driving `token` (a new one, or one restored after a continue-as-new)."""
        token.scope.tokens[token.id] = token
        token.scope.tasks[token.id] = self.create_task(self._token_main(token))
        return token

    async def _token_main(self, token: Token) -> None:
        scope = token.scope
        try:
            await self._walk(token)
        except asyncio.CancelledError:
            pass
        except ThrownBpmnError as exc:
            self.scope_error(scope, token, exc)
        except InstanceCancelledError as exc:
            self.request_control("cancelled", str(exc))
        except Exception as exc:  # a bug: keep it visible, fail the workflow task
            self.error = exc
        finally:
            scope.tokens.pop(token.id, None)
            scope.tasks.pop(token.id, None)
            if not scope.tokens and scope.outcome is not None and not scope.outcome.done():
                scope.outcome.set_result(None)

    async def _walk(self, token: Token) -> None:
        while True:
            resume = token.resume
            token.resume = None
            if resume is None:
                await self._rest(token)
            node = self.model.node(token.node_id)
            if resume is not None:
                nexts = await self.guarded(token, node, self._resumer(token, node, resume))
            else:
                nexts = await self.guarded(token, node, self._dispatcher(token, node))
            if not nexts:
                return
            for target, via in nexts[1:]:
                self.spawn(token.scope, target, via=via)
            token.node_id, token.via = nexts[0]
            token.entry = None

    def _dispatcher(self, token: Token, node: FlowNode) -> Callable[[], Awaitable[list[Next]]]:
        return lambda: behaviours.dispatch(self, token, node)

    def _resumer(
        self, token: Token, node: FlowNode, rest: dict[str, Any]
    ) -> Callable[[], Awaitable[list[Next]]]:
        return lambda: behaviours.resume(self, token, node, rest)

    async def _rest(self, token: Token) -> None:
        """A step boundary: hold while paused, park while a continue-as-new is wanted."""
        with carry.resting(token, {"kind": "step"}):
            while True:
                await self.gate()
                if not carry.may_park(self, token):
                    return
                # The run ends here by continue-as-new, unless a blocking wait shows up.
                await workflow.wait_condition(lambda: not carry.may_park(self, token))

    async def gate(self) -> None:
        """Hold while the instance is paused (no new step starts)."""
        if self.paused:
            await workflow.wait_condition(lambda: not self.paused)

    async def guarded(self, token: Token, node: FlowNode, action: Callable[[], Awaitable[T]]) -> T:
        """Run `action`; on an incident wait for a retry and run it again."""
        while True:
            try:
                return await action()
            except IncidentError as exc:
                await self.incident(token, node, exc)
            except (ExpressionError, TimerSyntaxError) as exc:
                await self.incident(
                    token, node, IncidentError(str(exc), error_type="ExpressionError")
                )

    async def incident(self, token: Token, node: FlowNode, exc: IncidentError) -> None:
        """Open an incident at `node` and wait until an operator asks for a retry."""
        incident = OpenIncident(
            id=str(workflow.uuid4()),
            node_id=node.id,
            execution_id=token.id,
            error_type=exc.error_type,
            message=exc.message,
            attempts=exc.attempts,
        )
        self.incidents[incident.id] = incident  # (an open incident blocks continue-as-new)
        self.record(
            "incident.created",
            node=node,
            data={
                "incident_id": incident.id,
                "error_type": exc.error_type,
                "message": exc.message,
                "attempts": exc.attempts,
            },
        )
        try:
            await self.flush()
            await workflow.wait_condition(lambda: incident.retry_requested and not self.paused)
        finally:
            self.incidents.pop(incident.id, None)
        self.record("incident.resolved", node=node, data={"incident_id": incident.id})

    def leave(self, token: Token, node: FlowNode) -> list[Next]:
        """Outgoing flows of a non-gateway node: every flow whose condition holds (or none)."""
        result: list[Next] = []
        variables: dict[str, Any] | None = None
        for flow in self.model.outgoing_flows(node.id):
            if flow.condition is not None:
                if variables is None:
                    variables = self.view(token.scope)
                if not evaluate_condition(flow.condition, variables):
                    continue
            result.append((flow.target, flow.id))
        return result

    # --- scopes ------------------------------------------------------------------------------

    def new_scope(
        self,
        *,
        kind: str,
        node_id: str | None,
        parent: Scope,
        variables: dict[str, Any] | None = None,
    ) -> Scope:
        """A child scope (not started)."""
        return Scope(
            id=str(workflow.uuid4()),
            kind=kind,
            node_id=node_id,
            parent=parent,
            variables=dict(variables or {}),
        )

    async def run_scope(
        self,
        scope: Scope,
        starts: list[tuple[str, str | None]],
        *,
        restored: list[Token] | None = None,
        armed: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        """Run a scope from its start nodes until no token is left in it.

        Args:
            scope: The scope.
            starts: (node id, entry) of each token to start.
            restored: Tokens carried over a continue-as-new, started after `starts`.
            armed: Carried event-subprocess triggers: arm only these, as they were.

        Raises:
            ThrownBpmnError: an error left the scope toward a catcher outside it.
        """
        scope.outcome = asyncio.get_running_loop().create_future()
        if scope is not self.root:
            self.scopes[scope.id] = scope
        behaviours.arm_event_subprocesses(self, scope, restore=armed)
        for node_id, entry in starts:
            self.spawn(scope, node_id, entry=entry)
        for token in restored or []:
            self.adopt(token)
        if not scope.tokens:
            scope.outcome.set_result(None)
        try:
            await scope.outcome
        finally:
            for listener in scope.listeners:
                listener.cancel()
            self.cancel_tokens(scope)
            self.scopes.pop(scope.id, None)

    def cancel_tokens(self, scope: Scope, *, keep: Token | None = None) -> None:
        """Cancel every token of `scope` (their activities, tasks, child scopes) but `keep`."""
        for token_id, task in list(scope.tasks.items()):
            if keep is None or token_id != keep.id:
                task.cancel()

    def scope_error(self, scope: Scope, token: Token, exc: ThrownBpmnError) -> None:
        """Handle a BPMN error that left a token of `scope`.

        Starts the catching event subprocess when it belongs to this scope, else ends the scope
        with the error so its host (a subprocess) passes it on.
        """
        catcher = self.model.node(exc.catcher)
        host = self.model.nodes.get(catcher.scope) if catcher.scope is not None else None
        if (
            catcher.type is NodeType.START_EVENT
            and host is not None
            and host.scope == scope.node_id
            and scope.kind in ("process", "subprocess", "event_subprocess")
        ):
            self.set_variables(scope, exc.variables, node=catcher, source="error")
            self.trigger_event_subprocess(scope, catcher, interrupting=True)
            return
        if scope.outcome is not None and not scope.outcome.done():
            scope.outcome.set_exception(exc)
        self.cancel_tokens(scope, keep=token)

    def trigger_event_subprocess(
        self, scope: Scope, start: FlowNode, *, interrupting: bool
    ) -> None:
        """Start an event subprocess of `scope` at `start` (interrupting: end everything else)."""
        assert start.scope is not None
        token = self.spawn(scope, start.scope, entry=start.id)
        if interrupting:
            current = asyncio.current_task()
            for listener in scope.listeners:
                if listener is not current:
                    listener.cancel()
            self.cancel_tokens(scope, keep=token)

    # --- listeners ---------------------------------------------------------------------------

    async def run_listeners(
        self, listeners: tuple[Listener, ...], event: str, *, node: FlowNode | None, scope: Scope
    ) -> None:
        """Run the listeners of `event` as activities named by class, or record them skipped."""
        for listener in listeners:
            if listener.event != event:
                continue
            data = {"class": listener.class_name, "event": event}
            if listener.class_name not in self.inp.implemented_listeners:
                self.record("listener.skipped", node=node, data=data)
                continue
            await self.flush()
            result = await workflow.execute_activity(
                listener.class_name,
                {
                    "event": event,
                    "instance_id": self.instance_id,
                    "node_id": node.id if node is not None else None,
                    "config": dict(listener.config),
                    "variables": self.view(scope),
                },
                start_to_close_timeout=_LISTENER_TIMEOUT,
            )
            self.record("listener.executed", node=node, data=data)
            if isinstance(result, dict) and result:
                self.set_variables(
                    scope, result, node=node, source=f"listener {listener.class_name}"
                )

    # --- deliveries --------------------------------------------------------------------------

    def subscribe(
        self,
        *,
        kind: str,
        name: str,
        ref: str,
        node: FlowNode,
        execution_id: str,
        correlation_key: str | None = None,
    ) -> Subscription:
        """Wait on a signal / message; a buffered matching message is delivered at once."""
        sub = Subscription(
            id=str(workflow.uuid4()),
            kind=kind,
            name=name,
            ref=ref,
            node_id=node.id,
            execution_id=execution_id,
            correlation_key=correlation_key,
        )
        self.subscriptions[sub.id] = sub
        self.subscriptions_dirty = True
        if kind == "message":
            for item in self.message_buffer:
                if self._message_matches(sub, item):
                    self.message_buffer.remove(item)
                    sub.inbox.append(item)
                    break
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Stop waiting."""
        if self.subscriptions.pop(sub.id, None) is not None:
            self.subscriptions_dirty = True

    @staticmethod
    def _message_matches(sub: Subscription, item: Mapping[str, Any]) -> bool:
        if item.get("name") not in (sub.name, sub.ref):
            return False
        key = item.get("correlation_key")
        return key is None or sub.correlation_key is None or str(key) == str(sub.correlation_key)

    def _fresh(self, delivery_id: str) -> bool:
        if not delivery_id:
            return True
        if delivery_id in self.seen_deliveries:
            return False
        self.seen_deliveries.add(delivery_id)
        return True

    def deliver_signal(self, name: str, variables: dict[str, Any], delivery_id: str = "") -> int:
        """Give a broadcast signal to every current wait on it; returns how many got it."""
        if not self._fresh(delivery_id):
            return 0
        item = {"name": name, "variables": variables}
        count = 0
        for sub in list(self.subscriptions.values()):
            if sub.kind == "signal" and name in (sub.name, sub.ref):
                sub.inbox.append(item)
                count += 1
        if count == 0:
            self.record("signal.ignored", data={"signal": name})
        return count

    def deliver_message(
        self,
        name: str,
        correlation_key: str | None,
        variables: dict[str, Any],
        delivery_id: str = "",
    ) -> None:
        """Give a message to the oldest matching wait, or keep it until one subscribes."""
        if not self._fresh(delivery_id):
            return
        item = {"name": name, "correlation_key": correlation_key, "variables": variables}
        for sub in self.subscriptions.values():
            if sub.kind == "message" and self._message_matches(sub, item):
                sub.inbox.append(item)
                return
        self.message_buffer.append(item)
        self.record("message.buffered", data={"message": name, "correlation_key": correlation_key})

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

    # --- the instance ------------------------------------------------------------------------

    def _start_node(self) -> FlowNode:
        if self.inp.start_node_id is not None:
            return self.model.node(self.inp.start_node_id)
        starts = self.model.start_events(None)
        for start in starts:
            if start.event_kind in (None, EventKind.NONE):
                return start
        if not starts:
            raise IncidentError("the process has no start event")
        return starts[0]

    async def run(self) -> InstanceResult:
        """Run the instance to its end and return its result (or continue as new).

        A Temporal-level cancellation (client `handle.cancel()`) ends the instance as
        `cancelled`, with its final batch written like any other end.
        """
        writer = self.create_task(self._batch_writer())
        self._tasks.discard(writer)  # keeps running until the final batch is written
        try:
            body = await self._begin()
            return await self._supervise(body)
        except asyncio.CancelledError:
            self.request_control("cancelled", "cancelled through Temporal")
            status, reason = self.control or ("cancelled", "")
            await self._stop_everything()
            return await self._finish(status, reason)

    async def _begin(self) -> asyncio.Task[None]:
        """Start the root scope: fresh, or from the state carried over a continue-as-new."""
        if self.inp.carry is not None:
            restored = carry.restore(self, self.inp.carry)
            return self.create_task(
                self.run_scope(
                    self.root,
                    [],
                    restored=restored,
                    armed=dict(self.inp.carry.get("armed", {})),
                )
            )
        if self.inp.register:
            # The projection refuses batches of an instance without a row (INSTANCE_MISSING).
            await workflow.execute_activity(
                ACTIVITY_REGISTER_INSTANCE,
                self.inp,
                start_to_close_timeout=_REGISTER_TIMEOUT,
                retry_policy=_BATCH_RETRY,
            )
        start = self._start_node()
        variables = dict(self.inp.variables)
        if self.inp.initiator is not None:
            variables["initiator"] = self.inp.initiator
            starter_var = start.config.get("initiator")
            if isinstance(starter_var, str) and starter_var:
                variables[starter_var] = self.inp.initiator
        self.root.variables.update(variables)
        self.changed_vars.update(variables)
        self.record(
            "process.started",
            user_id=self.inp.initiator,
            data={
                "definition_id": self.inp.definition_id,
                "definition_key": self.inp.definition_key,
                "definition_version": self.inp.definition_version,
                "business_key": self.inp.business_key,
                "tenant_id": self.inp.tenant_id,
                "initiator": self.inp.initiator,
                "parent_instance_id": self.inp.parent_instance_id,
                "parent_node_id": self.inp.parent_node_id,
                "variables": variables,
                "start_node_id": start.id,
            },
        )
        await self.run_listeners(self.model.process.listeners, "start", node=None, scope=self.root)
        return self.create_task(self.run_scope(self.root, [(start.id, None)]))

    async def _supervise(self, body: asyncio.Task[None]) -> InstanceResult:
        """Wait for the end, a control request, a bug, the process timeout or a rest point."""
        timeout = self._process_timeout()
        while True:
            remaining = None
            if timeout is not None:
                remaining = max((self.started_at + timeout - workflow.now()).total_seconds(), 0.001)
            try:
                await workflow.wait_condition(
                    lambda: (
                        body.done()
                        or self.control is not None
                        or self.error is not None
                        or carry.ready(self)
                    ),
                    timeout=remaining,
                )
            except TimeoutError:
                self.request_control("timed_out", f"process timeout {self.model.process.timeout}")
            if self.error is not None:
                raise self.error
            if self.control is None and body.done():
                return await self._finish_completed(body)
            if self.control is not None:
                break
            await self._continue_as_new_if_still_ready()
        status, reason = self.control or ("cancelled", "")
        await self._stop_everything()
        return await self._finish(status, reason)

    def _unflushed(self) -> bool:
        return bool(
            self.pending or self.changed_vars or self.changed_tasks or self.subscriptions_dirty
        )

    async def _continue_as_new_if_still_ready(self) -> None:
        """Flush, drain signal / update handlers, then hand the state to a new run.

        Returns (without continuing) when the instance stopped resting meanwhile; the caller
        waits for the next chance.
        """
        await self.flush()
        await workflow.wait_condition(workflow.all_handlers_finished)
        # One more turn of the loop so tokens woken by the handlers run first.
        await workflow.wait_condition(lambda: True)
        if not carry.ready(self) or self._unflushed() or self._outbox:
            return
        state = carry.capture(self)
        workflow.continue_as_new(
            replace(
                self.inp,
                variables={},
                carry=state,
                next_sequence=self.sequence,
                register=False,
            )
        )

    def _process_timeout(self) -> datetime.timedelta | None:
        text = self.model.process.timeout
        if not text:
            return None
        try:
            return parse_duration(text)
        except TimerSyntaxError:
            self.record("process.timeout_ignored", data={"timeout": text})
            return None

    async def _stop_everything(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        while self._tasks:
            await workflow.wait(list(self._tasks))

    async def _finish_completed(self, body: asyncio.Task[None]) -> InstanceResult:
        exc = body.exception()
        if exc is not None:  # a BPMN error nothing caught reached the process: never expected
            raise exc
        await self._stop_everything()
        return await self._finish("completed", None)

    async def _finish(self, status: str, reason: str | None) -> InstanceResult:
        if status == "completed":
            await self.run_listeners(
                self.model.process.listeners, "end", node=None, scope=self.root
            )
        for task_id, open_task in list(self.open_tasks.items()):
            open_task.closed = True
            record = self.tasks.get(task_id)
            if record is not None and record.state == "created":
                record.state = "cancelled"
                record.ended_at = self.now()
                self.put_task(record)
        self.open_tasks.clear()
        self.subscriptions.clear()
        self.incidents.clear()
        self.paused = False
        self.final_status = status
        self.record(
            f"process.{status}",
            data={"reason": reason, "end_node_id": self.end_node_id},
        )
        await self.flush(ended=True, reason=reason)
        return InstanceResult(
            status=status,
            variables=dict(self.root.variables),
            end_node_id=self.end_node_id,
            reason=reason,
        )
