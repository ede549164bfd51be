"""Request ids: a repeated signal / message request acts once and answers the same.

Real interpreter on a real Temporal dev server, SQLite and PostgreSQL: retried `wfe.send_message`
activities (as `test_signal_starts.py` retries throws), client request ids on both services,
tenant scoping, reuse with other parameters, a correlation interrupted after its decision.
"""

from __future__ import annotations

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
from tests.services.support import eventually, message_start_definition
from tests.services.test_signal_starts import (
    SIGNAL,
    deploy,
    instances_of,
    operator,
    reaches,
    started_by_signal,
)
from workflow_engine.engine.activities import signals as signal_activities
from workflow_engine.security import acting_as
from workflow_engine.services.container import Services
from workflow_engine.services.errors import ConflictError, InvalidArgumentError, NotFoundError
from workflow_engine.services.idempotency import RequestLedger, RequestScope, fingerprint
from workflow_engine.store.instances import InstanceRepository
from workflow_engine.store.subscriptions import SubscriptionRepository

ACME, GLOBEX = "acme", "globex"


def rid(label: str) -> str:
    """A request id unique to this run (Temporal outlives each test's database)."""
    return f"{label}-{uuid.uuid4()}"


@pytest.fixture
async def engine(db_url: str, tmp_path: Path, temporal_client: Client) -> AsyncIterator[Services]:
    """Services over `db_url` with the real interpreter running on a queue of their own."""
    async with running_engine(db_url, tmp_path, temporal_client) as services:
        yield services


def waiting_for_paid(key: str = "orders") -> dict[str, Any]:
    """none start -> catch message `paid` -> user task `ship` -> end."""
    return {
        "process": {"id": key, "key": key},
        "elements": [
            {"id": "start", "type": "startEvent", "outgoing": ["paid"]},
            {
                "id": "paid",
                "type": "intermediateCatchEvent",
                "config": {"message_ref": "msg_paid"},
                "outgoing": ["ship"],
            },
            {"id": "ship", "type": "userTask", "outgoing": ["end"]},
            {"id": "end", "type": "endEvent"},
        ],
        "message_definitions": [{"id": "msg_paid", "name": "paid"}],
    }


def activity_env(activity_id: str = "4", *, run_id: str | None = None) -> ActivityEnvironment:
    """An environment running an activity with a fixed identity (attempt 1)."""
    env = ActivityEnvironment()
    env.info = replace(
        env.info,
        workflow_id="pi-sender",
        workflow_run_id=run_id or str(uuid.uuid4()),
        activity_id=activity_id,
    )
    return env


async def waits_on_message(services: Services, instance_id: str) -> int:
    async with services.database.session() as session:
        subs = await SubscriptionRepository(session).of_instance(instance_id)
    return sum(s.kind == "message" for s in subs)


async def test_a_retried_send_message_activity_starts_one_instance(engine: Services) -> None:
    services = engine
    await deploy(services, message_start_definition("payments", "paid"))
    _, send = signal_activities.build_activities(services)
    first = activity_env()
    retry = ActivityEnvironment()
    retry.info = replace(first.info, attempt=2)
    request = {"name": "paid", "variables": {"amount": 3}, "tenant_id": ""}

    started = await first.run(send, request)
    again = await retry.run(send, request)

    assert again == started
    assert [r.id for r in await instances_of(services, "payments")] == [started]
    # The next throw of the same run is another message: another instance.
    following = activity_env("9", run_id=first.info.workflow_run_id)
    other = await following.run(send, request)
    assert other != started
    assert len(await instances_of(services, "payments")) == 2


async def test_a_retry_after_delivery_answers_the_receiver_and_starts_nothing(
    engine: Services,
) -> None:
    services = engine
    await deploy(services, waiting_for_paid())
    await deploy(services, message_start_definition("payments", "paid"))
    waiter = await services.instances.start(definition_key="orders", business_key="o-1")
    await eventually(lambda: waits_on_message(services, waiter.id), lambda n: n == 1, within=30)
    _, send = signal_activities.build_activities(services)
    first = activity_env()
    request = {"name": "paid", "tenant_id": "", "variables": {"ok": True}}

    assert await first.run(send, request) == waiter.id
    await reaches(services, waiter.id, "ship")  # the wait is consumed and gone
    retry = ActivityEnvironment()
    retry.info = replace(first.info, attempt=2)
    assert await retry.run(send, request) == waiter.id
    assert await instances_of(services, "payments") == []
    # Without the remembered outcome the same message would now start a process.
    fresh = await services.messages.correlate("paid")
    assert fresh.started is True


async def test_client_request_ids_answer_the_same_and_act_once(engine: Services) -> None:
    services = engine
    await deploy(services, started_by_signal("listener"))
    await deploy(services, message_start_definition("payments", "paid"))

    sig_1, msg_1 = rid("sig"), rid("msg")
    sent = await services.signals.send(SIGNAL, variables={"n": 1}, request_id=sig_1)
    again = await services.signals.send(SIGNAL, variables={"n": 1}, request_id=sig_1)
    assert sent.started == 1
    assert again == sent
    assert len(await instances_of(services, "listener")) == 1
    await reaches(services, sent.started_instance_ids[0], "handle")

    got = await services.messages.correlate("paid", business_key="b-1", request_id=msg_1)
    repeat = await services.messages.correlate("paid", business_key="b-1", request_id=msg_1)
    assert got.started is True
    assert repeat == got
    assert [r.id for r in await instances_of(services, "payments")] == [got.instance_id]
    # A signal and a message may share a request id: they are different requests.
    shared = await services.messages.correlate("paid", business_key="b-2", request_id=sig_1)
    assert shared.instance_id != got.instance_id
    assert len(await instances_of(services, "payments")) == 2


async def test_a_reused_request_id_with_other_parameters_is_refused(engine: Services) -> None:
    services = engine
    await deploy(services, started_by_signal("listener"))
    await deploy(services, message_start_definition("payments", "paid"))
    r_1, r_2 = rid("r1"), rid("r2")
    await services.signals.send(SIGNAL, variables={"n": 1}, request_id=r_1)
    with pytest.raises(ConflictError, match=f"request_id '{r_1}' was already used"):
        await services.signals.send(SIGNAL, variables={"n": 2}, request_id=r_1)
    await services.messages.correlate("paid", business_key="b-1", request_id=r_2)
    with pytest.raises(ConflictError, match="another message request"):
        await services.messages.correlate("paid", business_key="b-9", request_id=r_2)
    assert len(await instances_of(services, "listener")) == 1
    assert len(await instances_of(services, "payments")) == 1
    for bad in ("", "   ", "x" * 256):
        with pytest.raises(InvalidArgumentError, match="request_id"):
            await services.signals.send(SIGNAL, request_id=bad)
        with pytest.raises(InvalidArgumentError, match="request_id"):
            await services.messages.correlate("paid", request_id=bad)
    # 255 characters are fine.
    assert (await services.signals.send(SIGNAL, request_id=rid("x" * 218))).started == 1


async def test_request_ids_are_scoped_by_tenant(engine: Services) -> None:
    services = engine
    for tenant in (ACME, GLOBEX):
        await deploy(services, started_by_signal("listener"), tenant=tenant)
        await deploy(services, message_start_definition("payments", "paid"), tenant=tenant)
    same = rid("same")
    answers: dict[str, tuple[str, str]] = {}
    for tenant in (ACME, GLOBEX):
        with acting_as(operator(tenant)):
            signal = await services.signals.send(SIGNAL, request_id=same)
            message = await services.messages.correlate("paid", request_id=same)
        (started,) = signal.started_instance_ids
        answers[tenant] = (started, message.instance_id)
    assert answers[ACME][0] != answers[GLOBEX][0]
    assert answers[ACME][1] != answers[GLOBEX][1]
    for tenant, ids in answers.items():
        for instance_id in ids:
            async with services.database.session() as session:
                record = await InstanceRepository(session).get(instance_id)
            assert record is not None and record.tenant_id == tenant
    # Each tenant's repeat answers its own instances.
    with acting_as(operator(GLOBEX)):
        again = await services.signals.send(SIGNAL, request_id=same)
    assert again.started_instance_ids == (answers[GLOBEX][0],)
    assert len(await instances_of(services, "listener")) == 2


async def test_a_refused_message_is_forgotten_and_may_be_sent_again(engine: Services) -> None:
    services = engine
    early = rid("early")
    with pytest.raises(NotFoundError):
        await services.messages.correlate("paid", request_id=early)
    await deploy(services, message_start_definition("payments", "paid"))
    got = await services.messages.correlate("paid", request_id=early)
    assert got.started is True


async def test_a_correlation_interrupted_after_its_decision_carries_it_out(
    engine: Services,
) -> None:
    services = engine
    definition_id = await deploy(services, message_start_definition("payments", "paid"))
    # An attempt that decided to start, remembered its decision, and died before starting.
    scope = RequestScope("message", None, f"pi-x/{uuid.uuid4()}/2")
    decided = scope.derived("message-start")
    print_ = fingerprint(
        {"name": "paid", "correlation_key": None, "business_key": "b-7", "variables": {}}
    )
    await RequestLedger(services.database).claim(
        scope,
        print_,
        {
            "instance_id": decided,
            "started": True,
            "definition_id": definition_id,
            "node_id": "start_by_message",
        },
        completed=False,
    )

    got = await services.messages.correlate("paid", business_key="b-7", request_id=scope.request_id)

    assert (got.instance_id, got.started) == (decided, True)
    assert [r.id for r in await instances_of(services, "payments")] == [decided]
    remembered = await RequestLedger(services.database).recall(scope, print_)
    assert remembered is not None and remembered.completed
    assert json.loads(json.dumps(remembered.outcome))["instance_id"] == decided
