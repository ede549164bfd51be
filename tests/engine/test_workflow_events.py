"""Events: timers, signals, messages (catch, throw, end), receive task, event-based gateway,
catch timeouts, error end events."""

from __future__ import annotations

import pytest
from temporalio.client import Client

from workflow_engine.engine.contract import (
    SIGNAL_BPMN_MESSAGE,
    SIGNAL_BPMN_SIGNAL,
    MessageDelivery,
    SignalDelivery,
)

from .harness import doc, el, engine, eventually, until

pytestmark = pytest.mark.temporal

SIGNALS = {"signal_definitions": [{"id": "sig_go", "name": "go"}]}
MESSAGES = {
    "message_definitions": [{"id": "msg_pay", "name": "payment", "correlation_key": "${order}"}]
}


async def test_timer_duration_then_continue(temporal_client: Client) -> None:
    definition = doc(
        el("start", "startEvent", "wait"),
        el("wait", "intermediateCatchEvent", "end", config={"timer_duration": "PT1S"}),
        el("end", "endEvent"),
    )
    async with engine(temporal_client) as eng:
        result = await (await eng.start(definition)).result()
    assert result.status == "completed"
    types = eng.types()
    assert types.index("timer.scheduled") < types.index("timer.fired")


async def test_timer_cycle_fires_first_time_only(temporal_client: Client) -> None:
    definition = doc(
        el("start", "startEvent", "wait"),
        el("wait", "intermediateCatchEvent", "end", config={"timer_cycle": "R3/PT1S"}),
        el("end", "endEvent"),
    )
    async with engine(temporal_client) as eng:
        result = await (await eng.start(definition)).result()
    assert result.status == "completed"
    assert eng.types().count("timer.fired") == 1


async def test_signal_catch_by_name_with_variables(temporal_client: Client) -> None:
    definition = doc(
        el("start", "startEvent", "wait"),
        el("wait", "intermediateCatchEvent", "end", config={"signal_ref": "sig_go"}),
        el("end", "endEvent"),
        **SIGNALS,
    )
    async with engine(temporal_client) as eng:
        handle = await eng.start(definition)
        await until(handle, lambda s: s.active_node_ids == ["wait"])
        await eventually(lambda: any(b.subscriptions for b in eng.batches))
        subs = [b.subscriptions for b in eng.batches if b.subscriptions]
        assert subs[-1][0].name == "go" and subs[-1][0].kind == "signal"
        await handle.signal(SIGNAL_BPMN_SIGNAL, SignalDelivery(name="go", variables={"x": 1}))
        result = await handle.result()
    assert result.variables["x"] == 1
    assert "signal.received" in eng.types()
    assert eng.batches[-1].subscriptions == []


async def test_message_catch_correlation_key(temporal_client: Client) -> None:
    definition = doc(
        el("start", "startEvent", "wait"),
        el("wait", "receiveTask", "end", config={"message_ref": "msg_pay"}),
        el("end", "endEvent"),
        **MESSAGES,
    )
    async with engine(temporal_client) as eng:
        handle = await eng.start(definition, variables={"order": "A-1"})
        await until(handle, lambda s: s.active_node_ids == ["wait"])
        await handle.signal(
            SIGNAL_BPMN_MESSAGE,
            MessageDelivery(name="payment", correlation_key="B-2", variables={"paid": 1}),
        )
        await handle.signal(
            SIGNAL_BPMN_MESSAGE,
            MessageDelivery(name="payment", correlation_key="A-1", variables={"paid": 2}),
        )
        result = await handle.result()
    assert result.variables["paid"] == 2
    sub = next(b.subscriptions for b in eng.batches if b.subscriptions)
    assert sub[0].correlation_key == "A-1"


@pytest.mark.parametrize(
    ("action", "status", "end"), [("continue", "completed", "end"), ("cancel", "cancelled", None)]
)
async def test_catch_timeout_action(
    temporal_client: Client, action: str, status: str, end: str | None
) -> None:
    definition = doc(
        el("start", "startEvent", "wait"),
        el(
            "wait",
            "intermediateCatchEvent",
            "end",
            config={"signal_ref": "sig_go", "timeout": "PT1S", "timeout_action": action},
        ),
        el("end", "endEvent"),
        **SIGNALS,
    )
    async with engine(temporal_client) as eng:
        result = await (await eng.start(definition)).result()
    assert result.status == status and result.end_node_id == end
    assert "event.timed_out" in eng.types()


async def test_event_based_gateway_first_event_wins(temporal_client: Client) -> None:
    definition = doc(
        el("start", "startEvent", "gw"),
        el("gw", "eventBasedGateway", "sig", "tmr"),
        el("sig", "intermediateCatchEvent", "end_sig", config={"signal_ref": "sig_go"}),
        el("tmr", "intermediateCatchEvent", "end_tmr", config={"timer_duration": "PT30S"}),
        el("end_sig", "endEvent"),
        el("end_tmr", "endEvent"),
        **SIGNALS,
    )
    async with engine(temporal_client) as eng:
        handle = await eng.start(definition)
        await until(handle, lambda s: s.active_node_ids == ["gw"])
        await handle.signal(SIGNAL_BPMN_SIGNAL, SignalDelivery(name="go"))
        result = await handle.result()
    assert result.end_node_id == "end_sig"
    assert "timer.fired" not in eng.types()


async def test_throw_signal_and_message_call_the_services(temporal_client: Client) -> None:
    definition = doc(
        el("start", "startEvent", "throw_sig"),
        el(
            "throw_sig",
            "intermediateThrowEvent",
            "end",
            config={"signal_ref": "sig_go", "input_mapping": {"amount": "${amount}"}},
        ),
        el("end", "endEvent", config={"message_ref": "msg_pay", "correlation_key": "${order}"}),
        **SIGNALS,
        **MESSAGES,
    )
    async with engine(temporal_client) as eng:
        result = await (await eng.start(definition, variables={"amount": 5, "order": "X"})).result()
    assert result.status == "completed"
    assert eng.broadcasts == [
        {
            "name": "go",
            "variables": {"amount": 5},
            "tenant_id": "",
            "instance_id": eng.broadcasts[0]["instance_id"],
        }
    ]
    assert eng.messages[0]["name"] == "payment" and eng.messages[0]["correlation_key"] == "X"
    types = eng.types()
    assert "signal.thrown" in types and "message.sent" in types


async def test_uncaught_error_end_event_is_incident(temporal_client: Client) -> None:
    definition = doc(
        el("start", "startEvent", "fail"),
        el("fail", "endEvent", config={"error_ref": "err_x"}),
        error_definitions=[{"id": "err_x", "error_code": "X42"}],
    )
    async with engine(temporal_client) as eng:
        handle = await eng.start(definition)
        snap = await until(handle, lambda s: s.status == "incident")
        assert "X42" in snap.incidents[0].message
        await handle.terminate()
