"""`workflow_engine.v1.AuditService`: thin gRPC over `AuditService` (REST `GET /api/v1/audit`).

Same filters, page tokens and rules as REST (the service checks `audit:read` and the tenant);
an entry carries the fields of REST's `AuditEntryOut`. Errors leave through `rpc`.
"""

from __future__ import annotations

import grpc
from google.protobuf.struct_pb2 import Struct

from workflow_engine.api.grpc.errors import rpc
from workflow_engine.api.grpc.generated import audit_pb2 as pb
from workflow_engine.api.grpc.generated.audit_pb2_grpc import AuditServiceServicer
from workflow_engine.api.grpc.runtime_messages import datetime_of, optional, timestamp
from workflow_engine.services.audit import AuditService
from workflow_engine.store.audit import AuditFilters, AuditRecord

#: Page size when the request leaves it 0 (REST's default).
DEFAULT_PAGE_SIZE = 50


def entry_message(record: AuditRecord) -> pb.AuditEntry:
    """Convert a stored entry (None values leave their optional fields unset)."""
    details = Struct()
    details.update(dict(record.details))
    return pb.AuditEntry(
        id=record.id,
        occurred_at=timestamp(record.occurred_at),
        actor=pb.AuditActor(
            user_id=record.actor_id, kind=record.actor_kind, roles=list(record.actor_roles)
        ),
        tenant_id=record.tenant_id,
        action=record.action,
        resource_type=record.resource_type,
        resource_id=record.resource_id,
        outcome=record.outcome,
        details=details,
        origin=pb.AuditOrigin(
            transport=record.transport,
            client=record.client_address,
            user_agent=record.user_agent,
            request_id=record.request_id,
        ),
    )


class AuditServicer(AuditServiceServicer):
    """Implements `workflow_engine.v1.AuditService`.

    Args:
        audit: The audit service (`Services.audit`; stateless, so one serves every call).
    """

    def __init__(self, audit: AuditService) -> None:
        self._audit = audit

    @rpc
    async def ListAuditEntries(  # noqa: N802 - gRPC method names are CamelCase
        self, request: pb.ListAuditEntriesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAuditEntriesResponse:
        """One page of entries matching every given filter, newest first."""
        filters = AuditFilters(
            actor_id=optional(request, "actor"),
            action=optional(request, "action"),
            resource_type=optional(request, "resource_type"),
            resource_id=optional(request, "resource_id"),
            tenant_id=optional(request, "tenant_id"),
            outcome=optional(request, "outcome"),
            occurred_after=datetime_of(request, "occurred_after"),
            occurred_before=datetime_of(request, "occurred_before"),
        )
        page = await self._audit.list(
            filters,
            page_size=request.page_size or DEFAULT_PAGE_SIZE,
            page_token=request.page_token or None,
        )
        return pb.ListAuditEntriesResponse(
            items=[entry_message(r) for r in page.items],
            next_page_token=page.next_page_token or "",
        )
