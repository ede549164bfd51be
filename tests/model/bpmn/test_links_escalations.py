"""BPMN import / export of link events and escalation events (same meaning as the JSON keys)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from tests.model.bpmn.support import bpmn_schema, comparable, file_id
from tests.paths import CONFORMANCE
from workflow_engine.model.bpmn import export_bpmn, import_bpmn
from workflow_engine.model.parser import parse_definition
from workflow_engine.model.types import EventKind, ProcessModel

ADVANCED = CONFORMANCE / "camunda7-advanced"
VALID = sorted(
    p
    for p in ADVANCED.glob("*.bpmn20.xml")
    if p.name.startswith(("EscalationEvent", "LinkEventTest.testValidEventLink"))
)

_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'id="d" targetNamespace="t">'
)


def _xml(body: str, definitions: str = "") -> bytes:
    return (
        f'{_HEAD}{definitions}<bpmn:process id="p" isExecutable="true">{body}'
        "</bpmn:process></bpmn:definitions>"
    ).encode()


def _schema_valid(xml: bytes) -> None:
    schema = bpmn_schema()
    assert schema.validate(etree.fromstring(xml)), str(schema.error_log)


@pytest.mark.parametrize("path", VALID, ids=file_id)
def test_camunda_models_import_and_round_trip(path: Path) -> None:
    result = import_bpmn(path.read_bytes())
    assert result.report.errors == (), result.report.errors
    assert result.model is not None
    xml = export_bpmn(result.model)
    _schema_valid(xml)
    again = import_bpmn(xml)
    assert again.report.errors == () and again.model is not None
    assert comparable(again.model) == comparable(result.model)


def test_escalation_codes_come_from_the_referenced_escalation() -> None:
    path = ADVANCED / "EscalationEventTest.testBoundaryEventWithEscalationCode.bpmn20.xml"
    model = import_bpmn(path.read_bytes()).model
    assert model is not None
    thrown = [
        n.config["escalation_code"]
        for n in model.nodes.values()
        if n.event_kind is EventKind.ESCALATION and n.type.value == "intermediateThrowEvent"
    ]
    caught = sorted(
        n.config["escalation_code"]
        for n in model.nodes.values()
        if n.event_kind is EventKind.ESCALATION and n.type.value == "boundaryEvent"
    )
    assert thrown == ["1"] and caught == ["1", "2"]


def test_escalation_without_code_is_a_catch_all_boundary() -> None:
    path = ADVANCED / "EscalationEventTest.testBoundaryEventWithoutEscalationCode.bpmn20.xml"
    model = import_bpmn(path.read_bytes()).model
    assert model is not None
    (boundary,) = [n for n in model.nodes.values() if n.type.value == "boundaryEvent"]
    assert boundary.event_kind is EventKind.ESCALATION
    assert boundary.config["escalation_code"] is None
    assert boundary.cancel_activity is False


def test_link_names_are_imported() -> None:
    model = import_bpmn((ADVANCED / "LinkEventTest.testValidEventLink.bpmn20.xml").read_bytes())
    assert model.model is not None
    names = sorted(
        (n.type.value, n.config["link_name"])
        for n in model.model.nodes.values()
        if n.event_kind is EventKind.LINK
    )
    assert names == [
        ("intermediateCatchEvent", "B"),
        ("intermediateCatchEvent", "LinkA"),
        ("intermediateThrowEvent", "B"),
        ("intermediateThrowEvent", "LinkA"),
    ]


def _json_model() -> ProcessModel:
    def el(node_id: str, node_type: str, *outgoing: str, **keys: Any) -> dict[str, Any]:
        return {"id": node_id, "type": node_type, "outgoing": list(outgoing), **keys}

    handler = el(
        "esp",
        "subProcess",
        config={
            "triggered_by_event": True,
            "elements": [
                el(
                    "esp_start",
                    "startEvent",
                    "esp_end",
                    config={"escalation_code": "x y", "is_interrupting": False},
                ),
                el("esp_end", "endEvent"),
            ],
        },
    )
    inner = [
        el("s_start", "startEvent", "s_link"),
        el("s_link", "intermediateThrowEvent", config={"link_name": "jump"}),
        el("s_catch", "intermediateCatchEvent", "s_throw", config={"link_name": "jump"}),
        el("s_throw", "intermediateThrowEvent", "s_end", config={"escalation_code": "x y"}),
        el("s_end", "endEvent", config={"escalation_code": "late"}),
        handler,
    ]
    document = {
        "process": {"id": "p", "key": "p"},
        "elements": [
            el("start", "startEvent", "sp"),
            el("sp", "subProcess", "end", config={"elements": inner}),
            el("end", "endEvent"),
            el(
                "any",
                "boundaryEvent",
                "end",
                attached_to="sp",
                config={"escalation_code": None, "cancel_activity": False},
            ),
            el(
                "late", "boundaryEvent", "end", attached_to="sp", config={"escalation_code": "late"}
            ),
        ],
    }
    model, issues = parse_definition(document)
    assert model is not None, issues
    return model


def test_json_links_and_escalations_export_to_bpmn_and_back_unchanged() -> None:
    model = _json_model()
    xml = export_bpmn(model)
    _schema_valid(xml)
    text = xml.decode()
    assert 'escalationCode="x y"' in text and 'escalationCode="late"' in text
    assert '<bpmn:linkEventDefinition name="jump"/>' in text
    again = import_bpmn(xml)
    assert again.report.errors == () and again.model is not None
    assert comparable(again.model) == comparable(model)
    # Both travel in their BPMN form, not in the wfe:config extension.
    assert "escalation_code" not in text and "link_name" not in text


def test_unknown_escalation_ref_and_throw_without_code_are_rejected() -> None:
    body = (
        '<bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
        '<bpmn:intermediateThrowEvent id="t"><bpmn:incoming>f1</bpmn:incoming>'
        "<bpmn:outgoing>f2</bpmn:outgoing>"
        '<bpmn:escalationEventDefinition escalationRef="nope"/></bpmn:intermediateThrowEvent>'
        '<bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming>'
        '<bpmn:escalationEventDefinition escalationRef="nocode"/></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/>'
    )
    result = import_bpmn(_xml(body, '<bpmn:escalation id="nocode"/>'))
    found = sorted((e.code, e.path.split("/")[-2]) for e in result.report.errors)
    assert found == [
        ("DANGLING_REFERENCE", "bpmn:intermediateThrowEvent[@id='t']"),
        ("MISSING_REFERENCE", "bpmn:endEvent[@id='e']"),
    ]


def test_link_without_name_is_rejected_at_its_definition() -> None:
    body = (
        '<bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
        '<bpmn:intermediateThrowEvent id="t"><bpmn:incoming>f1</bpmn:incoming>'
        "<bpmn:linkEventDefinition/></bpmn:intermediateThrowEvent>"
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>'
    )
    result = import_bpmn(_xml(body))
    assert result.model is None
    assert any(
        e.code == "MISSING_KEY" and e.path.endswith("bpmn:linkEventDefinition (line 1)")
        for e in result.report.errors
    ), result.report.errors
