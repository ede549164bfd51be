"""DefinitionService and DiagramService under principals: permissions, tenants, deploy target."""

from __future__ import annotations

import pytest

from tests.services.authz_world import (
    ACME,
    ADMIN,
    ALICE,
    GLOBEX,
    GLOBEX_OPERATOR,
    MODELER,
    NOBODY,
    OPERATOR,
    World,
    body,
    build_world,
    seed_document,
)
from workflow_engine.security import Principal, acting_as
from workflow_engine.services.container import Services
from workflow_engine.services.definition_source import DefinitionFormat
from workflow_engine.services.definitions import DefinitionQuery
from workflow_engine.services.errors import NotFoundError, PermissionDeniedError

JSON = DefinitionFormat.JSON


@pytest.fixture
async def world(services: Services) -> World:
    return await build_world(services)


async def _missing_answer(services: Services) -> str:
    with pytest.raises(NotFoundError) as missing:
        await services.definitions.get(999_999)
    return missing.value.message.replace("999999", "{id}")


async def test_reads_of_another_tenant_answer_exactly_like_a_missing_definition(
    services: Services, world: World
) -> None:
    defs = services.definitions
    with acting_as(OPERATOR):
        expected = await _missing_answer(services)
        assert (await defs.get(world.acme_definition)).tenant_id == ACME
        assert (await defs.model(world.acme_definition)).process.key == "orders"
        assert "<svg" in await services.diagrams.definition_svg(world.acme_definition)
        other = world.globex_definition
        for read in (
            defs.get,
            defs.model,
            defs.document,
            services.diagrams.definition_svg,
        ):
            with pytest.raises(NotFoundError) as error:
                await read(other)
            assert error.value.message == expected.replace("{id}", str(other))
    with acting_as(GLOBEX_OPERATOR):
        assert (await defs.get(world.globex_definition)).tenant_id == GLOBEX


async def test_lists_and_key_lookups_stay_in_the_callers_tenant(
    services: Services, world: World
) -> None:
    defs = services.definitions
    with acting_as(ALICE):
        page = await defs.list(DefinitionQuery())
        assert [d.id for d in page.items] == [world.acme_definition]
        by_key = await defs.get_by_key("orders")
        assert by_key.id == world.acme_definition
        with pytest.raises(PermissionDeniedError, match="tenant 'globex' is not yours"):
            await defs.list(DefinitionQuery(tenant_id=GLOBEX))
        with pytest.raises(PermissionDeniedError) as error:
            await defs.get_by_key("orders", tenant_id=GLOBEX)
        assert error.value.permission == "tenant:cross"
    with acting_as(GLOBEX_OPERATOR):
        page = await defs.list(DefinitionQuery(key="orders"))
        assert [d.id for d in page.items] == [world.globex_definition]
    with acting_as(ADMIN):
        every = await defs.list(DefinitionQuery())
        assert {d.id for d in every.items} == {world.acme_definition, world.globex_definition}
        named = await defs.list(DefinitionQuery(tenant_id=GLOBEX))
        assert [d.id for d in named.items] == [world.globex_definition]
        assert (await defs.get_by_key("orders", tenant_id=GLOBEX)).id == world.globex_definition


async def test_every_method_requires_its_permission(services: Services, world: World) -> None:
    defs = services.definitions
    upload = body(seed_document(key="fresh"))
    with acting_as(NOBODY):
        for call, permission in (
            (lambda: defs.get(world.acme_definition), "definition:read"),
            (lambda: defs.list(DefinitionQuery()), "definition:read"),
            (lambda: defs.get_by_key("orders"), "definition:read"),
            (lambda: defs.model(world.acme_definition), "definition:read"),
            (lambda: services.diagrams.definition_svg(world.acme_definition), "definition:read"),
            (lambda: defs.deploy(upload, fmt=JSON), "definition:deploy"),
        ):
            with pytest.raises(PermissionDeniedError) as error:
                await call()
            assert error.value.permission == permission
            assert permission in error.value.message
        with pytest.raises(PermissionDeniedError, match="definition:read"):
            defs.check(upload, fmt=JSON)
    for who in (OPERATOR, ALICE):
        with acting_as(who):
            for call, permission in (
                (lambda: defs.deploy(upload, fmt=JSON), "definition:deploy"),
                (lambda: defs.update(world.acme_definition, upload, fmt=JSON), "definition:deploy"),
                (lambda: defs.delete(world.acme_definition), "definition:delete"),
                (
                    lambda: defs.set_suspended(world.acme_definition, suspended=True),
                    "definition:suspend",
                ),
            ):
                with pytest.raises(PermissionDeniedError) as error:
                    await call()
                assert error.value.permission == permission
            # Validation is harmless: reading definitions is enough.
            assert defs.check(upload, fmt=JSON).report.valid
    # Nothing changed.
    assert not (await defs.get(world.acme_definition)).suspended


async def test_a_modeler_deploys_into_their_own_tenant_only(
    services: Services, world: World
) -> None:
    defs = services.definitions
    with acting_as(MODELER):
        result = await defs.deploy(body(seed_document(key="fresh")), fmt=JSON)
        assert result.created and result.definition.tenant_id == ACME
        own = await defs.deploy(body(seed_document(key="own", tenant=ACME)), fmt=JSON)
        assert own.definition.tenant_id == ACME
        with pytest.raises(PermissionDeniedError, match="tenant 'globex' is not yours"):
            await defs.deploy(body(seed_document(key="intruder", tenant=GLOBEX)), fmt=JSON)
        with pytest.raises(PermissionDeniedError, match="tenant 'globex' is not yours"):
            await defs.deploy(body(seed_document(key="intruder")), fmt=JSON, tenant_id=GLOBEX)
        # A new version of its own key works; another tenant's definition is not there.
        updated = await defs.update(world.acme_definition, body(seed_document()), fmt=JSON)
        assert updated.definition.tenant_id == ACME
        for change in (
            lambda: defs.update(world.globex_definition, body(seed_document()), fmt=JSON),
            lambda: defs.set_suspended(world.globex_definition, suspended=True),
            lambda: defs.delete(world.globex_definition, cascade=True),
        ):
            with pytest.raises(NotFoundError, match=f"definition {world.globex_definition} "):
                await change()
        suspended = await defs.set_suspended(world.acme_definition, suspended=True)
        assert suspended.suspended
        await defs.delete(result.definition.id)
    with acting_as(ADMIN):
        intruder = await defs.list(DefinitionQuery(key="intruder"))
        assert intruder.items == []
        globex = await defs.get(world.globex_definition)
        assert not globex.suspended
        # Admins deploy where they say (or where the document says).
        placed = await defs.deploy(body(seed_document(key="placed", tenant=GLOBEX)), fmt=JSON)
        assert placed.definition.tenant_id == GLOBEX


async def test_the_system_principal_keeps_todays_behaviour(
    services: Services, world: World
) -> None:
    defs = services.definitions
    with acting_as(Principal.system()):
        # The document's tenant wins when no tenant is given, as before.
        result = await defs.deploy(body(seed_document(key="sys", tenant=GLOBEX)), fmt=JSON)
        assert result.definition.tenant_id == GLOBEX
        all_items = await defs.list(DefinitionQuery())
        assert len(all_items.items) == 3
    # Outside any request the caller is the system, too.
    assert (await defs.get(world.globex_definition)).tenant_id == GLOBEX
