from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree

from tests.model.bpmn.support import (
    MUST_IMPORT,
    ROUND_TRIP,
    SEED,
    bpmn_schema,
    comparable,
    file_id,
)
from workflow_engine.model.bpmn import export_bpmn, import_bpmn
from workflow_engine.model.parser import parse_definition
from workflow_engine.model.types import ProcessModel

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


def _imported(path: Path) -> tuple[ProcessModel, dict[str, object]]:
    result = import_bpmn(path.read_bytes())
    assert result.model is not None and result.document is not None
    return result.model, result.document


def _seed() -> ProcessModel:
    model, issues = parse_definition(json.loads(SEED.read_text(encoding="utf-8")))
    assert model is not None, issues
    return model


def _assert_schema_valid(xml: bytes) -> None:
    schema = bpmn_schema()
    ok = schema.validate(etree.fromstring(xml))
    assert ok, str(schema.error_log)


@pytest.mark.parametrize("path", ROUND_TRIP, ids=file_id)
def test_round_trip_gives_an_equal_model(path: Path) -> None:
    model, document = _imported(path)
    again = import_bpmn(export_bpmn(model, diagram=document.get("diagram")))  # type: ignore[arg-type]
    assert again.report.errors == ()
    assert again.model is not None
    assert comparable(again.model) == comparable(model)


@pytest.mark.parametrize("path", MUST_IMPORT, ids=file_id)
def test_export_validates_against_the_bpmn_xsd(path: Path) -> None:
    model, document = _imported(path)
    _assert_schema_valid(export_bpmn(model))
    _assert_schema_valid(export_bpmn(model, diagram=document.get("diagram")))  # type: ignore[arg-type]


def test_every_importable_model_round_trips() -> None:
    # Beyond the required set: the Zeebe-flavoured files too (FEEL already translated).
    for path in MUST_IMPORT:
        model, _ = _imported(path)
        again = import_bpmn(export_bpmn(model)).model
        assert again is not None and comparable(again) == comparable(model), path.name


def test_seed_example_exports_valid_xml_and_round_trips() -> None:
    model = _seed()
    xml = export_bpmn(model)
    _assert_schema_valid(xml)
    again = import_bpmn(xml)
    assert again.report.errors == ()
    assert again.model is not None and comparable(again.model) == comparable(model)


def test_seed_export_uses_bpmn_and_camunda_forms() -> None:
    root = etree.fromstring(export_bpmn(_seed()))
    ns = {"bpmn": BPMN[1:-1], "camunda": "http://camunda.org/schema/1.0/bpmn"}
    flow = root.find(".//bpmn:sequenceFlow[@id='email_valid_path']", ns)
    assert flow is not None
    condition = flow.find("bpmn:conditionExpression", ns)
    assert condition is not None and condition.text == "${userValid == true}"
    assert condition.get(XSI_TYPE) == "bpmn:tFormalExpression"
    task = root.find(".//bpmn:userTask[@id='validate_user_task']", ns)
    assert task is not None
    assert task.get("{http://camunda.org/schema/1.0/bpmn}assignee") == "${initiator}"
    gateway = root.find(".//bpmn:exclusiveGateway[@id='email_gateway']", ns)
    assert gateway is not None and gateway.get("default") == "reject_path"
    assert root.find("bpmn:signal[@id='email_verified']", ns) is not None
    assert len(root.findall("bpmn:error", ns)) == 2
    catch = root.find(".//bpmn:intermediateCatchEvent/bpmn:signalEventDefinition", ns)
    assert catch is not None and catch.get("signalRef") == "email_verified"
    # Keys without a BPMN form travel as JSON in wfe:config.
    config = root.find(
        ".//bpmn:serviceTask[@id='send_email_task']/bpmn:extensionElements/"
        "{https://workflow-engine.dev/schema/1.0}config",
        ns,
    )
    assert config is not None
    assert json.loads(config.text or "")["retry_policy"]["max_attempts"] == 3


def test_given_diagram_coordinates_are_kept() -> None:
    path = next(p for p in MUST_IMPORT if p.name == "simple-count-loop.bpmn")
    model, document = _imported(path)
    diagram = document["diagram"]
    again = import_bpmn(export_bpmn(model, diagram=diagram))  # type: ignore[arg-type]
    assert again.document is not None
    assert again.document["diagram"] == diagram


def test_export_of_nested_subprocess_boundary_and_multi_instance_is_valid() -> None:
    document = {
        "process": {"id": "nested", "key": "nested"},
        "elements": [
            {"id": "s", "type": "startEvent", "outgoing": ["sub"]},
            {
                "id": "sub",
                "type": "subProcess",
                "config": {
                    "multi_instance": {
                        "is_sequential": True,
                        "collection": "${items}",
                        "element_variable": "item",
                    },
                    "elements": [
                        {"id": "s2", "type": "startEvent", "outgoing": ["t2"]},
                        {
                            "id": "t2",
                            "type": "userTask",
                            "config": {"assignee": "${item}"},
                            "outgoing": ["e2"],
                        },
                        {"id": "e2", "type": "endEvent"},
                    ],
                },
                "outgoing": ["e"],
            },
            {
                "id": "b",
                "type": "boundaryEvent",
                "config": {
                    "attached_to": "sub",
                    "timer_duration": "PT1H",
                    "cancel_activity": False,
                },
                "outgoing": ["late"],
            },
            {"id": "late", "type": "manualTask", "outgoing": ["e"]},
            {"id": "e", "type": "endEvent"},
        ],
    }
    model, issues = parse_definition(document)
    assert model is not None, issues
    xml = export_bpmn(model)
    _assert_schema_valid(xml)
    again = import_bpmn(xml)
    assert again.report.errors == ()
    assert again.model is not None and comparable(again.model) == comparable(model)
