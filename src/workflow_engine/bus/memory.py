"""The in-process event bus: publisher and subscribers share one event loop (`wfe dev`)."""

from __future__ import annotations

from collections.abc import Sequence

from workflow_engine.bus.base import DEFAULT_QUEUE_SIZE, Subscription
from workflow_engine.bus.events import LiveEvent
from workflow_engine.bus.filters import EventFilter

__all__ = ["InProcessEventBus"]


class InProcessEventBus:
    """Delivers events to subscribers of this process only.

    Enough when the worker and the API run in one process (`wfe dev`); with several processes
    use :class:`workflow_engine.bus.redis.RedisEventBus`.
    """

    def __init__(self) -> None:
        self._subscribers: set[Subscription] = set()
        self._closed = False

    async def publish(self, events: Sequence[LiveEvent]) -> None:
        """Queue each event on every matching subscriber (non-blocking)."""
        if self._closed:
            return
        # A copy: a subscriber may be dropped (and leave) while we iterate.
        subscribers = list(self._subscribers)
        for event in events:
            for subscriber in subscribers:
                subscriber.offer(event)

    def subscribe(
        self, event_filter: EventFilter, *, max_queue: int = DEFAULT_QUEUE_SIZE
    ) -> Subscription:
        """A subscription (enter it with `async with`)."""
        return Subscription(self, event_filter, max_queue=max_queue)

    @property
    def subscriber_count(self) -> int:
        """How many subscriptions are open."""
        return len(self._subscribers)

    async def aclose(self) -> None:
        """Drop every open subscription; later publishes are ignored."""
        self._closed = True
        for subscriber in list(self._subscribers):
            subscriber.drop("the event bus is closed")
        self._subscribers.clear()

    async def _attach(self, subscription: Subscription) -> None:
        if self._closed:
            subscription.drop("the event bus is closed")
            return
        self._subscribers.add(subscription)

    async def _detach(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)
