"""Deleting old rows of the append-only record tables: `request_outcome` and `audit_log`.

Both grow with every request that carries a `request_id` / every audited action and nothing
else ever removes them. Rows older than a cutoff go in bounded batches (one short transaction
each, so a large backlog never holds a long lock); both tables are indexed by their time.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from workflow_engine.store.database import Database
from workflow_engine.store.tables import AuditEntry, RequestOutcome

__all__ = ["delete_audit_entries_before", "delete_request_outcomes_before"]


async def delete_request_outcomes_before(
    database: Database, cutoff: datetime, *, batch_size: int
) -> int:
    """Delete request outcomes created before `cutoff`; returns how many went."""
    total = 0
    while True:
        async with database.session() as session:
            keys = (
                await session.scalars(
                    select(RequestOutcome.key)
                    .where(RequestOutcome.created_at < cutoff)
                    .order_by(RequestOutcome.created_at)
                    .limit(batch_size)
                )
            ).all()
            if keys:
                await session.execute(delete(RequestOutcome).where(RequestOutcome.key.in_(keys)))
        total += len(keys)
        if len(keys) < batch_size:
            return total


async def delete_audit_entries_before(
    database: Database, cutoff: datetime, *, batch_size: int
) -> int:
    """Delete audit log entries that occurred before `cutoff`; returns how many went."""
    total = 0
    while True:
        async with database.session() as session:
            ids = (
                await session.scalars(
                    select(AuditEntry.id)
                    .where(AuditEntry.occurred_at < cutoff)
                    .order_by(AuditEntry.occurred_at, AuditEntry.id)
                    .limit(batch_size)
                )
            ).all()
            if ids:
                await session.execute(delete(AuditEntry).where(AuditEntry.id.in_(ids)))
        total += len(ids)
        if len(ids) < batch_size:
            return total
