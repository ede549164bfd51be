"""The store's side of the reconciler: open instances to check, and writing an end for a ghost.

A ghost is an instance whose row is open (`running`, `paused`, `incident`) while its workflow
has closed in Temporal without writing its end (terminated or timed out by Temporal itself,
gone after a reset or retention). The end is written through the runtime projection, exactly
like the workflow's own last batch (status, end time, open tasks cancelled, subscriptions
cleared, history row, tasks and variables moved to history), plus the events saying so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from workflow_engine.engine.contract import EngineEvent, RuntimeBatch
from workflow_engine.store.runtime import ApplyResult, RuntimeProjection
from workflow_engine.store.tables import (
    ACTIVE_INSTANCE_STATUSES,
    ENDED_INSTANCE_STATUSES,
    HistoricTaskInstance,
    ProcessEvent,
    ProcessInstance,
    TaskInstance,
)

#: The event that records a repair (its data names Temporal's status).
RECONCILED_EVENT = "process.reconciled"


@dataclass(frozen=True, slots=True)
class OpenInstance:
    """An instance the tables show open: what the reconciler needs to check it."""

    id: str
    status: str
    definition_key: str
    tenant_id: str
    start_time: datetime


async def open_instances(
    session: AsyncSession, *, after_id: str | None, limit: int
) -> list[OpenInstance]:
    """One page of open instances, by id (keyset paging: `after_id` is the last one seen)."""
    stmt = (
        select(
            ProcessInstance.id,
            ProcessInstance.status,
            ProcessInstance.definition_key,
            ProcessInstance.tenant_id,
            ProcessInstance.start_time,
        )
        .where(ProcessInstance.status.in_(ACTIVE_INSTANCE_STATUSES))
        .order_by(ProcessInstance.id)
        .limit(limit)
    )
    if after_id is not None:
        stmt = stmt.where(ProcessInstance.id > after_id)
    rows = (await session.execute(stmt)).all()
    return [
        OpenInstance(id=r[0], status=r[1], definition_key=r[2], tenant_id=r[3], start_time=r[4])
        for r in rows
    ]


async def write_external_end(
    session: AsyncSession,
    instance_id: str,
    *,
    status: str,
    ended_at: datetime,
    reason: str | None,
    data: dict[str, Any],
) -> ApplyResult | None:
    """Write the end of an instance whose workflow ended without writing it (idempotent).

    Two events follow the workflow's last one: `process.<status>` (what the normal end path
    writes) and `process.reconciled` with `data`. Applied through `RuntimeProjection`, so the
    rules of a normal end hold; an instance whose row has ended meanwhile (its own last batch,
    or another reconciler) is left as it is.

    Returns:
        What the projection did, or None when the row is missing or has ended already.

    Raises:
        ValueError: `status` is not an end status.
    """
    if status not in ENDED_INSTANCE_STATUSES:
        raise ValueError(f"status must be one of {', '.join(ENDED_INSTANCE_STATUSES)}")
    row = (
        await session.execute(
            select(ProcessInstance.status, ProcessInstance.last_sequence)
            .where(ProcessInstance.id == instance_id)
            .with_for_update()
        )
    ).first()
    if row is None or row[0] in ENDED_INSTANCE_STATUSES:
        return None
    newest = (
        await session.execute(
            select(func.max(ProcessEvent.sequence)).where(
                ProcessEvent.process_instance_id == instance_id
            )
        )
    ).scalar_one()
    sequence = max(int(row[1] or 0), int(newest or 0)) + 1
    moment = ended_at.astimezone(UTC) if ended_at.tzinfo else ended_at.replace(tzinfo=UTC)
    stamp = moment.isoformat()
    events = [
        EngineEvent(
            sequence=sequence,
            type=f"process.{status}",
            timestamp=stamp,
            data={"reason": reason, "end_node_id": None},
        ),
        EngineEvent(
            sequence=sequence + 1,
            type=RECONCILED_EVENT,
            timestamp=stamp,
            data={"status": status, "reason": reason, **data},
        ),
    ]
    batch = RuntimeBatch(
        instance_id=instance_id,
        through_sequence=sequence + 1,
        events=events,
        status=status,
        subscriptions=[],
        ended_at=stamp,
        end_reason=reason,
    )
    result = await RuntimeProjection(session).apply(batch)
    return result if result.state_applied else None


async def ended_task_state(session: AsyncSession, task_id: str) -> str | None:
    """A task's state wherever it is: the runtime table, or history once its instance ended."""
    for table in (TaskInstance, HistoricTaskInstance):
        found = (
            await session.execute(select(table.state).where(table.id == task_id))
        ).scalar_one_or_none()
        if found is not None:
            return str(found)
    return None
