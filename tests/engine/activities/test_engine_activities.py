"""The engine's own activities: projection, instance registration, definitions, signals."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from tests.services.support import SEED_VARIABLES, deploy_seed, eventually
from tests.services.workflow_double import engine_services, received
from workflow_engine.engine.activities import definitions, runtime, signals
from workflow_engine.engine.activities.definitions import DefinitionActivities
from workflow_engine.engine.activities.runtime import RuntimeActivities
from workflow_engine.engine.contract import EngineEvent, RuntimeBatch, StartInstanceInput
from workflow_engine.engine.piggyback import batch_to_json
from workflow_engine.services.container import Services
from workflow_engine.store.instances import InstanceRepository
from workflow_engine.store.subscriptions import SubscriptionRepository

__all__ = ["engine_services"]


async def test_register_then_apply_then_refusals(engine_services: Services) -> None:
    services = engine_services
    env = ActivityEnvironment()
    acts = RuntimeActivities(services.database)
    start = StartInstanceInput(
        instance_id="child-1",
        definition_id=await deploy_seed(services),
        definition_key="userRegistration",
        definition_version=1,
        content_hash="h",
        document={},
        variables={"a": 1},
        parent_instance_id=None,
        initiator="bob",
        tenant_id="default",
    )
    assert await env.run(acts.register_instance, start) is True
    assert await env.run(acts.register_instance, start) is False
    batch = RuntimeBatch(
        instance_id="child-1",
        through_sequence=1,
        events=[EngineEvent(1, "process.started", "2026-11-30T10:00:00+00:00", "start")],
        active_node_ids=["start"],
    )
    assert await env.run(acts.apply_runtime_batch, batch) == 1
    assert await env.run(acts.apply_runtime_batch, batch) == 0
    # As it arrives from Temporal (the workflow sends the batch's JSON object): same effect.
    assert await env.run(acts.apply_runtime_batch, batch_to_json(batch)) == 0
    with pytest.raises(ApplicationError) as malformed:
        await env.run(acts.apply_runtime_batch, {"instance_id": "child-1"})
    assert malformed.value.type == "INVALID_BATCH" and malformed.value.non_retryable
    async with services.database.session() as session:
        row = await InstanceRepository(session).get("child-1")
        variables = await InstanceRepository(session).variables("child-1")
    assert row is not None and row.start_user_id == "bob" and row.last_sequence == 1
    assert variables == {"a": 1}
    with pytest.raises(ApplicationError) as missing:
        await env.run(acts.apply_runtime_batch, RuntimeBatch("ghost", 1))
    assert missing.value.type == "INSTANCE_MISSING" and missing.value.non_retryable
    with pytest.raises(ApplicationError) as invalid:
        await env.run(acts.apply_runtime_batch, RuntimeBatch("child-1", 2, status="weird"))
    assert invalid.value.type == "INVALID_BATCH" and invalid.value.non_retryable


async def test_resolve_definition(engine_services: Services) -> None:
    services = engine_services
    env = ActivityEnvironment()
    resolve = DefinitionActivities(services.database).resolve_definition
    definition_id = await deploy_seed(services)
    found = await env.run(resolve, {"key": "userRegistration", "tenant_id": "default"})
    assert found["definition_id"] == definition_id
    assert found["version"] == 1
    assert found["document"]["process"]["key"] == "userRegistration"
    assert len(found["content_hash"]) == 64
    with pytest.raises(ApplicationError) as missing:
        await env.run(resolve, {"key": "userRegistration", "version": 3, "tenant_id": "default"})
    assert missing.value.type == "DEFINITION_NOT_FOUND"
    await services.definitions.set_suspended(definition_id, suspended=True)
    with pytest.raises(ApplicationError) as suspended:
        await env.run(resolve, {"key": "userRegistration", "tenant_id": "default"})
    assert suspended.value.type == "DEFINITION_SUSPENDED"


def a_throw() -> ActivityEnvironment:
    """The environment of one throw activity: an identity (its request id) of its own."""
    env = ActivityEnvironment()
    env.info = replace(env.info, workflow_run_id=str(uuid.uuid4()))
    return env


async def test_signal_and_message_activities(engine_services: Services) -> None:
    services = engine_services
    broadcast, send = signals.build_activities(services)
    await deploy_seed(services)
    record = await services.instances.start(
        definition_key="userRegistration", variables={**SEED_VARIABLES, "order": "o-1"}
    )

    async def waits() -> int:
        async with services.database.session() as session:
            return len(await SubscriptionRepository(session).of_instance(record.id))

    await eventually(waits, lambda n: n == 2)
    assert await a_throw().run(broadcast, {"name": "go", "variables": {"v": 1}}) == {
        "delivered": 1,
        "started_instance_ids": [],
    }
    assert await a_throw().run(send, {"name": "paid", "correlation_key": "o-1"}) == record.id
    with pytest.raises(ApplicationError) as nobody:
        await a_throw().run(send, {"name": "paid", "correlation_key": "o-unknown"})
    assert nobody.value.type == "NOT_FOUND" and nobody.value.non_retryable
    assert services.temporal is not None
    seen = await received(services.temporal, record.id)
    assert [s["name"] for s in seen.signals] == ["go"]
    assert [m["correlation_key"] for m in seen.messages] == ["o-1"]
    for act, request in ((broadcast, {"name": " "}), (send, {"variables": {}})):
        with pytest.raises(ApplicationError, match=r"request\.name is required") as bad:
            await a_throw().run(act, request)
        assert bad.value.type == "INVALID_ARGUMENT" and bad.value.non_retryable


async def test_resolve_definition_rejects_a_malformed_request(engine_services: Services) -> None:
    env = ActivityEnvironment()
    resolve = DefinitionActivities(engine_services.database).resolve_definition
    with pytest.raises(ApplicationError, match=r"request\.key is required") as no_key:
        await env.run(resolve, {"version": 1})
    assert no_key.value.type == "INVALID_ARGUMENT" and no_key.value.non_retryable
    with pytest.raises(ApplicationError, match=r"request\.version must be an integer"):
        await env.run(resolve, {"key": "k", "version": "2"})


def test_every_engine_activity_is_offered(engine_services: Services) -> None:
    names = {
        getattr(fn, "__temporal_activity_definition").name
        for fn in engine_services.engine_activities()
    }
    assert names == {
        "wfe.apply_runtime_batch",
        "wfe.register_instance",
        "wfe.resolve_definition",
        "wfe.broadcast_signal",
        "wfe.send_message",
    }
    assert len(runtime.build_activities(engine_services.database)) == 2
    assert len(definitions.build_activities(engine_services.database)) == 1
