"""Signals and messages under authorization (issue 6): permissions and tenant isolation.

Waiting instances of the workflow double run in two tenants on a real Temporal; the signal and
message services are called under `acting_as(Principal(...))`, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json

import pytest

from tests.services.support import SEED, SEED_VARIABLES, eventually, message_start_definition
from tests.services.workflow_double import engine_services, received
from workflow_engine.security import Principal, acting_as
from workflow_engine.services.container import Services
from workflow_engine.services.definition_source import DefinitionFormat
from workflow_engine.services.errors import ConflictError, NotFoundError, PermissionDeniedError
from workflow_engine.store.instances import InstanceRecord
from workflow_engine.store.subscriptions import SubscriptionRepository

__all__ = ["engine_services"]

ACME, GLOBEX = "acme", "globex"


def operator(tenant: str) -> Principal:
    """An operator (signal:send, message:send, instance:start) of `tenant`."""
    return Principal(f"op-{tenant}", roles=frozenset({"operator"}), tenant_id=tenant)


USER = Principal("bob", roles=frozenset({"user"}), tenant_id=ACME)
ADMIN = Principal("root", roles=frozenset({"admin"}), tenant_id=ACME)


async def _deploy(services: Services, tenant: str, document: bytes | None = None) -> int:
    result = await services.definitions.deploy(
        document if document is not None else SEED.read_bytes(),
        fmt=DefinitionFormat.JSON,
        tenant_id=tenant,
    )
    return result.definition.id


async def _waiting(services: Services, definition_id: int, order: str) -> InstanceRecord:
    """An instance waiting on signal `go` and on message `paid` with correlation key `order`."""
    record = await services.instances.start(
        definition_id=definition_id, variables={**SEED_VARIABLES, "order": order}
    )

    async def subscriptions() -> int:
        async with services.database.session() as session:
            return len(await SubscriptionRepository(session).of_instance(record.id))

    await eventually(subscriptions, lambda n: n == 2)
    return record


async def _signal_wait_gone(services: Services, *instances: InstanceRecord) -> None:
    """Wait until the projection dropped the `go` waits of `instances` (it is asynchronous)."""

    async def signal_waits() -> int:
        async with services.database.session() as session:
            repo = SubscriptionRepository(session)
            subs = [s for i in instances for s in await repo.of_instance(i.id)]
        return sum(s.kind == "signal" for s in subs)

    await eventually(signal_waits, lambda n: n == 0)


async def _signals_seen(services: Services, instance: InstanceRecord) -> int:
    assert services.temporal is not None
    return len((await received(services.temporal, instance.id)).signals)


async def _messages_seen(services: Services, instance: InstanceRecord) -> int:
    assert services.temporal is not None
    return len((await received(services.temporal, instance.id)).messages)


async def test_sending_needs_the_permission(engine_services: Services) -> None:
    services = engine_services
    with acting_as(USER):
        with pytest.raises(PermissionDeniedError, match="signal:send") as signal_denied:
            await services.signals.broadcast("go")
        with pytest.raises(PermissionDeniedError, match="message:send") as message_denied:
            await services.messages.correlate("paid", correlation_key="o-1")
    assert signal_denied.value.permission == "signal:send"
    assert message_denied.value.permission == "message:send"


async def test_a_signal_stays_in_its_tenant(engine_services: Services) -> None:
    services = engine_services
    acme_def, globex_def = await _deploy(services, ACME), await _deploy(services, GLOBEX)
    acme = await _waiting(services, acme_def, "o-1")
    globex_1 = await _waiting(services, globex_def, "o-1")
    globex_2 = await _waiting(services, globex_def, "o-2")

    with acting_as(operator(ACME)):
        assert await services.signals.broadcast("go") == 1
        with pytest.raises(PermissionDeniedError, match="tenant 'globex' is not yours"):
            await services.signals.broadcast("go", tenant_id=GLOBEX)
    await _signal_wait_gone(services, acme)
    with acting_as(operator(ACME)):
        assert await services.signals.broadcast("go", tenant_id=ACME) == 0  # acme's got it
    assert await _signals_seen(services, acme) == 1
    assert await _signals_seen(services, globex_1) == await _signals_seen(services, globex_2) == 0

    # An admin names a tenant, or reaches every tenant by naming none.
    with acting_as(ADMIN):
        assert await services.signals.broadcast("go", tenant_id=GLOBEX) == 2
    assert await _signals_seen(services, globex_1) == 1
    await _signal_wait_gone(services, globex_1, globex_2)
    third = await _waiting(services, acme_def, "o-3")
    fourth = await _waiting(services, globex_def, "o-4")
    with acting_as(ADMIN):
        assert await services.signals.broadcast("go") == 2
    assert await _signals_seen(services, third) == await _signals_seen(services, fourth) == 1


async def test_a_message_never_reaches_another_tenant(engine_services: Services) -> None:
    services = engine_services
    acme_def, globex_def = await _deploy(services, ACME), await _deploy(services, GLOBEX)
    acme = await _waiting(services, acme_def, "o-1")
    globex_1 = await _waiting(services, globex_def, "o-1")
    globex_2 = await _waiting(services, globex_def, "o-g")

    with acting_as(operator(ACME)):
        # A key only globex waits for answers exactly like a key nobody waits for.
        with pytest.raises(NotFoundError) as foreign:
            await services.messages.correlate("paid", correlation_key="o-g")
        with pytest.raises(NotFoundError) as nobody:
            await services.messages.correlate("paid", correlation_key="no-such-key")
        with pytest.raises(PermissionDeniedError, match="not yours"):
            await services.messages.correlate("paid", correlation_key="o-g", tenant_id=GLOBEX)
    assert foreign.value.message == nobody.value.message
    assert foreign.value.status == nobody.value.status == 404
    assert globex_2.id not in foreign.value.message
    assert await _messages_seen(services, globex_2) == 0

    # The admin without a tenant sees both waits on o-1 (ambiguous); naming one selects it.
    with acting_as(ADMIN), pytest.raises(ConflictError, match="matches 2 waiting instances"):
        await services.messages.correlate("paid", correlation_key="o-1")
    with acting_as(ADMIN):
        reached = await services.messages.correlate("paid", correlation_key="o-1", tenant_id=GLOBEX)
    assert (reached.instance_id, reached.started) == (globex_1.id, False)

    # acme's operator correlates o-1 to acme's instance alone, never a conflict with globex.
    with acting_as(operator(ACME)):
        mine = await services.messages.correlate("paid", correlation_key="o-1")
    assert mine.instance_id == acme.id
    assert await _messages_seen(services, acme) == 1


async def test_a_message_starts_only_its_tenants_definition(engine_services: Services) -> None:
    services = engine_services
    document = json.dumps(message_start_definition("payments", "invoice")).encode()
    await _deploy(services, GLOBEX, document)
    with acting_as(operator(ACME)), pytest.raises(NotFoundError, match="no deployed definition"):
        await services.messages.correlate("invoice", business_key="inv-1")
    with acting_as(operator(GLOBEX)):
        with pytest.raises(PermissionDeniedError, match="not you") as impersonating:
            await services.messages.correlate("invoice", user_id="someone-else")
        started = await services.messages.correlate("invoice", business_key="inv-1")
    assert impersonating.value.permission == "user:impersonate"
    assert started.started is True
    detail = await services.instances.get(started.instance_id)
    assert detail.instance.tenant_id == GLOBEX
    assert detail.instance.start_user_id == "op-globex"
