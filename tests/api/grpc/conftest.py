"""A real grpc.aio server over real services (SQLite and PostgreSQL) and a real client stub."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from workflow_engine.api.grpc.generated.definitions_pb2_grpc import DefinitionServiceStub
from workflow_engine.api.grpc.server import start_grpc_server
from workflow_engine.config import load_settings
from workflow_engine.services.container import Services, build_services

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "user-registration.json"
#: Small limit so the size tests stay cheap.
MAX_DEFINITION_BYTES = 200_000


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
async def services(db_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    settings = load_settings(
        database_url=db_url, data_dir=tmp_path, max_definition_bytes=MAX_DEFINITION_BYTES
    )
    built = await build_services(settings)
    try:
        yield built
    finally:
        await built.aclose()


@pytest.fixture
async def channel(services: Services) -> AsyncIterator[grpc.aio.Channel]:
    port = free_port()
    server = await start_grpc_server(services, host="127.0.0.1", port=port)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as chan:
            yield chan
    finally:
        await server.stop(None)


@pytest.fixture
def stub(channel: grpc.aio.Channel) -> DefinitionServiceStub:
    return DefinitionServiceStub(channel)


@pytest.fixture
def seed_bytes() -> bytes:
    return EXAMPLE.read_bytes()


@pytest.fixture
async def live_channel(live_services: Services) -> AsyncIterator[grpc.aio.Channel]:
    """A channel to a server over services whose instances run on the real interpreter."""
    port = free_port()
    server = await start_grpc_server(live_services, host="127.0.0.1", port=port)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as chan:
            yield chan
    finally:
        await server.stop(None)
