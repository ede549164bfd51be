"""Scopes: embedded subprocess, error end inside it, event subprocesses, multi-instance, call
activity, business rule task."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import Client

from workflow_engine.engine.contract import SIGNAL_BPMN_MESSAGE, MessageDelivery

from .harness import doc, el, engine, recording, until

pytestmark = pytest.mark.temporal


async def test_embedded_subprocess_and_error_boundary(temporal_client: Client) -> None:
    definition = doc(
        el("start", "startEvent", "sub"),
        el(
            "sub",
            "subProcess",
            "end",
            config={
                "elements": [
                    el("s_start", "startEvent", "s_gw"),
                    el(
                        "s_gw",
                        "exclusiveGateway",
                        "s_ok",
                        "s_fail",
                        config={"default_flow": "s_ok"},
                    ),
                    {
                        "id": "s_fail",
                        "type": "sequenceFlow",
                        "source": "s_gw",
                        "target": "s_err",
                        "config": {"condition": "${bad}"},
                    },
                    {"id": "s_ok", "type": "sequenceFlow", "source": "s_gw", "target": "s_end"},
                    el("s_err", "endEvent", config={"error_ref": "e1"}),
                    el("s_end", "endEvent"),
                ]
            },
        ),
        el("end", "endEvent"),
        el("caught", "boundaryEvent", "end_err", attached_to="sub", config={"error_ref": "e1"}),
        el("end_err", "endEvent"),
        error_definitions=[{"id": "e1", "error_code": "BAD"}],
    )
    async with engine(temporal_client) as eng:
        ok = await (await eng.start(definition, variables={"bad": False})).result()
        bad = await (await eng.start(definition, variables={"bad": True})).result()
    assert ok.end_node_id == "end" and bad.end_node_id == "end_err"


async def test_event_subprocess_interrupting_message(temporal_client: Client) -> None:
    definition = doc(
        el("start", "startEvent", "t"),
        el("t", "userTask", "end"),
        el("end", "endEvent"),
        el(
            "esp",
            "subProcess",
            config={
                "triggered_by_event": True,
                "elements": [
                    el("e_start", "startEvent", "e_end", config={"message_ref": "stop"}),
                    el("e_end", "endEvent"),
                ],
            },
        ),
    )
    async with engine(temporal_client) as eng:
        handle = await eng.start(definition)
        await until(handle, lambda s: bool(s.open_task_ids))
        await handle.signal(
            SIGNAL_BPMN_MESSAGE, MessageDelivery(name="stop", variables={"why": "x"})
        )
        result = await handle.result()
    assert result.status == "completed" and result.variables["why"] == "x"
    assert [t.state for t in eng.tasks().values()] == ["cancelled"]


@pytest.mark.parametrize("sequential", [False, True])
async def test_multi_instance_collection(temporal_client: Client, sequential: bool) -> None:
    definition = doc(
        el("start", "startEvent", "each"),
        el(
            "each",
            "serviceTask",
            "end",
            config={
                "activity_name": "Echo",
                "input_mapping": {
                    "item": "${item}",
                    "i": "${loopCounter}",
                    "n": "${nrOfInstances}",
                },
                "output_mapping": {},
                "multi_instance": {
                    "is_sequential": sequential,
                    "collection": "items",
                    "element_variable": "item",
                },
            },
        ),
        el("end", "endEvent"),
    )
    async with engine(temporal_client) as outer:
        echo = recording("Echo", outer.calls, lambda arg: arg)
        async with engine(temporal_client, echo) as eng:
            result = await (
                await eng.start(definition, variables={"items": ["a", "b", "c"]})
            ).result()
    calls = outer.calls["Echo"]
    assert sorted((c["item"], c["i"], c["n"]) for c in calls) == [
        ("a", 0, 3),
        ("b", 1, 3),
        ("c", 2, 3),
    ]
    if sequential:
        assert [c["item"] for c in calls] == ["a", "b", "c"]
    assert result.status == "completed" and "loopCounter" not in result.variables


async def test_multi_instance_completion_condition(temporal_client: Client) -> None:
    definition = doc(
        el("start", "startEvent", "each"),
        el(
            "each",
            "scriptTask",
            "end",
            config={
                "script": {"count": "${count + 1}"},
                "multi_instance": {
                    "is_sequential": True,
                    "loop_cardinality": 5,
                    "completion_condition": "${nrOfCompletedInstances >= 2}",
                },
            },
        ),
        el("end", "endEvent"),
    )
    async with engine(temporal_client) as eng:
        result = await (await eng.start(definition, variables={"count": 0})).result()
    assert result.variables["count"] == 2


async def test_call_activity_runs_child_instance(temporal_client: Client) -> None:
    child = doc(
        el("c_start", "startEvent", "c_calc"),
        el("c_calc", "scriptTask", "c_end", config={"script": {"doubled": "${x * 2}"}}),
        el("c_end", "endEvent"),
        id="child",
        key="child",
    )
    parent = doc(
        el("start", "startEvent", "call"),
        el(
            "call",
            "callActivity",
            "end",
            config={
                "called_element": "child",
                "in_mapping": {"x": "${value}"},
                "out_mapping": {"result_value": "${doubled}"},
            },
        ),
        el("end", "endEvent"),
    )
    async with engine(temporal_client, definitions={"child": child}) as eng:
        result = await (await eng.start(parent, variables={"value": 21})).result()
    assert result.variables["result_value"] == 42
    assert "x" not in result.variables
    instances = {b.instance_id for b in eng.batches}
    assert len(instances) == 2


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("UNIQUE", {"tier": "gold"}),
        ("FIRST", {"tier": "gold"}),
        ("COLLECT", {"tier": ["gold", "any"]}),
    ],
)
async def test_business_rule_task(
    temporal_client: Client, policy: str, expected: dict[str, Any]
) -> None:
    rules: list[dict[str, Any]] = [
        {"when": ["${amount >= 1000}"], "then": {"tier": "gold"}},
        {"when": ["${amount < 10}"], "then": {"tier": "tiny"}},
    ]
    if policy != "UNIQUE":
        rules.append({"when": [], "then": {"tier": "any"}})
    definition = doc(
        el("start", "startEvent", "rules"),
        el(
            "rules",
            "businessRuleTask",
            "end",
            config={"decision_table": {"hit_policy": policy, "rules": rules}},
        ),
        el("end", "endEvent"),
    )
    async with engine(temporal_client) as eng:
        result = await (await eng.start(definition, variables={"amount": 5000})).result()
    assert {k: result.variables[k] for k in expected} == expected
