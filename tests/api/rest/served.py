"""Serving an ASGI app with a real uvicorn on a free port, for tests that need a real socket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.types import ASGIApp

from tests.temporal_fixtures import free_port


@asynccontextmanager
async def served(app: ASGIApp, **config: object) -> AsyncIterator[str]:
    """Run `app` under uvicorn on 127.0.0.1 (a free port) and yield its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", **config
        )  # type: ignore[arg-type]
    )
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(500):
            if server.started:
                break
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
