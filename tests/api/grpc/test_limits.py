"""gRPC rate limiting: RESOURCE_EXHAUSTED with RetryInfo, one budget shared with REST."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import httpx
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc  # type: ignore[import-untyped]
from grpc_status import rpc_status

from tests.api.grpc.conftest import free_port
from workflow_engine.api.grpc.generated import definitions_pb2 as pb
from workflow_engine.api.grpc.generated.definitions_pb2_grpc import DefinitionServiceStub
from workflow_engine.api.grpc.limits import peer_ip
from workflow_engine.api.grpc.server import start_grpc_server
from workflow_engine.api.rest.app import create_app
from workflow_engine.config import load_settings
from workflow_engine.services.container import Services, build_services


@pytest.fixture
async def limited(db_url: str, tmp_path: Path) -> AsyncIterator[tuple[Services, grpc.aio.Channel]]:
    settings = load_settings(
        database_url=db_url, data_dir=tmp_path, rate_limit_per_minute=60, rate_limit_burst=3
    )
    services = await build_services(settings)
    port = free_port()
    server = await start_grpc_server(services, host="127.0.0.1", port=port)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield services, channel
    finally:
        await server.stop(None)
        await services.aclose()


async def test_calls_over_the_budget_are_resource_exhausted(
    limited: tuple[Services, grpc.aio.Channel],
) -> None:
    _, channel = limited
    stub = DefinitionServiceStub(channel)
    for _ in range(3):
        await stub.ListDefinitions(pb.ListDefinitionsRequest())
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.ListDefinitions(pb.ListDefinitionsRequest())
    error = refused.value
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "60 per minute" in (error.details() or "")
    status = rpc_status.from_call(error)
    assert status is not None
    reasons, delays = [], []
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        retry = error_details_pb2.RetryInfo()
        if detail.Unpack(info):
            reasons.append(info.reason)
        elif detail.Unpack(retry):
            delays.append(retry.retry_delay.seconds)
    assert reasons == ["RATE_LIMITED"]
    assert delays and 1 <= delays[0] <= 2
    # Health is never limited.
    health = health_pb2_grpc.HealthStub(channel)
    for _ in range(5):
        answer = await health.Check(health_pb2.HealthCheckRequest())
        assert answer.status == health_pb2.HealthCheckResponse.SERVING


async def test_rest_and_grpc_share_one_budget(limited: tuple[Services, grpc.aio.Channel]) -> None:
    services, channel = limited
    transport = httpx.ASGITransport(app=create_app(services), client=("127.0.0.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for _ in range(2):
            assert (await client.get("/api/v1/definitions")).status_code == 200
        stub = DefinitionServiceStub(channel)
        await stub.ListDefinitions(pb.ListDefinitionsRequest())
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.ListDefinitions(pb.ListDefinitionsRequest())
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert (await client.get("/api/v1/definitions")).status_code == 429


@pytest.mark.parametrize(
    ("peer", "ip"),
    [
        ("ipv4:127.0.0.1:50111", "127.0.0.1"),
        ("ipv6:[::1]:50111", "::1"),
        ("unix:/tmp/sock", "unix:/tmp/sock"),
        ("", None),
    ],
)
def test_peer_ip(peer: str, ip: str | None) -> None:
    assert peer_ip(peer) == ip
