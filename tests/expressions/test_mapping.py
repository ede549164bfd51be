"""apply_input_mapping / apply_output_mapping."""

from __future__ import annotations

import pytest

from workflow_engine.expressions import (
    ExpressionEvaluationError,
    ExpressionSyntaxError,
    FunctionRegistry,
    apply_input_mapping,
    apply_output_mapping,
)


def test_input_mapping_evaluates_expressions_and_keeps_literals() -> None:
    mapping = {
        "total": "${amount * 2}",
        "label": "plain text",
        "greeting": "Hello ${name}",
        "count": 3,
        "ratio": 0.5,
        "flag": False,
        "nothing": None,
        "nested": {"who": "${name}", "items": ["${amount}", "lit", 1, {"deep": "${amount + 1}"}]},
    }
    result = apply_input_mapping(mapping, {"amount": 10, "name": "Ann"})
    assert result == {
        "total": 20,
        "label": "plain text",
        "greeting": "Hello ${name}",
        "count": 3,
        "ratio": 0.5,
        "flag": False,
        "nothing": None,
        "nested": {"who": "Ann", "items": [10, "lit", 1, {"deep": 11}]},
    }


def test_input_mapping_returns_a_fresh_dict() -> None:
    nested = {"a": [1, 2]}
    mapping = {"n": nested}
    result = apply_input_mapping(mapping, {})
    assert result == {"n": {"a": [1, 2]}}
    result["n"]["a"].append(3)
    assert nested == {"a": [1, 2]}


def test_input_mapping_with_functions() -> None:
    registry = FunctionRegistry({"twice": lambda x: x * 2})
    assert apply_input_mapping({"x": "${fn:twice(v)}"}, {"v": 4}, functions=registry) == {"x": 8}


def test_output_mapping_sees_result_and_variables() -> None:
    result = {"status": 200, "body": {"id": "abc"}}
    out = apply_output_mapping(
        {
            "order_id": "${result.body.id}",
            "ok": "${result.status == 200 && attempt < 3}",
            "source": "http",
        },
        result,
        {"attempt": 1},
    )
    assert out == {"order_id": "abc", "ok": True, "source": "http"}


def test_output_mapping_result_shadows_a_variable_named_result() -> None:
    assert apply_output_mapping({"r": "${result}"}, 42, {"result": "old"}) == {"r": 42}


def test_output_mapping_with_scalar_and_none_result() -> None:
    assert apply_output_mapping({"v": "${result + 1}"}, 1, {}) == {"v": 2}
    assert apply_output_mapping({"v": "${result == null}"}, None, {}) == {"v": True}


def test_mapping_errors_name_the_entry() -> None:
    with pytest.raises(ExpressionEvaluationError) as info:
        apply_input_mapping({"outer": {"inner": ["${missing}"]}}, {})
    assert (
        info.value.message == "mapping 'outer.inner[0]': unknown variable 'missing' in ${missing}"
    )
    assert info.value.missing_variable == "missing"
    with pytest.raises(ExpressionSyntaxError, match=r"mapping 'x': invalid expression \$\{a >\}"):
        apply_output_mapping({"x": "${a >}"}, None, {})
    with pytest.raises(ExpressionSyntaxError, match="unbalanced"):
        apply_input_mapping({"x": "${a"}, {"a": 1})


def test_mapping_shape_errors() -> None:
    with pytest.raises(ExpressionSyntaxError, match="must be an object"):
        apply_input_mapping(["a"], {})  # type: ignore[arg-type]
    with pytest.raises(ExpressionSyntaxError, match="non-empty string variable name"):
        apply_input_mapping({1: "x"}, {})  # type: ignore[dict-item]
    with pytest.raises(ExpressionSyntaxError, match="non-empty string variable name"):
        apply_input_mapping({"": "x"}, {})
    with pytest.raises(ExpressionEvaluationError, match="variables must be a mapping"):
        apply_output_mapping({"a": "1"}, None, None)  # type: ignore[arg-type]
