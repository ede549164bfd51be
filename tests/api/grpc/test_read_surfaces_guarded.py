"""The read surfaces gRPC gained (stats, audit, identity, diagrams) sit behind the same
interceptors as every application service (both guard exactly `SERVICE_NAMES`): no token is
UNAUTHENTICATED, and one budget per client is shared with the other services."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from tests.api.grpc.auth_support import auth_server
from tests.api.grpc.conftest import free_port
from tests.api.grpc.support import refused
from workflow_engine.api.grpc.generated import audit_pb2, identity_pb2, stats_pb2
from workflow_engine.api.grpc.generated import definitions_pb2 as dpb
from workflow_engine.api.grpc.generated import execution_pb2 as epb
from workflow_engine.api.grpc.generated.audit_pb2_grpc import AuditServiceStub
from workflow_engine.api.grpc.generated.definitions_pb2_grpc import DefinitionServiceStub
from workflow_engine.api.grpc.generated.execution_pb2_grpc import ExecutionServiceStub
from workflow_engine.api.grpc.generated.identity_pb2_grpc import IdentityServiceStub
from workflow_engine.api.grpc.generated.stats_pb2_grpc import StatsServiceStub
from workflow_engine.api.grpc.server import SERVICE_NAMES, start_grpc_server
from workflow_engine.config import load_settings
from workflow_engine.services.container import build_services

Call = Callable[[grpc.aio.Channel], Awaitable[Any]]

CALLS: dict[str, Call] = {
    "GetStats": lambda ch: StatsServiceStub(ch).GetStats(stats_pb2.GetStatsRequest()),
    "ListAuditEntries": lambda ch: AuditServiceStub(ch).ListAuditEntries(
        audit_pb2.ListAuditEntriesRequest()
    ),
    "WhoAmI": lambda ch: IdentityServiceStub(ch).WhoAmI(identity_pb2.WhoAmIRequest()),
    "GetDefinitionDiagram": lambda ch: DefinitionServiceStub(ch).GetDefinitionDiagram(
        dpb.GetDefinitionDiagramRequest(id=1)
    ),
    "GetInstanceDiagram": lambda ch: ExecutionServiceStub(ch).GetInstanceDiagram(
        epb.GetInstanceDiagramRequest(instance_id="x")
    ),
}


def test_the_new_services_are_application_services() -> None:
    assert {
        "workflow_engine.v1.StatsService",
        "workflow_engine.v1.AuditService",
        "workflow_engine.v1.IdentityService",
    } <= set(SERVICE_NAMES)


async def test_without_a_token_every_new_method_is_unauthenticated(
    db_url: str, tmp_path: Path
) -> None:
    async with auth_server(db_url, tmp_path) as running:
        for name, call in CALLS.items():
            refusal = await refused(call(running.channel))
            assert refusal.code == grpc.StatusCode.UNAUTHENTICATED, name
            assert refusal.reason == "UNAUTHENTICATED", name


@pytest.mark.parametrize("name", sorted(CALLS))
async def test_the_new_methods_take_from_the_clients_budget(
    db_url: str, tmp_path: Path, name: str
) -> None:
    settings = load_settings(
        database_url=db_url, data_dir=tmp_path, rate_limit_per_minute=60, rate_limit_burst=2
    )
    services = await build_services(settings)
    port = free_port()
    server = await start_grpc_server(services, host="127.0.0.1", port=port)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            definitions = DefinitionServiceStub(channel)
            await definitions.ListDefinitions(dpb.ListDefinitionsRequest())
            await definitions.ListDefinitions(dpb.ListDefinitionsRequest())
            refusal = await refused(CALLS[name](channel))
            assert refusal.code == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert refusal.reason == "RATE_LIMITED"
    finally:
        await server.stop(None)
        await services.aclose()
