"""Live status: an instance's events, or everyone's, as a resumable stream (DESIGN §5, SSE).

A stream first subscribes to the bus, THEN reads what the client missed from the database,
then follows the live subscription, skipping what the backlog already sent: nothing falls in
the gap between the two and nothing comes twice.

* Per instance the cursor is the event `sequence` (1, 2, 3 ... without holes). Events are sent
  strictly in sequence order: a live event that arrives ahead of a missing one (a lost message,
  or batches committed out of order) waits while the missing ones are read from the database.
  Every heartbeat also re-reads the log, so a message lost on the bus costs at most one
  heartbeat of delay. The stream ends once the instance has ended and everything is sent.
* The global stream is keyed by the `process_event` row id, which is NOT gapless in commit
  order: concurrent transactions commit their ids out of order, rollbacks skip ids, and a
  worker killed between its commit and its publish never publishes. So the stream tracks
  gaps (`services.global_cursor`): an id below the newest one it has accounted for that it has
  neither sent nor seen is "open" until its row turns up (sent if it passes the filter) or a
  grace window passes (`stream_gap_grace_seconds`; then it is taken as absent). Open ids are
  re-read shortly after they open and at every heartbeat, which also reads rows past the
  newest id seen (a lost publish of the latest events); each check costs primary-key reads
  only (which ids exist, then the rows of those that pass the filter). Ids the bus carried
  but the filter left out count as seen, without a query. An id is sent at most once, so a
  message the bus delivers twice, or a row both replayed and live, goes out once. The
  cursor sent with each event (`GlobalEvent.cursor`, the SSE id) is `"<high>"` or
  `"<high>~<open ids>"`: resuming on any replica re-reads exactly what could still be missing
  (plain integers are accepted as before). Without a cursor the stream starts at the newest
  committed id, still waiting for the newest missing ids below it.

A subscriber that falls behind is dropped by the bus; the stream then ends with
:class:`StreamEnd` (`dropped=True`) and the client resumes with its cursor.

Authorization (issue 6) is checked when a stream is opened, before the transport sends a
byte: `instance:read` or `instance:read_own`. An instance stream of an instance outside the
caller's scope answers NotFoundError like a missing one. The global stream (backlog and live
part alike) carries only the caller's tenant's events (admins: every tenant unless one is
named) and, for `instance:read_own` callers, only events of instances they started.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, fields, replace
from typing import Any

from workflow_engine.bus import EventBus, EventFilter, LiveEvent, SubscriptionDroppedError
from workflow_engine.services.access import (
    InstanceScope,
    instance_scope,
    object_scope,
    require_instance_read,
)
from workflow_engine.services.errors import InvalidArgumentError, NotFoundError
from workflow_engine.services.global_cursor import MAX_OPEN_GAPS, GapTracker, GlobalCursor
from workflow_engine.services.masking import Sensitive, VariableMasker
from workflow_engine.store.database import Database
from workflow_engine.store.live_events import InstanceProgress, LiveEventReader
from workflow_engine.store.tables import ENDED_INSTANCE_STATUSES, INSTANCE_STATUSES

__all__ = ["GlobalEvent", "Heartbeat", "LiveStatusService", "StreamEnd", "StreamItem"]

#: Instances whose sensitive variables one global stream remembers.
_MASK_CACHE = 1000

#: Rows read from the database per backlog query.
_BACKLOG_PAGE = 500
#: Row ids (every instance's) per page of the global backlog.
_BACKLOG_IDS = 5000
#: Open ids re-read per query.
_GAP_CHUNK = 1000
#: A new gap is re-read this soon (or at the next heartbeat, if that is sooner).
_GAP_RECHECK_SECONDS = 1.0
#: How many ids below its start a live-only global stream still waits for.
_LIVE_TAIL = 1000
#: Default of `LiveStatusService(gap_grace_seconds=...)`.
DEFAULT_GAP_GRACE_SECONDS = 30.0
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


@dataclass(frozen=True, slots=True)
class GlobalEvent(LiveEvent):
    """An event of the global stream with the cursor to resume from after it.

    The cursor is not part of the event's JSON (:meth:`to_dict`); SSE sends it as the id.
    """

    cursor: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The event as a JSON-able dict, without the cursor."""
        body = LiveEvent.to_dict(self)
        body.pop("cursor", None)
        return body


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
        gap_grace_seconds: How long the global stream waits for a missing row id before it
            takes it as absent (longer than any event-writing transaction may stay open).
    """

    def __init__(
        self,
        *,
        database: Database,
        bus: EventBus,
        heartbeat_seconds: float,
        queue_size: int,
        masker: VariableMasker | None = None,
        gap_grace_seconds: float = DEFAULT_GAP_GRACE_SECONDS,
    ) -> None:
        self._db = database
        self._gap_grace = gap_grace_seconds
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
        self,
        event_filter: EventFilter,
        *,
        after_id: int | None = None,
        cursor: str | None = None,
    ) -> AsyncGenerator[StreamItem, None]:
        """Every instance's events matching `event_filter`: after the cursor, then live.

        Without a cursor only events committed from now on are sent. Events come as
        :class:`GlobalEvent`, each with the cursor to resume from after it. Checks the request
        now and returns the stream to iterate. The filter's tenant is narrowed to what the
        caller may see.

        Args:
            event_filter: Which events.
            after_id: Resume after this row id (a cursor without open ids).
            cursor: Resume from a cursor this stream sent (`GlobalEvent.cursor`); wins over
                `after_id`.

        Raises:
            PermissionDeniedError: without instance read permission; a non-admin naming
                another tenant.
            InvalidArgumentError: a malformed or negative cursor, or an unknown status.
        """
        scope = instance_scope(event_filter.tenant_id)
        event_filter = replace(event_filter, tenant_id=scope.tenant_id)
        start: GlobalCursor | None = None
        if cursor is not None:
            start = GlobalCursor.parse(cursor)
        elif after_id is not None:
            if after_id < 0:
                raise InvalidArgumentError(
                    f"last_event_id must be an event id (0 or more), got {after_id}"
                )
            start = GlobalCursor(high=after_id)
        unknown = sorted(set(event_filter.statuses) - set(INSTANCE_STATUSES))
        if unknown:
            raise InvalidArgumentError(
                f"status must be among {', '.join(INSTANCE_STATUSES)}; got {', '.join(unknown)}"
            )
        return self._masked(self._global_stream(event_filter, start, scope.started_by))

    async def _global_stream(
        self, event_filter: EventFilter, start: GlobalCursor | None, started_by: str | None
    ) -> AsyncGenerator[StreamItem, None]:
        subscription = self._bus.subscribe(event_filter, max_queue=self._queue_size)
        # Ids the filter leaves out are accounted for without a query (see global_cursor).
        subscription.record_passed_ids(MAX_OPEN_GAPS)
        # Live events do not say who started their instance: read-own streams look it up
        # once per instance (a starter never changes).
        starters: OrderedDict[str, str | None] = OrderedDict()
        reads = _GlobalReads(self._db, event_filter, started_by)
        async with subscription:
            if start is None:
                tracker = await self._live_start(reads)
            else:
                tracker = GapTracker(start, grace_seconds=self._gap_grace)
                async for event in reads.backlog(tracker):
                    yield event
            recheck = min(self._heartbeat, _GAP_RECHECK_SECONDS)
            loop = asyncio.get_running_loop()
            idle_since = loop.time()
            check_at: float | None = None
            catch_up = False
            checked_through = -1  # the newest open id the last re-read covered
            while True:
                for passed in subscription.take_passed_ids():
                    tracker.take(passed)
                tracker.expire()
                gaps = tracker.open_gaps
                now = loop.time()
                if catch_up:
                    # Also rows past the newest id seen: a publish lost after its commit.
                    async for event in reads.backlog(tracker):
                        yield event
                        idle_since = loop.time()
                    catch_up = False
                    checked_through = gaps[-1] if gaps else -1
                    check_at = None
                    gaps = tracker.open_gaps
                elif gaps and check_at is not None and now >= check_at:
                    for event in await reads.fill_gaps(tracker):
                        yield event
                        idle_since = loop.time()
                    checked_through = gaps[-1]
                    check_at = None
                    gaps = tracker.open_gaps
                now = loop.time()  # the reads above may have taken a while
                if gaps and gaps[-1] > checked_through and check_at is None:
                    check_at = now + recheck  # a new gap: look again shortly
                wait = idle_since + self._heartbeat - now
                if check_at is not None:
                    wait = min(wait, check_at - now)
                try:
                    live = await subscription.get(wait_seconds=max(wait, 0.0))
                except SubscriptionDroppedError as exc:
                    yield StreamEnd(reason=str(exc), dropped=True)
                    return
                if live is None:
                    now = loop.time()
                    if now - idle_since >= self._heartbeat:
                        yield Heartbeat()
                        idle_since = now
                        catch_up = True  # every heartbeat re-reads what is still open
                    continue
                if started_by is not None and not await self._started_by(
                    live.instance_id, started_by, starters
                ):
                    tracker.take(live.id)  # exists, not for this caller
                    continue
                if tracker.take(live.id):
                    yield _with_cursor(live, tracker.cursor())
                    idle_since = loop.time()

    async def _live_start(self, reads: _GlobalReads) -> GapTracker:
        """A tracker at the newest committed id, with the newest missing ids below it open.

        An id below the start that commits later is news for a live-only client too.
        """
        top, present = await reads.tail(_LIVE_TAIL)
        tracker = GapTracker(
            GlobalCursor(high=max(0, top - _LIVE_TAIL)), grace_seconds=self._gap_grace
        )
        tracker.advance(top, set(present))
        return tracker

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


def _with_cursor(event: LiveEvent, cursor: GlobalCursor) -> GlobalEvent:
    values = {f.name: getattr(event, f.name) for f in fields(LiveEvent)}
    return GlobalEvent(**values, cursor=str(cursor))


class _GlobalReads:
    """The global stream's database reads, with its filter (each in a short session)."""

    def __init__(self, database: Database, event_filter: EventFilter, started_by: str | None):
        self._db = database
        self._filters: dict[str, Any] = {
            "definition_key": event_filter.definition_key,
            "tenant_id": event_filter.tenant_id,
            "statuses": event_filter.statuses,
            "event_types": event_filter.event_types,
            "start_user_id": started_by,
        }

    async def tail(self, size: int) -> tuple[int, list[int]]:
        """The newest committed id and the ids that exist among the `size` ids up to it."""
        async with self._db.session() as session:
            reader = LiveEventReader(session)
            top = await reader.max_id()
            present = await reader.ids_after(max(0, top - size), through_id=top, limit=size)
        return top, present

    async def backlog(self, tracker: GapTracker) -> AsyncIterator[GlobalEvent]:
        """The events after the tracker's cursor, its open ids first; ids not found stay open.

        Pages by id over every instance's ids (the primary key only) and reads the rows
        that pass the filter within each page: ids between them that exist are accounted
        for, the rest may still commit.
        """
        for refound in await self.fill_gaps(tracker):
            yield refound
        while True:
            async with self._db.session() as session:
                reader = LiveEventReader(session)
                ids = await reader.ids_after(tracker.high, limit=_BACKLOG_IDS)
                if not ids:
                    return
                events = await reader.between_ids(tracker.high, ids[-1], **self._filters)
            # A row that committed between the two reads is present too.
            present = set(ids) | {row.id for row in events}
            for row in events:
                tracker.advance(row.id, present)
                yield _with_cursor(row, tracker.cursor())
            tracker.advance(ids[-1], present)
            if len(ids) < _BACKLOG_IDS:
                return

    async def fill_gaps(self, tracker: GapTracker) -> list[GlobalEvent]:
        """Re-read the open ids: rows found close them; those passing the filter come back.

        Two primary-key reads per chunk of open ids (which exist; which of those pass the
        filter), whatever the number of gaps.
        """
        found: list[LiveEvent] = []
        present: set[int] = set()
        gaps = tracker.open_gaps
        for first in range(0, len(gaps), _GAP_CHUNK):
            chunk = gaps[first : first + _GAP_CHUNK]
            async with self._db.session() as session:
                reader = LiveEventReader(session)
                exists = await reader.existing_ids(chunk)
                if exists:
                    found += await reader.by_ids(exists, **self._filters)
            present |= exists
        wanted = {event.id for event in found}
        # Those left out first: a cursor sent with an event must not list ids already closed.
        for gap in present - wanted:
            tracker.take(gap)
        sent: list[GlobalEvent] = []
        for event in found:
            if tracker.take(event.id):
                sent.append(_with_cursor(event, tracker.cursor()))
        return sent
