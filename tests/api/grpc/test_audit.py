"""`workflow_engine.v1.AuditService` over a real server and real services (both databases):
the entries, filters, page tokens and errors of REST `GET /api/v1/audit`; with auth on, only
`audit:read` reads and a non-admin stays in their tenant."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
from google.protobuf import json_format
from google.protobuf.timestamp_pb2 import Timestamp

from tests.api.grpc.auth_support import auth_server, bearer
from tests.api.grpc.support import refused
from workflow_engine.api.grpc.generated import audit_pb2 as pb
from workflow_engine.api.grpc.generated import definitions_pb2 as dpb
from workflow_engine.api.grpc.generated.audit_pb2_grpc import AuditServiceStub
from workflow_engine.api.grpc.generated.definitions_pb2_grpc import DefinitionServiceStub


async def _deploy_suspend_activate(stub: DefinitionServiceStub, seed: bytes, **kw: object) -> int:
    deployed = await stub.DeployDefinition(
        dpb.DeployDefinitionRequest(content=seed, format=dpb.FORMAT_JSON), **kw
    )
    definition_id = deployed.definition.id
    await stub.SuspendDefinition(dpb.SuspendDefinitionRequest(id=definition_id), **kw)
    await stub.ActivateDefinition(dpb.ActivateDefinitionRequest(id=definition_id), **kw)
    return definition_id


async def test_entries_newest_first_with_their_origin(
    stub: DefinitionServiceStub, channel: grpc.aio.Channel, seed_bytes: bytes
) -> None:
    metadata = (("x-request-id", "g1-req-1"),)
    definition_id = await _deploy_suspend_activate(stub, seed_bytes, metadata=metadata)
    # Reads are not audited.
    await stub.GetDefinition(dpb.GetDefinitionRequest(id=definition_id))

    page = await AuditServiceStub(channel).ListAuditEntries(pb.ListAuditEntriesRequest())
    assert page.next_page_token == ""
    assert [e.action for e in page.items] == [
        "definition.activate",
        "definition.suspend",
        "definition.deploy",
    ]
    deploy = page.items[-1]
    # Auth off: the system principal acts (no user id, like REST's null).
    assert not deploy.actor.HasField("user_id")
    assert (deploy.actor.kind, list(deploy.actor.roles)) == ("system", ["admin"])
    assert (deploy.resource_type, deploy.resource_id) == ("definition", str(definition_id))
    assert (deploy.tenant_id, deploy.outcome) == ("default", "success")
    assert json_format.MessageToDict(deploy.details)["key"] == "userRegistration"
    assert (deploy.origin.transport, deploy.origin.request_id) == ("grpc", "g1-req-1")
    assert "127.0.0.1" in deploy.origin.client
    assert "grpc" in deploy.origin.user_agent.lower()
    assert deploy.occurred_at.seconds > 0
    ids = [e.id for e in page.items]
    assert ids == sorted(ids, reverse=True)


async def test_filters_and_page_tokens(
    stub: DefinitionServiceStub, channel: grpc.aio.Channel, seed_bytes: bytes
) -> None:
    definition_id = await _deploy_suspend_activate(stub, seed_bytes)
    await stub.SuspendDefinition(dpb.SuspendDefinitionRequest(id=definition_id))
    await stub.ActivateDefinition(dpb.ActivateDefinitionRequest(id=definition_id))
    audit = AuditServiceStub(channel)

    async def listed(**filters: object) -> list[pb.AuditEntry]:
        page = await audit.ListAuditEntries(pb.ListAuditEntriesRequest(**filters))
        return list(page.items)

    assert [e.action for e in await listed(action="definition.suspend")] == [
        "definition.suspend"
    ] * 2
    assert len(await listed(resource_type="definition", resource_id=str(definition_id))) == 5
    assert await listed(resource_id="nope") == []
    assert len(await listed(tenant_id="default")) == 5
    assert await listed(outcome="denied") == []
    assert await listed(actor="somebody") == []
    everything = await listed()
    newest, oldest = everything[0], everything[-1]
    # Both bounds are inclusive.
    assert [e.id for e in await listed(occurred_after=newest.occurred_at)] == [newest.id]
    assert [e.id for e in await listed(occurred_before=oldest.occurred_at)] == [oldest.id]

    seen: list[int] = []
    page = await audit.ListAuditEntries(pb.ListAuditEntriesRequest(page_size=2))
    while True:
        seen += [e.id for e in page.items]
        if not page.next_page_token:
            break
        page = await audit.ListAuditEntries(
            pb.ListAuditEntriesRequest(page_size=2, page_token=page.next_page_token)
        )
    assert seen == sorted(seen, reverse=True) and len(seen) == 5


async def test_bad_requests_are_invalid_argument_naming_the_field(
    channel: grpc.aio.Channel,
) -> None:
    audit = AuditServiceStub(channel)
    cases = {
        "outcome must be one of success, denied": pb.ListAuditEntriesRequest(outcome="maybe"),
        "page_size": pb.ListAuditEntriesRequest(page_size=5000),
        "page_token": pb.ListAuditEntriesRequest(page_token="garbage!"),
        "occurred_after must not be later than occurred_before": pb.ListAuditEntriesRequest(
            occurred_after=Timestamp(seconds=2_000_000_000),
            occurred_before=Timestamp(seconds=1_000_000_000),
        ),
    }
    for fragment, request in cases.items():
        refusal = await refused(audit.ListAuditEntries(request))
        assert refusal.code == grpc.StatusCode.INVALID_ARGUMENT, fragment
        assert refusal.reason == "INVALID_ARGUMENT"
        assert fragment in refusal.message, (fragment, refusal.message)


def _seed_in(tenant: str, seed: bytes) -> bytes:
    document = json.loads(seed)
    document["process"]["tenant_id"] = tenant
    return json.dumps(document).encode()


async def test_with_auth_only_audit_read_reads(
    db_url: str, tmp_path: Path, seed_bytes: bytes
) -> None:
    async with auth_server(db_url, tmp_path) as running:
        definitions = DefinitionServiceStub(running.channel)
        audit = AuditServiceStub(running.channel)
        modeler = bearer("mia", ["modeler"], "acme")
        deployed = await definitions.DeployDefinition(
            dpb.DeployDefinitionRequest(
                content=_seed_in("acme", seed_bytes), format=dpb.FORMAT_JSON
            ),
            metadata=modeler,
        )
        denied = await refused(
            definitions.DeleteDefinition(
                dpb.DeleteDefinitionRequest(id=deployed.definition.id),
                metadata=bearer("ursula", ["user"], "acme"),
            )
        )
        assert denied.code == grpc.StatusCode.PERMISSION_DENIED

        for who in (modeler, bearer("olga", ["operator"], "acme")):
            forbidden = await refused(
                audit.ListAuditEntries(pb.ListAuditEntriesRequest(), metadata=who)
            )
            assert forbidden.code == grpc.StatusCode.PERMISSION_DENIED
            assert "audit:read" in forbidden.message
        anonymous = await refused(audit.ListAuditEntries(pb.ListAuditEntriesRequest()))
        assert anonymous.code == grpc.StatusCode.UNAUTHENTICATED

        admin = bearer("root", ["admin"], "hq")
        page = await audit.ListAuditEntries(pb.ListAuditEntriesRequest(), metadata=admin)
        assert [(e.action, e.outcome, e.actor.user_id) for e in page.items] == [
            ("definition.delete", "denied", "ursula"),
            ("definition.deploy", "success", "mia"),
        ]
        deploy = page.items[1]
        assert (deploy.actor.kind, list(deploy.actor.roles)) == ("user", ["modeler"])
        assert deploy.tenant_id == "acme"
        assert json_format.MessageToDict(page.items[0].details)["permission"] == (
            "definition:delete"
        )
        # An admin sees every tenant, or the one it names.
        other = await audit.ListAuditEntries(
            pb.ListAuditEntriesRequest(tenant_id="globex"), metadata=admin
        )
        assert list(other.items) == []
