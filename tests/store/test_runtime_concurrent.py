"""Concurrent applies of the same batch (every attempt of an activity a batch rides on, a
local activity run again, a resend) report each inserted event row once between them: the
live bus publishes only `inserted`, so an id reported twice would reach live clients twice."""

from __future__ import annotations

import asyncio
from collections import Counter

from tests.store.test_runtime import _first_batch, _instance, event
from workflow_engine.engine.contract import RuntimeBatch
from workflow_engine.store.database import Database
from workflow_engine.store.runtime import ApplyResult, RuntimeProjection


async def test_concurrent_applies_of_one_batch_insert_each_event_once(database: Database) -> None:
    await _instance(database)

    async def apply(batch: RuntimeBatch) -> ApplyResult:
        async with database.session() as session:
            return await RuntimeProjection(session).apply(batch)

    await apply(_first_batch())
    reported: Counter[int] = Counter()
    for round_ in range(15):
        base = 4 + round_ * 3
        events = [event(base + k, "activity.completed", "x") for k in range(3)]
        batch = RuntimeBatch(
            instance_id="i-1",
            through_sequence=base + 2,
            events=events,
            status="running",
            active_node_ids=["x"],
        )
        # An older, overlapping batch (a ridden batch applied after a newer one) as well.
        older = RuntimeBatch(
            instance_id="i-1",
            through_sequence=base + 1,
            events=events[:2],
            status="running",
            active_node_ids=["x"],
        )
        results = await asyncio.gather(*(apply(b) for b in (batch, batch, older, batch)))
        for result in results:
            reported.update(row.id for row in result.inserted)
    assert len(reported) == 45
    assert [row_id for row_id, times in reported.items() if times > 1] == []
