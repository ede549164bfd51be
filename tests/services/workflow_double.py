"""A test double of `ProcessInstanceWorkflow` and fixtures that run it on a real Temporal.

The interpreter is a separate component; the services only rely on the contract
(`engine/contract.py`). This double honours that contract — it takes `StartInstanceInput`,
reports through the real `wfe.apply_runtime_batch` activity, handles the contract's signals,
the `complete_task` and control updates (with validators) — and records what it received, so
the services' Temporal side is tested for real.

Its behaviour: one user task `review` (assignee = the initiator, candidate group `staff`), a
wait on signal `go` and on message `paid` (correlation key = variable `order`). It completes
once the task is done and `go` arrived; terminate / cancel end it at once. Variable `fail`
at start puts it into `incident` (retry clears it).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio import workflow
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from workflow_engine.config import load_settings
from workflow_engine.engine.contract import (
    ACTIVITY_APPLY_RUNTIME_BATCH,
    QUERY_SNAPSHOT,
    SIGNAL_BPMN_MESSAGE,
    SIGNAL_BPMN_SIGNAL,
    SIGNAL_CANCEL,
    SIGNAL_PAUSE,
    SIGNAL_RESUME,
    SIGNAL_RETRY,
    SIGNAL_SET_VARIABLES,
    SIGNAL_TERMINATE,
    UPDATE_CANCEL,
    UPDATE_COMPLETE_TASK,
    UPDATE_PAUSE,
    UPDATE_RESUME,
    UPDATE_TERMINATE,
    WORKFLOW_NAME,
    CompleteTaskRequest,
    CompleteTaskResult,
    ControlRequest,
    ControlResult,
    EngineEvent,
    InstanceResult,
    InstanceSnapshot,
    MessageDelivery,
    RetryRequest,
    RuntimeBatch,
    SetVariablesRequest,
    SignalDelivery,
    StartInstanceInput,
    SubscriptionRecord,
    TaskRecord,
)
from workflow_engine.services.container import Services, build_services


@dataclass
class Received:
    """What the double saw (answered by the query `received`)."""

    start: dict[str, Any]
    signals: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    controls: list[str]
    set_variables: list[dict[str, Any]]
    retries: list[dict[str, Any]]


@workflow.defn(name=WORKFLOW_NAME)
class DoubleWorkflow:
    """The contract-following stand-in described in the module docstring."""

    def __init__(self) -> None:
        self._seq = 0
        self._events: list[EngineEvent] = []
        self._variables: dict[str, Any] = {}
        self._changed: dict[str, Any] = {}
        self._tasks: dict[str, TaskRecord] = {}
        self._dirty_tasks: list[TaskRecord] = []
        self._status = "running"
        self._paused = False
        self._incident = False
        self._go = False
        self._done: str | None = None
        self._reason: str | None = None
        self._dirty = False
        self._subs_changed = True
        self._received = Received({}, [], [], [], [], [])
        self._instance_id = ""
        self._ended = False

    def _event(self, kind: str, node: str | None = None, **data: Any) -> None:
        self._seq += 1
        self._events.append(
            EngineEvent(
                sequence=self._seq,
                type=kind,
                timestamp=workflow.now().isoformat(),
                activity_id=node,
                data=data,
            )
        )
        self._dirty = True

    def _subscriptions(self) -> list[SubscriptionRecord]:
        subs = []
        if not self._go:
            subs.append(SubscriptionRecord("signal", "go", "wait_go", "e-go"))
        if not any(m for m in self._received.messages):
            key = self._variables.get("order")
            subs.append(
                SubscriptionRecord("message", "paid", "wait_paid", "e-paid", correlation_key=key)
            )
        return subs

    async def _flush(self) -> None:
        status = (
            self._done
            or ("paused" if self._paused else None)
            or ("incident" if self._incident else "running")
        )
        open_tasks = [t.node_id for t in self._tasks.values() if t.state == "created"]
        batch = RuntimeBatch(
            instance_id=self._instance_id,
            through_sequence=self._seq,
            events=self._events,
            status=status,
            active_node_ids=[] if self._done else [*open_tasks, "wait_go"],
            variables=self._changed,
            tasks=self._dirty_tasks,
            subscriptions=self._subscriptions() if self._subs_changed else None,
            ended_at=workflow.now().isoformat() if self._done else None,
            end_reason=self._reason,
        )
        self._events, self._changed, self._dirty_tasks = [], {}, []
        self._dirty = self._subs_changed = False
        await workflow.execute_activity(
            ACTIVITY_APPLY_RUNTIME_BATCH, batch, start_to_close_timeout=timedelta(seconds=30)
        )

    @workflow.run
    async def run(self, start: StartInstanceInput) -> InstanceResult:
        self._instance_id = start.instance_id
        self._received.start = asdict(start)
        self._variables = dict(start.variables)
        self._changed = dict(start.variables)
        self._event("process.started", start.start_node_id or "start")
        task = TaskRecord(
            task_id=str(workflow.uuid4()),
            node_id="review",
            name="Review",
            state="created",
            created_at=workflow.now().isoformat(),
            assignee=start.initiator,
            candidate_groups=["staff"],
        )
        self._tasks[task.task_id] = task
        self._dirty_tasks.append(task)
        self._event("task.created", "review")
        if "fail" in start.variables:
            self._incident = True
            self._event("incident.created", "review", message="it broke", error_type="Boom")
        while True:
            await self._flush()
            await workflow.wait_condition(lambda: self._dirty or self._finished())
            if self._finished():
                break
        if self._done is None:
            self._done = "completed"
            self._event("process.completed", "end")
        await self._flush()
        self._ended = True
        await workflow.wait_condition(workflow.all_handlers_finished)
        return InstanceResult(status=self._done, variables=self._variables)

    def _finished(self) -> bool:
        tasks_done = all(t.state != "created" for t in self._tasks.values())
        return self._done is not None or (tasks_done and self._go and not self._paused)

    @workflow.signal(name=SIGNAL_BPMN_SIGNAL)
    def on_signal(self, delivery: SignalDelivery) -> None:
        self._received.signals.append(asdict(delivery))
        if delivery.name == "go":
            self._go = True
            self._subs_changed = True
            self._event("signal.received", "wait_go", name=delivery.name)

    @workflow.signal(name=SIGNAL_BPMN_MESSAGE)
    def on_message(self, delivery: MessageDelivery) -> None:
        self._received.messages.append(asdict(delivery))
        self._subs_changed = True
        self._event("message.received", "wait_paid", name=delivery.name)

    @workflow.signal(name=SIGNAL_PAUSE)
    def on_pause(self, request: ControlRequest) -> None:
        self._received.controls.append("pause")
        self._paused = True
        self._event("process.paused")

    @workflow.signal(name=SIGNAL_RESUME)
    def on_resume(self, request: ControlRequest) -> None:
        self._received.controls.append("resume")
        self._paused = False
        self._event("process.resumed")

    @workflow.signal(name=SIGNAL_TERMINATE)
    def on_terminate(self, request: ControlRequest) -> None:
        self._received.controls.append("terminate")
        self._done, self._reason = "terminated", request.reason
        self._event("process.terminated", reason=request.reason)

    @workflow.signal(name=SIGNAL_CANCEL)
    def on_cancel(self, request: ControlRequest) -> None:
        self._received.controls.append("cancel")
        self._done, self._reason = "cancelled", request.reason
        self._event("process.cancelled", reason=request.reason)

    def _refuse_when_done(self) -> None:
        if self._done is not None:
            raise ApplicationError(f"the instance has ended ({self._done})", type="InstanceEnded")

    @workflow.update(name=UPDATE_PAUSE)
    def pause_now(self, request: ControlRequest) -> ControlResult:
        self.on_pause(request)
        return ControlResult(status="paused")

    @pause_now.validator
    def _validate_pause(self, request: ControlRequest) -> None:
        self._refuse_when_done()
        if self._paused:
            raise ApplicationError("the instance is paused already", type="AlreadyPaused")

    @workflow.update(name=UPDATE_RESUME)
    def resume_now(self, request: ControlRequest) -> ControlResult:
        self.on_resume(request)
        return ControlResult(status="running")

    @resume_now.validator
    def _validate_resume(self, request: ControlRequest) -> None:
        self._refuse_when_done()
        if not self._paused:
            raise ApplicationError("the instance is not paused", type="NotPaused")

    @workflow.update(name=UPDATE_TERMINATE)
    async def terminate_now(self, request: ControlRequest) -> ControlResult:
        self.on_terminate(request)
        await workflow.wait_condition(lambda: self._ended)
        return ControlResult(status="terminated", reason=request.reason)

    @terminate_now.validator
    def _validate_terminate(self, request: ControlRequest) -> None:
        self._refuse_when_done()

    @workflow.update(name=UPDATE_CANCEL)
    async def cancel_now(self, request: ControlRequest) -> ControlResult:
        self.on_cancel(request)
        await workflow.wait_condition(lambda: self._ended)
        return ControlResult(status="cancelled", reason=request.reason)

    @cancel_now.validator
    def _validate_cancel(self, request: ControlRequest) -> None:
        self._refuse_when_done()

    @workflow.signal(name=SIGNAL_RETRY)
    def on_retry(self, request: RetryRequest) -> None:
        self._received.retries.append(asdict(request))
        self._incident = False
        self._event("incident.resolved", "review")

    @workflow.signal(name=SIGNAL_SET_VARIABLES)
    def on_set_variables(self, request: SetVariablesRequest) -> None:
        self._received.set_variables.append(dict(request.variables))
        self._variables.update(request.variables)
        self._changed.update(request.variables)
        self._event("variable.updated", names=sorted(request.variables))

    @workflow.update(name=UPDATE_COMPLETE_TASK)
    def complete_task(self, request: CompleteTaskRequest) -> CompleteTaskResult:
        task = self._tasks[request.task_id]
        task.state = "completed"
        task.ended_at = workflow.now().isoformat()
        task.completed_by = request.user_id
        self._dirty_tasks.append(task)
        self._variables.update(request.variables)
        self._changed.update(request.variables)
        self._event("task.completed", "review")
        return CompleteTaskResult(task.task_id, task.node_id, "running")

    @complete_task.validator
    def _validate_complete(self, request: CompleteTaskRequest) -> None:
        task = self._tasks.get(request.task_id)
        if task is None or task.state != "created":
            raise ApplicationError(f"task {request.task_id} is not open", type="TASK_NOT_OPEN")
        if "bad" in request.variables:
            raise ApplicationError("variable 'bad' is not allowed", type="InvalidVariables")

    @workflow.query(name="received")
    def received(self) -> Received:
        return self._received

    @workflow.query(name=QUERY_SNAPSHOT)
    def snapshot(self) -> InstanceSnapshot:
        return InstanceSnapshot(
            status=self._done or "running",
            active_node_ids=[],
            variables=self._variables,
            open_task_ids=[t.task_id for t in self._tasks.values() if t.state == "created"],
            paused=self._paused,
        )


@pytest.fixture
async def engine_services(
    db_url: str, tmp_path: Path, temporal_client: Client
) -> AsyncIterator[Services]:
    """Services wired to Temporal, with a worker running the double on its own task queue."""
    queue = f"test-{uuid.uuid4().hex}"
    settings = load_settings(database_url=db_url, data_dir=tmp_path, task_queue=queue)
    services = await build_services(settings, temporal_client=temporal_client)
    worker = Worker(
        temporal_client,
        task_queue=queue,
        workflows=[DoubleWorkflow],
        activities=services.engine_activities(),
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    try:
        async with worker:
            yield services
    finally:
        await services.aclose()


async def received(client: Client, instance_id: str) -> Received:
    """What the double of an instance received so far."""
    handle = client.get_workflow_handle(f"pi-{instance_id}")
    return await handle.query("received", result_type=Received)
