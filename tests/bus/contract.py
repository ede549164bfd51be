"""Behaviour every EventBus must have; test_memory and test_redis run it on each bus."""

from __future__ import annotations

import asyncio

import pytest

from tests.bus.helpers import live_event
from workflow_engine.bus import EventBus, EventFilter, SubscriptionDroppedError


async def delivers_in_order_to_matching_subscribers(bus: EventBus) -> None:
    async with (
        bus.subscribe(EventFilter(instance_id="i-1")) as one,
        bus.subscribe(EventFilter(definition_key="order")) as orders,
        bus.subscribe(EventFilter(definition_key="invoice")) as invoices,
    ):
        await bus.publish([live_event(1), live_event(2), live_event(1, instance_id="i-2")])
        got_one = [await one.get(wait_seconds=5) for _ in range(2)]
        assert [e.sequence for e in got_one if e] == [1, 2]
        got_orders = [await orders.get(wait_seconds=5) for _ in range(3)]
        assert [(e.instance_id, e.sequence) for e in got_orders if e] == [
            ("i-1", 1),
            ("i-1", 2),
            ("i-2", 1),
        ]
        # Nothing else arrives: i-2 is not i-1's, and no invoice was published.
        assert await one.get(wait_seconds=0.3) is None
        assert await invoices.get(wait_seconds=0.3) is None


async def overflow_drops_the_slow_subscriber_only(bus: EventBus) -> None:
    async with (
        bus.subscribe(EventFilter(), max_queue=3) as slow,
        bus.subscribe(EventFilter(), max_queue=100) as fast,
    ):
        # The publisher never waits: 10 events into a queue of 3 return at once.
        await asyncio.wait_for(bus.publish([live_event(n) for n in range(1, 11)]), 5)
        got = [await fast.get(wait_seconds=5) for _ in range(10)]
        assert [e.sequence for e in got if e] == list(range(1, 11))
        with pytest.raises(SubscriptionDroppedError, match="too slow"):
            await slow.get(wait_seconds=5)
        assert slow.dropped is not None
        assert fast.dropped is None


async def events_before_subscribing_are_not_delivered(bus: EventBus) -> None:
    await bus.publish([live_event(1)])
    async with bus.subscribe(EventFilter()) as sub:
        await bus.publish([live_event(2)])
        event = await sub.get(wait_seconds=5)
        assert event is not None and event.sequence == 2


async def iteration_yields_events(bus: EventBus) -> None:
    async with bus.subscribe(EventFilter(instance_id="i-1")) as sub:
        await bus.publish([live_event(n) for n in (1, 2, 3)])
        seen = []
        async for event in sub:
            seen.append(event.sequence)
            if len(seen) == 3:
                break
        assert seen == [1, 2, 3]


async def get_outside_the_block_is_an_error(bus: EventBus) -> None:
    sub = bus.subscribe(EventFilter())
    with pytest.raises(RuntimeError, match="inside `async with"):
        await sub.get(wait_seconds=0)
    async with sub:
        pass
    with pytest.raises(RuntimeError, match="inside `async with"):
        await sub.get(wait_seconds=0)


async def close_drops_open_subscriptions(bus: EventBus) -> None:
    async with bus.subscribe(EventFilter()) as sub:
        await bus.aclose()
        with pytest.raises(SubscriptionDroppedError, match="closed"):
            await sub.get(wait_seconds=5)


CONTRACT = [
    delivers_in_order_to_matching_subscribers,
    overflow_drops_the_slow_subscriber_only,
    events_before_subscribing_are_not_delivered,
    iteration_yields_events,
    get_outside_the_block_is_an_error,
    close_drops_open_subscriptions,
]
