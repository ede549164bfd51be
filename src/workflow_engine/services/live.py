"""Live status: an instance's events, or everyone's, as a resumable stream (DESIGN §5, SSE).

A stream first subscribes to the bus, THEN reads what the client missed from the database,
then follows the live subscription, skipping what the backlog already sent: nothing falls in
the gap between the two and nothing comes twice.

* Per instance the cursor is the event `sequence` (1, 2, 3 ... without holes). Events are sent
  strictly in sequence order: a live event that arrives ahead of a missing one (a lost message,
  or batches committed out of order) waits while the missing ones are read from the database.
  Every heartbeat also re-reads the log, so a message lost on the bus costs at most one
  heartbeat of delay. The stream ends once the instance has ended and everything is sent.
* The global stream's cursor is the `process_event` row id; resuming replays rows with a
  larger id. (Row ids are assigned at insert: an event of a transaction that commits after
  one with a larger id can, in that small window, be missed by a resume.)

A subscriber that falls behind is dropped by the bus; the stream then ends with
:class:`StreamEnd` (`dropped=True`) and the client resumes with its cursor.

Authorization (issue 6) is checked when a stream is opened, before the transport sends a
byte: `instance:read` or `instance:read_own`. An instance stream of an instance outside the
caller's scope answers NotFoundError like a missing one. The global stream (backlog and live
part alike) carries only the caller's tenant's events (admins: every tenant unless one is
named) and, for `instance:read_own` callers, only events of instances they started.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, replace

from workflow_engine.bus import EventBus, EventFilter, LiveEvent, SubscriptionDroppedError
from workflow_engine.services.access import (
    InstanceScope,
    instance_scope,
    object_scope,
    require_instance_read,
)
from workflow_engine.services.errors import InvalidArgumentError, NotFoundError
from workflow_engine.services.masking import Sensitive, VariableMasker
from workflow_engine.store.database import Database
from workflow_engine.store.live_events import InstanceProgress, LiveEventReader
from workflow_engine.store.tables import ENDED_INSTANCE_STATUSES, INSTANCE_STATUSES

__all__ = ["Heartbeat", "LiveStatusService", "StreamEnd", "StreamItem"]

#: Instances whose sensitive variables one global stream remembers.
_MASK_CACHE = 1000

#: Rows read from the database per backlog query.
_BACKLOG_PAGE = 500
#: Instances whose starter one global stream remembers (read-own callers only).
_STARTER_CACHE = 4096


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Nothing happened for a heartbeat interval (SSE: a `: ping` comment)."""


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """The stream is over: the instance ended, or the client was dropped (it may resume)."""

    reason: str
    dropped: bool = False


StreamItem = LiveEvent | Heartbeat | StreamEnd
"""What a stream yields."""


class LiveStatusService:
    """Resumable live streams over the event log and the event bus.

    Args:
        database: The application database (the backlog).
        bus: The live event bus.
        heartbeat_seconds: Idle time after which a :class:`Heartbeat` is yielded.
        queue_size: Live events a stream may have waiting before it is dropped.
        masker: Masks sensitive variables in the events sent; None sends them as stored.
    """

    def __init__(
        self,
        *,
        database: Database,
        bus: EventBus,
        heartbeat_seconds: float,
        queue_size: int,
        masker: VariableMasker | None = None,
    ) -> None:
        self._db = database
        self._bus = bus
        self._heartbeat = heartbeat_seconds
        self._queue_size = queue_size
        self._masker = masker

    async def _masked(
        self, stream: AsyncGenerator[StreamItem, None]
    ) -> AsyncGenerator[StreamItem, None]:
        """`stream` with sensitive variables masked in every event's data."""
        known: dict[str, Sensitive] = {}
        try:
            async for item in stream:
                if self._masker is not None and isinstance(item, LiveEvent):
                    sensitive = known.get(item.instance_id)
                    if sensitive is None:
                        if len(known) >= _MASK_CACHE:
                            known.clear()
                        sensitive = await self._masker.for_instance(item.instance_id)
                    sensitive = sensitive.learn(item.data)
                    known[item.instance_id] = sensitive
                    if sensitive:
                        item = replace(item, data=sensitive.mask(item.data))
                yield item
        finally:
            await stream.aclose()  # ends the bus subscription with the response

    async def check_instance(self, instance_id: str) -> None:
        """Raise unless the instance exists (call before starting a response).

        Raises:
            PermissionDeniedError: without instance read permission.
            NotFoundError: no such instance (or one outside the caller's scope).
        """
        await self._visible_progress(instance_id)

    async def instance_stream(
        self, instance_id: str, *, after_sequence: int = 0
    ) -> AsyncGenerator[StreamItem, None]:
        """The instance's events after `after_sequence`, then live ones, until it has ended.

        Checks the request now (so a transport can answer 404 / 400 before it starts a
        response) and returns the stream to iterate.

        Raises:
            PermissionDeniedError: without instance read permission.
            NotFoundError: no such instance (or one outside the caller's scope).
            InvalidArgumentError: a negative cursor.
        """
        scope = object_scope(require_instance_read())
        if after_sequence < 0:
            raise InvalidArgumentError(
                f"last_event_id must be an event sequence (0 or more), got {after_sequence}"
            )
        await self._visible_progress(instance_id, scope)
        return self._masked(self._instance_stream(instance_id, after_sequence))

    async def _instance_stream(
        self, instance_id: str, after_sequence: int
    ) -> AsyncGenerator[StreamItem, None]:
        subscription = self._bus.subscribe(
            EventFilter(instance_id=instance_id), max_queue=self._queue_size
        )
        async with subscription:
            last = after_sequence
            waiting: dict[int, LiveEvent] = {}  # live events ahead of a missing one
            read_log = True  # the backlog now; later after a gap or an idle heartbeat
            check_end = True
            while True:
                if read_log:
                    async for event in self._read_instance(instance_id, after=last):
                        yield event
                        last = event.sequence
                    read_log = False
                while last + 1 in waiting:
                    last += 1
                    yield waiting.pop(last)
                waiting = {seq: event for seq, event in waiting.items() if seq > last}
                if check_end:
                    progress = await self._progress(instance_id)
                    ended = progress.status in ENDED_INSTANCE_STATUSES
                    if ended and last >= progress.last_sequence:
                        yield StreamEnd(reason=f"the instance has ended ({progress.status})")
                        return
                    check_end = False
                try:
                    live = await subscription.get(wait_seconds=self._heartbeat)
                except SubscriptionDroppedError as exc:
                    yield StreamEnd(reason=str(exc), dropped=True)
                    return
                if live is None:
                    yield Heartbeat()
                    read_log = check_end = True
                    continue
                if live.sequence <= last:
                    continue  # the backlog sent it already
                waiting[live.sequence] = live
                check_end = live.instance_status in ENDED_INSTANCE_STATUSES
                # Ahead of a missing event: read the log (it may have committed already).
                read_log = live.sequence > last + 1

    async def global_stream(
        self, event_filter: EventFilter, *, after_id: int | None = None
    ) -> AsyncGenerator[StreamItem, None]:
        """Every instance's events matching `event_filter`: after row `after_id`, then live.

        Without `after_id` only live events are sent. Checks the request now and returns the
        stream to iterate. The filter's tenant is narrowed to what the caller may see.

        Raises:
            PermissionDeniedError: without instance read permission; a non-admin naming
                another tenant.
            InvalidArgumentError: a negative cursor or an unknown status.
        """
        scope = instance_scope(event_filter.tenant_id)
        event_filter = replace(event_filter, tenant_id=scope.tenant_id)
        if after_id is not None and after_id < 0:
            raise InvalidArgumentError(
                f"last_event_id must be an event id (0 or more), got {after_id}"
            )
        unknown = sorted(set(event_filter.statuses) - set(INSTANCE_STATUSES))
        if unknown:
            raise InvalidArgumentError(
                f"status must be among {', '.join(INSTANCE_STATUSES)}; got {', '.join(unknown)}"
            )
        return self._masked(self._global_stream(event_filter, after_id, scope.started_by))

    async def _global_stream(
        self, event_filter: EventFilter, after_id: int | None, started_by: str | None
    ) -> AsyncGenerator[StreamItem, None]:
        subscription = self._bus.subscribe(event_filter, max_queue=self._queue_size)
        # Live events do not say who started their instance: read-own streams look it up
        # once per instance (a starter never changes).
        starters: OrderedDict[str, str | None] = OrderedDict()
        async with subscription:
            replayed: set[int] = set()
            replayed_through = -1
            if after_id is not None:
                async for event in self._read_global(
                    event_filter, after=after_id, started_by=started_by
                ):
                    replayed.add(event.id)
                    replayed_through = event.id
                    yield event
            while True:
                try:
                    live = await subscription.get(wait_seconds=self._heartbeat)
                except SubscriptionDroppedError as exc:
                    yield StreamEnd(reason=str(exc), dropped=True)
                    return
                if live is None:
                    yield Heartbeat()
                elif (live.id > replayed_through or live.id not in replayed) and (
                    started_by is None
                    or await self._started_by(live.instance_id, started_by, starters)
                ):
                    yield live

    async def _started_by(
        self, instance_id: str, user_id: str, starters: OrderedDict[str, str | None]
    ) -> bool:
        if instance_id in starters:
            starters.move_to_end(instance_id)
        else:
            async with self._db.session() as session:
                found = await LiveEventReader(session).start_users([instance_id])
            starters[instance_id] = found.get(instance_id)
            if len(starters) > _STARTER_CACHE:
                starters.popitem(last=False)
        return starters[instance_id] == user_id

    async def _visible_progress(
        self, instance_id: str, scope: InstanceScope | None = None
    ) -> InstanceProgress:
        checked = scope if scope is not None else object_scope(require_instance_read())
        progress = await self._progress(instance_id)
        if not checked.sees(tenant_id=progress.tenant_id, start_user_id=progress.start_user_id):
            # Exactly the answer for a missing instance: nothing leaks.
            raise NotFoundError(f"process instance {instance_id} not found")
        return progress

    async def _progress(self, instance_id: str) -> InstanceProgress:
        async with self._db.session() as session:
            progress = await LiveEventReader(session).progress(instance_id)
        if progress is None:
            raise NotFoundError(f"process instance {instance_id} not found")
        return progress

    async def _read_instance(self, instance_id: str, *, after: int) -> AsyncIterator[LiveEvent]:
        while True:
            async with self._db.session() as session:
                page = await LiveEventReader(session).of_instance(
                    instance_id, after_sequence=after, limit=_BACKLOG_PAGE
                )
            for event in page:
                if event.sequence != after + 1:
                    return  # a hole: its batch has not committed yet; it will come live
                after = event.sequence
                yield event
            if len(page) < _BACKLOG_PAGE:
                return

    async def _read_global(
        self, event_filter: EventFilter, *, after: int, started_by: str | None = None
    ) -> AsyncIterator[LiveEvent]:
        while True:
            async with self._db.session() as session:
                page = await LiveEventReader(session).after_id(
                    after,
                    limit=_BACKLOG_PAGE,
                    definition_key=event_filter.definition_key,
                    tenant_id=event_filter.tenant_id,
                    statuses=event_filter.statuses,
                    event_types=event_filter.event_types,
                    start_user_id=started_by,
                )
            for event in page:
                after = event.id
                yield event
            if len(page) < _BACKLOG_PAGE:
                return
