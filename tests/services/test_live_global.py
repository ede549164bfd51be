"""The global live stream loses and repeats nothing (issue: topology fault drill findings).

Two `Services` (two API replicas) share the database and a real Redis bus. Each test first
shows the defect the drill found (a publish that never happens after its commit; ids that
commit out of order around a resume; an event the bus delivers twice) and then that every
client gets every event exactly once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import select
from temporalio.testing import ActivityEnvironment

from tests.store.test_runtime import _instance, event
from workflow_engine.bus import EventFilter, LiveEvent, RedisEventBus
from workflow_engine.config import load_settings
from workflow_engine.engine.activities.runtime import RuntimeActivities
from workflow_engine.engine.contract import RuntimeBatch
from workflow_engine.services.container import Services, build_services
from workflow_engine.services.errors import InvalidArgumentError
from workflow_engine.services.live import GlobalEvent, Heartbeat, StreamItem
from workflow_engine.store.live_events import LiveEventReader
from workflow_engine.store.runtime import RuntimeProjection
from workflow_engine.store.tables import ProcessEvent

HEARTBEAT = 0.4
PROC = EventFilter(definition_key="proc")


async def _replica(db_url: str, redis_url: str, prefix: str, data_dir: Path) -> Services:
    settings = load_settings(
        database_url=db_url, data_dir=data_dir, stream_heartbeat_seconds=HEARTBEAT
    )
    built = await build_services(settings)
    await built.bus.aclose()  # the in-process bus: replaced by Redis, on a channel of our own
    redis = Redis.from_url(redis_url)
    return replace(built, bus=RedisEventBus(redis, prefix=prefix), redis=redis)


@pytest.fixture
async def replicas(
    db_url: str, redis_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Services, Services]]:
    # Pub/sub channels are server-wide (not per database): a prefix keeps others' events out.
    prefix = f"wfe-test-{uuid.uuid4().hex}"
    first = await _replica(db_url, redis_url, prefix, tmp_path / "a")
    second = await _replica(db_url, redis_url, prefix, tmp_path / "b")
    try:
        yield first, second
    finally:
        await first.aclose()
        await second.aclose()


def _batch(first: int, last: int, *, instance: str = "i-1") -> RuntimeBatch:
    return RuntimeBatch(
        instance_id=instance,
        through_sequence=last,
        events=[event(n, "activity.completed", f"n{n}") for n in range(first, last + 1)],
        status="running",
    )


async def _apply(services: Services, batch: RuntimeBatch, *, publish: bool = True) -> None:
    """What the worker does: commit, then publish (publish=False: it died in between)."""
    acts = RuntimeActivities(services.database, bus=services.bus if publish else None)
    await ActivityEnvironment().run(acts.apply_runtime_batch, batch)


async def _started(stream: AsyncGenerator[StreamItem, None]) -> None:
    """Run the stream up to its first heartbeat: it is subscribed and its backlog is sent."""
    assert isinstance(await anext(stream), Heartbeat)


async def _events(
    stream: AsyncGenerator[StreamItem, None], count: int, *, within: float = 10.0
) -> list[GlobalEvent]:
    got: list[GlobalEvent] = []
    async with asyncio.timeout(within):
        while len(got) < count:
            item = await anext(stream)
            if isinstance(item, LiveEvent):
                assert isinstance(item, GlobalEvent), item
                got.append(item)
    return got


async def _until_idle(stream: AsyncGenerator[StreamItem, None], beats: int = 3) -> list[int]:
    """Row ids of the events sent until `beats` heartbeats pass without one."""
    ids: list[int] = []
    quiet = 0
    while quiet < beats:
        item = await anext(stream)
        if isinstance(item, Heartbeat):
            quiet += 1
        elif isinstance(item, LiveEvent):
            ids.append(item.id)
            quiet = 0
    return ids


async def _log_ids(services: Services, instance: str = "i-1") -> list[int]:
    async with services.database.session() as session:
        rows = await session.execute(
            select(ProcessEvent.id)
            .where(ProcessEvent.process_instance_id == instance)
            .order_by(ProcessEvent.sequence)
        )
        return [row[0] for row in rows]


def _key(item: GlobalEvent) -> tuple[str, int]:
    return item.instance_id, item.sequence


async def test_events_whose_publish_never_happened_reach_live_clients_of_both_replicas(
    replicas: tuple[Services, Services],
) -> None:
    a, b = replicas
    await _instance(a.database)
    streams = [await s.live.global_stream(PROC, after_id=0) for s in (a, b)]
    try:
        for stream in streams:
            await _started(stream)
        await _apply(a, _batch(1, 2))
        await _apply(a, _batch(3, 4), publish=False)  # committed; the worker died
        await _apply(a, _batch(5, 5))  # 5 arrives live: 3 and 4 are open gaps, re-read
        await _apply(a, _batch(6, 6), publish=False)  # the newest: found by the heartbeat
        for stream in streams:
            got = await _events(stream, 6)
            assert sorted(_key(e) for e in got) == [("i-1", n) for n in range(1, 7)]
            assert await _until_idle(stream) == []  # nothing twice
    finally:
        for stream in streams:
            await stream.aclose()


async def test_ids_committed_out_of_order_reach_a_client_resuming_on_another_replica(
    replicas: tuple[Services, Services], db_url: str
) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite runs one writing transaction at a time: ids commit in order")
    a, b = replicas
    await _instance(a.database, "i-1")
    await _instance(a.database, "i-2")
    leaving = await a.live.global_stream(PROC, after_id=0)
    staying = await b.live.global_stream(PROC, after_id=0)
    try:
        await _started(leaving)
        await _started(staying)
        async with a.database.session() as slow:  # takes its ids first, commits last
            await RuntimeProjection(slow).apply(_batch(1, 2, instance="i-2"))
            await _apply(a, _batch(1, 2))  # larger ids, committed and published first
            seen = await _events(leaving, 2)
            assert [_key(e) for e in seen] == [("i-1", 1), ("i-1", 2)]
            cursor = seen[-1].cursor
            await leaving.aclose()  # the client goes away before the slow batch commits
        late = await _log_ids(a, "i-2")
        assert max(late) < seen[-1].id  # the defect's setting: lower ids, committed later
        assert cursor == f"{seen[-1].id}~{','.join(map(str, late))}"

        # The defect: a resume from the plain highest id never sees them.
        plain = await b.live.global_stream(PROC, after_id=seen[-1].id)
        try:
            assert await _until_idle(plain, beats=2) == []
        finally:
            await plain.aclose()

        # Fixed: the cursor names the open ids; another replica re-reads them.
        resumed = await b.live.global_stream(PROC, cursor=cursor)
        try:
            got = await _events(resumed, 2)
            assert [_key(e) for e in got] == [("i-2", 1), ("i-2", 2)]
            assert got[-1].cursor == str(seen[-1].id)  # nothing open any more
            assert await _until_idle(resumed) == []
        finally:
            await resumed.aclose()

        # A client that stayed gets them too, though their batch was never published.
        got = await _events(staying, 4)
        assert sorted(_key(e) for e in got) == [("i-1", 1), ("i-1", 2), ("i-2", 1), ("i-2", 2)]
        assert await _until_idle(staying) == []
    finally:
        await staying.aclose()


async def test_an_event_the_bus_delivers_twice_is_sent_once(
    replicas: tuple[Services, Services],
) -> None:
    a, b = replicas
    await _instance(a.database)
    live_only = await b.live.global_stream(PROC)
    from_start = await a.live.global_stream(PROC, after_id=0)
    try:
        await _started(live_only)
        await _started(from_start)
        await _apply(a, _batch(1, 2))
        async with a.database.session() as session:
            again = await LiveEventReader(session).by_ids(await _log_ids(a))
        await a.bus.publish(again)  # the same events once more (a resent publish)
        await _apply(a, _batch(3, 3))
        for stream in (live_only, from_start):
            assert await _until_idle(stream) == await _log_ids(a)
    finally:
        await live_only.aclose()
        await from_start.aclose()


async def test_a_gap_that_never_fills_is_closed_after_the_grace_window(
    db_url: str, tmp_path: Path
) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite reuses the ids of a rolled-back insert: no gap to close")
    settings = load_settings(
        database_url=db_url,
        data_dir=tmp_path,
        stream_heartbeat_seconds=HEARTBEAT,
        stream_gap_grace_seconds=1.0,
    )
    services = await build_services(settings)
    try:
        await _instance(services.database)
        stream = await services.live.global_stream(PROC, after_id=0)
        await _started(stream)
        await _apply(services, _batch(1, 1))
        with pytest.raises(RuntimeError):  # a batch that rolls back: its ids are skipped
            async with services.database.session() as session:
                await RuntimeProjection(session).apply(_batch(2, 3))
                raise RuntimeError("rolled back")
        await _apply(services, _batch(2, 2))
        first = await _events(stream, 2)
        assert "~" in first[-1].cursor  # the skipped ids are open
        await asyncio.sleep(1.5)  # longer than the grace window
        await _apply(services, _batch(3, 3))
        (last,) = await _events(stream, 1)
        assert last.cursor == str(last.id)  # given up as absent
        await stream.aclose()
    finally:
        await services.aclose()


async def test_a_malformed_cursor_is_refused_up_front(
    replicas: tuple[Services, Services],
) -> None:
    a, _ = replicas
    for bad in ("x", "12~a", "-1", "5~7", "5~-2"):
        with pytest.raises(InvalidArgumentError, match="last_event_id"):
            await a.live.global_stream(PROC, cursor=bad)
