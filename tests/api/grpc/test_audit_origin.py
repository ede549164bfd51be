"""gRPC calls reach the audit log with their origin: peer address, user agent, request id."""

from __future__ import annotations

import grpc

from workflow_engine.api.grpc.generated import definitions_pb2 as pb
from workflow_engine.api.grpc.generated.definitions_pb2_grpc import DefinitionServiceStub
from workflow_engine.security import Principal, acting_as
from workflow_engine.services.container import Services
from workflow_engine.store.audit import AuditFilters


async def test_grpc_deploy_is_audited_with_its_origin(
    stub: DefinitionServiceStub, services: Services, seed_bytes: bytes
) -> None:
    metadata = (("x-request-id", "grpc-req-7"),)
    deployed = await stub.DeployDefinition(
        pb.DeployDefinitionRequest(content=seed_bytes, format=pb.FORMAT_JSON), metadata=metadata
    )
    with acting_as(Principal(user_id="root", roles=frozenset({"admin"}))):
        page = await services.audit.list(AuditFilters())
    [entry] = page.items
    assert (entry.action, entry.resource_id) == ("definition.deploy", str(deployed.definition.id))
    assert entry.transport == "grpc"
    assert entry.request_id == "grpc-req-7"
    # grpc.aio peers read like `ipv4:127.0.0.1:53412`; clients send their own user agent.
    assert entry.client_address is not None and "127.0.0.1" in entry.client_address
    assert entry.user_agent is not None and "grpc" in entry.user_agent.lower()


async def test_grpc_reads_leave_no_entry(
    stub: DefinitionServiceStub, services: Services, channel: grpc.aio.Channel
) -> None:
    listed = await stub.ListDefinitions(pb.ListDefinitionsRequest())
    assert list(listed.items) == []
    with acting_as(Principal(user_id="root", roles=frozenset({"admin"}))):
        assert (await services.audit.list(AuditFilters())).items == []
