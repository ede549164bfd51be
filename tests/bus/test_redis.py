"""The Redis bus: the shared contract on a real Redis, and across two bus instances."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from redis.asyncio import Redis

from tests.bus.contract import CONTRACT
from tests.bus.helpers import live_event
from workflow_engine.bus import EventBus, EventFilter, RedisEventBus


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def prefix() -> str:
    # Pub/sub channels are server-wide (not per database): a prefix of our own isolates us
    # from other test sessions on the same Redis.
    return f"wfe-test:{uuid.uuid4().hex}"


@pytest.mark.parametrize("case", CONTRACT, ids=lambda c: c.__name__)
async def test_contract(
    case: Callable[[EventBus], Awaitable[None]], redis_client: Redis, prefix: str
) -> None:
    bus = RedisEventBus(redis_client, prefix=prefix)
    try:
        await case(bus)
    finally:
        await bus.aclose()


async def test_events_cross_from_one_bus_to_another(redis_url: str, prefix: str) -> None:
    # Two clients and two buses, as in two processes (a worker and an API replica).
    publisher_client, listener_client = Redis.from_url(redis_url), Redis.from_url(redis_url)
    publisher = RedisEventBus(publisher_client, prefix=prefix)
    listener = RedisEventBus(listener_client, prefix=prefix)
    try:
        async with (
            listener.subscribe(EventFilter(instance_id="i-1")) as one,
            listener.subscribe(EventFilter(event_types=frozenset({"task.created"}))) as tasks,
        ):
            await publisher.publish(
                [
                    live_event(1),
                    live_event(2, event_type="task.created", instance_id="i-9"),
                    live_event(3),
                ]
            )
            got = [await one.get(wait_seconds=5) for _ in range(2)]
            assert [e.sequence for e in got if e] == [1, 3]
            task = await tasks.get(wait_seconds=5)
            assert task is not None and (task.instance_id, task.sequence) == ("i-9", 2)
    finally:
        await publisher.aclose()
        await listener.aclose()
        await publisher_client.aclose()
        await listener_client.aclose()


async def test_one_message_per_channel_per_batch(redis_client: Redis, prefix: str) -> None:
    bus = RedisEventBus(redis_client, prefix=prefix)
    raw = redis_client.pubsub()
    try:
        await raw.subscribe(bus.instance_channel("i-1"), bus.global_channel)
        for _ in range(2):
            await raw.get_message(timeout=5)  # the two confirmations
        await bus.publish([live_event(1), live_event(2), live_event(1, instance_id="i-2")])
        messages = []
        for _ in range(2):
            message = await raw.get_message(timeout=5)
            assert message is not None
            messages.append(message)
        by_channel = {m["channel"].decode(): json.loads(m["data"]) for m in messages}
        assert [e["sequence"] for e in by_channel[bus.instance_channel("i-1")]] == [1, 2]
        assert len(by_channel[bus.global_channel]) == 3
        assert by_channel[bus.global_channel][2]["definition_key"] == "order"
    finally:
        await raw.aclose()  # type: ignore[no-untyped-call]
        await bus.aclose()


async def test_channels_are_subscribed_while_needed(redis_client: Redis, prefix: str) -> None:
    bus = RedisEventBus(redis_client, prefix=prefix)
    channel = bus.instance_channel("i-1")
    try:
        async with bus.subscribe(EventFilter(instance_id="i-1")):
            async with bus.subscribe(EventFilter(instance_id="i-1")):
                assert await redis_client.pubsub_numsub(channel) == [(channel.encode(), 1)]
            assert bus.subscriber_count == 1
            assert await redis_client.pubsub_numsub(channel) == [(channel.encode(), 1)]
        assert bus.subscriber_count == 0
        assert await redis_client.pubsub_numsub(channel) == [(channel.encode(), 0)]
    finally:
        await bus.aclose()


async def test_invalid_messages_are_skipped(redis_client: Redis, prefix: str) -> None:
    bus = RedisEventBus(redis_client, prefix=prefix)
    try:
        async with bus.subscribe(EventFilter()) as sub:
            await redis_client.publish(bus.global_channel, "not json")
            await redis_client.publish(bus.global_channel, json.dumps([{"id": "x"}]))
            await bus.publish([live_event(7)])
            event = await sub.get(wait_seconds=5)
            assert event is not None and event.sequence == 7
    finally:
        await bus.aclose()
