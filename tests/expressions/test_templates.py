"""render_template: typed single expressions, interpolation, recursion, escapes, errors."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from workflow_engine.expressions import ExpressionEvaluationError, ExpressionSyntaxError
from workflow_engine.expressions.functions import FunctionRegistry
from workflow_engine.expressions.templates import render_template, template_text

VARS: dict[str, Any] = {
    "user_id": "u-42",
    "n": 3,
    "price": 2.0,
    "ok": True,
    "nothing": None,
    "order": {"id": 7, "items": ["a", "b"]},
}


def test_single_expression_keeps_its_type() -> None:
    assert render_template("${n + 1}", VARS) == 4
    assert render_template("${order}", VARS) == {"id": 7, "items": ["a", "b"]}
    assert render_template("  ${ok}  ", VARS) is True
    assert render_template("${nothing}", VARS) is None


def test_embedded_expressions_are_interpolated_as_text() -> None:
    assert render_template("https://api/users/${user_id}", VARS) == "https://api/users/u-42"
    assert render_template("${user_id}-${n}", VARS) == "u-42-3"
    assert render_template("p=${price} ok=${ok} none=[${nothing}]", VARS) == ("p=2 ok=true none=[]")
    assert render_template("items=${order.items}", VARS) == 'items=["a","b"]'


def test_braces_and_strings_inside_an_embedded_expression() -> None:
    assert render_template("x=${ {'k': '}'}['k'] }!", VARS) == "x=}!"
    assert render_template("${'a' + '}'}/b", VARS) == "a}/b"


def test_literal_escape_and_plain_text() -> None:
    assert render_template("cost: $${n} is ${n}", VARS) == "cost: ${n} is 3"
    assert render_template("no templates here", VARS) == "no templates here"
    assert render_template("$5 and {braces}", VARS) == "$5 and {braces}"


def test_containers_are_rendered_recursively_and_other_values_kept() -> None:
    value = {
        "url": "/u/${user_id}",
        "n": "${n}",
        "list": ["${ok}", 1, None, {"deep": "${order.id}"}],
        "keep": 1.5,
    }
    assert render_template(value, VARS) == {
        "url": "/u/u-42",
        "n": 3,
        "list": [True, 1, None, {"deep": 7}],
        "keep": 1.5,
    }
    assert render_template(12, VARS) == 12
    assert render_template(None, VARS) is None
    source = {"a": "${n}"}
    render_template(source, VARS)
    assert source == {"a": "${n}"}  # the input is not modified


def test_functions_are_available() -> None:
    functions = FunctionRegistry({"shout": lambda s: str(s).upper() + "!"})
    assert render_template("hi ${fn:shout(user_id)}", VARS, functions=functions) == "hi U-42!"
    assert render_template("${fn:upper('x')}", VARS) == "X"


def test_missing_variable_names_the_template_and_path() -> None:
    with pytest.raises(ExpressionEvaluationError) as info:
        render_template({"headers": {"Authorization": "Bearer ${token}"}}, VARS)
    message = str(info.value)
    assert "headers.Authorization" in message
    assert "Bearer ${token}" in message
    assert "token" in message
    assert info.value.missing_variable == "token"


def test_unbalanced_and_bad_syntax_are_syntax_errors() -> None:
    with pytest.raises(ExpressionSyntaxError, match=r"template 'a/\$\{b': unbalanced"):
        render_template("a/${b", VARS)
    with pytest.raises(ExpressionSyntaxError, match="url"):
        render_template({"url": "x/${1 +}"}, VARS)


def test_variables_must_be_a_mapping() -> None:
    with pytest.raises(ExpressionEvaluationError, match="mapping"):
        render_template("${n}", [1, 2])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        ("s", "s"),
        (False, "false"),
        (3, "3"),
        (2.5, "2.5"),
        (1e20, "1e+20"),
        ({"a": [1, "é"]}, '{"a":[1,"é"]}'),
        (datetime.datetime(2026, 1, 2, 3, 4, tzinfo=datetime.UTC), "2026-01-02T03:04:00+00:00"),
    ],
)
def test_template_text(value: Any, text: str) -> None:
    assert template_text(value) == text
