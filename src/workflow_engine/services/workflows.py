"""The services' door to Temporal: start, signal and update instance workflows.

Maps Temporal's failures to service errors once, so every use case answers the same way: no
client or an unreachable server → 503; a workflow that is gone → 409; a rejected update →
400 (bad input) or 409 (wrong state) with the workflow's own message.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryReverseRequest
from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from workflow_engine.engine.contract import (
    WORKFLOW_NAME,
    InstanceResult,
    StartInstanceInput,
    workflow_id,
)
from workflow_engine.services.errors import (
    ConflictError,
    ServiceError,
    UnavailableError,
    ValidationFailedError,
)

_R = TypeVar("_R")

#: Update rejections whose type names bad input (400); any other rejection is a 409.
BAD_INPUT_ERROR_TYPES = frozenset(
    {"InvalidVariables", "INVALID_VARIABLES", "VALIDATION_FAILED", "InvalidArgument"}
)


class WorkflowGoneError(ConflictError):
    """The instance's workflow is not running any more."""


class WorkflowExistsError(ConflictError):
    """A workflow with the instance's id was started before (it may have ended since)."""


class WorkflowUnresponsiveError(UnavailableError):
    """The workflow did not take an update in time (busy, or its workflow task keeps failing)."""


class UpdateOutcomeUnknownError(UnavailableError):
    """Temporal stopped waiting for an update's outcome (typically: the run closed meanwhile).

    Whether it took effect is not known from the call itself: the caller asks Temporal and the
    tables (a closed run has written its end) before it answers.
    """


#: Temporal's closed statuses → the instance status the tables record. A FAILED workflow
#: (its code raised) has no status of its own in the tables: it is `terminated`, and the
#: reconciler's event names Temporal's status.
_CLOSED_STATUS: dict[WorkflowExecutionStatus, str] = {
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.TIMED_OUT: "timed_out",
    WorkflowExecutionStatus.CANCELED: "cancelled",
    WorkflowExecutionStatus.FAILED: "terminated",
    WorkflowExecutionStatus.COMPLETED: "completed",
}


@dataclass(frozen=True, slots=True)
class WorkflowState:
    """What Temporal says about an instance's workflow (its newest run).

    Attributes:
        temporal_status: Temporal's status name (`RUNNING`, `TERMINATED`, …, `NOT_FOUND`).
        status: The instance status the tables should show once it is closed; None while it
            runs (also for `CONTINUED_AS_NEW`, which the newest run replaces).
        close_time: When it closed (None when unknown or open).
        reason: Why, as far as Temporal tells (the workflow's own end reason when it
            completed, a failure message, or a note on a workflow Temporal no longer has).
    """

    temporal_status: str
    status: str | None
    close_time: datetime | None = None
    reason: str | None = None

    @property
    def closed(self) -> bool:
        """True when the workflow runs no more (or Temporal does not know it)."""
        return self.status is not None


class WorkflowGateway:
    """Starts and steers `ProcessInstanceWorkflow`s.

    Args:
        client: A connected Temporal client; None makes every call fail with 503 (the API
            still serves definitions and reads).
        task_queue: The engine's task queue.
    """

    def __init__(self, client: Client | None, *, task_queue: str) -> None:
        self._client = client
        self.task_queue = task_queue

    @property
    def available(self) -> bool:
        """True when a Temporal client is configured."""
        return self._client is not None

    def _require(self) -> Client:
        if self._client is None:
            raise UnavailableError("no Temporal connection is configured: instances cannot run")
        return self._client

    async def start(self, start: StartInstanceInput) -> str:
        """Start the workflow of a new instance; return its run id.

        Raises:
            WorkflowExistsError: the instance's workflow id was used before (a retried start).
            UnavailableError: Temporal refused or is unreachable.
        """
        client = self._require()
        try:
            handle = await client.start_workflow(
                WORKFLOW_NAME,
                start,
                id=workflow_id(start.instance_id),
                task_queue=self.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError as exc:
            raise WorkflowExistsError(
                f"instance {start.instance_id} was started before (workflow {exc.workflow_id})"
            ) from exc
        except (RPCError, OSError, RuntimeError) as exc:
            raise UnavailableError(f"Temporal did not start the instance: {exc}") from exc
        return handle.result_run_id or ""

    async def signal(self, instance_id: str, name: str, payload: Any) -> None:
        """Send a signal to an instance's workflow.

        Raises:
            WorkflowGoneError: the workflow has ended (or never existed).
            UnavailableError: Temporal is unreachable.
        """
        handle = self._require().get_workflow_handle(workflow_id(instance_id))
        try:
            await handle.signal(name, payload)
        except RPCError as exc:
            raise _map_rpc(exc, instance_id) from exc

    async def update(
        self,
        instance_id: str,
        name: str,
        payload: Any,
        *,
        result_type: type[_R],
        wait_seconds: float | None = None,
    ) -> _R:
        """Run an update on an instance's workflow and return its result.

        Args:
            instance_id: The instance.
            name: The update's name (contract `UPDATE_*`).
            payload: Its input.
            result_type: The type of its result.
            wait_seconds: Seconds to wait for the workflow's answer; None waits as long as
                Temporal keeps the call open.

        Raises:
            ValidationFailedError: the workflow rejected the input.
            ConflictError: the workflow rejected it for its state, or has ended.
            WorkflowUnresponsiveError: no answer within `wait_seconds`.
            UpdateOutcomeUnknownError: Temporal gave up waiting (the run closed meanwhile).
            UnavailableError: Temporal is unreachable.
        """
        handle = self._require().get_workflow_handle(workflow_id(instance_id))
        deadline = asyncio.timeout(wait_seconds)
        unresponsive = WorkflowUnresponsiveError(
            f"instance {instance_id}'s workflow did not answer '{name}' within {wait_seconds} s"
        )
        try:
            async with deadline:
                result: _R = await handle.execute_update(name, payload, result_type=result_type)
        except WorkflowUpdateFailedError as exc:
            raise _map_update_failure(exc) from exc
        except RPCError as exc:
            raise _map_rpc(exc, instance_id) from exc
        except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
            # Our own deadline cancelled the call (the SDK reports that with this error too).
            if deadline.expired():
                raise unresponsive from exc
            raise UpdateOutcomeUnknownError(
                f"Temporal gave no outcome of '{name}' for instance {instance_id}"
            ) from exc
        except TimeoutError as exc:
            raise unresponsive from exc
        return result

    async def terminate(self, instance_id: str, reason: str) -> None:
        """Terminate the workflow in Temporal itself (no workflow code runs).

        The way to end a workflow that cannot take an update; the caller writes the end to
        the tables (the workflow cannot).

        Raises:
            WorkflowGoneError: it had closed already.
            UnavailableError: Temporal is unreachable.
        """
        handle = self._require().get_workflow_handle(workflow_id(instance_id))
        try:
            await handle.terminate(reason=reason)
        except RPCError as exc:
            raise _map_rpc(exc, instance_id) from exc

    async def describe(self, instance_id: str) -> WorkflowState:
        """What Temporal says about the instance's workflow now.

        Raises:
            UnavailableError: Temporal is unreachable.
        """
        handle = self._require().get_workflow_handle(
            workflow_id(instance_id), result_type=InstanceResult
        )
        try:
            found = await handle.describe()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return WorkflowState(
                    temporal_status="NOT_FOUND",
                    status="terminated",
                    reason="the workflow is gone from Temporal (retention, reset or deletion)",
                )
            raise UnavailableError(f"Temporal call failed: {exc.message}") from exc
        raw = found.status
        if raw is None or raw not in _CLOSED_STATUS:
            name = raw.name if raw is not None else "UNKNOWN"
            return WorkflowState(temporal_status=name, status=None)
        state = WorkflowState(
            temporal_status=raw.name, status=_CLOSED_STATUS[raw], close_time=found.close_time
        )
        if raw in (WorkflowExecutionStatus.COMPLETED, WorkflowExecutionStatus.FAILED):
            state = await self._outcome(handle, state)
        elif raw == WorkflowExecutionStatus.TERMINATED:
            state = replace(state, reason=await self._termination_reason(found))
        return state

    async def _termination_reason(self, found: WorkflowExecutionDescription) -> str:
        # The reason given to Temporal's terminate is only in the run's last history event.
        client = self._require()
        request = GetWorkflowExecutionHistoryReverseRequest(
            namespace=client.namespace,
            execution=WorkflowExecution(workflow_id=found.id, run_id=found.run_id),
            maximum_page_size=1,
        )
        try:
            page = await client.workflow_service.get_workflow_execution_history_reverse(request)
        except RPCError:
            return "terminated in Temporal"
        for event in page.history.events:
            if event.HasField("workflow_execution_terminated_event_attributes"):
                given = event.workflow_execution_terminated_event_attributes.reason
                return f"terminated in Temporal: {given}" if given else "terminated in Temporal"
        return "terminated in Temporal"

    async def _outcome(
        self, handle: WorkflowHandle[Any, InstanceResult], state: WorkflowState
    ) -> WorkflowState:
        # A completed run's own result says how the instance ended (terminate / cancel through
        # the engine complete the workflow with that status).
        try:
            result = await handle.result(follow_runs=False)
        except WorkflowFailureError as exc:
            cause = exc.cause
            return WorkflowState(
                temporal_status=state.temporal_status,
                status="terminated",
                close_time=state.close_time,
                reason=f"the workflow failed: {cause if cause is not None else exc}",
            )
        except RPCError as exc:
            raise UnavailableError(f"Temporal call failed: {exc.message}") from exc
        return WorkflowState(
            temporal_status=state.temporal_status,
            status=result.status or "completed",
            close_time=state.close_time,
            reason=result.reason,
        )


def _map_rpc(exc: RPCError, instance_id: str) -> ServiceError:
    # NOT_FOUND covers a finished run and an update aborted because the run closed meanwhile
    # (e.g. a second completion racing the one that ended the instance); RESOURCE_EXHAUSTED
    # with "closing" is Temporal refusing work for a run that is ending.
    closing = exc.status == RPCStatusCode.RESOURCE_EXHAUSTED and "closing" in exc.message
    if exc.status == RPCStatusCode.NOT_FOUND or closing:
        return WorkflowGoneError(f"instance {instance_id} is not running any more")
    return UnavailableError(f"Temporal call failed: {exc.message}")


def _map_update_failure(exc: WorkflowUpdateFailedError) -> ServiceError:
    cause = exc.cause
    message = str(cause) if cause is not None else str(exc)
    if isinstance(cause, ApplicationError):
        message = cause.message
        if cause.type in BAD_INPUT_ERROR_TYPES:
            return ValidationFailedError(message)
    return ConflictError(message)
