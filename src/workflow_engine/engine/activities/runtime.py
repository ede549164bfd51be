"""`wfe.apply_runtime_batch`: the workflow's reports written to the database.

One batch, one transaction; idempotent (see `store/runtime.py`), so Temporal may retry it
freely. After the transaction commits, the events it actually inserted (never the duplicates
of a retried batch) are published on the live event bus, when there is one.

Also `wfe.register_instance`, which writes the row of an instance that was not started through
the instance service (a call activity's child), before its first batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import structlog
from sqlalchemy import select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from workflow_engine.bus import EventBus, LiveEvent
from workflow_engine.engine.contract import (
    ACTIVITY_APPLY_RUNTIME_BATCH,
    RuntimeBatch,
    StartInstanceInput,
    workflow_id,
)
from workflow_engine.engine.piggyback import batch_from_json
from workflow_engine.observability import metrics
from workflow_engine.store.database import Database
from workflow_engine.store.instances import InstanceRepository
from workflow_engine.store.runtime import (
    ApplyResult,
    InstanceMissingError,
    RuntimeProjection,
    upsert_variables,
)
from workflow_engine.store.tables import ProcessInstance

#: Activity that creates the instance row when it does not exist yet (call activity children).
ACTIVITY_REGISTER_INSTANCE = "wfe.register_instance"
#: Failure types of these activities (non-retryable: retrying cannot help).
INSTANCE_MISSING = "INSTANCE_MISSING"
INVALID_BATCH = "INVALID_BATCH"

#: How long publishing a batch's live events may take before it is given up (and logged).
_PUBLISH_TIMEOUT_SECONDS = 5.0

_log = structlog.get_logger(__name__)


class RuntimeActivities:
    """The projection activities, bound to the application database.

    Args:
        database: The application database.
        bus: Where committed events are published for live streams; None publishes nothing.

    Example::

        acts = RuntimeActivities(database)
        Worker(client, task_queue=q, workflows=[...],
               activities=[acts.apply_runtime_batch, acts.register_instance])
    """

    def __init__(self, database: Database, *, bus: EventBus | None = None) -> None:
        self._db = database
        self._bus = bus

    @activity.defn(name=ACTIVITY_APPLY_RUNTIME_BATCH)
    async def apply_runtime_batch(self, batch: dict[str, Any] | RuntimeBatch) -> int:
        """Apply one batch; return how many of its events were new.

        Args:
            batch: The batch, or its JSON object as it arrives from Temporal. The plain object
                comes first in the annotation so the payload converter hands it over as
                decoded JSON: converting it to the dataclasses through type hints (resolved
                again for every event) cost more CPU than the rest of the activity's
                decoding; `piggyback.batch_from_json` builds the same dataclasses directly.

        Raises:
            ApplicationError: `INSTANCE_MISSING` (the row is gone: the instance was deleted)
                or `INVALID_BATCH` (the workflow sent something impossible); non-retryable.
        """
        if not isinstance(batch, RuntimeBatch):
            try:
                batch = batch_from_json(batch)
            except ValueError as exc:
                raise ApplicationError(
                    f"invalid runtime batch: {exc}", type=INVALID_BATCH, non_retryable=True
                ) from exc
        # Every record logged while this activity's task runs names the instance (each
        # activity runs in a task of its own, so the binding does not leak to others).
        structlog.contextvars.bind_contextvars(instance_id=batch.instance_id)
        try:
            async with self._db.session() as session:
                result = await RuntimeProjection(session).apply(batch)
        except InstanceMissingError as exc:
            raise ApplicationError(str(exc), type=INSTANCE_MISSING, non_retryable=True) from exc
        except ValueError as exc:
            raise ApplicationError(
                f"invalid runtime batch for instance {batch.instance_id}: {exc}",
                type=INVALID_BATCH,
                non_retryable=True,
            ) from exc
        # Committed: publish now (never before, or a live client could see an event that a
        # rolled-back transaction never wrote).
        await self._publish(batch, result)
        await self._record_metrics(batch, result)
        return result.events_inserted

    async def _record_metrics(self, batch: RuntimeBatch, result: ApplyResult) -> None:
        if not result.inserted:
            return
        new = {row.sequence for row in result.inserted}
        try:
            await metrics.record_batch(
                database=self._db,
                instance_id=batch.instance_id,
                definition_key=result.definition_key,
                events=[e for e in batch.events if e.sequence in new],
            )
        except Exception as exc:
            # Metrics are best effort: the batch is written and the step must go on.
            _log.warning("metrics_record_failed", instance_id=batch.instance_id, error=str(exc))

    async def _publish(self, batch: RuntimeBatch, result: ApplyResult) -> None:
        if self._bus is None or not result.inserted:
            return
        events = live_events(batch, result)
        try:
            # Bounded: a hanging Redis must not hold the engine's step.
            async with asyncio.timeout(_PUBLISH_TIMEOUT_SECONDS):
                await self._bus.publish(events)
        except Exception as exc:
            # The event log is the truth and is written; a live client that misses these
            # finds the gap (or its heartbeat poll does) and reads them from the database.
            _log.warning(
                "live_publish_failed",
                instance_id=batch.instance_id,
                events=len(events),
                error=f"{type(exc).__name__}: {exc}",
            )

    @activity.defn(name=ACTIVITY_REGISTER_INSTANCE)
    async def register_instance(self, start: StartInstanceInput) -> bool:
        """Create the row of an instance started by a workflow (idempotent).

        Returns:
            True if the row was created now, False if it existed.
        """
        async with self._db.session() as session:
            exists = (
                await session.execute(
                    select(ProcessInstance.id).where(ProcessInstance.id == start.instance_id)
                )
            ).scalar_one_or_none()
            if exists is not None:
                return False
            await InstanceRepository(session).create(
                instance_id=start.instance_id,
                workflow_id=workflow_id(start.instance_id),
                definition_id=start.definition_id,
                definition_key=start.definition_key,
                definition_version=start.definition_version,
                tenant_id=start.tenant_id,
                business_key=start.business_key,
                start_user_id=start.initiator,
                super_instance_id=start.parent_instance_id,
            )
            await upsert_variables(session, start.instance_id, start.variables)
        return True


def live_events(batch: RuntimeBatch, result: ApplyResult) -> list[LiveEvent]:
    """The events of `batch` that `result` says were inserted, in sequence order."""
    ids = {row.sequence: row.id for row in result.inserted}
    return [
        LiveEvent(
            id=ids[event.sequence],
            instance_id=batch.instance_id,
            sequence=event.sequence,
            type=event.type,
            timestamp=event.timestamp,
            definition_key=result.definition_key or "",
            tenant_id=result.tenant_id or "",
            instance_status=result.status or batch.status,
            name=event.name,
            activity_id=event.activity_id,
            task_id=event.task_id,
            user_id=event.user_id,
            data=event.data,
        )
        for event in sorted(batch.events, key=lambda e: e.sequence)
        if event.sequence in ids
    ]


def build_activities(database: Database, bus: EventBus | None = None) -> list[Callable[..., Any]]:
    """The activity registry's hook: this module's activities bound to `database` (and `bus`)."""
    acts = RuntimeActivities(database, bus=bus)
    return [acts.apply_runtime_batch, acts.register_instance]
