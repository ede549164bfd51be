"""Live status as Server-Sent Events: thin HTTP over `LiveStatusService` (DESIGN §5).

`GET /api/v1/instances/{id}/stream` (cursor `id:` = event sequence; ends with `event: end`
once the instance has ended) and `GET /api/v1/stream` (filters `definition_key`, `tenant_id`,
`status`, `type`; cursor `id:` = an opaque token, `1234` or `1234~1200,1201`: the highest
event row id accounted for and the ids still open, see `services.global_cursor`; a plain row
id is accepted). Each event is one `data:` line of JSON (the
`LiveEvent` fields). Resume with the `Last-Event-ID` header (browsers send it on reconnect) or
`?last_event_id=`. An idle stream gets a `: ping` comment every heartbeat; a client too slow
to keep up gets `event: dropped` and the connection closes — it reconnects and resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from workflow_engine.api.rest.deps import ServicesDep
from workflow_engine.api.rest.params import OptionalNonNegativeQuery
from workflow_engine.bus import EventFilter, LiveEvent
from workflow_engine.services.errors import InvalidArgumentError
from workflow_engine.services.live import GlobalEvent, Heartbeat, StreamEnd, StreamItem

router = APIRouter(tags=["live"])

#: How long a browser waits before reconnecting (SSE `retry:`), in milliseconds.
RETRY_MILLISECONDS = 2000

_SSE_HEADERS = {
    "Cache-Control": "no-cache",
    # Proxies (nginx) must pass each event on at once instead of buffering the response.
    "X-Accel-Buffering": "no",
}


class EventStreamResponse(StreamingResponse):
    """A `text/event-stream` response that notices a client leaving at once.

    Starlette detects a disconnect only on the next write under newer ASGI servers; watching
    `receive` as well releases the stream's bus subscription without waiting for a heartbeat.
    """

    def __init__(self, content: AsyncIterator[str]) -> None:
        super().__init__(content, media_type="text/event-stream", headers=_SSE_HEADERS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Stream until the content ends or the client disconnects, whichever is first."""
        streaming = asyncio.create_task(self.stream_response(send))
        watching = asyncio.create_task(self.listen_for_disconnect(receive))
        try:
            done, _ = await asyncio.wait({streaming, watching}, return_when="FIRST_COMPLETED")
        finally:
            for task in (streaming, watching):
                task.cancel()
            results = await asyncio.gather(streaming, watching, return_exceptions=True)
        if streaming in done:
            error = results[0]
            # A client gone mid-write is the ordinary end of a stream, not an error.
            if isinstance(error, BaseException) and not isinstance(
                error, OSError | asyncio.CancelledError
            ):
                raise error


def _cursor(header: str | None, query: int | None) -> int | None:
    """The resume cursor: `?last_event_id=` wins over the `Last-Event-ID` header."""
    if query is not None:
        return query
    if header is None or not header.strip():
        return None
    try:
        value = int(header.strip())
    except ValueError:
        raise InvalidArgumentError(
            f"Last-Event-ID must be an event id from this stream (an integer), got {header!r}"
        ) from None
    if value < 0:
        raise InvalidArgumentError(f"Last-Event-ID must be 0 or more, got {value}")
    return value


def _message(event: LiveEvent, cursor: str) -> str:
    return f"id: {cursor}\ndata: {json.dumps(event.to_dict(), separators=(',', ':'))}\n\n"


async def _sse(
    items: AsyncGenerator[StreamItem, None], *, per_instance: bool
) -> AsyncIterator[str]:
    yield f"retry: {RETRY_MILLISECONDS}\n: connected\n\n"
    try:
        async for item in items:
            if isinstance(item, Heartbeat):
                yield ": ping\n\n"
            elif isinstance(item, StreamEnd):
                kind = "dropped" if item.dropped else "end"
                yield f"event: {kind}\ndata: {json.dumps({'reason': item.reason})}\n\n"
                return
            elif per_instance:
                yield _message(item, str(item.sequence))
            else:
                yield _message(item, item.cursor if isinstance(item, GlobalEvent) else str(item.id))
    finally:
        # Release the bus subscription now, not when the generator is collected.
        with contextlib.suppress(Exception):
            await items.aclose()


LastEventIdHeader = Annotated[str | None, Header(alias="Last-Event-ID")]
LastEventIdQuery = OptionalNonNegativeQuery


@router.get(
    "/api/v1/instances/{instance_id}/stream", response_class=EventStreamResponse, status_code=200
)
async def stream_instance(
    instance_id: str,
    services: ServicesDep,
    last_event_id_header: LastEventIdHeader = None,
    last_event_id: LastEventIdQuery = None,
) -> EventStreamResponse:
    """The instance's events as SSE: the log after the cursor, then live, until it ends.

    404 (a JSON error, before any stream starts) when the instance does not exist.
    """
    after = _cursor(last_event_id_header, last_event_id) or 0
    items = await services.live.instance_stream(instance_id, after_sequence=after)
    return EventStreamResponse(_sse(items, per_instance=True))


@router.get("/api/v1/stream", response_class=EventStreamResponse, status_code=200)
async def stream_all(
    services: ServicesDep,
    definition_key: str | None = None,
    tenant_id: str | None = None,
    status: Annotated[list[str] | None, Query()] = None,
    event_type: Annotated[list[str] | None, Query(alias="type")] = None,
    last_event_id_header: LastEventIdHeader = None,
    last_event_id: Annotated[str | None, Query(max_length=2000)] = None,
) -> EventStreamResponse:
    """Every instance's events as SSE, filtered; with a cursor, the log after it first.

    `status` and `type` may repeat or hold comma-separated values. The cursor is the `id:`
    of the last event received (`?last_event_id=` wins over `Last-Event-ID`).
    """
    event_filter = EventFilter(
        definition_key=definition_key or None,
        tenant_id=tenant_id,
        statuses=_values(status),
        event_types=_values(event_type),
    )
    cursor = last_event_id if last_event_id is not None else last_event_id_header
    if cursor is not None and not cursor.strip():
        cursor = None
    items = await services.live.global_stream(event_filter, cursor=cursor)
    return EventStreamResponse(_sse(items, per_instance=False))


def _values(raw: list[str] | None) -> frozenset[str]:
    return frozenset(v.strip() for item in raw or () for v in item.split(",") if v.strip())
