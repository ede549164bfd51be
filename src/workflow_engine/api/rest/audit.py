"""`GET /api/v1/audit`: the audit log with filters and page tokens, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from workflow_engine.api.rest.deps import ServicesDep
from workflow_engine.api.rest.params import OptionalMoment
from workflow_engine.services.audit import AuditService
from workflow_engine.store.audit import AuditFilters, AuditRecord
from workflow_engine.store.pagination import MAX_PAGE_SIZE

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class ActorOut(BaseModel):
    """Who acted: the user (null for the system), its kind and roles at that moment."""

    user_id: str | None
    kind: str
    roles: list[str]


class OriginOut(BaseModel):
    """From where: transport (rest, grpc, cli, job), client address, user agent, request id."""

    transport: str | None
    client: str | None
    user_agent: str | None
    request_id: str | None


class AuditEntryOut(BaseModel):
    """One audit entry."""

    id: int
    occurred_at: datetime
    actor: ActorOut
    tenant_id: str
    action: str
    resource_type: str
    resource_id: str | None
    outcome: str
    details: dict[str, Any]
    origin: OriginOut

    @classmethod
    def of(cls, record: AuditRecord) -> AuditEntryOut:
        """Render a stored entry."""
        return cls(
            id=record.id,
            occurred_at=record.occurred_at,
            actor=ActorOut(
                user_id=record.actor_id, kind=record.actor_kind, roles=list(record.actor_roles)
            ),
            tenant_id=record.tenant_id,
            action=record.action,
            resource_type=record.resource_type,
            resource_id=record.resource_id,
            outcome=record.outcome,
            details=dict(record.details),
            origin=OriginOut(
                transport=record.transport,
                client=record.client_address,
                user_agent=record.user_agent,
                request_id=record.request_id,
            ),
        )


class AuditListOut(BaseModel):
    """A page of audit entries."""

    items: list[AuditEntryOut]
    next_page_token: str | None


@router.get("", response_model=AuditListOut)
async def list_audit(
    services: ServicesDep,
    actor: str | None = None,
    action: str | None = None,
    resource_type: str | None = None,
    resource_id: str | None = None,
    tenant_id: str | None = None,
    outcome: str | None = None,
    occurred_after: OptionalMoment = None,
    occurred_before: OptionalMoment = None,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    page_token: str | None = None,
) -> AuditListOut:
    """Audit entries by actor, action, resource, tenant, outcome and time (needs audit:read)."""
    filters = AuditFilters(
        actor_id=actor,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        tenant_id=tenant_id,
        outcome=outcome,
        occurred_after=occurred_after,
        occurred_before=occurred_before,
    )
    audit: AuditService = services.audit
    page = await audit.list(filters, page_size=page_size, page_token=page_token)
    return AuditListOut(
        items=[AuditEntryOut.of(r) for r in page.items], next_page_token=page.next_page_token
    )
