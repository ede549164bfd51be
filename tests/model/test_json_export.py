from __future__ import annotations

import json
from typing import Any

import pytest

from workflow_engine.model.json_export import canonical_json, content_hash, to_document
from workflow_engine.model.parser import parse_definition
from workflow_engine.model.types import ProcessModel

from .builders import document, element, linear, seed


def round_trip(doc: dict[str, Any]) -> tuple[ProcessModel, ProcessModel]:
    model, issues = parse_definition(doc)
    assert model is not None
    exported = to_document(model)
    json.dumps(exported)  # JSON-ready
    again, again_issues = parse_definition(exported)
    # Element positions may move, so paths may differ; the findings themselves may not.
    assert sorted(i.message for i in again_issues) == sorted(i.message for i in issues)
    assert again is not None
    return model, again


def _mixed() -> dict[str, Any]:
    sub = element(
        "sub",
        "subProcess",
        name="Sub",
        elements=[
            element("s0", "startEvent", outgoing=["f0"]),
            element(
                "f0", "sequenceFlow", source="s0", target="inner", config={"condition": "${a}"}
            ),
            element("inner", "userTask", outgoing=["e0"], config={"assignee": "${who}"}),
            element("e0", "endEvent"),
        ],
    )
    doc = document(
        element("start", "startEvent", outgoing=["g"], config={"initiator": "me"}),
        element("late", "sequenceFlow", source="g", target="sub"),
        element("g", "inclusiveGateway", outgoing=["late", "t"], config={"default_flow": "t"}),
        element(
            "t",
            "serviceTask",
            outgoing=["end"],
            documentation="does things",
            listeners=[{"event": "start", "class": "x.Y", "config": {"a": 1}}],
            config={
                "activity_name": "A",
                "multi_instance": {"loop_cardinality": 2},
                "retry_policy": {"max_attempts": 2},
            },
        ),
        sub,
        element(
            "b",
            "boundaryEvent",
            attached_to="t",
            config={"timer_duration": "PT1M"},
            outgoing=["end"],
        ),
        element("comp", "boundaryEvent", attached_to="sub", event_kind="compensation"),
        element("end", "endEvent", incoming=["t", "b", "sub"]),
        element("mf", "messageFlow", source="t", target="pool"),
        process={
            "id": "p",
            "key": "k",
            "version": 3,
            "timeout": "PT1H",
            "variables": {
                "n": {"type": "int", "default": 1, "sensitive": True, "description": "d"}
            },
            "listeners": [{"event": "end", "class": "a.B"}],
            "candidate_starter_groups": ["ops"],
        },
        message_definitions=[{"id": "m", "name": "M", "structure": {"a": "string"}}],
        signal_definitions=[{"id": "s", "scope": "process_instance"}],
        error_definitions=[{"id": "e", "error_code": "E1"}],
    )
    doc["x-layout"] = {"zoom": 1}
    sub["outgoing"] = ["end"]
    return doc


@pytest.mark.parametrize("make", [seed, _mixed, lambda: linear(element("t", "task"))])
def test_parse_of_export_equals_the_model(make: Any) -> None:
    assert [i for i in parse_definition(make())[1] if i.severity == "error"] == []
    model, again = round_trip(make())
    assert again == model
    assert list(again.flows) == list(model.flows)


def test_export_of_seed_keeps_both_flow_styles() -> None:
    model, _ = parse_definition(seed())
    assert model is not None
    exported = to_document(model)
    by_id = {e["id"]: e for e in exported["elements"]}
    assert by_id["start_event"]["outgoing"] == ["validate_user_task"]
    assert by_id["email_gateway"]["outgoing"] == ["email_valid_path", "reject_path"]
    assert by_id["email_valid_path"]["config"] == {"condition": "${userValid == true}"}
    assert by_id["end_event"]["incoming"] == [
        "complete_registration_task",
        "reject_registration_task",
    ]
    assert exported["process"]["variables"]["email"] == {
        "type": "string",
        "scope": "global",
        "required": True,
    }


def test_export_of_a_bpmn_style_model_with_explicit_flows_only() -> None:
    doc = document(
        element("s", "startEvent", outgoing=["f1"]),
        element("t", "task", incoming=["f1"], outgoing=["f2"]),
        element("e", "endEvent", incoming=["f2"]),
        element("f2", "sequenceFlow", source="t", target="e"),
        element("f1", "sequenceFlow", source="s", target="t"),
    )
    model, again = round_trip(doc)
    assert again == model
    assert list(again.flows) == ["f2", "f1"]


def test_erroneous_models_still_round_trip() -> None:
    doc = linear(element("g", "exclusiveGateway", config={"default_flow": "nowhere"}))
    doc["elements"].append(element("x", "boundaryEvent", attached_to="g"))
    model, again = round_trip(doc)
    assert again == model


def test_canonical_json_and_content_hash_ignore_key_order_and_whitespace() -> None:
    a = {"b": [1, {"y": 2, "x": "é"}], "a": None}
    b = json.loads(json.dumps({"a": None, "b": [1, {"x": "é", "y": 2}]}, indent=4))
    assert canonical_json(a) == '{"a":null,"b":[1,{"x":"é","y":2}]}'
    assert canonical_json(a) == canonical_json(b)
    assert content_hash(a) == content_hash(b)
    assert len(content_hash(a)) == 64 and content_hash(a) != content_hash({"a": None})
    assert content_hash(seed()) == content_hash(json.loads(json.dumps(seed())))
