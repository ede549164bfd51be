"""A gRPC server with authentication on (HS256 secret), its services, and real tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc

from tests.api.grpc.conftest import free_port
from workflow_engine.api.grpc.server import start_grpc_server
from workflow_engine.config import load_settings
from workflow_engine.security.tokens import mint_token
from workflow_engine.services.container import Services, build_services

SECRET = "g1-grpc-read-surfaces-secret-0123456789abcdef"


@dataclass
class AuthServer:
    """Services with auth on and a channel to a gRPC server over them."""

    services: Services
    channel: grpc.aio.Channel


@asynccontextmanager
async def auth_server(db_url: str, tmp_path: Path) -> AsyncIterator[AuthServer]:
    """Start services (auth on, `SECRET`) and a gRPC server; yield both with a channel."""
    settings = load_settings(
        database_url=db_url, data_dir=tmp_path, auth_enabled=True, auth_jwt_secret=SECRET
    )
    services = await build_services(settings)
    port = free_port()
    server = await start_grpc_server(services, host="127.0.0.1", port=port)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield AuthServer(services, channel)
    finally:
        await server.stop(None)
        await services.aclose()


def bearer(
    user: str, roles: Iterable[str], tenant: str | None = None, groups: Iterable[str] = ()
) -> tuple[tuple[str, str], ...]:
    """Call metadata carrying a real token of `SECRET`."""
    token = mint_token(secret=SECRET, user_id=user, roles=roles, tenant_id=tenant, groups=groups)
    return (("authorization", f"Bearer {token}"),)
