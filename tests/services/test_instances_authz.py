"""InstanceService and instance diagrams under principals: starting (tenant, candidate
starters, the starter's identity), reading (tenant, own instances), controlling."""

from __future__ import annotations

import pytest
from temporalio.client import Client

from tests.services.authz_world import (
    ACME,
    ADMIN,
    ALICE,
    BOB,
    GLOBEX,
    GLOBEX_OPERATOR,
    GLOBEX_USER,
    MODELER,
    NOBODY,
    OPERATOR,
    World,
    body,
    build_world,
    principal,
    seed_document,
)
from tests.services.support import SEED_VARIABLES
from tests.services.workflow_double import engine_services, received
from workflow_engine.security import Principal, acting_as
from workflow_engine.services.access import acting_user
from workflow_engine.services.container import Services
from workflow_engine.services.definition_source import DefinitionFormat
from workflow_engine.services.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)
from workflow_engine.store.instances import InstanceFilters

__all__ = ["engine_services"]

DAVE = principal("dave", "user", ACME, "support")


@pytest.fixture
async def world(engine_services: Services) -> World:
    return await build_world(engine_services)


async def _ids(services: Services, filters: InstanceFilters | None = None) -> set[str]:
    page = await services.instances.list(filters or InstanceFilters())
    return {record.id for record in page.items}


async def _missing_answer(services: Services, instance_id: str) -> str:
    with pytest.raises(NotFoundError) as missing:
        await services.instances.get("no-such-instance")
    return missing.value.message.replace("no-such-instance", instance_id)


async def test_lists_hold_only_the_callers_tenant_and_for_users_their_own(
    engine_services: Services, world: World
) -> None:
    services = engine_services
    with acting_as(OPERATOR):
        assert await _ids(services) == world.acme_instances
        assert await _ids(services, InstanceFilters(tenant_id=ACME)) == world.acme_instances
        with pytest.raises(PermissionDeniedError, match="tenant 'globex' is not yours"):
            await _ids(services, InstanceFilters(tenant_id=GLOBEX))
    with acting_as(ALICE):
        assert await _ids(services) == {world.alice_running, world.alice_done}
        assert await _ids(services, InstanceFilters(status="completed")) == {world.alice_done}
    with acting_as(BOB):
        assert await _ids(services) == {world.bob_running}
    with acting_as(GLOBEX_OPERATOR):
        assert await _ids(services) == {world.carol_running}
    with acting_as(ADMIN):
        assert await _ids(services) == {*world.acme_instances, world.carol_running}
        assert await _ids(services, InstanceFilters(tenant_id=GLOBEX)) == {world.carol_running}
    with acting_as(NOBODY), pytest.raises(PermissionDeniedError) as error:
        await _ids(services)
    assert error.value.permission == "instance:read"


async def test_single_reads_outside_the_scope_answer_like_a_missing_instance(
    engine_services: Services, world: World
) -> None:
    services = engine_services
    cases = [
        (OPERATOR, world.carol_running),  # another tenant
        (ALICE, world.bob_running),  # same tenant, started by someone else
        (ALICE, world.carol_running),
        (GLOBEX_USER, world.alice_running),
    ]
    for who, instance_id in cases:
        with acting_as(who):
            expected = await _missing_answer(services, instance_id)
            for read in (
                services.instances.get,
                services.instances.variables,
                services.diagrams.instance_svg,
            ):
                with pytest.raises(NotFoundError) as error:
                    await read(instance_id)
                assert error.value.message == expected, (who.user_id, read)
    with acting_as(ALICE):
        detail = await services.instances.get(world.alice_running)
        assert detail.variables == {"secret_of": world.alice_running}
        assert "<svg" in await services.diagrams.instance_svg(world.alice_done)
    with acting_as(OPERATOR):
        assert (await services.instances.get(world.bob_running)).instance.tenant_id == ACME
    with acting_as(NOBODY), pytest.raises(PermissionDeniedError):
        await services.instances.get(world.alice_running)


async def test_control_needs_instance_control_in_the_instances_tenant(
    engine_services: Services, world: World
) -> None:
    services = engine_services
    instances = services.instances
    actions = {
        "pause": lambda i: instances.pause(i),
        "resume": lambda i: instances.resume(i),
        "terminate": lambda i: instances.terminate(i, reason="r"),
        "cancel": lambda i: instances.cancel(i),
        "retry": lambda i: instances.retry(i),
        "set_variables": lambda i: instances.set_variables(i, {"x": 1}),
    }
    for who in (ALICE, MODELER, NOBODY):
        with acting_as(who):
            for name, act in actions.items():
                with pytest.raises(PermissionDeniedError) as error:
                    await act(world.alice_running)
                wanted = "instance:variables" if name == "set_variables" else "instance:control"
                assert error.value.permission == wanted, name
    with acting_as(OPERATOR):
        expected = await _missing_answer(services, world.carol_running)
        for name, act in actions.items():
            with pytest.raises(NotFoundError) as missing:
                await act(world.carol_running)
            assert missing.value.message == expected, name
        # Its own tenant's instance gets past authorization (the world's rows have no
        # workflow behind them, so Temporal answers that it is not running).
        with pytest.raises(ConflictError, match="not running any more"):
            await instances.pause(world.bob_running)
        with pytest.raises(PermissionDeniedError, match="user_id 'bob' is not you"):
            await instances.pause(world.bob_running, user_id="bob")
    with acting_as(GLOBEX_OPERATOR), pytest.raises(ConflictError, match="not running"):
        await instances.cancel(world.carol_running)


async def test_start_resolves_in_the_callers_tenant_and_records_the_caller(
    engine_services: Services, world: World, temporal_client: Client
) -> None:
    services = engine_services
    instances = services.instances
    with acting_as(ALICE):
        record = await instances.start(definition_key="orders", variables=SEED_VARIABLES)
        assert record.tenant_id == ACME
        assert record.process_definition_id == world.acme_definition
        assert record.start_user_id == "alice"
        own = await instances.start(
            definition_key="orders", variables=SEED_VARIABLES, user_id="alice"
        )
        assert own.start_user_id == "alice"
        with pytest.raises(PermissionDeniedError, match="user_id 'bob' is not you"):
            await instances.start(definition_key="orders", variables=SEED_VARIABLES, user_id="bob")
        with pytest.raises(PermissionDeniedError, match="tenant 'globex' is not yours"):
            await instances.start(
                definition_key="orders", tenant_id=GLOBEX, variables=SEED_VARIABLES
            )
        with pytest.raises(NotFoundError, match=f"definition {world.globex_definition} does"):
            await instances.start(definition_id=world.globex_definition, variables=SEED_VARIABLES)
        # What she started is hers to read.
        assert record.id in await _ids(services)
    assert (await received(temporal_client, record.id)).start["initiator"] == "alice"
    with acting_as(GLOBEX_USER):
        carol = await instances.start(definition_key="orders", variables=SEED_VARIABLES)
        assert carol.tenant_id == GLOBEX
        assert carol.process_definition_id == world.globex_definition
        assert record.id not in await _ids(services)
    with acting_as(MODELER), pytest.raises(PermissionDeniedError) as error:
        await instances.start(definition_key="orders", variables=SEED_VARIABLES)
    assert error.value.permission == "instance:start"
    # The system principal (auth off) records the body's user, as before.
    with acting_as(Principal.system()):
        legacy = await instances.start(
            definition_key="orders", tenant_id=ACME, variables=SEED_VARIABLES, user_id="zoe"
        )
        assert legacy.start_user_id == "zoe"


async def test_candidate_starters_limit_who_may_start(
    engine_services: Services, world: World
) -> None:
    services = engine_services
    instances = services.instances
    document = seed_document(
        key="vip", candidate_starter_users=["bob"], candidate_starter_groups=["sales"]
    )
    with acting_as(ADMIN):
        await services.definitions.deploy(body(document), fmt=DefinitionFormat.JSON, tenant_id=ACME)
    for who in (ALICE, BOB, OPERATOR):  # in a listed group, listed, may control instances
        with acting_as(who):
            started = await instances.start(definition_key="vip", variables=SEED_VARIABLES)
            assert started.start_user_id == who.user_id
    with acting_as(DAVE), pytest.raises(PermissionDeniedError) as error:
        await instances.start(definition_key="vip", variables=SEED_VARIABLES)
    assert error.value.permission == "instance:start"
    assert "candidate starters" in error.value.message
    # Without candidate starters anyone with instance:start may start.
    with acting_as(DAVE):
        await instances.start(definition_key="orders", variables=SEED_VARIABLES)


_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:camunda="http://camunda.org/schema/1.0/bpmn" targetNamespace="t">
  <process id="bpmnVip" name="BPMN VIP" isExecutable="true"
           camunda:candidateStarterUsers="dave" camunda:candidateStarterGroups="managers">
    <startEvent id="s"/>
    <sequenceFlow id="f" sourceRef="s" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>
"""


async def test_candidate_starters_from_bpmn(engine_services: Services, world: World) -> None:
    services = engine_services
    with acting_as(principal("mona", "modeler", ACME)):
        deployed = await services.definitions.deploy(_BPMN.encode(), fmt=DefinitionFormat.BPMN)
        model = await services.definitions.model(deployed.definition.id)
    assert model.process.candidate_starter_users == ("dave",)
    assert model.process.candidate_starter_groups == ("managers",)
    with acting_as(DAVE):
        await services.instances.start(definition_key="bpmnVip")
    with acting_as(principal("max", "user", ACME, "managers")):
        await services.instances.start(definition_key="bpmnVip")
    with acting_as(ALICE), pytest.raises(PermissionDeniedError, match="candidate starters"):
        await services.instances.start(definition_key="bpmnVip")


def test_acting_user_takes_the_token_user() -> None:
    with acting_as(ALICE):
        assert acting_user(None) == "alice"
        assert acting_user("") == "alice"
        assert acting_user("alice") == "alice"
        with pytest.raises(PermissionDeniedError) as error:
            acting_user("mallory")
        assert error.value.permission == "user:impersonate"
    assert acting_user("mallory") == "mallory"  # the system principal: the body as given
    assert acting_user(None) is None
