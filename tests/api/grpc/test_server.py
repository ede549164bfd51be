"""The gRPC server: binding, standard health and reflection, unexpected failures."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from workflow_engine.api.grpc.errors import INTERNAL_MESSAGE
from workflow_engine.api.grpc.generated import definitions_pb2 as pb
from workflow_engine.api.grpc.generated.definitions_pb2_grpc import DefinitionServiceStub
from workflow_engine.api.grpc.server import start_grpc_server
from workflow_engine.config import load_settings
from workflow_engine.services.container import Services, build_services

from .conftest import free_port

DEFINITION_SERVICE = "workflow_engine.v1.DefinitionService"


async def _check(channel: grpc.aio.Channel, service: str = "") -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    response = await stub.Check(health_pb2.HealthCheckRequest(service=service))
    status: int = response.status
    return status


async def test_health_serves_while_ready(channel: grpc.aio.Channel) -> None:
    assert await _check(channel) == health_pb2.HealthCheckResponse.SERVING
    assert await _check(channel, DEFINITION_SERVICE) == health_pb2.HealthCheckResponse.SERVING
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await _check(channel, "no.such.Service")
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


async def test_reflection_lists_and_describes_the_services(channel: grpc.aio.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    requests = [
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol=DEFINITION_SERVICE),
    ]
    responses = [r async for r in stub.ServerReflectionInfo(iter(requests))]
    listed = {s.name for s in responses[0].list_services_response.service}
    assert {DEFINITION_SERVICE, "grpc.health.v1.Health"} <= listed
    files = responses[1].file_descriptor_response.file_descriptor_proto
    assert files, responses[1]


async def test_a_taken_port_is_an_os_error(services: Services) -> None:
    port = free_port()
    first = await start_grpc_server(services, host="127.0.0.1", port=port)
    try:
        with pytest.raises(OSError, match=f"127.0.0.1:{port}"):
            await start_grpc_server(services, host="127.0.0.1", port=port)
    finally:
        await first.stop(None)


async def test_unexpected_failures_are_internal_without_internals(tmp_path: Path) -> None:
    # A real database without the schema: every query fails inside SQLAlchemy.
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'bare.db'}", data_dir=tmp_path)
    services = await build_services(settings)
    port = free_port()
    server = await start_grpc_server(services, host="127.0.0.1", port=port)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = DefinitionServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await stub.GetDefinition(pb.GetDefinitionRequest(id=1))
            assert info.value.code() == grpc.StatusCode.INTERNAL
            assert info.value.details() == INTERNAL_MESSAGE
            assert "table" not in (info.value.debug_error_string() or "")
            # The server survives and keeps answering.
            assert await _check(channel) == health_pb2.HealthCheckResponse.SERVING
    finally:
        await server.stop(None)
        await services.aclose()


def _unused_socket_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.postgres
async def test_health_is_not_serving_without_the_database(tmp_path: Path) -> None:
    missing = f"postgresql://postgres@127.0.0.1:5432/wfe_missing_{uuid.uuid4().hex[:8]}"
    settings = load_settings(database_url=missing, data_dir=tmp_path)
    services = await build_services(settings)
    port = free_port()
    server = await start_grpc_server(services, host="127.0.0.1", port=port)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            assert await _check(channel) == health_pb2.HealthCheckResponse.NOT_SERVING
            status = await _check(channel, DEFINITION_SERVICE)
            assert status == health_pb2.HealthCheckResponse.NOT_SERVING
    finally:
        await server.stop(None)
        await services.aclose()
    assert _unused_socket_is_free(port)
