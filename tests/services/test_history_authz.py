"""HistoryService under principals: event logs, steps and ended instances of the caller's
tenant (users: of instances they started) only; cleanup for `history:delete` only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.services.authz_world import (
    ACME,
    ADMIN,
    ALICE,
    BOB,
    GLOBEX,
    GLOBEX_OPERATOR,
    NOBODY,
    OPERATOR,
    World,
    apply,
    batch,
    build_world,
)
from workflow_engine.security import acting_as
from workflow_engine.services.container import Services
from workflow_engine.services.errors import NotFoundError, PermissionDeniedError
from workflow_engine.store.history import HistoricInstanceFilters

#: After every end the world writes.
LATER = datetime(2027, 1, 1, tzinfo=UTC)


@pytest.fixture
async def world(services: Services) -> World:
    return await build_world(services)


async def _historic(services: Services, filters: HistoricInstanceFilters | None = None) -> set[str]:
    page = await services.history.historic_instances(filters or HistoricInstanceFilters())
    return {r.process_instance_id for r in page.items}


async def test_logs_and_steps_outside_the_scope_answer_like_a_missing_instance(
    services: Services, world: World
) -> None:
    history = services.history
    reads = {
        "history": lambda i: history.history(i),
        "steps": lambda i: history.steps(i),
        "step": lambda i: history.step(i, 1),
    }
    for name, read in reads.items():
        with pytest.raises(NotFoundError) as missing:
            await read("no-such-instance")
        expected = missing.value.message
        for who, instance_id in (
            (OPERATOR, world.carol_running),
            (ALICE, world.bob_running),
            (BOB, world.alice_done),
            (GLOBEX_OPERATOR, world.alice_running),
        ):
            with acting_as(who), pytest.raises(NotFoundError) as error:
                await read(instance_id)
            assert error.value.message == expected.replace("no-such-instance", instance_id), (
                name,
                who.user_id,
            )
    with acting_as(ALICE):
        page = await history.history(world.alice_done)
        assert [e.sequence for e in page.events] == [1, 2, 3]
        assert [s.step_id for s in await history.steps(world.alice_running)] == [1, 2]
        assert (await history.step(world.alice_done, 1)).node_id == "review"
    with acting_as(OPERATOR):
        assert len((await history.history(world.bob_running)).events) == 2
    with acting_as(NOBODY), pytest.raises(PermissionDeniedError) as error:
        await history.history(world.alice_running)
    assert error.value.permission == "instance:read"


async def test_ended_instances_of_the_callers_tenant_and_own_only(
    services: Services, world: World
) -> None:
    history = services.history
    with acting_as(ADMIN):
        # Carol's instance ends, too: there is history in both tenants.
        await apply(services, batch(world.carol_running, 3, 3, status="completed"))
        assert await _historic(services) == {world.alice_done, world.carol_running}
        assert await _historic(services, HistoricInstanceFilters(tenant_id=GLOBEX)) == {
            world.carol_running
        }
    with acting_as(OPERATOR):
        assert await _historic(services) == {world.alice_done}
        assert (await history.historic_instance(world.alice_done)).tenant_id == ACME
        with pytest.raises(PermissionDeniedError, match="tenant 'globex' is not yours"):
            await _historic(services, HistoricInstanceFilters(tenant_id=GLOBEX))
        with pytest.raises(NotFoundError) as missing:
            await history.historic_instance("no-such-instance")
        with pytest.raises(NotFoundError) as hidden:
            await history.historic_instance(world.carol_running)
        assert hidden.value.message == missing.value.message.replace(
            "no-such-instance", world.carol_running
        )
    with acting_as(ALICE):
        assert await _historic(services) == {world.alice_done}
        assert (await history.historic_instance(world.alice_done)).start_user_id == "alice"
    with acting_as(BOB):
        assert await _historic(services) == set()
        with pytest.raises(NotFoundError):
            await history.historic_instance(world.alice_done)
    with acting_as(GLOBEX_OPERATOR):
        assert await _historic(services) == {world.carol_running}


async def test_cleanup_needs_history_delete(services: Services, world: World) -> None:
    for who in (OPERATOR, ALICE, NOBODY):
        with acting_as(who), pytest.raises(PermissionDeniedError) as error:
            await services.history.cleanup(ttl_days=0, now=LATER)
        assert error.value.permission == "history:delete"
    with acting_as(OPERATOR):
        assert await _historic(services) == {world.alice_done}  # nothing was deleted
    with acting_as(ADMIN):
        result = await services.history.cleanup(ttl_days=0, now=LATER)
    assert result.instances_deleted == 1
