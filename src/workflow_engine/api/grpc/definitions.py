"""`workflow_engine.v1.DefinitionService`: thin gRPC over `DefinitionService` (DESIGN §5).

Same operations and rules as REST `/api/v1/definitions`; this module only translates messages
and checks request shape (format set, content present, id *or* key). Errors leave through
`api.grpc.errors.rpc`.
"""

from __future__ import annotations

import grpc

from workflow_engine.api.grpc.diagrams import diagram_message
from workflow_engine.api.grpc.errors import rpc
from workflow_engine.api.grpc.generated import common_pb2
from workflow_engine.api.grpc.generated import definitions_pb2 as pb
from workflow_engine.api.grpc.generated.definitions_pb2_grpc import DefinitionServiceServicer
from workflow_engine.api.grpc.messages import (
    definition_format,
    definition_message,
    format_message,
    issue_messages,
)
from workflow_engine.model.issues import ValidationIssue
from workflow_engine.services.definition_source import DefinitionFormat
from workflow_engine.services.definitions import DefinitionQuery, DefinitionService, DeployResult
from workflow_engine.services.diagrams import DiagramService
from workflow_engine.services.errors import InvalidArgumentError


def _invalid(field: str, message: str, code: str) -> InvalidArgumentError:
    return InvalidArgumentError(message, details=[ValidationIssue(field, message, code)])


class DefinitionServicer(DefinitionServiceServicer):
    """Implements `workflow_engine.v1.DefinitionService` over the definition service.

    Args:
        definitions: The shared definition service (`Services.definitions`).
        diagrams: The diagram service (`Services.diagrams`; stateless, one serves every call).

    """

    def __init__(self, definitions: DefinitionService, *, diagrams: DiagramService) -> None:
        self._definitions = definitions
        self._diagrams = diagrams

    def _upload(self, content: bytes, fmt: int) -> tuple[bytes, DefinitionFormat]:
        # Same order as REST: format, then size (before anything parses), then emptiness.
        definition_fmt = definition_format(fmt)
        self._definitions.check_size(len(content))
        if not content.strip():
            raise _invalid("content", "content is empty: send the definition", "EMPTY_CONTENT")
        return content, definition_fmt

    @rpc
    async def DeployDefinition(  # noqa: N802 - gRPC method names are CamelCase
        self, request: pb.DeployDefinitionRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeployDefinitionResponse:
        """Validate and deploy: the next version, or the existing one for identical content."""
        content, fmt = self._upload(request.content, request.format)
        process_id = request.process_id if request.HasField("process_id") else None
        result = await self._definitions.deploy(content, fmt=fmt, process_id=process_id)
        return _deploy_response(result)

    @rpc
    async def ValidateDefinition(  # noqa: N802
        self, request: pb.ValidateDefinitionRequest, context: grpc.aio.ServicerContext
    ) -> pb.ValidateDefinitionResponse:
        """Validate without deploying: `{valid, errors, warnings}`."""
        content, fmt = self._upload(request.content, request.format)
        process_id = request.process_id if request.HasField("process_id") else None
        report = self._definitions.check(content, fmt=fmt, process_id=process_id).report
        return pb.ValidateDefinitionResponse(
            valid=report.valid,
            errors=issue_messages(report.errors),
            warnings=issue_messages(report.warnings),
        )

    @rpc
    async def GetDefinition(  # noqa: N802
        self, request: pb.GetDefinitionRequest, context: grpc.aio.ServicerContext
    ) -> pb.Definition:
        """One version by id, or the latest (or given) version of a key."""
        selector = request.WhichOneof("selector")
        version = request.version if request.HasField("version") else None
        if selector == "id":
            if version is not None:
                raise _invalid(
                    "version",
                    "version applies only with key: an id already names one version",
                    "VERSION_WITH_ID",
                )
            record = await self._definitions.get(request.id)
        elif selector == "key":
            if not request.key:
                raise _invalid("key", "key is empty: name the definition key", "EMPTY_KEY")
            record = await self._definitions.get_by_key(request.key, version=version)
        else:
            raise _invalid(
                "selector", "set id, or key (and optionally version)", "MISSING_SELECTOR"
            )
        return definition_message(record)

    @rpc
    async def ListDefinitions(  # noqa: N802
        self, request: pb.ListDefinitionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListDefinitionsResponse:
        """List a page of definitions matching the filters (empty filters are not applied)."""
        query = DefinitionQuery(
            key=request.key or None,
            category=request.category or None,
            name_like=request.name or None,
            latest_only=request.latest_only,
            suspended=request.suspended if request.HasField("suspended") else None,
        )
        token = request.page_token or None
        # page_size 0 is proto3's "not set": the service's default applies.
        if request.page_size == 0:
            page = await self._definitions.list(query, page_token=token)
        else:
            page = await self._definitions.list(
                query, page_size=request.page_size, page_token=token
            )
        return pb.ListDefinitionsResponse(
            items=[definition_message(r) for r in page.items],
            next_page_token=page.next_page_token or "",
        )

    @rpc
    async def UpdateDefinition(  # noqa: N802
        self, request: pb.UpdateDefinitionRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeployDefinitionResponse:
        """Deploy new content as the next version of this definition's key."""
        content, fmt = self._upload(request.content, request.format)
        result = await self._definitions.update(request.id, content, fmt=fmt)
        return _deploy_response(result)

    @rpc
    async def DeleteDefinition(  # noqa: N802
        self, request: pb.DeleteDefinitionRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteDefinitionResponse:
        """Delete a version; FAILED_PRECONDITION while instances run unless `cascade`."""
        await self._definitions.delete(request.id, cascade=request.cascade)
        return pb.DeleteDefinitionResponse()

    @rpc
    async def SuspendDefinition(  # noqa: N802
        self, request: pb.SuspendDefinitionRequest, context: grpc.aio.ServicerContext
    ) -> pb.Definition:
        """Suspend: the version starts no new instances."""
        record = await self._definitions.set_suspended(request.id, suspended=True)
        return definition_message(record)

    @rpc
    async def ActivateDefinition(  # noqa: N802
        self, request: pb.ActivateDefinitionRequest, context: grpc.aio.ServicerContext
    ) -> pb.Definition:
        """Activate a suspended version."""
        record = await self._definitions.set_suspended(request.id, suspended=False)
        return definition_message(record)

    @rpc
    async def GetDefinitionResource(  # noqa: N802
        self, request: pb.GetDefinitionResourceRequest, context: grpc.aio.ServicerContext
    ) -> pb.DefinitionResource:
        """Return the deployed text exactly as uploaded, with its format and media type."""
        record = await self._definitions.get(request.id)
        fmt = DefinitionFormat(record.resource_type)
        return pb.DefinitionResource(
            content=record.resource.encode("utf-8"),
            format=format_message(fmt),
            media_type=fmt.media_type,
        )

    @rpc
    async def GetDefinitionDiagram(  # noqa: N802
        self, request: pb.GetDefinitionDiagramRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.Diagram:
        """The version's diagram as SVG (REST `GET /definitions/{id}/diagram`)."""
        return diagram_message(await self._diagrams.definition_svg(request.id))


def _deploy_response(result: DeployResult) -> pb.DeployDefinitionResponse:
    return pb.DeployDefinitionResponse(
        definition=definition_message(result.definition),
        created=result.created,
        warnings=issue_messages(result.warnings),
    )
