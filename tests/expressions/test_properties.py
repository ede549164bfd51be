"""Property tests: on arbitrary text the parsers raise only their documented errors."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflow_engine.expressions import (
    ExpressionError,
    ExpressionSyntaxError,
    compile_expression,
    evaluate,
    feel_to_cel,
    is_expression,
)
from workflow_engine.expressions.timers import (
    TimerSyntaxError,
    parse_cycle,
    parse_date,
    parse_duration,
    parse_timer,
)

SETTINGS = settings(
    max_examples=int(os.environ.get("WFE_HYPOTHESIS_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Text biased towards the characters that matter to the grammars.
GRAMMAR_ALPHABET = st.sampled_from(
    [*"abcxyz_019 .,:;()[]{}$'\"\\+-*/%<>=!?&|#rbRTPYMWDHSZ", "fn:", "${", "}", "\n"]
)
grammar_text = st.lists(GRAMMAR_ALPHABET, max_size=40).map("".join)
any_text = st.one_of(st.text(max_size=60), grammar_text)

json_values: Any = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats()
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=10,
)


@SETTINGS
@given(any_text)
def test_compile_expression_raises_only_syntax_errors(text: str) -> None:
    try:
        compiled = compile_expression(text)
    except ExpressionSyntaxError as exc:
        assert exc.message
        return
    assert compiled.source == text


@SETTINGS
@given(any_text, st.dictionaries(st.sampled_from(["a", "b", "x", "y", "z"]), json_values))
def test_evaluate_raises_only_expression_errors(text: str, variables: dict[str, Any]) -> None:
    try:
        evaluate("${" + text + "}", variables)
    except ExpressionError as exc:
        assert exc.message


@SETTINGS
@given(any_text)
def test_is_expression_never_raises(text: str) -> None:
    assert isinstance(is_expression(text), bool)


@SETTINGS
@given(any_text)
def test_feel_to_cel_raises_only_syntax_errors_and_output_compiles(text: str) -> None:
    try:
        cel = feel_to_cel(text)
    except ExpressionSyntaxError as exc:
        assert exc.message
        return
    # What the translator produces is valid CEL (or at worst a literal out of range).
    try:
        compile_expression("${" + cel + "}")
    except ExpressionSyntaxError as exc:
        assert "literal" in exc.message, (text, cel, exc.message)


@SETTINGS
@given(any_text)
def test_timer_parsers_raise_only_timer_syntax_errors(text: str) -> None:
    for parse in (parse_duration, parse_date, parse_cycle):
        try:
            parse(text)
        except TimerSyntaxError as exc:
            assert exc.message
    with contextlib.suppress(TimerSyntaxError):
        parse_timer("cycle", text)


@SETTINGS
@given(
    st.integers(0, 999),
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 59),
)
def test_duration_round_trip(days: int, hours: int, minutes: int, seconds: int) -> None:
    text = f"P{days}DT{hours}H{minutes}M{seconds}S"
    parsed = parse_duration(text)
    assert parsed.total_seconds() == days * 86400 + hours * 3600 + minutes * 60 + seconds


@SETTINGS
@given(st.integers(-(2**40), 2**40), st.integers(-(2**40), 2**40).filter(lambda n: n != 0))
def test_division_matches_exact_arithmetic(a: int, b: int) -> None:
    result = evaluate("${a / b}", {"a": a, "b": b})
    if a % b == 0:
        assert result == a // b and type(result) is int
    else:
        assert result == a / b and type(result) is float
