"""Request outcomes: the remembered answers of idempotent signal / message requests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from workflow_engine.store.tables import REQUEST_KINDS, RequestOutcome
from workflow_engine.store.types import utcnow


@dataclass(frozen=True, slots=True)
class StoredOutcome:
    """One remembered request.

    Attributes:
        key: The scoped key (kind, tenant scope, request id hashed).
        kind: signal or message.
        tenant_id: The tenant scope (None: every tenant).
        request_id: The caller's request id.
        fingerprint: Hash of the request's parameters.
        outcome: What the request did (JSON object).
        completed: False while a message correlation has decided but not yet acted.
    """

    key: str
    kind: str
    tenant_id: str | None
    request_id: str
    fingerprint: str
    outcome: dict[str, Any]
    completed: bool


def _stored(row: RequestOutcome) -> StoredOutcome:
    return StoredOutcome(
        key=row.key,
        kind=row.kind,
        tenant_id=row.tenant_id,
        request_id=row.request_id,
        fingerprint=row.fingerprint,
        outcome=dict(row.outcome),
        completed=row.completed,
    )


class RequestOutcomeRepository:
    """Request outcome rows, within the caller's session (the caller commits).

    Args:
        session: The unit of work to run in.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, key: str) -> StoredOutcome | None:
        """The remembered request with this key, if any."""
        row = await self._session.get(RequestOutcome, key)
        return None if row is None else _stored(row)

    async def claim(self, item: StoredOutcome) -> StoredOutcome:
        """Remember `item` unless its key is remembered already; answer what is remembered.

        A concurrent request with the same key may win the insert: its row is answered then,
        so both callers go on with one decision.

        Raises:
            ValueError: for an unknown kind.
        """
        if item.kind not in REQUEST_KINDS:
            raise ValueError(f"kind must be one of {', '.join(REQUEST_KINDS)}, got {item.kind!r}")
        try:
            async with self._session.begin_nested():
                self._session.add(
                    RequestOutcome(
                        key=item.key,
                        kind=item.kind,
                        tenant_id=item.tenant_id,
                        request_id=item.request_id,
                        fingerprint=item.fingerprint,
                        outcome=item.outcome,
                        completed=item.completed,
                        created_at=utcnow(),
                    )
                )
        except IntegrityError:
            existing = await self.get(item.key)
            if existing is None:  # pragma: no cover - a row that conflicted cannot vanish
                raise
            return existing
        return item

    async def complete(self, key: str, outcome: dict[str, Any]) -> None:
        """Mark a remembered request done, with its final `outcome`."""
        await self._session.execute(
            update(RequestOutcome)
            .where(RequestOutcome.key == key)
            .values(outcome=outcome, completed=True)
            .execution_options(synchronize_session=False)
        )

    async def delete(self, key: str) -> None:
        """Forget a remembered request (it was refused without effect)."""
        await self._session.execute(
            delete(RequestOutcome)
            .where(RequestOutcome.key == key)
            .execution_options(synchronize_session=False)
        )
