"""Signal broadcast and message correlation through mirrored subscriptions."""

from __future__ import annotations

import pytest

from tests.services.support import (
    SEED_VARIABLES,
    deploy_document,
    deploy_seed,
    eventually,
    message_start_definition,
)
from tests.services.workflow_double import engine_services, received
from workflow_engine.services.container import Services
from workflow_engine.services.errors import ConflictError, InvalidArgumentError, NotFoundError
from workflow_engine.store.instances import InstanceRecord
from workflow_engine.store.subscriptions import SubscriptionRepository

__all__ = ["engine_services"]


async def _waiting(
    services: Services, *, business_key: str | None = None, order: str | None = None
) -> InstanceRecord:
    variables = dict(SEED_VARIABLES)
    if order is not None:
        variables["order"] = order
    record = await services.instances.start(
        definition_key="userRegistration", variables=variables, business_key=business_key
    )

    async def subscriptions() -> int:
        async with services.database.session() as session:
            return len(await SubscriptionRepository(session).of_instance(record.id))

    await eventually(subscriptions, lambda n: n == 2)
    return record


async def test_broadcast_reaches_every_waiting_instance(engine_services: Services) -> None:
    services = engine_services
    await deploy_seed(services)
    first = await _waiting(services)
    second = await _waiting(services)
    ended = await _waiting(services)
    await services.instances.terminate(ended.id)
    await eventually(lambda: services.instances.get(ended.id), lambda d: d.instance.ended)
    assert await services.signals.broadcast("nobody-waits") == 0
    delivered = await services.signals.broadcast("go", variables={"x": 1})
    assert delivered == 2
    assert services.temporal is not None
    for record in (first, second):
        signals = (await received(services.temporal, record.id)).signals
        assert [(s["name"], s["variables"]) for s in signals] == [("go", {"x": 1})]
    with pytest.raises(InvalidArgumentError, match="name is required"):
        await services.signals.broadcast(" ")


async def test_message_by_correlation_or_business_key(engine_services: Services) -> None:
    services = engine_services
    await deploy_seed(services)
    a = await _waiting(services, business_key="bk-a", order="order-a")
    b = await _waiting(services, business_key="bk-b", order="order-b")
    by_key = await services.messages.correlate(
        "paid", correlation_key="order-b", variables={"n": 2}
    )
    assert (by_key.instance_id, by_key.started) == (b.id, False)
    by_business = await services.messages.correlate("paid", business_key="bk-a")
    assert by_business.instance_id == a.id
    assert services.temporal is not None
    messages = (await received(services.temporal, b.id)).messages
    assert [(m["name"], m["correlation_key"], m["variables"]) for m in messages] == [
        ("paid", "order-b", {"n": 2})
    ]


async def test_message_none_or_several_waiting(engine_services: Services) -> None:
    services = engine_services
    await deploy_seed(services)
    with pytest.raises(NotFoundError, match="no instance waits for message 'paid'"):
        await services.messages.correlate("paid", correlation_key="x")
    await _waiting(services, business_key="same")
    await _waiting(services, business_key="same")
    with pytest.raises(ConflictError, match="matches 2 waiting instances"):
        await services.messages.correlate("paid", business_key="same")


async def test_message_start_event_starts_an_instance(engine_services: Services) -> None:
    services = engine_services
    await deploy_document(services, message_start_definition("payments", "invoice"))
    result = await services.messages.correlate(
        "invoice", business_key="inv-1", variables={"amount": 3}
    )
    assert result.started is True
    detail = await services.instances.get(result.instance_id)
    assert detail.instance.definition_key == "payments"
    assert detail.instance.business_key == "inv-1"
    assert services.temporal is not None
    start = (await received(services.temporal, result.instance_id)).start
    assert start["start_node_id"] == "start_by_message"
    assert start["variables"] == {"amount": 3}
    # By the message definition's id as well as its name.
    again = await services.messages.correlate("msg_invoice")
    assert again.started is True
    await deploy_document(services, message_start_definition("payments2", "invoice"))
    with pytest.raises(ConflictError, match="starts 2 definitions"):
        await services.messages.correlate("invoice")
