"""The in-process bus: the shared contract, plus subscriber bookkeeping."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from tests.bus.contract import CONTRACT
from tests.bus.helpers import live_event
from workflow_engine.bus import EventBus, EventFilter, InProcessEventBus


@pytest.mark.parametrize("case", CONTRACT, ids=lambda c: c.__name__)
async def test_contract(case: Callable[[EventBus], Awaitable[None]]) -> None:
    bus = InProcessEventBus()
    try:
        await case(bus)
    finally:
        await bus.aclose()


async def test_leaving_unregisters_the_subscriber() -> None:
    bus = InProcessEventBus()
    async with bus.subscribe(EventFilter()):
        assert bus.subscriber_count == 1
    assert bus.subscriber_count == 0
    await bus.publish([live_event(1)])  # nobody listening: nothing to do, no error


async def test_a_dropped_subscriber_does_not_stop_delivery_to_others() -> None:
    bus = InProcessEventBus()
    async with (
        bus.subscribe(EventFilter(), max_queue=1) as slow,
        bus.subscribe(EventFilter()) as other,
    ):
        await bus.publish([live_event(1), live_event(2)])
        await bus.publish([live_event(3)])
        assert slow.dropped is not None
        got = [await other.get(wait_seconds=1) for _ in range(3)]
        assert [e.sequence for e in got if e] == [1, 2, 3]
    await bus.aclose()


def test_queue_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_queue must be at least 1"):
        InProcessEventBus().subscribe(EventFilter(), max_queue=0)
