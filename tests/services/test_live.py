"""LiveStatusService on a real database and the in-process bus: backlog then live without gap
or duplicate, order kept across gaps and lost messages, the end, slow subscribers dropped."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import ActivityEnvironment

from tests.store.test_runtime import _instance, event
from workflow_engine.bus import EventFilter, LiveEvent
from workflow_engine.config import load_settings
from workflow_engine.engine.activities.runtime import RuntimeActivities
from workflow_engine.engine.contract import RuntimeBatch
from workflow_engine.services.container import Services, build_services
from workflow_engine.services.errors import InvalidArgumentError, NotFoundError
from workflow_engine.services.live import Heartbeat, StreamEnd, StreamItem


@pytest.fixture
async def services(db_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    settings = load_settings(
        database_url=db_url, data_dir=tmp_path, stream_heartbeat_seconds=0.3, stream_queue_size=5
    )
    built = await build_services(settings)
    try:
        yield built
    finally:
        await built.aclose()


def _batch(first: int, last: int, *, status: str = "running") -> RuntimeBatch:
    return RuntimeBatch(
        instance_id="i-1",
        through_sequence=last,
        events=[event(n, "activity.completed", f"n{n}") for n in range(first, last + 1)],
        status=status,
        ended_at="2026-11-30T10:01:00+00:00" if status == "completed" else None,
    )


async def _apply(services: Services, batch: RuntimeBatch, *, publish: bool = True) -> None:
    acts = RuntimeActivities(services.database, bus=services.bus if publish else None)
    await ActivityEnvironment().run(acts.apply_runtime_batch, batch)


async def _next(stream: AsyncGenerator[StreamItem, None], *, skip_pings: bool = True) -> StreamItem:
    while True:
        item = await anext(stream)
        if not (skip_pings and isinstance(item, Heartbeat)):
            return item


async def _sequences(stream: AsyncGenerator[StreamItem, None], count: int) -> list[int]:
    got = []
    for _ in range(count):
        item = await _next(stream)
        assert isinstance(item, LiveEvent), item
        got.append(item.sequence)
    return got


async def test_unknown_instance_and_bad_cursor_are_refused_up_front(services: Services) -> None:
    with pytest.raises(NotFoundError, match="ghost"):
        await services.live.instance_stream("ghost")
    await _instance(services.database)
    with pytest.raises(InvalidArgumentError, match="last_event_id"):
        await services.live.instance_stream("i-1", after_sequence=-1)
    with pytest.raises(InvalidArgumentError, match="status must be among"):
        await services.live.global_stream(EventFilter(statuses=frozenset({"sleepy"})))


async def test_backlog_then_live_then_end(services: Services) -> None:
    await _instance(services.database)
    await _apply(services, _batch(1, 3))
    stream = await services.live.instance_stream("i-1", after_sequence=1)
    try:
        assert await _sequences(stream, 2) == [2, 3]  # the backlog, after the cursor
        assert isinstance(await _next(stream, skip_pings=False), Heartbeat)  # idle
        await _apply(services, _batch(4, 5))
        assert await _sequences(stream, 2) == [4, 5]
        await _apply(services, _batch(6, 6, status="completed"))
        assert await _sequences(stream, 1) == [6]
        end = await _next(stream)
        assert isinstance(end, StreamEnd) and not end.dropped and "completed" in end.reason
    finally:
        await stream.aclose()
    assert services.bus.subscriber_count == 0
    # An ended instance: the rest of its log, then the end at once.
    again = await services.live.instance_stream("i-1", after_sequence=4)
    assert await _sequences(again, 2) == [5, 6]
    assert isinstance(await _next(again), StreamEnd)


async def test_a_gap_is_filled_from_the_log_in_order(services: Services) -> None:
    await _instance(services.database)
    await _apply(services, _batch(1, 1))
    stream = await services.live.instance_stream("i-1")
    try:
        assert await _sequences(stream, 1) == [1]
        # 2-3 are committed but their message is lost; 4 arrives live ahead of them.
        await _apply(services, _batch(2, 3), publish=False)
        await _apply(services, _batch(4, 4))
        assert await _sequences(stream, 3) == [2, 3, 4]
        # A lost message with nothing after it: the heartbeat's re-read finds it.
        await _apply(services, _batch(5, 5), publish=False)
        assert await _sequences(stream, 1) == [5]
    finally:
        await stream.aclose()


async def test_events_of_an_uncommitted_gap_wait_for_it(services: Services) -> None:
    await _instance(services.database)
    stream = await services.live.instance_stream("i-1")
    try:
        assert isinstance(await _next(stream, skip_pings=False), Heartbeat)
        # 3 is published while 1-2 are "not committed yet" (published directly, not written).
        await _apply(services, _batch(3, 3), publish=False)
        row3 = (await _read_log(services))[0]
        await services.bus.publish([row3])
        assert isinstance(await _next(stream, skip_pings=False), Heartbeat)  # 3 is held back
        await _apply(services, _batch(1, 2))
        assert await _sequences(stream, 3) == [1, 2, 3]
    finally:
        await stream.aclose()


async def _read_log(services: Services) -> list[LiveEvent]:
    from workflow_engine.store.live_events import LiveEventReader

    async with services.database.session() as session:
        return await LiveEventReader(session).of_instance("i-1", after_sequence=0, limit=100)


async def test_a_slow_subscriber_is_dropped_and_resumes_without_loss(services: Services) -> None:
    await _instance(services.database)
    stream = await services.live.instance_stream("i-1")
    try:
        assert isinstance(await _next(stream, skip_pings=False), Heartbeat)
        await _apply(services, _batch(1, 1))
        assert await _sequences(stream, 1) == [1]
        # The consumer stalls while 8 events come (queue: 5): the publisher does not wait.
        await _apply(services, _batch(2, 9))
        end = await _next(stream)
        assert isinstance(end, StreamEnd) and end.dropped and "too slow" in end.reason
    finally:
        await stream.aclose()
    resumed = await services.live.instance_stream("i-1", after_sequence=1)
    try:
        assert await _sequences(resumed, 8) == list(range(2, 10))
    finally:
        await resumed.aclose()


async def test_global_stream_filters_and_resumes_by_row_id(services: Services) -> None:
    await _instance(services.database)
    await _apply(services, _batch(1, 2))
    log = await _read_log(services)
    stream = await services.live.global_stream(
        EventFilter(definition_key="proc"), after_id=log[0].id
    )
    other = await services.live.global_stream(EventFilter(definition_key="other"))
    typed = await services.live.global_stream(
        EventFilter(event_types=frozenset({"process.completed"}))
    )
    try:
        item = await _next(stream)
        assert isinstance(item, LiveEvent) and item.id == log[1].id  # replay after the cursor
        await _apply(services, _batch(3, 3))
        item = await _next(stream)
        assert isinstance(item, LiveEvent) and item.sequence == 3
        assert item.definition_key == "proc" and item.tenant_id == "t1"
        assert isinstance(await _next(other, skip_pings=False), Heartbeat)
        assert isinstance(await _next(typed, skip_pings=False), Heartbeat)
    finally:
        for s in (stream, other, typed):
            await s.aclose()
