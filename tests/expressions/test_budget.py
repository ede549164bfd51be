"""Execution budgets of an expression (issue 15, findings 3 and 4): steps and value sizes."""

from __future__ import annotations

import pytest

from workflow_engine.expressions import ExpressionEvaluationError, evaluate, evaluate_condition
from workflow_engine.expressions.budget import (
    MAX_EVALUATION_STEPS,
    MAX_VALUE_SIZE,
    BudgetExceededError,
    EvaluationBudget,
    check_size,
)


def _nested_maps(depth: int) -> str:
    return (
        "${items"
        + "".join(f".map(x{i}, items" for i in range(depth - 1))
        + ".map(z, z + 1)"
        + ")" * (depth - 1)
        + "}"
    )


def test_five_nested_maps_over_ten_items_exceed_the_step_budget() -> None:
    with pytest.raises(ExpressionEvaluationError) as info:
        evaluate(_nested_maps(5), {"items": list(range(10))})
    assert f"more than {MAX_EVALUATION_STEPS} evaluation steps" in info.value.message
    assert info.value.expression == _nested_maps(5)


def test_the_same_expression_fails_the_same_way_every_time() -> None:
    messages = set()
    for _ in range(3):
        with pytest.raises(ExpressionEvaluationError) as info:
            evaluate(_nested_maps(4), {"items": list(range(10))})
        messages.add(info.value.message)
    assert len(messages) == 1


def test_ordinary_comprehensions_stay_well_within_the_budget() -> None:
    assert evaluate(_nested_maps(2), {"items": list(range(10))})[9] == list(range(1, 11))
    assert evaluate("${items.filter(i, i % 2 == 0).size()}", {"items": list(range(1000))}) == 500
    assert evaluate_condition("items.exists(i, i == 999)", {"items": list(range(1000))})


def test_the_budget_ends_evaluation_even_where_errors_are_swallowed() -> None:
    # `exists` and `||` ignore error values; an exhausted budget is not one of them.
    with pytest.raises(ExpressionEvaluationError, match="evaluation steps"):
        evaluate_condition(
            "true || items.exists(a, items.exists(b, items.exists(c, a + b + c < 0)))",
            {"items": list(range(40))},
        )


def test_budget_counts_and_raises() -> None:
    budget = EvaluationBudget(3)
    budget.spend()
    budget.spend(2)
    with pytest.raises(BudgetExceededError) as info:
        budget.spend()
    assert info.value.limit == 3


def test_check_size() -> None:
    assert check_size(MAX_VALUE_SIZE, "x") is None
    message = check_size(MAX_VALUE_SIZE + 1, "fn:concat")
    assert message is not None and message.startswith("fn:concat would produce")


def _replace_bomb(levels: int) -> str:
    text = "s"
    for _ in range(levels):
        text = f'fn:replace({text}, "a", "aaaaaaaa")'
    return "${" + text + "}"


def test_nested_replace_stops_before_building_the_string() -> None:
    assert len(evaluate(_replace_bomb(3), {"s": "a" * 8})) == 8 * 8**3
    with pytest.raises(ExpressionEvaluationError) as info:
        evaluate(_replace_bomb(12), {"s": "a" * 8})  # 550 GB if it were built
    assert "fn:replace would produce a value of 2097152 characters" in info.value.message


@pytest.mark.parametrize(
    ("expression", "what"),
    [
        ("${s + s}", "operator '+'"),
        ("${fn:concat(s, s)}", "fn:concat"),
        ("${fn:join([s, s], '')}", "fn:join"),
        ("${fn:replace(s, '', 'x')}", "fn:replace"),
    ],
)
def test_every_way_of_growing_a_value_is_capped(expression: str, what: str) -> None:
    half = MAX_VALUE_SIZE // 2 + 1
    variables = {"s": "a" * half}
    with pytest.raises(ExpressionEvaluationError) as info:
        evaluate(expression, variables)
    assert f"{what} would produce a value of" in info.value.message


def test_values_up_to_the_cap_are_fine() -> None:
    half = MAX_VALUE_SIZE // 2
    assert len(evaluate("${s + s}", {"s": "a" * half})) == MAX_VALUE_SIZE
