from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from tests.model.bpmn.support import ALL_FILES
from workflow_engine.model.bpmn import BpmnImport, export_bpmn, import_bpmn

_SOURCES = [p.read_bytes() for p in ALL_FILES]


def _check(result: BpmnImport) -> None:
    # `import_bpmn` has a last-resort catch-all; these tests prove it is never needed.
    assert isinstance(result, BpmnImport)
    assert "IMPORT_FAILED" not in [e.code for e in result.report.errors], result.report.errors


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(data: bytes) -> None:
    _check(import_bpmn(data))


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=500))
def test_random_text_never_raises(text: str) -> None:
    _check(import_bpmn(text))


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    source = draw(st.sampled_from(_SOURCES))
    root = etree.fromstring(source)
    elements = [e for e in root.iter() if isinstance(e.tag, str)]
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        target = elements[draw(st.integers(min_value=0, max_value=len(elements) - 1))]
        action = draw(
            st.sampled_from(
                ["drop_attr", "rename_attr", "drop_elem", "rename_elem", "set_text", "set_attr"]
            )
        )
        attributes = list(target.attrib)
        if action == "drop_attr" and attributes:
            del target.attrib[draw(st.sampled_from(attributes))]
        elif action == "rename_attr" and attributes:
            name = draw(st.sampled_from(attributes))
            value = target.attrib.pop(name)
            target.set(
                draw(
                    st.sampled_from(
                        [
                            "id",
                            "sourceRef",
                            "targetRef",
                            "default",
                            "attachedToRef",
                            "messageRef",
                            "x",
                        ]
                    )
                ),
                value,
            )
        elif action == "drop_elem" and target.getparent() is not None:
            parent = target.getparent()
            assert parent is not None
            parent.remove(target)
            elements = [e for e in root.iter() if isinstance(e.tag, str)]
        elif action == "rename_elem" and isinstance(target.tag, str):
            namespace = target.tag.partition("}")[0] + "}" if target.tag.startswith("{") else ""
            target.tag = namespace + draw(
                st.sampled_from(
                    [
                        "task",
                        "subProcess",
                        "boundaryEvent",
                        "sequenceFlow",
                        "complexGateway",
                        "timerEventDefinition",
                        "process",
                        "startEvent",
                        "bogus",
                    ]
                )
            )
        elif action == "set_text":
            target.text = draw(
                st.sampled_from(
                    ["=", "= a >", "${", "PT5M", "", "R/PT1H", "${a == 1}", "{not json"]
                )
            )
        elif action == "set_attr":
            target.set(
                draw(
                    st.sampled_from(
                        [
                            "id",
                            "default",
                            "isExecutable",
                            "cancelActivity",
                            "attachedToRef",
                            "calledElement",
                        ]
                    )
                ),
                draw(st.sampled_from(["", "x", "false", "theStart", "task"])),
            )
    return etree.tostring(root)


@pytest.mark.conformance
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated())
def test_mutated_conformance_xml_never_raises(data: bytes) -> None:
    result = import_bpmn(data)
    _check(result)
    if result.model is not None:
        # Whatever imports also exports and re-imports.
        again = import_bpmn(export_bpmn(result.model))
        _check(again)
        assert again.model is not None, again.report.errors


def test_deeply_nested_input_is_rejected_cleanly() -> None:
    xml = b"<a>" * 5000 + b"</a>" * 5000
    result = import_bpmn(xml)
    assert result.model is None and result.report.errors


def test_sources_are_loaded() -> None:
    assert len(_SOURCES) == len(ALL_FILES) == 30
    assert all(isinstance(p, Path) for p in ALL_FILES)
