"""The event bus contract and the bounded, per-subscriber queue both buses share.

Publishing never waits for a subscriber: each subscriber has a bounded queue, and one that
falls behind (its queue overflows) is dropped — its iterator raises
:class:`SubscriptionDroppedError` — instead of slowing the publisher (the engine). A dropped
SSE client reconnects with its cursor and replays what it missed from the database.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from types import TracebackType
from typing import Protocol

from workflow_engine.bus.events import LiveEvent
from workflow_engine.bus.filters import EventFilter

__all__ = [
    "DEFAULT_QUEUE_SIZE",
    "EventBus",
    "Subscription",
    "SubscriptionDroppedError",
]

#: Events a subscriber may have waiting before it is dropped.
DEFAULT_QUEUE_SIZE = 1000


class SubscriptionDroppedError(Exception):
    """The subscription ended abnormally: its queue overflowed, or the bus lost its feed."""


class _Attachable(Protocol):
    async def _attach(self, subscription: Subscription) -> None: ...

    async def _detach(self, subscription: Subscription) -> None: ...


class Subscription:
    """Live events matching a filter, from the moment it is entered.

    Use as an async context manager (it is registered on entry, so every event published
    after `__aenter__` returns is delivered), then iterate or call :meth:`get`.

    Args:
        bus: The bus that feeds it.
        event_filter: Which events to keep.
        max_queue: Events that may wait; one more drops the subscription.
    """

    def __init__(self, bus: _Attachable, event_filter: EventFilter, *, max_queue: int) -> None:
        if max_queue < 1:
            raise ValueError(f"max_queue must be at least 1, got {max_queue}")
        self._bus = bus
        self.filter = event_filter
        self._max_queue = max_queue
        self._queue: deque[LiveEvent] = deque()
        self._wakeup = asyncio.Event()
        self._dropped: str | None = None
        self._closed = False
        self._entered = False
        # Ids of events seen but filtered out (only when asked for: the global stream uses
        # them to tell "exists, not for me" from "not committed yet" without a query).
        self._passed: deque[int] | None = None

    @property
    def dropped(self) -> str | None:
        """Why the subscription was dropped, or None while it is healthy."""
        return self._dropped

    def record_passed_ids(self, limit: int) -> None:
        """Also remember the ids of events the filter left out (the newest `limit` of them).

        Call before entering. Both buses offer every event to every subscription that has no
        instance filter, so a global subscription sees every published id.
        """
        self._passed = deque(maxlen=limit)

    def take_passed_ids(self) -> list[int]:
        """The ids left out by the filter since the last call (see :meth:`record_passed_ids`)."""
        if not self._passed:
            return []
        taken = list(self._passed)
        self._passed.clear()
        return taken

    def offer(self, event: LiveEvent) -> None:
        """Queue `event` if it matches; never blocks (the bus calls this while publishing)."""
        if self._closed or self._dropped is not None:
            return
        if not self.filter.matches(event):
            if self._passed is not None:
                self._passed.append(event.id)
            return
        if len(self._queue) >= self._max_queue:
            self.drop(f"more than {self._max_queue} events waiting: the subscriber is too slow")
            return
        self._queue.append(event)
        self._wakeup.set()

    def drop(self, reason: str) -> None:
        """End the subscription abnormally; the consumer sees :class:`SubscriptionDroppedError`."""
        if self._dropped is None:
            self._dropped = reason
            self._queue.clear()
            self._wakeup.set()

    async def get(self, *, wait_seconds: float | None = None) -> LiveEvent | None:
        """The next event; None when `wait_seconds` pass without one (None: wait forever).

        Raises:
            SubscriptionDroppedError: the subscription was dropped.
            RuntimeError: used outside its `async with` block.
        """
        if not self._entered or self._closed:
            raise RuntimeError("use the subscription inside `async with bus.subscribe(...)`")
        while True:
            if self._dropped is not None:
                raise SubscriptionDroppedError(self._dropped)
            if self._queue:
                return self._queue.popleft()
            self._wakeup.clear()
            try:
                async with asyncio.timeout(wait_seconds):
                    await self._wakeup.wait()
            except TimeoutError:
                return None

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> LiveEvent:
        event = await self.get()
        assert event is not None  # without wait_seconds: get() returns an event or raises
        return event

    async def __aenter__(self) -> Subscription:
        await self._bus._attach(self)
        self._entered = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closed = True
        self._queue.clear()
        await self._bus._detach(self)


class EventBus(Protocol):
    """Publishes committed events to subscribers (in this process or across processes)."""

    async def publish(self, events: Sequence[LiveEvent]) -> None:
        """Deliver `events` (in order) to every matching subscriber, never waiting for one."""
        ...

    def subscribe(
        self, event_filter: EventFilter, *, max_queue: int = DEFAULT_QUEUE_SIZE
    ) -> Subscription:
        """A subscription to enter with `async with`; it receives what is published after."""
        ...

    @property
    def subscriber_count(self) -> int:
        """How many subscriptions of this process are open (a gauge for metrics)."""
        ...

    async def aclose(self) -> None:
        """Stop delivering; subscribers still open are dropped."""
        ...
