"""pytest plugin: one Temporal dev server for the whole test session.

Loaded by tests/conftest.py through `pytest_plugins`. The server runs in memory, headless, on
a free port, so tests never touch a developer's own server on 7233 and leave nothing behind.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest_asyncio
from temporalio.client import Client

from workflow_engine.engine.devserver import TemporalDevServer

__all__ = ["free_port", "temporal_client", "temporal_server"]


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on `host` that nothing listens on right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def temporal_server() -> AsyncIterator[TemporalDevServer]:
    """A running in-memory, headless Temporal dev server shared by the session."""
    server = TemporalDevServer(port=free_port(), headless=True, db_file=None)
    await server.start(timeout=120)
    try:
        yield server
    finally:
        await server.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def temporal_client(temporal_server: TemporalDevServer) -> Client:
    """A client of `temporal_server`, in its namespace."""
    return await Client.connect(temporal_server.address, namespace=temporal_server.namespace)
