"""Escalation events: throw / end events, boundaries, event subprocesses, call activities."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from temporalio.client import Client

from workflow_engine.engine.contract import EngineEvent

from .harness import Engine, doc, el, engine

pytestmark = pytest.mark.temporal


def _mark(node_id: str, variable: str, then: str) -> dict[str, Any]:
    """A script task setting `variable` to true (so a test sees which paths ran)."""
    return el(node_id, "scriptTask", then, config={"script": {variable: "${true}"}})


def _throwing_subprocess(
    *extra_children: dict[str, Any], thrower: str = "intermediateThrowEvent", code: str = "late"
) -> dict[str, Any]:
    """`sp`: start → escalation throw `code` → (inner: sets `inner`) → end, then `end`."""
    if thrower == "endEvent":
        children = [
            el("s_start", "startEvent", "s_throw"),
            el("s_throw", "endEvent", config={"escalation_code": code}),
        ]
    else:
        children = [
            el("s_start", "startEvent", "s_throw"),
            el("s_throw", "intermediateThrowEvent", "s_inner", config={"escalation_code": code}),
            _mark("s_inner", "inner", "s_end"),
            el("s_end", "endEvent"),
        ]
    return el("sp", "subProcess", "end", config={"elements": [*children, *extra_children]})


def _with_boundary(boundary_config: dict[str, Any], **sub: Any) -> dict[str, Any]:
    return doc(
        el("start", "startEvent", "sp"),
        _throwing_subprocess(**sub),
        el("end", "endEvent"),
        el("b", "boundaryEvent", "b_work", attached_to="sp", config=boundary_config),
        _mark("b_work", "escalated", "b_end"),
        el("b_end", "endEvent"),
    )


def _events(eng: Engine, event_type: str) -> list[EngineEvent]:
    return [e for e in eng.events() if e.type == event_type]


async def test_non_interrupting_boundary_starts_its_path_and_the_thrower_goes_on(
    temporal_client: Client,
) -> None:
    definition = _with_boundary({"escalation_code": "late", "cancel_activity": False})
    async with engine(temporal_client) as eng:
        result = await (await eng.start(definition)).result()
    assert result.status == "completed"
    assert result.variables == {"inner": True, "escalated": True}
    thrown = _events(eng, "escalation.thrown")
    assert [(e.activity_id, e.data["caught"], e.data["catcher"]) for e in thrown] == [
        ("s_throw", True, "b")
    ]
    assert "activity.interrupted" not in eng.types()
    assert "sp" in eng.passed()  # the subprocess completed normally too


async def test_interrupting_boundary_ends_the_subprocess_and_the_throwing_path(
    temporal_client: Client,
) -> None:
    definition = _with_boundary({"escalation_code": "late"})
    async with engine(temporal_client) as eng:
        result = await (await eng.start(definition)).result()
    assert result.variables == {"escalated": True}
    assert result.end_node_id == "b_end"
    assert "activity.interrupted" in eng.types()
    assert "s_inner" not in eng.passed()


async def test_catch_all_boundary_catches_any_code(temporal_client: Client) -> None:
    definition = _with_boundary({"escalation_code": None, "cancel_activity": False}, code="x9")
    async with engine(temporal_client) as eng:
        result = await (await eng.start(definition)).result()
    assert result.variables == {"inner": True, "escalated": True}
    triggered = _events(eng, "boundary.triggered")
    assert [e.data["escalation_code"] for e in triggered] == ["x9"]


async def test_boundary_with_another_code_does_not_catch_and_the_process_goes_on(
    temporal_client: Client,
) -> None:
    definition = _with_boundary({"escalation_code": "other", "cancel_activity": False})
    async with engine(temporal_client) as eng:
        result = await (await eng.start(definition)).result()
    assert result.status == "completed"
    assert result.variables == {"inner": True}
    assert result.end_node_id == "end"
    thrown = _events(eng, "escalation.thrown")
    assert [(e.data["caught"], e.data["catcher"]) for e in thrown] == [(False, None)]
    assert "incident.created" not in eng.types()


async def test_exact_code_wins_over_a_catch_all(temporal_client: Client) -> None:
    definition = doc(
        el("start", "startEvent", "sp"),
        _throwing_subprocess(),
        el("end", "endEvent"),
        el(
            "any",
            "boundaryEvent",
            "any_work",
            attached_to="sp",
            config={"escalation_code": None, "cancel_activity": False},
        ),
        _mark("any_work", "by_any", "b_end"),
        el(
            "exact",
            "boundaryEvent",
            "exact_work",
            attached_to="sp",
            config={"escalation_code": "late", "cancel_activity": False},
        ),
        _mark("exact_work", "by_exact", "b_end"),
        el("b_end", "endEvent"),
    )
    async with engine(temporal_client) as eng:
        result = await (await eng.start(definition)).result()
    assert result.variables == {"inner": True, "by_exact": True}


async def test_escalation_end_event_ends_its_path_and_the_boundary_fires(
    temporal_client: Client,
) -> None:
    definition = _with_boundary(
        {"escalation_code": "late", "cancel_activity": False}, thrower="endEvent"
    )
    async with engine(temporal_client) as eng:
        result = await (await eng.start(definition)).result()
    assert result.variables == {"escalated": True}
    assert "sp" in eng.passed() and "b_work" in eng.passed()


@pytest.mark.parametrize("interrupting", [False, True])
async def test_escalation_event_subprocess_inside_the_subprocess(
    temporal_client: Client, interrupting: bool
) -> None:
    handler = el(
        "esp",
        "subProcess",
        config={
            "triggered_by_event": True,
            "elements": [
                el(
                    "esp_start",
                    "startEvent",
                    "esp_work",
                    config={"escalation_code": "late", "is_interrupting": interrupting},
                ),
                _mark("esp_work", "handled", "esp_end"),
                el("esp_end", "endEvent"),
            ],
        },
    )
    definition = doc(
        el("start", "startEvent", "sp"),
        _throwing_subprocess(handler),
        _mark("end", "after", "done"),
        el("done", "endEvent"),
    )
    async with engine(temporal_client) as eng:
        result = await (await eng.start(definition)).result()
    expected = {"handled": True, "after": True}
    if not interrupting:
        expected["inner"] = True
    assert result.variables == expected
    thrown = _events(eng, "escalation.thrown")
    assert [e.data["catcher"] for e in thrown] == ["esp_start"]


async def test_process_level_event_subprocess_catches_from_a_nested_subprocess(
    temporal_client: Client,
) -> None:
    definition = doc(
        el("start", "startEvent", "sp"),
        _throwing_subprocess(),
        el("end", "endEvent"),
        el(
            "esp",
            "subProcess",
            config={
                "triggered_by_event": True,
                "elements": [
                    el(
                        "esp_start",
                        "startEvent",
                        "esp_work",
                        config={"escalation_code": None, "is_interrupting": False},
                    ),
                    _mark("esp_work", "handled", "esp_end"),
                    el("esp_end", "endEvent"),
                ],
            },
        ),
    )
    async with engine(temporal_client) as eng:
        result = await (await eng.start(definition)).result()
    assert result.variables == {"inner": True, "handled": True}


def _child(code: str = "late") -> dict[str, Any]:
    return doc(
        el("c_start", "startEvent", "c_throw"),
        el("c_throw", "intermediateThrowEvent", "c_work", config={"escalation_code": code}),
        _mark("c_work", "child_went_on", "c_end"),
        el("c_end", "endEvent"),
        id="child",
        key="child",
    )


def _caller(boundary_config: dict[str, Any]) -> dict[str, Any]:
    return doc(
        el("start", "startEvent", "call"),
        el(
            "call",
            "callActivity",
            "end",
            config={"called_element": "child", "propagate_all_variables": False},
        ),
        el("end", "endEvent"),
        el("b", "boundaryEvent", "b_work", attached_to="call", config=boundary_config),
        _mark("b_work", "escalated", "b_end"),
        el("b_end", "endEvent"),
    )


async def test_child_escalation_reaches_the_call_activity_boundary(
    temporal_client: Client,
) -> None:
    parent = _caller({"escalation_code": "late", "cancel_activity": False})
    async with engine(temporal_client, definitions={"child": _child()}) as eng:
        parent_id = str(uuid.uuid4())
        result = await (await eng.start(parent, instance_id=parent_id)).result()
    assert result.variables == {"escalated": True}
    thrown = _events(eng, "escalation.thrown")
    assert [(e.data["caught"], e.data["to_parent"]) for e in thrown] == [(False, parent_id)]
    received = eng.events(parent_id)
    assert [
        (e.activity_id, e.data["caught"], e.data["catcher"])
        for e in received
        if e.type == "escalation.received"
    ] == [("call", True, "b")]
    child_events = [e for e in eng.events() if e not in received]
    assert "c_work" in [e.activity_id for e in child_events if e.type == "activity.completed"]


async def test_interrupting_call_activity_boundary_cancels_the_child(
    temporal_client: Client,
) -> None:
    child = doc(
        el("c_start", "startEvent", "c_throw"),
        el("c_throw", "intermediateThrowEvent", "c_wait", config={"escalation_code": "late"}),
        el("c_wait", "userTask", "c_end"),
        el("c_end", "endEvent"),
        id="child",
        key="child",
    )
    parent = _caller({"escalation_code": "late"})
    async with engine(temporal_client, definitions={"child": child}) as eng:
        result = await (await eng.start(parent)).result()
    assert result.variables == {"escalated": True}
    assert result.end_node_id == "b_end"
    assert [t.state for t in eng.tasks().values()] == ["cancelled"]


async def test_child_escalation_nobody_catches_is_recorded_in_the_parent(
    temporal_client: Client,
) -> None:
    parent = _caller({"escalation_code": "other", "cancel_activity": False})
    async with engine(temporal_client, definitions={"child": _child()}) as eng:
        result = await (await eng.start(parent)).result()
    assert result.status == "completed" and result.end_node_id == "end"
    received = _events(eng, "escalation.received")
    assert [(e.data["caught"], e.data["catcher"]) for e in received] == [(False, None)]


async def test_escalation_crosses_an_inner_subprocess_to_the_outer_boundary(
    temporal_client: Client,
) -> None:
    outer = el(
        "outer",
        "subProcess",
        "end",
        config={
            "elements": [
                el("o_start", "startEvent", "sp"),
                _throwing_subprocess(),
                el("end", "endEvent"),
            ]
        },
    )
    definition = doc(
        el("start", "startEvent", "outer"),
        outer,
        _mark("after", "after", "done"),
        el("done", "endEvent"),
        el(
            "b",
            "boundaryEvent",
            "b_work",
            attached_to="outer",
            config={"escalation_code": "late"},
        ),
        _mark("b_work", "escalated", "b_end"),
        el("b_end", "endEvent"),
    )
    definition["elements"][1]["outgoing"] = ["after"]
    async with engine(temporal_client) as eng:
        result = await (await eng.start(definition)).result()
    assert result.variables == {"escalated": True}
    assert result.end_node_id == "b_end"


async def test_each_multi_instance_subprocess_instance_reaches_the_boundary(
    temporal_client: Client,
) -> None:
    definition = _with_boundary({"escalation_code": "late", "cancel_activity": False})
    sub = definition["elements"][1]
    sub["config"]["multi_instance"] = {"loop_cardinality": 3}
    definition["elements"][4] = el(
        "b_work", "scriptTask", "b_end", config={"script": {"count": "${count + 1}"}}
    )
    async with engine(temporal_client) as eng:
        result = await (await eng.start(definition, variables={"count": 0})).result()
    assert result.status == "completed"
    assert result.variables["count"] == 3
    assert len(_events(eng, "boundary.triggered")) == 3


async def test_interrupting_process_level_event_subprocess_ends_the_process_path(
    temporal_client: Client,
) -> None:
    definition = doc(
        el("start", "startEvent", "throw"),
        el("throw", "intermediateThrowEvent", "never", config={"escalation_code": "stop"}),
        _mark("never", "never", "end"),
        el("end", "endEvent"),
        el(
            "esp",
            "subProcess",
            config={
                "triggered_by_event": True,
                "elements": [
                    el("esp_start", "startEvent", "esp_work", config={"escalation_code": "stop"}),
                    _mark("esp_work", "handled", "esp_end"),
                    el("esp_end", "endEvent"),
                ],
            },
        ),
    )
    async with engine(temporal_client) as eng:
        result = await (await eng.start(definition)).result()
    assert result.status == "completed"
    assert result.variables == {"handled": True}


async def test_child_whose_caller_is_gone_records_it_and_goes_on(temporal_client: Client) -> None:
    async with engine(temporal_client) as eng:
        handle = await eng.start(
            _child(), parent_instance_id=str(uuid.uuid4()), parent_node_id="call"
        )
        result = await handle.result()
    assert result.status == "completed"
    assert result.variables == {"child_went_on": True}
    assert [e.data["escalation_code"] for e in _events(eng, "escalation.not_delivered")] == ["late"]
