"""LiveStatusService under principals: per-instance streams refused (404) before any item for
instances outside the caller's scope; the global stream (backlog and live part) carries only
the caller's tenant's events, and for users only those of instances they started."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path

import pytest

from tests.services.authz_world import (
    ADMIN,
    ALICE,
    BOB,
    GLOBEX,
    GLOBEX_OPERATOR,
    GLOBEX_USER,
    NOBODY,
    OPERATOR,
    World,
    apply,
    batch,
    build_world,
)
from workflow_engine.bus import EventFilter, LiveEvent
from workflow_engine.config import load_settings
from workflow_engine.security import Principal, acting_as
from workflow_engine.services.container import Services, build_services
from workflow_engine.services.errors import NotFoundError, PermissionDeniedError
from workflow_engine.services.live import Heartbeat, StreamItem


@pytest.fixture
async def services(db_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    settings = load_settings(database_url=db_url, data_dir=tmp_path, stream_heartbeat_seconds=0.3)
    built = await build_services(settings)
    try:
        yield built
    finally:
        await built.aclose()


@pytest.fixture
async def world(services: Services) -> World:
    return await build_world(services)


async def _drain(stream: AsyncGenerator[StreamItem, None]) -> list[tuple[str, int]]:
    """(instance, sequence) of every event until the stream goes idle (a heartbeat)."""
    got: list[tuple[str, int]] = []
    while True:
        item = await anext(stream)
        if isinstance(item, Heartbeat):
            return got
        assert isinstance(item, LiveEvent), item
        got.append((item.instance_id, item.sequence))


async def _more_events(services: Services, world: World) -> None:
    for instance_id in (world.alice_running, world.bob_running, world.carol_running):
        await apply(services, batch(instance_id, 3, 4))


async def test_instance_streams_outside_the_scope_answer_like_a_missing_instance(
    services: Services, world: World
) -> None:
    live = services.live
    with pytest.raises(NotFoundError) as missing:
        await live.instance_stream("no-such-instance")
    for who, instance_id in (
        (OPERATOR, world.carol_running),
        (ALICE, world.bob_running),
        (GLOBEX_USER, world.alice_running),
    ):
        expected = missing.value.message.replace("no-such-instance", instance_id)
        with acting_as(who):
            for after in (0, 1):  # a Last-Event-ID resume is refused the same way
                with pytest.raises(NotFoundError) as error:
                    await live.instance_stream(instance_id, after_sequence=after)
                assert error.value.message == expected
            with pytest.raises(NotFoundError) as error:
                await live.check_instance(instance_id)
            assert error.value.message == expected
    with acting_as(NOBODY), pytest.raises(PermissionDeniedError) as denied:
        await live.instance_stream(world.alice_running)
    assert denied.value.permission == "instance:read"
    with acting_as(ALICE):
        stream = await live.instance_stream(world.alice_running, after_sequence=1)
    try:
        assert await _drain(stream) == [(world.alice_running, 2)]
    finally:
        await stream.aclose()


async def test_the_global_stream_carries_the_callers_tenant_only(
    services: Services, world: World
) -> None:
    live = services.live
    acme_running = {world.alice_running, world.bob_running}
    with acting_as(OPERATOR):
        stream = await live.global_stream(EventFilter(), after_id=0)
        with pytest.raises(PermissionDeniedError, match="tenant 'globex' is not yours"):
            await live.global_stream(EventFilter(tenant_id=GLOBEX))
    try:
        # Iterated outside the request's context: the stream keeps the caller's scope.
        backlog = await _drain(stream)
        assert {i for i, _ in backlog} == world.acme_instances
        assert len(backlog) == 2 + 3 + 2
        await _more_events(services, world)
        live_part = await _drain(stream)
        assert sorted(live_part) == sorted((i, s) for i in acme_running for s in (3, 4))
    finally:
        await stream.aclose()
    with acting_as(GLOBEX_OPERATOR):
        globex = await live.global_stream(EventFilter(), after_id=0)
    try:
        assert {i for i, _ in await _drain(globex)} == {world.carol_running}
    finally:
        await globex.aclose()
    with acting_as(ADMIN):
        named = await live.global_stream(EventFilter(tenant_id=GLOBEX), after_id=0)
        every = await live.global_stream(EventFilter(), after_id=0)
    try:
        assert {i for i, _ in await _drain(named)} == {world.carol_running}
        assert {i for i, _ in await _drain(every)} == {*world.acme_instances, world.carol_running}
    finally:
        await named.aclose()
        await every.aclose()
    with acting_as(NOBODY), pytest.raises(PermissionDeniedError):
        await live.global_stream(EventFilter())


async def test_users_stream_only_instances_they_started(services: Services, world: World) -> None:
    live = services.live
    with acting_as(ALICE):
        alice = await live.global_stream(EventFilter(), after_id=0)
    with acting_as(BOB):
        bob = await live.global_stream(EventFilter())  # live part only
    try:
        backlog = await _drain(alice)
        assert {i for i, _ in backlog} == {world.alice_running, world.alice_done}
        assert await _drain(bob) == []
        await _more_events(services, world)
        assert sorted(await _drain(alice)) == [(world.alice_running, 3), (world.alice_running, 4)]
        assert sorted(await _drain(bob)) == [(world.bob_running, 3), (world.bob_running, 4)]
    finally:
        await alice.aclose()
        await bob.aclose()


async def test_the_system_principal_streams_everything(services: Services, world: World) -> None:
    with acting_as(Principal.system()):
        stream = await services.live.global_stream(EventFilter(), after_id=0)
    try:
        assert {i for i, _ in await _drain(stream)} == {*world.acme_instances, world.carol_running}
    finally:
        await stream.aclose()
