"""Validator rules of link events and escalation events (JSON definitions)."""

from __future__ import annotations

from typing import Any

from workflow_engine.model.json_export import to_document
from workflow_engine.model.types import EventKind
from workflow_engine.model.validator import check_definition

from .builders import document, element


def _node(node_id: str, node_type: str, *outgoing: str, **keys: Any) -> dict[str, Any]:
    item = element(node_id, node_type, **keys)
    if outgoing:
        item["outgoing"] = list(outgoing)
    return item


def _errors(doc: dict[str, Any]) -> list[tuple[str, str]]:
    _, report = check_definition(doc)
    return [(e.path, e.code) for e in report.errors]


def _linked(*extra: dict[str, Any], throw_name: str = "A") -> dict[str, Any]:
    return document(
        _node("start", "startEvent", "to_a"),
        _node("to_a", "intermediateThrowEvent", config={"link_name": throw_name}),
        _node("from_a", "intermediateCatchEvent", "end", config={"link_name": "A"}),
        _node("end", "endEvent"),
        *extra,
    )


# -- links ---------------------------------------------------------------------------------


def test_a_link_pair_is_valid_without_warnings() -> None:
    model, report = check_definition(_linked())
    assert report.errors == () and report.warnings == ()
    assert model is not None
    assert model.nodes["to_a"].event_kind is EventKind.LINK
    assert model.nodes["from_a"].event_kind is EventKind.LINK
    # It round-trips through the JSON export.
    again, report = check_definition(to_document(model))
    assert report.valid and again == model


def test_link_throw_without_its_catch_is_rejected() -> None:
    _, report = check_definition(_linked(throw_name="B"))
    assert [(e.path, e.code) for e in report.errors] == [
        ("elements[1].config.link_name", "DANGLING_REFERENCE")
    ]
    assert "no link catch event named 'B'" in report.errors[0].message


def test_duplicate_link_catch_names_in_one_scope_are_rejected() -> None:
    doc = _linked(_node("from_a2", "intermediateCatchEvent", "end", config={"link_name": "A"}))
    assert _errors(doc) == [("elements[4].config.link_name", "DUPLICATE_LINK_NAME")]


def test_same_link_name_in_another_scope_does_not_pair() -> None:
    inner = [
        _node("s_start", "startEvent", "s_to"),
        _node("s_to", "intermediateThrowEvent", config={"link_name": "X"}),
        _node("s_end", "endEvent"),
    ]
    doc = _linked(
        _node("sp", "subProcess", config={"elements": inner}),
        _node("from_x", "intermediateCatchEvent", "end", config={"link_name": "X"}),
    )
    assert ("elements[4].config.elements[1].config.link_name", "DANGLING_REFERENCE") in _errors(doc)


def test_link_catch_with_incoming_flow_and_throw_with_outgoing_flow_are_rejected() -> None:
    doc = document(
        _node("start", "startEvent", "to_a"),
        _node("to_a", "intermediateThrowEvent", "from_a", config={"link_name": "A"}),
        _node("from_a", "intermediateCatchEvent", "end", config={"link_name": "A"}),
        _node("end", "endEvent"),
    )
    assert sorted(_errors(doc)) == [
        ("elements[1].outgoing", "OUTGOING_NOT_ALLOWED"),
        ("elements[2].incoming", "INCOMING_NOT_ALLOWED"),
    ]


def test_link_catch_after_an_event_based_gateway_is_rejected() -> None:
    doc = document(
        _node("start", "startEvent", "gw"),
        _node("gw", "eventBasedGateway", "from_a", "wait"),
        _node("wait", "intermediateCatchEvent", "end", config={"timer_duration": "PT1M"}),
        _node("from_a", "intermediateCatchEvent", "end", config={"link_name": "A"}),
        _node("to_a", "intermediateThrowEvent", config={"link_name": "A"}),
        _node("end", "endEvent"),
    )
    errors = _errors(doc)
    assert ("elements[3]", "INVALID_EVENT_GATEWAY_TARGET") in errors
    assert ("elements[3].incoming", "INCOMING_NOT_ALLOWED") in errors


def test_link_needs_a_name_and_only_intermediate_events_link() -> None:
    doc = document(
        _node("start", "startEvent", "to_a"),
        _node("to_a", "intermediateThrowEvent", event_kind="link"),
        _node("end", "endEvent", config={"link_name": "A"}),
    )
    errors = _errors(doc)
    assert ("elements[1].config.link_name", "MISSING_CONFIG_KEY") in errors
    assert ("elements[2].config.link_name", "INVALID_TRIGGER") in errors


def test_link_catch_with_a_second_trigger_is_rejected() -> None:
    doc = _linked()
    doc["elements"][2]["config"]["timer_duration"] = "PT1M"
    assert ("elements[2].config", "INVALID_TRIGGER") in _errors(doc)


# -- escalations ---------------------------------------------------------------------------


def _escalating(boundary: dict[str, Any], code: Any = "late") -> dict[str, Any]:
    inner = [
        _node("s_start", "startEvent", "s_throw"),
        _node("s_throw", "intermediateThrowEvent", "s_end", config={"escalation_code": code}),
        _node("s_end", "endEvent"),
    ]
    return document(
        _node("start", "startEvent", "sp"),
        _node("sp", "subProcess", "end", config={"elements": inner}),
        _node("end", "endEvent"),
        {**boundary, "outgoing": ["end"]},
    )


def test_escalation_boundaries_with_a_code_and_catch_all_are_valid() -> None:
    for config in ({"escalation_code": "late"}, {"escalation_code": None}):
        boundary = element("b", "boundaryEvent", attached_to="sp", config=config)
        model, report = check_definition(_escalating(boundary))
        assert report.errors == () and report.warnings == (), config
        assert model is not None and model.nodes["b"].event_kind is EventKind.ESCALATION
        again, report = check_definition(to_document(model))
        assert report.valid and again == model


def test_escalation_throw_needs_a_code() -> None:
    boundary = element("b", "boundaryEvent", attached_to="sp", config={"escalation_code": "x"})
    assert ("elements[1].config.elements[1].config.escalation_code", "INVALID_CONFIG_VALUE") in (
        _errors(_escalating(boundary, code=""))
    )
    assert _errors(_escalating(boundary, code=None)) == [
        ("elements[1].config.elements[1].config.escalation_code", "INVALID_CONFIG_VALUE")
    ]


def test_escalation_boundary_on_a_task_is_rejected() -> None:
    doc = document(
        _node("start", "startEvent", "t"),
        _node("t", "userTask", "end"),
        _node("end", "endEvent"),
        element(
            "b", "boundaryEvent", attached_to="t", config={"escalation_code": "x"}, outgoing=["end"]
        ),
    )
    assert _errors(doc) == [("elements[3].attached_to", "INVALID_BOUNDARY_HOST")]


def test_escalation_start_only_in_an_event_subprocess() -> None:
    doc = document(
        _node("start", "startEvent", "end", config={"escalation_code": "x"}),
        _node("end", "endEvent"),
    )
    assert _errors(doc) == [("elements[0].config", "INVALID_TRIGGER")]
