"""The egress policy through real instances: the incident names the refusal; the tenant of the
instance (from the engine's own row) decides which allow-list applies."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from temporalio.client import Client

from tests.engine.activities.http_server import Served, serving
from tests.engine.harness import doc, el, engine, until
from workflow_engine.engine.activities.egress import (
    EGRESS_DENIED,
    EgressPolicy,
    instance_tenant_lookup,
    parse_rule,
)
from workflow_engine.engine.activities.http import HttpActivities
from workflow_engine.engine.contract import workflow_id
from workflow_engine.store.database import Database
from workflow_engine.store.instances import InstanceRepository

pytestmark = pytest.mark.temporal


@pytest.fixture
def server() -> Iterator[Served]:
    with serving() as served:
        yield served


def _definition(url: str) -> dict[str, object]:
    return doc(
        el("start", "startEvent", "call"),
        el(
            "call",
            "serviceTask",
            "end",
            config={
                "implementation": "http",
                "url": url,
                "retry_policy": {"max_attempts": 3, "initial_interval": "PT0.1S"},
                "output_mapping": {"status": "${status}"},
            },
        ),
        el("end", "endEvent"),
    )


async def test_a_refused_call_is_an_incident_naming_host_and_reason(
    temporal_client: Client, server: Served
) -> None:
    http = HttpActivities()  # the default policy
    try:
        async with engine(temporal_client, http.http) as eng:
            handle = await eng.start(_definition(f"http://localhost:{server.port}/echo"))
            snap = await until(handle, lambda s: s.status == "incident")
    finally:
        await http.aclose()
    incident = snap.incidents[0]
    assert incident.node_id == "call"
    assert incident.error_type == EGRESS_DENIED
    assert "localhost" in incident.message
    assert "loopback" in incident.message
    assert "not in the global allow-list" in incident.message
    assert server.hits == {}  # never reached, not even once, although 3 attempts were allowed


async def test_the_instance_tenant_decides(
    temporal_client: Client, server: Served, database: Database
) -> None:
    # Unique ids: the Temporal dev server is shared by the whole session (both databases).
    acme, globex = str(uuid.uuid4()), str(uuid.uuid4())
    async with database.session() as session:
        repository = InstanceRepository(session)
        for instance_id, tenant in ((acme, "acme"), (globex, "globex")):
            await repository.create(
                instance_id=instance_id,
                workflow_id=workflow_id(instance_id),
                definition_id=None,
                definition_key="p",
                definition_version=1,
                tenant_id=tenant,
            )
    http = HttpActivities(
        policy=EgressPolicy(allow_by_tenant={"acme": [parse_rule(f"127.0.0.1:{server.port}")]}),
        tenant_of=instance_tenant_lookup(database),
    )
    definition = _definition(f"{server.base}/echo")
    try:
        async with engine(temporal_client, http.http) as eng:
            allowed = await eng.start(definition, instance_id=acme)
            refused = await eng.start(definition, instance_id=globex)
            assert (await allowed.result()).variables["status"] == 200
            snap = await until(refused, lambda s: s.status == "incident")
    finally:
        await http.aclose()
    assert snap.incidents[0].error_type == EGRESS_DENIED
    assert "not in the allow-list of tenant 'globex'" in snap.incidents[0].message
    assert server.hits == {"/echo": 1}
