"""Flushing the event log: batches, their single writer, and batches riding on activities.

Everything that changed since the last flush (events, root variables, tasks, subscriptions,
status, active nodes) becomes one `RuntimeBatch`, written by the activity
`wfe.apply_runtime_batch` (DESIGN §3). `flush()` is the one place batches are written; the
piggy-back path (`batch_for_ride`, `ride_done`, `resend`) is used by `engine.piggyback`.
"""

from __future__ import annotations

import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

from workflow_engine.engine import piggyback
from workflow_engine.engine.contract import ACTIVITY_APPLY_RUNTIME_BATCH, RuntimeBatch, TaskRecord
from workflow_engine.engine.interpreter.runtime_state import RuntimeState

#: Activity that writes batches: generous retries, the database may be down for a while.
_BATCH_RETRY = RetryPolicy(maximum_interval=datetime.timedelta(seconds=10))
_BATCH_TIMEOUT = datetime.timedelta(seconds=30)


class BatchWriting(RuntimeState):
    """Turns the changes of a run into batches and writes them, in order, one at a time."""

    def _take_batch(self, *, ended: bool = False, reason: str | None = None) -> RuntimeBatch | None:
        status = self.status()
        active = [] if ended else self.active_node_ids()
        if not (
            self.pending
            or self.changed_vars
            or self.changed_tasks
            or self.subscriptions_dirty
            or ended
            or status != self.last_status
            or active != self.last_active
        ):
            return None
        batch = RuntimeBatch(
            instance_id=self.instance_id,
            through_sequence=self.sequence - 1,
            events=self.pending,
            status=status,
            active_node_ids=active,
            variables=self.changed_vars,
            tasks=list(self.changed_tasks.values()),
            subscriptions=self.subscription_records()
            if self.subscriptions_dirty or ended
            else None,
            ended_at=self.now() if ended else None,
            end_reason=reason,
        )
        if ended:
            batch.subscriptions = []
        self.pending = []
        self.changed_vars = {}
        self.changed_tasks = {}
        self.subscriptions_dirty = False
        self.last_status = status
        self.last_active = active
        return batch

    async def flush(self, *, ended: bool = False, reason: str | None = None) -> None:
        """Hand what changed to the batch writer and wait until it is applied.

        The single place batches are written (DESIGN §3: at wait points, before activities and
        at the end). Batches are applied one at a time, in order, by `_batch_writer`, so a token
        cancelled while waiting here loses nothing.
        """
        batch = self._with_riders(self._take_batch(ended=ended, reason=reason))
        if batch is None:
            return
        self._batches_made += 1
        number = self._batches_made
        self._outbox.append(batch)
        await workflow.wait_condition(lambda: self._batches_applied >= number)

    async def batch_for_ride(self) -> RuntimeBatch | None:
        """The pending batch, to ride on the next activity of the engine's queue (DESIGN §3).

        The piggy-back alternative to `flush()` before a step activity (see
        `engine.piggyback`). Batches still being written are waited for first, so the log is
        applied in order. None: nothing changed.
        """
        if self._outbox:
            number = self._batches_made
            await workflow.wait_condition(lambda: self._batches_applied >= number)
        batch = self._with_riders(self._take_batch())
        if batch is not None:
            self._riders.append(batch)
        return batch

    def ride_done(self, batch: RuntimeBatch) -> None:
        """The activity `batch` rode on has finished (so the batch was applied, or resent)."""
        self._riders = [b for b in self._riders if b is not batch]

    def _with_riders(self, batch: RuntimeBatch | None) -> RuntimeBatch | None:
        # A ridden batch is applied when its activity starts, maybe after a newer batch; the
        # projection then keeps only its events (older snapshot parts are skipped). So every
        # newer batch repeats the variables, tasks and subscriptions of unfinished riders.
        if batch is None or not self._riders:
            return batch
        variables: dict[str, Any] = {}
        tasks: dict[str, TaskRecord] = {}
        subscriptions_changed = False
        for rider in self._riders:
            variables.update(rider.variables)
            tasks.update({t.task_id: t for t in rider.tasks})
            subscriptions_changed |= rider.subscriptions is not None
        variables.update(batch.variables)
        tasks.update({t.task_id: t for t in batch.tasks})
        batch.variables = variables
        batch.tasks = list(tasks.values())
        if subscriptions_changed and batch.subscriptions is None:
            batch.subscriptions = self.subscription_records()
        return batch

    def resend(self, batch: RuntimeBatch) -> None:
        """Write a ridden batch separately: its activity failed or may never have run.

        Applying a batch twice is harmless (idempotent by sequence), losing it is not.
        """
        self._batches_made += 1
        self._outbox.append(batch)

    async def _batch_writer(self) -> None:
        # The batch goes as its plain JSON object (the same payload bytes as the dataclass,
        # encoded without `dataclasses.asdict`'s deep copy; see `piggyback.batch_to_json`).
        while True:
            await workflow.wait_condition(lambda: bool(self._outbox))
            batch = self._outbox[0]
            if piggyback.local_writes():
                # The worker running this workflow applies it (engine.piggyback).
                await workflow.execute_local_activity(
                    ACTIVITY_APPLY_RUNTIME_BATCH,
                    piggyback.batch_to_json(batch),
                    start_to_close_timeout=_BATCH_TIMEOUT,
                    retry_policy=_BATCH_RETRY,
                )
            else:
                await workflow.execute_activity(
                    ACTIVITY_APPLY_RUNTIME_BATCH,
                    piggyback.batch_to_json(batch),
                    start_to_close_timeout=_BATCH_TIMEOUT,
                    retry_policy=_BATCH_RETRY,
                )
            self._outbox.pop(0)
            self._batches_applied += 1
