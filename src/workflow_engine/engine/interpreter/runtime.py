"""The interpreter core: tokens over the graph, scopes, the event log and its flushes.

`Runtime` is created by `ProcessInstanceWorkflow` and lives for one workflow run. Every token is
an asyncio task of the workflow running `_walk`: gate (pause), run the node's behaviour, follow
the chosen flows (the first one in the same task, the others as new tokens). Behaviours live in
one module per element family and receive the runtime; they report failures as
`IncidentError` (the token waits for a retry) or `ThrownBpmnError` (unwinds to its catcher).

The parts of `Runtime` live in one module per concept: `runtime_state` (the run's state, event
log, variables), `batching` (flushes), `tokens` (tokens and scopes), `listeners`,
`deliveries` (signal / message waits); this module holds the instance's life from start to end.
"""

from __future__ import annotations

import asyncio
import datetime
from dataclasses import replace

from temporalio import workflow

from workflow_engine.engine.contract import (
    ACTIVITY_REGISTER_INSTANCE,
    InstanceResult,
)
from workflow_engine.engine.interpreter import carry
from workflow_engine.engine.interpreter.batching import _BATCH_RETRY
from workflow_engine.engine.interpreter.deliveries import Deliveries
from workflow_engine.engine.interpreter.listeners import ListenerRunning
from workflow_engine.engine.interpreter.state import IncidentError
from workflow_engine.engine.interpreter.tokens import TokenDriving
from workflow_engine.expressions.timers import TimerSyntaxError, parse_duration
from workflow_engine.model.types import EventKind, FlowNode

_REGISTER_TIMEOUT = datetime.timedelta(seconds=30)


class Runtime(TokenDriving, ListenerRunning, Deliveries):
    """State and mechanics of one running process instance (one workflow run)."""

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
            self.ending = status
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
                # From here on a terminate / cancel / completion is refused: the end is chosen.
                self.ending = "completed"
                return await self._finish_completed(body)
            if self.control is not None:
                break
            await self._continue_as_new_if_still_ready()
        status, reason = self.control or ("cancelled", "")
        self.ending = status
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
        # A terminate / cancel update waits for the end: it must not hold up this wait.
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() or self.control is not None
        )
        if self.control is not None:
            return
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
        self.end_written = True
        # Control updates waiting for the end answer before the run closes (no command).
        await workflow.wait_condition(workflow.all_handlers_finished)
        return InstanceResult(
            status=status,
            variables=dict(self.root.variables),
            end_node_id=self.end_node_id,
            reason=reason,
        )
