"""The event bus on Redis pub/sub: the worker and each API replica are separate processes.

Channels: `<prefix>:instance:<id>` per instance and `<prefix>:all` for everything (each
message carries the definition key, tenant and status, so global subscribers filter
locally). A publish sends ONE message per channel per batch (a JSON array of events).

Each bus holds one pub/sub connection for all of its process's subscribers: a channel is
SUBSCRIBEd when its first local subscriber arrives (and :meth:`Subscription.__aenter__` returns
only once Redis has confirmed it, so nothing published afterwards is missed) and
UNSUBSCRIBEd when its last one leaves. A reader task fans messages out to the local queues.
Pub/sub is fire-and-forget: if the connection is lost the subscribers are dropped, and their
clients resume from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from workflow_engine.bus.base import DEFAULT_QUEUE_SIZE, Subscription
from workflow_engine.bus.events import LiveEvent, LiveEventError
from workflow_engine.bus.filters import EventFilter

__all__ = ["DEFAULT_CHANNEL_PREFIX", "RedisEventBus"]

#: Prefix of the bus's channel names.
DEFAULT_CHANNEL_PREFIX = "wfe:events"
#: How long a SUBSCRIBE may take to be confirmed.
_SUBSCRIBE_TIMEOUT_SECONDS = 10.0
#: How long the reader waits for a message before checking whether it should stop.
_READ_TIMEOUT_SECONDS = 1.0

_log = structlog.get_logger(__name__)


class RedisEventBus:
    """Publishes to and subscribes on Redis pub/sub channels.

    Args:
        redis: A client (the bus takes its own pub/sub connection from its pool); the caller
            closes it after :meth:`aclose`.
        prefix: Prefix of the channel names (tests isolate themselves with their own).

    Example::

        bus = RedisEventBus(Redis.from_url(url))
        async with bus.subscribe(EventFilter(instance_id=iid)) as sub:
            async for event in sub:
                ...
    """

    def __init__(self, redis: Redis, *, prefix: str = DEFAULT_CHANNEL_PREFIX) -> None:
        self._redis = redis
        self._prefix = prefix
        self._global_channel = f"{prefix}:all"
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._by_channel: defaultdict[str, set[Subscription]] = defaultdict(set)
        self._confirmations: dict[str, asyncio.Future[None]] = {}
        self._lock = asyncio.Lock()
        self._closed = False

    def instance_channel(self, instance_id: str) -> str:
        """The channel of one instance's events."""
        return f"{self._prefix}:instance:{instance_id}"

    @property
    def global_channel(self) -> str:
        """The channel of every event."""
        return self._global_channel

    async def publish(self, events: Sequence[LiveEvent]) -> None:
        """Send the events: one message per instance channel and one on the global channel.

        Raises:
            redis.RedisError: Redis is unreachable (the caller decides whether that matters).
        """
        if self._closed or not events:
            return
        by_instance: dict[str, list[dict[str, Any]]] = defaultdict(list)
        everything: list[dict[str, Any]] = []
        for event in events:
            body = event.to_dict()
            by_instance[event.instance_id].append(body)
            everything.append(body)
        async with self._redis.pipeline(transaction=False) as pipe:
            for instance_id, bodies in by_instance.items():
                pipe.publish(self.instance_channel(instance_id), json.dumps(bodies))
            pipe.publish(self._global_channel, json.dumps(everything))
            await pipe.execute()

    def subscribe(
        self, event_filter: EventFilter, *, max_queue: int = DEFAULT_QUEUE_SIZE
    ) -> Subscription:
        """A subscription (enter it with `async with`).

        An instance filter listens on the instance's channel, any other on the global one.
        """
        return Subscription(self, event_filter, max_queue=max_queue)

    @property
    def subscriber_count(self) -> int:
        """How many subscriptions of this process are open."""
        return sum(len(subs) for subs in self._by_channel.values())

    async def aclose(self) -> None:
        """Drop every subscription and close the pub/sub connection (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._drop_all("the event bus is closed")
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._pubsub is not None:
            await self._pubsub.aclose()

    def _channel_of(self, subscription: Subscription) -> str:
        instance_id = subscription.filter.instance_id
        return self._global_channel if instance_id is None else self.instance_channel(instance_id)

    async def _attach(self, subscription: Subscription) -> None:
        if self._closed:
            subscription.drop("the event bus is closed")
            return
        channel = self._channel_of(subscription)
        async with self._lock:
            subscribers = self._by_channel[channel]
            subscribers.add(subscription)
            if len(subscribers) > 1:
                return  # the channel is subscribed already
            try:
                await self._subscribe_channel(channel)
            except BaseException:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._by_channel[channel]
                raise

    async def _subscribe_channel(self, channel: str) -> None:
        pubsub = self._pubsub
        if pubsub is None:
            pubsub = self._pubsub = self._redis.pubsub()
        confirmed = asyncio.get_running_loop().create_future()
        self._confirmations[channel] = confirmed
        try:
            await pubsub.subscribe(channel)
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read(pubsub), name="wfe-bus-reader")
            # The reader resolves this when Redis confirms: from then on, every PUBLISH to the
            # channel reaches us.
            async with asyncio.timeout(_SUBSCRIBE_TIMEOUT_SECONDS):
                await asyncio.shield(confirmed)
        finally:
            self._confirmations.pop(channel, None)

    async def _detach(self, subscription: Subscription) -> None:
        channel = self._channel_of(subscription)
        async with self._lock:
            subscribers = self._by_channel.get(channel)
            if subscribers is None:
                return
            subscribers.discard(subscription)
            if subscribers:
                return
            del self._by_channel[channel]
            if self._pubsub is not None and not self._closed:
                try:
                    await self._pubsub.unsubscribe(channel)
                except Exception as exc:  # leaving must not fail the client
                    _log.warning("bus_unsubscribe_failed", channel=channel, error=str(exc))

    async def _read(self, pubsub: PubSub) -> None:
        try:
            while not self._closed:
                message = await pubsub.get_message(timeout=_READ_TIMEOUT_SECONDS)
                if message is not None:
                    self._dispatch(message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # any failure ends the subscriptions
            _log.warning("bus_reader_failed", error=f"{type(exc).__name__}: {exc}")
            self._drop_all(f"lost the Redis pub/sub connection: {exc}")
            for future in self._confirmations.values():
                if not future.done():
                    future.set_exception(ConnectionError(f"Redis pub/sub failed: {exc}"))
            # A fresh connection for whoever subscribes next.
            self._pubsub = None
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    def _dispatch(self, message: dict[str, Any]) -> None:
        channel = _text(message.get("channel"))
        kind = message.get("type")
        if kind == "subscribe":
            future = self._confirmations.get(channel)
            if future is not None and not future.done():
                future.set_result(None)
            return
        if kind != "message":
            return
        try:
            raw = json.loads(_text(message.get("data")))
            events = [LiveEvent.from_dict(item) for item in raw]
        except (ValueError, TypeError, LiveEventError) as exc:
            _log.warning("bus_message_invalid", channel=channel, error=str(exc))
            return
        for subscriber in list(self._by_channel.get(channel, ())):
            for event in events:
                subscriber.offer(event)

    def _drop_all(self, reason: str) -> None:
        for subscribers in self._by_channel.values():
            for subscriber in subscribers:
                subscriber.drop(reason)
        self._by_channel.clear()


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode()
    return str(value)
