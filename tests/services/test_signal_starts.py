"""Signal start events: a broadcast starts the latest version of every definition catching it.

Runs the real interpreter on a real Temporal dev server (`tests/api/live_engine.py`), on SQLite
and PostgreSQL: broadcasts through the service (as operators of two tenants), signals thrown
by running processes, and the idempotency of a retried throw activity.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.testing import ActivityEnvironment

from tests.api.live_engine import running_engine
from tests.services.support import eventually
from workflow_engine.engine.activities import signals as signal_activities
from workflow_engine.engine.contract import workflow_id
from workflow_engine.model.parser import parse_definition
from workflow_engine.security import Principal, acting_as
from workflow_engine.services.container import Services
from workflow_engine.services.definition_source import DefinitionFormat
from workflow_engine.services.errors import PermissionDeniedError, ValidationFailedError
from workflow_engine.services.idempotency import RequestScope
from workflow_engine.services.signals import signal_starts
from workflow_engine.store.instances import InstanceFilters, InstanceRecord, InstanceRepository
from workflow_engine.store.subscriptions import SubscriptionRepository

ACME, GLOBEX = "acme", "globex"
SIGNAL = "Order placed"
SIGNALS = [{"id": "sig_order", "name": SIGNAL}]


def operator(tenant: str) -> Principal:
    """An operator (signal:send, instance:start) of `tenant`."""
    return Principal(f"op-{tenant}", roles=frozenset({"operator"}), tenant_id=tenant)


@pytest.fixture
async def engine(db_url: str, tmp_path: Path, temporal_client: Client) -> AsyncIterator[Services]:
    """Services over `db_url` with the real interpreter running on a queue of their own."""
    async with running_engine(db_url, tmp_path, temporal_client) as services:
        yield services


def started_by_signal(
    key: str,
    *,
    task: str = "handle",
    signal_ref: str = "sig_order",
    signals: list[dict[str, Any]] | None = None,
    executable: bool = True,
    none_start_task: str | None = None,
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """signal start -> user task `task` -> end; optionally also none start -> another task."""
    elements: list[dict[str, Any]] = [
        {
            "id": "by_signal",
            "type": "startEvent",
            "config": {"signal_ref": signal_ref},
            "outgoing": [task],
        },
        {"id": task, "type": "userTask", "outgoing": ["end"]},
        {"id": "end", "type": "endEvent"},
    ]
    if none_start_task is not None:
        elements += [
            {"id": "plain", "type": "startEvent", "outgoing": [none_start_task]},
            {"id": none_start_task, "type": "userTask", "outgoing": ["end"]},
        ]
    process: dict[str, Any] = {"id": key, "key": key, "executable": executable}
    if variables is not None:
        process["variables"] = variables
    return {
        "process": process,
        "elements": elements,
        "signal_definitions": signals if signals is not None else SIGNALS,
    }


def throwing(key: str, *, at_end: bool = False) -> dict[str, Any]:
    """none start -> signal throw (passing `order`) -> end, or none start -> signal end."""
    throw: dict[str, Any] = (
        {"id": "throw", "type": "endEvent", "config": {"signal_ref": "sig_order"}}
        if at_end
        else {
            "id": "throw",
            "type": "intermediateThrowEvent",
            "config": {"signal_ref": "sig_order", "input_mapping": {"order": "${order}"}},
            "outgoing": ["end"],
        }
    )
    elements = [{"id": "start", "type": "startEvent", "outgoing": ["throw"]}, throw]
    if not at_end:
        elements.append({"id": "end", "type": "endEvent"})
    return {
        "process": {"id": key, "key": key},
        "elements": elements,
        "signal_definitions": SIGNALS,
    }


async def deploy(services: Services, document: dict[str, Any], *, tenant: str = "") -> int:
    result = await services.definitions.deploy(
        json.dumps(document).encode(), fmt=DefinitionFormat.JSON, tenant_id=tenant
    )
    assert result.definition.tenant_id == tenant
    return result.definition.id


async def instances_of(services: Services, key: str) -> list[InstanceRecord]:
    async with services.database.session() as session:
        items, _ = await InstanceRepository(session).list(
            InstanceFilters(definition_key=key), page_size=100
        )
    return items


async def reaches(services: Services, instance_id: str, *active: str) -> None:
    """Wait until the instance's active nodes are `active` (the projection is asynchronous)."""

    async def probe() -> tuple[str, ...]:
        async with services.database.session() as session:
            record = await InstanceRepository(session).get(instance_id)
        assert record is not None
        return record.active_activity_ids

    await eventually(probe, lambda nodes: nodes == active, within=30)


async def started_at(services: Services, instance_id: str) -> str:
    """The start event the instance began at (its `process.started` event)."""

    async def probe() -> list[Any]:
        async with services.database.session() as session:
            return await InstanceRepository(session).events(instance_id, types=("process.started",))

    (event,) = await eventually(probe, bool, within=30)
    return str(event.data["start_node_id"])


async def test_broadcast_starts_the_latest_active_version_of_each_catching_definition(
    engine: Services,
) -> None:
    services = engine
    await deploy(services, started_by_signal("orders", task="old_task"), tenant=ACME)
    latest = await deploy(services, started_by_signal("orders", task="new_task"), tenant=ACME)
    # By name, and by the definition's own id for the same signal name.
    by_name = await deploy(
        services,
        started_by_signal("audit", signal_ref="s1", signals=[{"id": "s1", "name": SIGNAL}]),
        tenant=ACME,
    )
    paused = await deploy(services, started_by_signal("paused"), tenant=ACME)
    await services.definitions.set_suspended(paused, suspended=True)
    await deploy(services, started_by_signal("dropped"), tenant=ACME)
    await deploy(services, throwing("dropped"), tenant=ACME)  # latest: no signal start
    await deploy(services, started_by_signal("draft", executable=False), tenant=ACME)
    await deploy(
        services,
        started_by_signal("other_signal", signals=[{"id": "sig_order", "name": "Order shipped"}]),
        tenant=ACME,
    )
    await deploy(services, started_by_signal("orders"), tenant=GLOBEX)

    with acting_as(operator(ACME)):
        outcome = await services.signals.send(SIGNAL, variables={"order": "o-1"})

    assert outcome.delivered == 0
    assert outcome.started == 2
    started = {
        r.definition_key: r
        for r in [*await instances_of(services, "orders"), *await instances_of(services, "audit")]
    }
    assert set(started) == {"orders", "audit"}
    assert sorted(outcome.started_instance_ids) == sorted(r.id for r in started.values())
    orders = started["orders"]
    assert (orders.process_definition_id, orders.definition_version) == (latest, 2)
    assert orders.tenant_id == ACME
    assert orders.start_user_id == "op-acme"
    assert started["audit"].process_definition_id == by_name
    await reaches(services, orders.id, "new_task")
    assert await started_at(services, orders.id) == "by_signal"
    detail = await services.instances.get(orders.id)
    assert detail.variables["order"] == "o-1"
    assert detail.variables["initiator"] == "op-acme"
    for untouched in ("paused", "dropped", "draft", "other_signal"):
        assert await instances_of(services, untouched) == [], untouched
    # The other tenant's definition of the same key and signal was not started.
    assert [r.tenant_id for r in await instances_of(services, "orders")] == [ACME]

    # The signal's id reaches the same start events as its name.
    with acting_as(operator(GLOBEX)):
        again = await services.signals.send("sig_order")
    assert again.started == 1
    (globex,) = [r for r in await instances_of(services, "orders") if r.tenant_id == GLOBEX]
    assert again.started_instance_ids == (globex.id,)
    assert globex.start_user_id == "op-globex"


async def test_waiting_instances_get_the_signal_and_new_instances_do_not(
    engine: Services,
) -> None:
    services = engine
    waiter = {
        "process": {"id": "waiter", "key": "waiter"},
        "elements": [
            {"id": "start", "type": "startEvent", "outgoing": ["wait"]},
            {
                "id": "wait",
                "type": "intermediateCatchEvent",
                "config": {"signal_ref": "sig_order"},
                "outgoing": ["after"],
            },
            {"id": "after", "type": "userTask", "outgoing": ["end"]},
            {"id": "end", "type": "endEvent"},
        ],
        "signal_definitions": SIGNALS,
    }
    await deploy(services, waiter)
    waiting = await services.instances.start(definition_key="waiter")
    await reaches(services, waiting.id, "wait")
    # A definition that starts on the signal and then waits for it again.
    starts_and_waits = json.loads(json.dumps(waiter).replace('"waiter"', '"relay"'))
    starts_and_waits["elements"][0]["config"] = {"signal_ref": "sig_order"}
    await deploy(services, starts_and_waits)

    outcome = await services.signals.send(SIGNAL, variables={"n": 1})

    assert (outcome.delivered, outcome.started) == (1, 1)
    await reaches(services, waiting.id, "after")
    (relay,) = await instances_of(services, "relay")
    # Delivery comes before starting: the new instance waits for the next broadcast.
    await reaches(services, relay.id, "wait")
    assert relay.start_user_id is None  # the system principal (auth off) is nobody


async def test_none_and_signal_starts_of_one_process(engine: Services) -> None:
    services = engine
    await deploy(services, started_by_signal("both", task="signalled", none_start_task="manual"))
    by_hand = await services.instances.start(definition_key="both")
    await reaches(services, by_hand.id, "manual")
    assert await started_at(services, by_hand.id) == "plain"
    outcome = await services.signals.send(SIGNAL)
    (signalled,) = outcome.started_instance_ids
    await reaches(services, signalled, "signalled")
    assert await started_at(services, signalled) == "by_signal"


@pytest.mark.parametrize("at_end", [False, True], ids=["throw-event", "end-event"])
async def test_a_thrown_signal_starts_another_process(engine: Services, at_end: bool) -> None:
    services = engine
    await deploy(services, started_by_signal("listener"))
    await deploy(services, throwing("thrower", at_end=at_end))
    thrower = await services.instances.start(definition_key="thrower", variables={"order": "o-9"})

    async def finished() -> str:
        return (await services.instances.get(thrower.id)).instance.status

    assert await eventually(finished, lambda s: s != "running", within=30) == "completed"
    (listener,) = await eventually(lambda: instances_of(services, "listener"), bool, within=30)
    await reaches(services, listener.id, "handle")
    variables = (await services.instances.get(listener.id)).variables
    if at_end:  # an end event has no input_mapping: the signal carries no variables
        assert "order" not in variables
    else:
        assert variables["order"] == "o-9"
    # The throw's activity derived the instance id from its own identity.
    assert listener.id != thrower.id
    assert listener.workflow_id == workflow_id(listener.id)


async def test_a_retried_throw_activity_starts_nothing_twice(engine: Services) -> None:
    services = engine
    await deploy(services, started_by_signal("listener"))
    broadcast, _ = signal_activities.build_activities(services)
    first_throw = ActivityEnvironment()
    first_throw.info = replace(
        first_throw.info,
        workflow_id="pi-thrower",
        workflow_run_id=str(uuid.uuid4()),
        activity_id="3",
    )
    retry = ActivityEnvironment()
    retry.info = replace(first_throw.info, attempt=2)
    request = {"name": SIGNAL, "variables": {"k": 1}, "tenant_id": ""}

    first = await first_throw.run(broadcast, request)
    again = await retry.run(broadcast, request)

    assert first["started_instance_ids"] == again["started_instance_ids"]
    (only,) = first["started_instance_ids"]
    assert [r.id for r in await instances_of(services, "listener")] == [only]
    await reaches(services, only, "handle")
    # Another throw (next activity of the same run) starts a new instance.
    next_throw = ActivityEnvironment()
    next_throw.info = replace(first_throw.info, activity_id="7")
    other = await next_throw.run(broadcast, request)
    assert other["started_instance_ids"] != first["started_instance_ids"]
    assert len(await instances_of(services, "listener")) == 2


async def test_a_retried_throw_activity_delivers_once_to_waiting_instances(
    engine: Services,
) -> None:
    services = engine
    listening = {
        "process": {"id": "auditor", "key": "auditor"},
        "elements": [
            {"id": "start", "type": "startEvent", "outgoing": ["work"]},
            {"id": "work", "type": "userTask", "outgoing": ["end"]},
            {"id": "end", "type": "endEvent"},
            {
                "id": "on_order",
                "type": "subProcess",
                "config": {
                    "triggered_by_event": True,
                    "elements": [
                        {
                            "id": "order_seen",
                            "type": "startEvent",
                            "config": {"signal_ref": "sig_order", "is_interrupting": False},
                            "outgoing": ["order_done"],
                        },
                        {"id": "order_done", "type": "endEvent"},
                    ],
                },
            },
        ],
        "signal_definitions": SIGNALS,
    }
    await deploy(services, listening)
    auditor = await services.instances.start(definition_key="auditor")
    await reaches(services, auditor.id, "work")

    async def mirrored() -> int:
        async with services.database.session() as session:
            subs = await SubscriptionRepository(session).of_instance(auditor.id)
        return sum(s.kind == "signal" for s in subs)

    await eventually(mirrored, lambda n: n == 1, within=30)
    broadcast, _ = signal_activities.build_activities(services)
    attempt = ActivityEnvironment()
    attempt.info = replace(
        attempt.info, workflow_id="pi-x", workflow_run_id=str(uuid.uuid4()), activity_id="1"
    )
    request = {"name": SIGNAL, "tenant_id": ""}
    assert (await attempt.run(broadcast, request))["delivered"] == 1
    assert (await attempt.run(broadcast, request))["delivered"] == 1  # the retry

    async def triggered() -> int:
        async with services.database.session() as session:
            events = await InstanceRepository(session).events(
                auditor.id, types=("event_subprocess.triggered",)
            )
        return len(events)

    assert await eventually(triggered, lambda n: n >= 1, within=30) == 1
    # Another throw is another delivery: the re-armed event subprocess runs again.
    await eventually(mirrored, lambda n: n == 1, within=30)
    other = ActivityEnvironment()
    other.info = replace(attempt.info, activity_id="2")
    assert (await other.run(broadcast, request))["delivered"] == 1
    assert await eventually(triggered, lambda n: n >= 2, within=30) == 2
    await asyncio.sleep(0.5)
    assert await triggered() == 2


async def test_a_retry_starts_the_workflow_an_interrupted_attempt_left_unstarted(
    engine: Services,
) -> None:
    services = engine
    definition_id = await deploy(services, started_by_signal("listener"))
    # Run ids are unique: so is the request id (Temporal outlives each test's database).
    request_id = f"pi-thrower/{uuid.uuid4()}/5"
    # Derived within the request's scope (the system principal's: every tenant, None).
    instance_id = RequestScope("signal", None, request_id).derived(f"start:{definition_id}")
    # An attempt that died after writing the row, before Temporal started the workflow.
    async with services.database.session() as session:
        await InstanceRepository(session).create(
            instance_id=instance_id,
            workflow_id=workflow_id(instance_id),
            definition_id=definition_id,
            definition_key="listener",
            definition_version=1,
        )

    outcome = await services.signals.send(SIGNAL, request_id=request_id)

    assert outcome.started_instance_ids == (instance_id,)
    await reaches(services, instance_id, "handle")
    assert [r.id for r in await instances_of(services, "listener")] == [instance_id]


async def test_a_definition_refusing_the_variables_stops_the_broadcast_before_any_effect(
    engine: Services,
) -> None:
    services = engine
    await deploy(
        services,
        started_by_signal("strict", variables={"amount": {"type": "integer", "required": True}}),
    )
    await deploy(services, started_by_signal("lenient"))
    with pytest.raises(ValidationFailedError) as refused:
        await services.signals.send(SIGNAL, variables={"note": "x"})
    assert refused.value.message.startswith(
        f"signal '{SIGNAL}' starts definition 'strict' version 1, which refuses its variables: "
        "variables.amount"
    )
    assert [d.path for d in refused.value.details] == ["variables.amount"]
    assert await instances_of(services, "lenient") == []
    outcome = await services.signals.send(SIGNAL, variables={"amount": 3})
    assert outcome.started == 2


async def test_starting_by_signal_needs_signal_send_and_stays_in_the_tenant(
    engine: Services,
) -> None:
    services = engine
    await deploy(services, started_by_signal("orders"), tenant=ACME)
    await deploy(services, started_by_signal("orders"), tenant=GLOBEX)
    user = Principal("bob", roles=frozenset({"user"}), tenant_id=ACME)
    with acting_as(user), pytest.raises(PermissionDeniedError, match="signal:send"):
        await services.signals.send(SIGNAL)
    with acting_as(operator(ACME)), pytest.raises(PermissionDeniedError):
        await services.signals.send(SIGNAL, tenant_id=GLOBEX)
    assert await instances_of(services, "orders") == []
    admin = Principal("root", roles=frozenset({"admin"}), tenant_id=ACME)
    with acting_as(admin):
        one = await services.signals.send(SIGNAL, tenant_id=GLOBEX)
    assert [r.tenant_id for r in await instances_of(services, "orders")] == [GLOBEX]
    assert one.started == 1
    with acting_as(admin):
        everywhere = await services.signals.send(SIGNAL)  # an admin naming no tenant
    assert everywhere.started == 2
    tenants = sorted(r.tenant_id for r in await instances_of(services, "orders"))
    assert tenants == [ACME, GLOBEX, GLOBEX]
    start_users = {r.start_user_id for r in await instances_of(services, "orders")}
    assert start_users == {"root"}


def test_signal_starts_are_top_level_start_events_matched_by_id_or_name() -> None:
    document = started_by_signal("k", none_start_task="manual")
    document["elements"].append(
        {
            "id": "events",
            "type": "subProcess",
            "config": {
                "triggered_by_event": True,
                "elements": [
                    {
                        "id": "inner",
                        "type": "startEvent",
                        "config": {"signal_ref": "sig_order"},
                        "outgoing": ["inner_end"],
                    },
                    {"id": "inner_end", "type": "endEvent"},
                ],
            },
        }
    )
    model, issues = parse_definition(document)
    assert model is not None, issues
    assert signal_starts(model, SIGNAL) == ["by_signal"]
    assert signal_starts(model, "sig_order") == ["by_signal"]
    assert signal_starts(model, "Order shipped") == []
