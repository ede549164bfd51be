"""Test helpers for Server-Sent Events: a real HTTP server in the test's loop and a parser.

httpx's ASGI transport buffers a whole response, so streams are tested over a socket.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import uvicorn
from fastapi import FastAPI

from tests.temporal_fixtures import free_port


@dataclass(frozen=True, slots=True)
class SseMessage:
    """One dispatched SSE block: an event (with id / event / data) or a comment."""

    id: str | None = None
    event: str = "message"
    data: str | None = None
    comment: str | None = None


async def read_sse(response: httpx.Response) -> AsyncIterator[SseMessage]:
    """Parse a `text/event-stream` body into messages (comments yielded on their own)."""
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line.startswith(":"):
            yield SseMessage(comment=line[1:].strip())
        elif not line:
            if "data" in fields or "event" in fields or "id" in fields:
                yield SseMessage(
                    id=fields.get("id"),
                    event=fields.get("event", "message"),
                    data=fields.get("data"),
                )
            fields = {}
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            fields[name] = (
                f"{fields[name]}\n{value}" if name == "data" and name in fields else value
            )


class _QuietServer(uvicorn.Server):
    """uvicorn without signal handlers (pytest owns them)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """Serve `app` on a free port of 127.0.0.1; yields the base URL."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = _QuietServer(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
