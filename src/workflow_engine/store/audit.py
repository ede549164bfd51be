"""Audit log rows: append one, list them newest first with filters and page tokens.

The log is append-only: this repository has no update or delete. Pages are keyset pages on
``(occurred_at, id)`` descending, so a page token stays valid while new entries arrive (they
sort before it, never shifting the pages after it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from workflow_engine.store.pagination import (
    check_page_size,
    decode_page_token,
    encode_page_token,
    filters_fingerprint,
)
from workflow_engine.store.tables import AUDIT_OUTCOMES, AuditEntry
from workflow_engine.store.types import utcnow

#: Longest values kept of the free-text origin columns (they come from the client).
_LIMITS: Mapping[str, int] = {
    "actor_id": 255,
    "tenant_id": 255,
    "resource_id": 255,
    "client_address": 255,
    "user_agent": 512,
    "request_id": 255,
}


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit entry as stored (a plain value, detached from any session)."""

    id: int
    occurred_at: datetime
    actor_id: str | None
    actor_kind: str
    actor_roles: tuple[str, ...]
    tenant_id: str
    action: str
    resource_type: str
    resource_id: str | None
    outcome: str
    details: Mapping[str, Any]
    transport: str | None
    client_address: str | None
    user_agent: str | None
    request_id: str | None


@dataclass(frozen=True, slots=True)
class NewAuditEntry:
    """What to append (the repository assigns id; `occurred_at` defaults to now)."""

    action: str
    resource_type: str
    resource_id: str | None = None
    tenant_id: str = ""
    outcome: str = "success"
    actor_id: str | None = None
    actor_kind: str = "user"
    actor_roles: Sequence[str] = ()
    details: Mapping[str, Any] = field(default_factory=dict)
    transport: str | None = None
    client_address: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    occurred_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditFilters:
    """List filters (all optional, combined with AND); times are inclusive bounds."""

    actor_id: str | None = None
    action: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    tenant_id: str | None = None
    outcome: str | None = None
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None


def _clip(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    return value[: _LIMITS[name]]


def _record(row: AuditEntry) -> AuditRecord:
    return AuditRecord(
        id=row.id,
        occurred_at=row.occurred_at,
        actor_id=row.actor_id,
        actor_kind=row.actor_kind,
        actor_roles=tuple(row.actor_roles or ()),
        tenant_id=row.tenant_id,
        action=row.action,
        resource_type=row.resource_type,
        resource_id=row.resource_id,
        outcome=row.outcome,
        details=dict(row.details or {}),
        transport=row.transport,
        client_address=row.client_address,
        user_agent=row.user_agent,
        request_id=row.request_id,
    )


class AuditRepository:
    """Audit rows, within the caller's session (the caller commits).

    Args:
        session: The unit of work to run in.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def append(self, entry: NewAuditEntry) -> AuditRecord:
        """Write one entry; returns it as stored.

        Raises:
            ValueError: an unknown outcome, or an empty action / resource type.
        """
        if entry.outcome not in AUDIT_OUTCOMES:
            raise ValueError(
                f"outcome must be one of {', '.join(AUDIT_OUTCOMES)}, got {entry.outcome!r}"
            )
        if not entry.action or not entry.resource_type:
            raise ValueError("action and resource_type are required for an audit entry")
        row = AuditEntry(
            occurred_at=entry.occurred_at or utcnow(),
            actor_id=_clip("actor_id", entry.actor_id),
            actor_kind=entry.actor_kind,
            actor_roles=sorted(entry.actor_roles),
            tenant_id=_clip("tenant_id", entry.tenant_id) or "",
            action=entry.action,
            resource_type=entry.resource_type,
            resource_id=_clip("resource_id", entry.resource_id),
            outcome=entry.outcome,
            details=dict(entry.details),
            transport=entry.transport,
            client_address=_clip("client_address", entry.client_address),
            user_agent=_clip("user_agent", entry.user_agent),
            request_id=_clip("request_id", entry.request_id),
        )
        self._session.add(row)
        await self._session.flush()
        return _record(row)

    async def list(
        self, filters: AuditFilters, *, page_size: int = 50, page_token: str | None = None
    ) -> tuple[list[AuditRecord], str | None]:
        """One page of entries, newest first, and the next page's token (None: last page).

        Raises:
            ValueError: a bad page size, outcome or time range, or a page token of other
                filters.
        """
        check_page_size(page_size)
        if filters.outcome is not None and filters.outcome not in AUDIT_OUTCOMES:
            raise ValueError(
                f"outcome must be one of {', '.join(AUDIT_OUTCOMES)}, got {filters.outcome!r}"
            )
        for name in ("occurred_after", "occurred_before"):
            moment = getattr(filters, name)
            if moment is not None and moment.tzinfo is None:
                raise ValueError(f"{name} must carry a time zone (e.g. 2026-01-31T12:00:00Z)")
        if (
            filters.occurred_after is not None
            and filters.occurred_before is not None
            and filters.occurred_after > filters.occurred_before
        ):
            raise ValueError("occurred_after must not be later than occurred_before")
        fingerprint = filters_fingerprint(
            {
                "actor_id": filters.actor_id,
                "action": filters.action,
                "resource_type": filters.resource_type,
                "resource_id": filters.resource_id,
                "tenant_id": filters.tenant_id,
                "outcome": filters.outcome,
                "occurred_after": filters.occurred_after,
                "occurred_before": filters.occurred_before,
            }
        )
        stmt = select(AuditEntry)
        if filters.actor_id is not None:
            stmt = stmt.where(AuditEntry.actor_id == filters.actor_id)
        if filters.action is not None:
            stmt = stmt.where(AuditEntry.action == filters.action)
        if filters.resource_type is not None:
            stmt = stmt.where(AuditEntry.resource_type == filters.resource_type)
        if filters.resource_id is not None:
            stmt = stmt.where(AuditEntry.resource_id == filters.resource_id)
        if filters.tenant_id is not None:
            stmt = stmt.where(AuditEntry.tenant_id == filters.tenant_id)
        if filters.outcome is not None:
            stmt = stmt.where(AuditEntry.outcome == filters.outcome)
        if filters.occurred_after is not None:
            stmt = stmt.where(AuditEntry.occurred_at >= filters.occurred_after)
        if filters.occurred_before is not None:
            stmt = stmt.where(AuditEntry.occurred_at <= filters.occurred_before)
        if page_token is not None:
            last = decode_page_token(page_token, fingerprint)
            if len(last) != 2 or not isinstance(last[0], str) or not isinstance(last[1], int):
                raise ValueError(
                    "page_token is malformed: pass back next_page_token exactly as returned"
                )
            last_time, last_id = datetime.fromisoformat(last[0]), last[1]
            stmt = stmt.where(
                (AuditEntry.occurred_at < last_time)
                | ((AuditEntry.occurred_at == last_time) & (AuditEntry.id < last_id))
            )
        stmt = stmt.order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())
        rows = (await self._session.execute(stmt.limit(page_size + 1))).scalars().all()
        records = [_record(r) for r in rows[:page_size]]
        token = None
        if len(rows) > page_size:
            tail = records[-1]
            token = encode_page_token([tail.occurred_at.isoformat(), tail.id], fingerprint)
        return records, token
