"""Pure parts of the interpreter: decision tables, error catcher lookup, variable types."""

from __future__ import annotations

from typing import Any

import pytest

from workflow_engine.engine.interpreter.catchers import find_error_catcher, known_error_types
from workflow_engine.engine.interpreter.decisions import run_decision_table
from workflow_engine.engine.interpreter.model_cache import DefinitionError, load_model
from workflow_engine.engine.interpreter.state import IncidentError
from workflow_engine.engine.interpreter.variables import type_errors
from workflow_engine.model.json_export import content_hash
from workflow_engine.model.parser import parse_definition
from workflow_engine.model.types import (
    FlowNode,
    NodeType,
    ProcessModel,
    VariableDeclaration,
    VariableType,
)

from ..harness import doc, el


def _node(table: dict[str, Any], **config: Any) -> FlowNode:
    return FlowNode(
        id="d", type=NodeType.BUSINESS_RULE_TASK, config={"decision_table": table, **config}
    )


RULES = [
    {"when": ["${x > 1}"], "then": {"out": "big"}},
    {"when": ["${x > 5}"], "then": {"out": "huge", "extra": "${x * 2}"}},
]


def test_decision_unique_rejects_several_matches() -> None:
    with pytest.raises(IncidentError, match="rules 0, 1 all match"):
        run_decision_table(_node({"rules": RULES}), {"x": 10})
    assert run_decision_table(_node({"rules": RULES}), {"x": 2}) == {"out": "big"}
    assert run_decision_table(_node({"rules": RULES}), {"x": 0}) == {}


def test_decision_first_collect_and_result_variable() -> None:
    assert run_decision_table(_node({"hit_policy": "FIRST", "rules": RULES}), {"x": 10}) == {
        "out": "big"
    }
    assert run_decision_table(_node({"hit_policy": "COLLECT", "rules": RULES}), {"x": 10}) == {
        "out": ["big", "huge"],
        "extra": [20],
    }
    node = _node({"hit_policy": "COLLECT", "rules": RULES}, result_variable="r")
    assert run_decision_table(node, {"x": 10}) == {
        "r": [{"out": "big"}, {"out": "huge", "extra": 20}]
    }
    with pytest.raises(IncidentError, match="hit_policy 'ANY'"):
        run_decision_table(_node({"hit_policy": "ANY", "rules": RULES}), {"x": 1})


def _model(document: dict[str, Any]) -> ProcessModel:
    model, issues = parse_definition(document)
    assert model is not None, issues
    return model


def test_error_catcher_search_order() -> None:
    model = _model(
        doc(
            el("start", "startEvent", "sub"),
            el(
                "sub",
                "subProcess",
                "end",
                config={
                    "elements": [
                        el("s1", "startEvent", "work"),
                        el("work", "serviceTask", "s_end", config={"activity_name": "W"}),
                        el("s_end", "endEvent"),
                        el("own", "boundaryEvent", attached_to="work", config={"error_ref": "e_a"}),
                    ]
                },
            ),
            el("end", "endEvent"),
            el("any", "boundaryEvent", attached_to="sub"),
            error_definitions=[{"id": "e_a", "error_code": "A"}, {"id": "e_b", "error_code": "B"}],
        )
    )
    assert find_error_catcher(model, "work", "A", include_own_boundaries=True) == "own"
    assert find_error_catcher(model, "work", "B", include_own_boundaries=True) == "any"
    assert find_error_catcher(model, "s_end", "A", include_own_boundaries=False) == "any"
    assert find_error_catcher(model, "end", "A", include_own_boundaries=False) is None
    assert known_error_types(model) == {"e_a", "A", "e_b", "B"}


def test_variable_type_errors() -> None:
    declarations = {
        "n": VariableDeclaration(name="n", type=VariableType.INTEGER),
        "ok": VariableDeclaration(name="ok", type=VariableType.BOOLEAN),
    }
    assert type_errors(declarations, {"n": 1, "ok": False, "other": "x"}) == []
    problems = type_errors(declarations, {"n": True, "ok": "yes"})
    assert problems == [
        "variable 'n' must be of type integer, got bool",
        "variable 'ok' must be of type boolean, got str",
    ]


def test_load_model_checks_hash_and_caches() -> None:
    document = doc(el("start", "startEvent", "end"), el("end", "endEvent"))
    first = load_model(document, content_hash(document))
    assert load_model(document, "") is first
    with pytest.raises(DefinitionError, match="does not match"):
        load_model(document, "0" * 64)
    with pytest.raises(DefinitionError, match="cannot run"):
        load_model({"process": {}, "elements": "nope"}, "")
