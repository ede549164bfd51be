"""Serving REST and gRPC over one set of services until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator

import structlog
import uvicorn

from workflow_engine.api.grpc.server import start_grpc_server
from workflow_engine.api.rest.app import create_app
from workflow_engine.services.container import Services

_log = structlog.get_logger(__name__)


class _EmbeddedUvicorn(uvicorn.Server):
    """uvicorn without its own signal handling: the caller owns shutdown of every part."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_api(
    services: Services, *, stop: asyncio.Event, on_started: Callable[[], None] | None = None
) -> None:
    """Serve REST (uvicorn) and gRPC until `stop` is set or the HTTP server fails.

    Readiness gains a `grpc` check that fails once shutdown begins, so load balancers drain
    this replica before it goes away.
    """
    settings = services.settings
    grpc_server = await start_grpc_server(
        services, host=settings.http_host, port=settings.grpc_port
    )

    async def grpc_ready() -> None:
        if stop.is_set():
            raise ConnectionError("shutting down")

    services.health.register("grpc", grpc_ready)
    config = uvicorn.Config(
        create_app(services),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        lifespan="off",
    )
    http = _EmbeddedUvicorn(config)
    serving = asyncio.create_task(http.serve())
    try:
        # uvicorn exposes start-up only as a flag, so poll it briefly.
        while not http.started and not serving.done():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        if serving.done():
            serving.result()  # re-raise why uvicorn could not start
            raise RuntimeError("the HTTP server stopped during start-up")
        if on_started is not None:
            on_started()
        stop_wait = asyncio.create_task(stop.wait())
        await asyncio.wait({serving, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
        stop_wait.cancel()
    finally:
        stop.set()
        http.should_exit = True
        await asyncio.gather(serving, return_exceptions=True)
        await grpc_server.stop(5)
        _log.info("api_stopped")
