"""Execution budgets (issue 15, findings 2-4): loops without a wait, slow and huge expressions.

Each of these used to pin the worker: the loop's workflow task never ended (terminate did
nothing), the slow condition tripped Temporal's deadlock detection on every attempt (the
instance stayed `running` without an incident) and the nested `fn:replace` grew hundreds of
megabytes. Now each is an incident naming the cause, and the instance still obeys control.
"""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import Client

from workflow_engine.engine.contract import (
    SIGNAL_CANCEL,
    SIGNAL_RETRY,
    SIGNAL_TERMINATE,
    ControlRequest,
    RetryRequest,
)

from .harness import doc, el, engine, flow, until

pytestmark = pytest.mark.temporal


def _loop(*, condition: str = "${n < 0}") -> dict[str, Any]:
    """Finding 2: script task <-> exclusive gateway, no wait state, never leaving."""
    return doc(
        el("start", "startEvent", "inc"),
        el("inc", "scriptTask", "gw", config={"script": {"n": "${n + 1}"}}),
        el("gw", "exclusiveGateway"),
        flow("back", "gw", "inc", "${n >= 0}"),
        flow("out", "gw", "end", condition),
        el("end", "endEvent"),
    )


async def test_loop_without_wait_becomes_incident_naming_the_loop_then_terminate(
    temporal_client: Client,
) -> None:
    async with engine(temporal_client) as eng:
        handle = await eng.start(_loop(), variables={"n": 0})
        snap = await until(handle, lambda s: s.status == "incident", within=60)
        incident = snap.incidents[0]
        assert incident.error_type == "StepBudgetExceeded"
        assert "more than 5000 steps without a wait state" in incident.message
        assert "loop: inc -> gw -> inc" in incident.message or (
            "loop: gw -> inc -> gw" in incident.message
        )
        # 5,000 steps: the two nodes ran about 2,500 times each, then the instance waited.
        assert 2_000 <= snap.variables["n"] <= 2_501
        await handle.signal(SIGNAL_TERMINATE, ControlRequest(reason="runaway loop"))
        result = await handle.result()
    assert result.status == "terminated"
    assert result.reason == "runaway loop"


async def test_loop_incident_retry_runs_another_budget_and_cancel_works(
    temporal_client: Client,
) -> None:
    async with engine(temporal_client) as eng:
        handle = await eng.start(_loop(), variables={"n": 0}, max_steps_without_wait=200)
        first = await until(handle, lambda s: s.status == "incident")
        assert first.incidents[0].node_id in ("inc", "gw")
        assert first.variables["n"] <= 101
        await handle.signal(SIGNAL_RETRY, RetryRequest())
        second = await until(
            handle,
            lambda s: s.status == "incident" and s.variables["n"] > first.variables["n"] + 50,
        )
        assert second.incidents[0].error_type == "StepBudgetExceeded"
        await handle.signal(SIGNAL_CANCEL, ControlRequest(reason="enough"))
        result = await handle.result()
    assert result.status == "cancelled"


async def test_loop_through_a_wait_is_not_limited(temporal_client: Client) -> None:
    """The budget counts steps per workflow task: a loop over a timer resets it each turn."""
    definition = doc(
        el("start", "startEvent", "inc"),
        el("inc", "scriptTask", "gw", config={"script": {"n": "${n + 1}"}}),
        el("gw", "exclusiveGateway"),
        flow("back", "gw", "pause", "${n < 30}"),
        flow("out", "gw", "end", "${n >= 30}"),
        el("pause", "intermediateCatchEvent", "inc", config={"timer_duration": "PT0.01S"}),
        el("end", "endEvent"),
    )
    async with engine(temporal_client) as eng:
        handle = await eng.start(definition, variables={"n": 0}, max_steps_without_wait=10)
        result = await handle.result()
    assert result.status == "completed"
    assert result.variables["n"] == 30


async def test_slow_condition_is_an_expression_incident(temporal_client: Client) -> None:
    """Finding 3: five nested `.map` over ten items as a gateway condition."""
    nested = "items" + "".join(f".map(x{i}, items" for i in range(4)) + ".map(z, z + 1)"
    slow = "${size(" + nested + ")" * 4 + ") > 0}"
    definition = doc(
        el("start", "startEvent", "gw"),
        el("gw", "exclusiveGateway"),
        flow("yes", "gw", "end", slow),
        flow("no", "gw", "end", "${false}"),
        el("end", "endEvent"),
    )
    async with engine(temporal_client) as eng:
        handle = await eng.start(definition, variables={"items": list(range(10))})
        snap = await until(handle, lambda s: s.status == "incident", within=30)
        incident = snap.incidents[0]
        assert incident.node_id == "gw"
        assert incident.error_type == "ExpressionError"
        assert "evaluation steps" in incident.message
        await handle.signal(SIGNAL_TERMINATE, ControlRequest())
        assert (await handle.result()).status == "terminated"


def _replace_bomb(levels: int) -> str:
    text = "s"
    for _ in range(levels):
        text = f'fn:replace({text}, "a", "aaaaaaaa")'
    return "${" + text + "}"


async def test_growing_string_is_an_incident_with_bounded_memory(temporal_client: Client) -> None:
    """Finding 4: nested `fn:replace` growing a string 8x per level (10 levels: 8 GB)."""
    definition = doc(
        el("start", "startEvent", "bomb"),
        el("bomb", "scriptTask", "end", config={"script": {"big": _replace_bomb(10)}}),
        el("end", "endEvent"),
    )
    async with engine(temporal_client) as eng:
        handle = await eng.start(definition, variables={"s": "a" * 8})
        snap = await until(handle, lambda s: s.status == "incident", within=30)
        assert snap.incidents[0].node_id == "bomb"
        assert "fn:replace would produce a value of" in snap.incidents[0].message
        await handle.signal(SIGNAL_TERMINATE, ControlRequest())
        assert (await handle.result()).status == "terminated"


async def test_variables_over_the_instance_budget_are_an_incident(
    temporal_client: Client,
) -> None:
    """Values under the expression cap can still add up: the instance's variables are capped."""
    definition = doc(
        el("start", "startEvent", "grow"),
        el(
            "grow",
            "scriptTask",
            "end",
            config={"script": {"big": _replace_bomb(3)}},
        ),
        el("end", "endEvent"),
    )
    async with engine(temporal_client) as eng:
        handle = await eng.start(
            definition, variables={"s": "a" * 1000}, max_variables_bytes=100_000
        )
        snap = await until(handle, lambda s: s.status == "incident")
        incident = snap.incidents[0]
        assert incident.error_type == "VariablesTooLarge"
        assert "variable 'big' would be 512002 bytes as JSON" in incident.message
        assert "limit of 100000 bytes" in incident.message
        await handle.signal(SIGNAL_TERMINATE, ControlRequest())
        assert (await handle.result()).status == "terminated"


async def test_a_running_loop_obeys_terminate_before_its_budget_is_spent(
    temporal_client: Client,
) -> None:
    """Finding 2's "terminate answers 202 and does nothing": the loop now yields every 100
    steps (writing its event log), so a terminate gets in even with no budget at all."""
    async with engine(temporal_client) as eng:
        handle = await eng.start(_loop(), variables={"n": 0}, max_steps_without_wait=0)
        await until(handle, lambda s: s.variables.get("n", 0) > 300, within=60)
        await handle.signal(SIGNAL_TERMINATE, ControlRequest(reason="stop"))
        result = await handle.result()
    assert result.status == "terminated"
    assert result.variables["n"] > 300
