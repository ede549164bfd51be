"""`workflow_engine.v1.ExecutionService`: thin gRPC over the instance, signal and message services.

Same operations and rules as REST `/api/v1/instances`, `/signals` and `/messages` (DESIGN §5);
this module only translates messages and checks request shape (an instance id given, a
definition selected). Errors leave through `api.grpc.errors.rpc`.
"""

from __future__ import annotations

import grpc

from workflow_engine.api.grpc.diagrams import diagram_message
from workflow_engine.api.grpc.errors import rpc
from workflow_engine.api.grpc.generated import common_pb2
from workflow_engine.api.grpc.generated import execution_pb2 as pb
from workflow_engine.api.grpc.generated.execution_pb2_grpc import ExecutionServiceServicer
from workflow_engine.api.grpc.runtime_messages import (
    datetime_of,
    execution_detail_message,
    execution_message,
    optional,
    required,
    struct_of,
    variables_of,
)
from workflow_engine.model.issues import ValidationIssue
from workflow_engine.services.diagrams import DiagramService
from workflow_engine.services.errors import InvalidArgumentError, UnavailableError
from workflow_engine.services.instances import InstanceService
from workflow_engine.services.reconciler import ReconcilerService
from workflow_engine.services.signals import MessageService, SignalService
from workflow_engine.store.instances import InstanceFilters


class ExecutionServicer(ExecutionServiceServicer):
    """Implements `workflow_engine.v1.ExecutionService`.

    Args:
        instances: The shared instance service (`Services.instances`).
        signals: The shared signal service (`Services.signals`).
        messages: The shared message service (`Services.messages`).
        diagrams: The diagram service (`Services.diagrams`; stateless, one serves every call).
        reconciler: The reconciler (`Services.reconciler`); None answers UNAVAILABLE.

    """

    def __init__(
        self,
        *,
        instances: InstanceService,
        signals: SignalService,
        messages: MessageService,
        diagrams: DiagramService,
        reconciler: ReconcilerService | None = None,
    ) -> None:
        self._instances = instances
        self._reconciler = reconciler
        self._signals = signals
        self._messages = messages
        self._diagrams = diagrams

    @rpc
    async def StartExecution(  # noqa: N802 - gRPC method names are CamelCase
        self, request: pb.StartExecutionRequest, context: grpc.aio.ServicerContext
    ) -> pb.Execution:
        """Start an instance; INVALID_ARGUMENT names a missing or mistyped variable."""
        selector = request.WhichOneof("definition")
        if selector is None:
            message = "set definition_key (optionally with version) or definition_id"
            raise InvalidArgumentError(
                message, details=[ValidationIssue("definition", message, "MISSING_SELECTOR")]
            )
        version = request.version if request.HasField("version") else None
        if selector == "definition_id" and version is not None:
            message = "version applies only with definition_key: an id names one version"
            raise InvalidArgumentError(
                message, details=[ValidationIssue("version", message, "VERSION_WITH_ID")]
            )
        record = await self._instances.start(
            definition_key=(
                required(request.definition_key, "definition_key", "the definition")
                if selector == "definition_key"
                else None
            ),
            definition_id=request.definition_id if selector == "definition_id" else None,
            version=version,
            business_key=optional(request, "business_key"),
            variables=variables_of(request),
            user_id=optional(request, "user_id"),
            request_id=optional(request, "request_id"),
            tenant_id=optional(request, "tenant_id"),
        )
        return execution_detail_message(await self._instances.get(record.id))

    @rpc
    async def GetExecution(  # noqa: N802
        self, request: pb.GetExecutionRequest, context: grpc.aio.ServicerContext
    ) -> pb.Execution:
        """One instance with its variables and open incidents."""
        instance_id = required(request.instance_id, "instance_id", "the instance")
        return execution_detail_message(await self._instances.get(instance_id))

    @rpc
    async def ListExecutions(  # noqa: N802
        self, request: pb.ListExecutionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListExecutionsResponse:
        """A page of instances matching the filters (empty filters are not applied)."""
        filters = InstanceFilters(
            definition_key=request.definition_key or None,
            definition_id=request.definition_id if request.HasField("definition_id") else None,
            status=request.status or None,
            business_key=request.business_key or None,
            started_after=datetime_of(request, "started_after"),
            started_before=datetime_of(request, "started_before"),
            tenant_id=request.tenant_id or None,
        )
        token = request.page_token or None
        # page_size 0 is proto3's "not set": the service's default applies.
        if request.page_size == 0:
            page = await self._instances.list(filters, page_token=token)
        else:
            page = await self._instances.list(
                filters, page_size=request.page_size, page_token=token
            )
        return pb.ListExecutionsResponse(
            items=[execution_message(r) for r in page.items],
            next_page_token=page.next_page_token or "",
        )

    @rpc
    async def PauseExecution(  # noqa: N802
        self, request: pb.PauseExecutionRequest, context: grpc.aio.ServicerContext
    ) -> pb.ExecutionControlResponse:
        """Pause; FAILED_PRECONDITION when it has ended or is paused already."""
        instance_id = required(request.instance_id, "instance_id", "the instance")
        done = await self._instances.pause(
            instance_id, reason=request.reason, user_id=optional(request, "user_id")
        )
        return _accepted(instance_id, "pause", done.status)

    @rpc
    async def ResumeExecution(  # noqa: N802
        self, request: pb.ResumeExecutionRequest, context: grpc.aio.ServicerContext
    ) -> pb.ExecutionControlResponse:
        """Resume; FAILED_PRECONDITION when it is not paused."""
        instance_id = required(request.instance_id, "instance_id", "the instance")
        done = await self._instances.resume(
            instance_id, reason=request.reason, user_id=optional(request, "user_id")
        )
        return _accepted(instance_id, "resume", done.status)

    @rpc
    async def TerminateExecution(  # noqa: N802
        self, request: pb.TerminateExecutionRequest, context: grpc.aio.ServicerContext
    ) -> pb.ExecutionControlResponse:
        """End at once with a reason."""
        instance_id = required(request.instance_id, "instance_id", "the instance")
        done = await self._instances.terminate(
            instance_id, reason=request.reason, user_id=optional(request, "user_id")
        )
        return _accepted(instance_id, "terminate", done.status)

    @rpc
    async def CancelExecution(  # noqa: N802
        self, request: pb.CancelExecutionRequest, context: grpc.aio.ServicerContext
    ) -> pb.ExecutionControlResponse:
        """Run down cleanly."""
        instance_id = required(request.instance_id, "instance_id", "the instance")
        done = await self._instances.cancel(
            instance_id, reason=request.reason, user_id=optional(request, "user_id")
        )
        return _accepted(instance_id, "cancel", done.status)

    @rpc
    async def ReconcileExecutions(  # noqa: N802
        self, request: pb.ReconcileExecutionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReconcileExecutionsResponse:
        """Compare open instances with Temporal and repair ghosts (`instance:reconcile`)."""
        if self._reconciler is None:
            raise UnavailableError("this server has no reconciler")
        report = await self._reconciler.reconcile(dry_run=request.dry_run)
        return pb.ReconcileExecutionsResponse(
            checked=report.checked,
            dry_run=report.dry_run,
            repaired=report.repaired,
            repairs=[
                pb.ReconciledExecution(
                    instance_id=r.instance_id,
                    previous_status=r.previous_status,
                    temporal_status=r.temporal_status,
                    status=r.status,
                    reason=r.reason,
                    repaired=r.repaired,
                )
                for r in report.repairs
            ],
            errors=report.errors,
        )

    @rpc
    async def RetryExecution(  # noqa: N802
        self, request: pb.RetryExecutionRequest, context: grpc.aio.ServicerContext
    ) -> pb.ExecutionControlResponse:
        """Retry the failed step(s); FAILED_PRECONDITION when there is no incident."""
        instance_id = required(request.instance_id, "instance_id", "the instance")
        await self._instances.retry(
            instance_id,
            node_id=optional(request, "node_id"),
            user_id=optional(request, "user_id"),
        )
        return _accepted(instance_id, "retry")

    @rpc
    async def GetVariables(  # noqa: N802
        self, request: pb.GetVariablesRequest, context: grpc.aio.ServicerContext
    ) -> pb.Variables:
        """The instance's variables."""
        instance_id = required(request.instance_id, "instance_id", "the instance")
        variables = await self._instances.variables(instance_id)
        return pb.Variables(instance_id=instance_id, variables=struct_of(variables))

    @rpc
    async def SetVariables(  # noqa: N802
        self, request: pb.SetVariablesRequest, context: grpc.aio.ServicerContext
    ) -> pb.Variables:
        """Set variables (declared types are checked); answers with all variables."""
        instance_id = required(request.instance_id, "instance_id", "the instance")
        variables = await self._instances.set_variables(
            instance_id, variables_of(request) or {}, user_id=optional(request, "user_id")
        )
        return pb.Variables(instance_id=instance_id, variables=struct_of(variables))

    @rpc
    async def SendSignal(  # noqa: N802
        self, request: pb.SendSignalRequest, context: grpc.aio.ServicerContext
    ) -> pb.SendSignalResponse:
        """Broadcast a signal: how many waiting instances received it, what it started."""
        outcome = await self._signals.send(
            required(request.name, "name", "the signal"),
            variables=variables_of(request),
            tenant_id=optional(request, "tenant_id"),
            request_id=optional(request, "request_id"),
        )
        return pb.SendSignalResponse(
            delivered=outcome.delivered,
            started=outcome.started,
            started_instance_ids=list(outcome.started_instance_ids),
        )

    @rpc
    async def CorrelateMessage(  # noqa: N802
        self, request: pb.CorrelateMessageRequest, context: grpc.aio.ServicerContext
    ) -> pb.CorrelateMessageResponse:
        """Deliver a message to the one waiting instance, or start one."""
        result = await self._messages.correlate(
            required(request.name, "name", "the message"),
            correlation_key=optional(request, "correlation_key"),
            business_key=optional(request, "business_key"),
            variables=variables_of(request),
            tenant_id=optional(request, "tenant_id"),
            user_id=optional(request, "user_id"),
            request_id=optional(request, "request_id"),
        )
        return pb.CorrelateMessageResponse(instance_id=result.instance_id, started=result.started)

    @rpc
    async def GetInstanceDiagram(  # noqa: N802
        self, request: pb.GetInstanceDiagramRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.Diagram:
        """The instance's diagram as SVG with its run-time state painted."""
        instance_id = required(request.instance_id, "instance_id", "the instance")
        return diagram_message(await self._diagrams.instance_svg(instance_id))


def _accepted(
    instance_id: str, action: str, status: str | None = None
) -> pb.ExecutionControlResponse:
    return pb.ExecutionControlResponse(
        instance_id=instance_id, action=action, accepted=True, status=status
    )
