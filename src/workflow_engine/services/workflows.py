"""The services' door to Temporal: start, signal and update instance workflows.

Maps Temporal's failures to service errors once, so every use case answers the same way: no
client or an unreachable server → 503; a workflow that is gone → 409; a rejected update →
400 (bad input) or 409 (wrong state) with the workflow's own message.
"""

from __future__ import annotations

from typing import Any, TypeVar

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from workflow_engine.engine.contract import WORKFLOW_NAME, StartInstanceInput, workflow_id
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
        self, instance_id: str, name: str, payload: Any, *, result_type: type[_R]
    ) -> _R:
        """Run an update on an instance's workflow and return its result.

        Raises:
            ValidationFailedError: the workflow rejected the input.
            ConflictError: the workflow rejected it for its state, or has ended.
            UnavailableError: Temporal is unreachable.
        """
        handle = self._require().get_workflow_handle(workflow_id(instance_id))
        try:
            result: _R = await handle.execute_update(name, payload, result_type=result_type)
        except WorkflowUpdateFailedError as exc:
            raise _map_update_failure(exc) from exc
        except RPCError as exc:
            raise _map_rpc(exc, instance_id) from exc
        return result


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
