"""compile_expression / evaluate / evaluate_condition: semantics, errors, caching, threads."""

from __future__ import annotations

import datetime
import pickle
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from workflow_engine.expressions import (
    CompiledExpression,
    ExpressionError,
    ExpressionEvaluationError,
    ExpressionSyntaxError,
    compile_expression,
    evaluate,
    evaluate_condition,
    is_expression,
    looks_like_expression,
)


def ev(text: str, **variables: Any) -> Any:
    return compile_expression(text).evaluate(variables)


# --- is_expression ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${a}", True),
        ("  ${a > 1}  ", True),
        ("${ {'a': 1}['a'] }", True),
        ("${'}' + x}", True),
        ("${a} ${b}", False),
        ("Hello ${name}", False),
        ("${a", False),
        ("a > 1", False),
        ("", False),
        (None, False),
        (5, False),
        ({"a": 1}, False),
    ],
)
def test_is_expression(text: object, expected: bool) -> None:
    assert is_expression(text) is expected


def test_looks_like_expression_is_true_for_malformed_wrapped_text() -> None:
    assert looks_like_expression("${a")
    assert not looks_like_expression("a")
    assert not looks_like_expression(3)


# --- semantics ----------------------------------------------------------------------------


def test_integer_literal_stays_int() -> None:
    result = ev("${5}")
    assert result == 5
    assert type(result) is int


def test_input_equals_int_and_float() -> None:
    assert ev("${input == 1}", input=1) is True
    assert ev("${input == 1}", input=1.0) is True
    assert ev("${input == 1}", input=2) is False


def test_division_is_exact_like_juel() -> None:
    assert (
        ev(
            "${nrOfCompletedInstances/nrOfInstances >= 0.5}",
            nrOfCompletedInstances=3,
            nrOfInstances=5,
        )
        is True
    )
    assert ev("${x / y}", x=3, y=5) == pytest.approx(0.6)
    six_by_three = ev("${x / y}", x=6, y=3)
    assert six_by_three == 2
    assert type(six_by_three) is int
    assert ev("${7.0 / 2}") == 3.5


@pytest.mark.parametrize("price", [0, 0.0, 5, 2.5])
def test_price_comparison_with_int_or_float(price: float) -> None:
    assert ev("${price >= 0}", price=price) is True


def test_float_variable_against_int_literal() -> None:
    assert ev("${counter > 3}", counter=4.0) is True
    assert ev("${counter > 3}", counter=3.0) is False
    assert ev("${counter + 1}", counter=1.5) == 2.5
    assert type(ev("${counter + 1}", counter=1)) is int


def test_member_access_comparisons_logic() -> None:
    user = {"age": 20, "name": "Ann", "tags": ["a", "b"]}
    assert ev("${user.age > 18}", user=user) is True
    assert ev("${user.age > 18 && user.name == 'Ann'}", user=user) is True
    assert ev('${user.name == "Ann" || false}', user=user) is True
    assert ev("${!(user.age < 18)}", user=user) is True
    assert ev("${'a' in user.tags}", user=user) is True
    assert ev("${'z' in user.tags}", user=user) is False
    assert ev("${user['name']}", user=user) == "Ann"


def test_seed_examples() -> None:
    variables = {"amount": 1500, "category": "vip", "status": "approved"}
    assert evaluate("${amount >= 1000 && category == 'vip'}", variables) is True
    assert evaluate("${status == 'approved'}", variables) is True
    assert evaluate("${amount}", variables) == 1500


def test_arithmetic_ternary_lists_maps() -> None:
    assert ev("${(a + b) * 2 - 1}", a=2, b=3) == 9
    assert ev("${a > 1 ? 'big' : 'small'}", a=2) == "big"
    assert ev("${[1, 2, a]}", a=3) == [1, 2, 3]
    assert ev("${{'k': a, 'n': null}}", a="v") == {"k": "v", "n": None}
    assert ev("${7 % 3}") == 1
    assert ev("${-7 % 3}") == -1  # CEL truncates toward zero
    assert ev("${'a' + 'b'}") == "ab"
    assert ev("${[1] + [2]}") == [1, 2]
    assert ev("${size(items)}", items=[1, 2, 3]) == 3
    assert ev("${name.startsWith('An')}", name="Ann") is True


def test_macros_bind_their_variable() -> None:
    compiled = compile_expression("${items.exists(i, i > limit)}")
    assert compiled.variables == frozenset({"items", "limit"})
    assert compiled.evaluate({"items": [1, 5], "limit": 3}) is True
    assert ev("${items.map(i, i * 2)}", items=[1, 2]) == [2, 4]
    assert ev("${items.filter(i, i > 1)}", items=[1, 2, 3]) == [2, 3]
    assert ev("${items.all(i, i > 0)}", items=[1, 2]) is True


def test_equality_across_types_is_false_not_an_error() -> None:
    assert ev("${x == null}", x="text") is False
    assert ev("${x != null}", x="text") is True
    assert ev("${x == null}", x=None) is True
    assert ev("${x == '1'}", x=1) is False
    assert ev("${x == 1}", x=True) is False
    assert ev("${[1, 2] == [1.0, 2]}") is True
    assert ev("${m == {'a': 1.0}}", m={"a": 1}) is True
    assert ev("${type(x) == int}", x=3) is True


def test_results_are_plain_python() -> None:
    result = ev("${{'a': [1, 2.5, true, 'x', null], 'b': {'c': 1}}}")
    assert result == {"a": [1, 2.5, True, "x", None], "b": {"c": 1}}
    assert type(result) is dict
    assert type(result["a"]) is list
    assert [type(v) for v in result["a"]] == [int, float, bool, str, type(None)]


def test_datetime_and_timedelta_variables() -> None:
    start = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=datetime.UTC)
    later = ev("${start + duration('1h')}", start=start)
    assert later == start + datetime.timedelta(hours=1)
    assert type(later) is datetime.datetime
    assert ev("${start < other}", start=start, other=start + datetime.timedelta(seconds=1))
    naive = datetime.datetime(2026, 1, 1, 12, 0)
    assert ev("${t}", t=naive) == start  # naive datetimes are UTC
    assert ev("${d}", d=datetime.timedelta(minutes=5)) == datetime.timedelta(minutes=5)
    assert ev("${day}", day=datetime.date(2026, 1, 1)) == datetime.datetime(
        2026, 1, 1, tzinfo=datetime.UTC
    )


def test_short_circuit_ignores_missing_variable() -> None:
    assert ev("${true || missing}") is True
    assert ev("${missing || true}") is True
    assert ev("${false && missing}") is False


def test_evaluate_returns_literals_unchanged() -> None:
    assert evaluate("plain text", {}) == "plain text"
    assert evaluate("Hello ${name}", {"name": "x"}) == "Hello ${name}"
    assert evaluate(42, {}) == 42  # type: ignore[arg-type]
    assert evaluate("", {}) == ""


def test_bare_cel_compiles() -> None:
    compiled = compile_expression("a > 1")
    assert compiled.cel == "a > 1"
    assert compiled.source == "a > 1"
    assert compiled.evaluate({"a": 2}) is True


def test_compiled_expression_attributes() -> None:
    compiled = compile_expression("${fn:upper(user.name) == other && count > 0}")
    assert compiled.source == "${fn:upper(user.name) == other && count > 0}"
    assert compiled.cel == "fn_upper(user.name) == other && count > 0"
    assert compiled.variables == frozenset({"user", "other", "count"})
    assert compiled.function_names == frozenset({"upper"})
    with pytest.raises(AttributeError):
        compiled.source = "x"  # type: ignore[misc]


# --- evaluate_condition -------------------------------------------------------------------


def test_evaluate_condition() -> None:
    assert evaluate_condition("${a > 1}", {"a": 2}) is True
    assert evaluate_condition("a > 1", {"a": 0}) is False
    assert evaluate_condition("${true}", {}) is True
    assert evaluate_condition(True, {}) is True  # type: ignore[arg-type]


def test_evaluate_condition_rejects_non_bool() -> None:
    with pytest.raises(ExpressionEvaluationError) as info:
        evaluate_condition("${a}", {"a": "yes"})
    assert info.value.message == "a condition must be true or false, got str 'yes' in ${a}"
    with pytest.raises(ExpressionEvaluationError, match=r"got NoneType|got null"):
        evaluate_condition("${a}", {"a": None})


# --- errors -------------------------------------------------------------------------------


def test_unknown_variable_is_named() -> None:
    with pytest.raises(ExpressionEvaluationError) as info:
        evaluate("${iinput == 1}", {"input": 1})
    error = info.value
    assert error.message == "unknown variable 'iinput' in ${iinput == 1}"
    assert str(error) == error.message
    assert error.missing_variable == "iinput"
    assert error.expression == "${iinput == 1}"


def test_missing_member_is_named_with_its_path() -> None:
    with pytest.raises(ExpressionEvaluationError) as info:
        evaluate("${user.age > 18}", {"user": {}})
    assert info.value.missing_variable == "user.age"
    assert info.value.message == "unknown variable 'user.age' in ${user.age > 18}"
    with pytest.raises(ExpressionEvaluationError) as nested:
        evaluate("${a.b.c}", {"a": {"b": {}}})
    assert nested.value.missing_variable == "a.b.c"


def test_missing_key_by_index() -> None:
    with pytest.raises(ExpressionEvaluationError) as info:
        evaluate("${m['k']}", {"m": {}})
    assert info.value.missing_variable == "m['k']"
    assert "no such key" in info.value.message


def test_missing_variable_named_like_a_builtin_function() -> None:
    with pytest.raises(ExpressionEvaluationError) as info:
        evaluate("${size > 3}", {})
    assert info.value.missing_variable == "size"
    assert evaluate("${size > 3}", {"size": 4}) is True


def test_missing_variables_in_both_operands() -> None:
    with pytest.raises(ExpressionEvaluationError) as info:
        evaluate("${a && b}", {})
    assert info.value.missing_variable in {"a", "b"}
    with pytest.raises(ExpressionEvaluationError) as ternary:
        evaluate("${c ? 1 : 2}", {})
    assert ternary.value.missing_variable == "c"


@pytest.mark.parametrize(
    ("text", "variables", "fragment"),
    [
        ("${'a' + 1}", {}, "operator '+' cannot be applied to string and int"),
        ("${1 / 0}", {}, "division by zero"),
        ("${1.5 / 0}", {}, "division by zero"),
        ("${5 % 0}", {}, "modulo by zero"),
        ("${[1, 2][5]}", {}, "index out of range"),
        ("${!1}", {}, "operator '!' needs a bool, got int"),
        ("${-'a'}", {}, "operator '-' cannot be applied to string"),
        ("${'a' < 1}", {}, "cannot compare string and int with '<'"),
        ("${1 && true}", {}, "operator '&&' needs bool operands"),
        ("${a ? 1 : 2}", {"a": 3}, "the condition before '?' must be a bool, got int"),
        ("${9223372036854775807 + 1}", {}, "integer overflow"),
        ("${1 in 'abc'}", {}, "operator 'in' needs a list or map"),
        ("${x.y}", {"x": 3}, "cannot select a field in 'x.y'"),
        ("${'x'.nope()}", {}, "unknown function 'nope'"),
        ("${int}", {}, "not a value"),
    ],
)
def test_evaluation_error_messages(text: str, variables: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ExpressionEvaluationError) as info:
        evaluate(text, variables)
    assert fragment in info.value.message
    assert info.value.message.endswith(f"in {text}")
    assert info.value.missing_variable is None


def test_unsupported_variable_values() -> None:
    with pytest.raises(ExpressionEvaluationError, match="'x' holds a value of type object"):
        evaluate("${x}", {"x": object()})
    with pytest.raises(ExpressionEvaluationError, match="outside the 64-bit range"):
        evaluate("${x}", {"x": 2**70})
    with pytest.raises(ExpressionEvaluationError, match="map keys must be"):
        evaluate("${x}", {"x": {(1, 2): 3}})
    # Unreferenced variables are never converted, so odd values elsewhere are harmless.
    assert evaluate("${a}", {"a": 1, "other": object()}) == 1


def test_variables_must_be_a_mapping() -> None:
    with pytest.raises(ExpressionEvaluationError, match="variables must be a mapping"):
        compile_expression("${a}").evaluate([1, 2])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${a >}", "invalid expression ${a >}: unexpected end of expression"),
        ("${}", "empty expression '${}': write a CEL expression between '${' and '}'"),
        ("${   }", "empty expression '${   }': write a CEL expression between '${' and '}'"),
        ("${a", "unbalanced expression '${a': '${' has no matching '}'"),
        ("${'}'", "unbalanced expression \"${'}'\": '${' has no matching '}'"),
        ("", "empty expression"),
        ("   ", "empty expression"),
        (
            "${a = 1}",
            "invalid expression ${a = 1}: unexpected character '=' at column 5"
            " (use '==' to compare)",
        ),
        (
            "${a and b}",
            "invalid expression ${a and b}: unexpected 'and' at column 5"
            " (CEL writes '&&', '||' and '!')",
        ),
        ("${99999999999999999999}", "literal 99999999999999999999 is out of range"),
        ("${(a + 1}", "invalid expression ${(a + 1}: unexpected end of expression (expected ')')"),
        ("${a} and ${b}", "unexpected text ' and ${b}' after the closing '}' of '${a}'"),
        ("${'abc}", "unbalanced expression"),
        ("${fn:upper}", "'fn:upper' must be called with arguments"),
        ("${[1].map(1, 2)}", "'map' takes a variable name and an expression"),
        ("${a{b: 1}}", "message construction"),
    ],
)
def test_syntax_error_messages(text: str, message: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        compile_expression(text)
    assert message in info.value.message
    assert info.value.expression == text


def test_syntax_error_column_in_bare_cel() -> None:
    with pytest.raises(ExpressionSyntaxError, match="at column 3"):
        compile_expression("a = 1")


def test_non_string_expression_is_a_syntax_error() -> None:
    with pytest.raises(ExpressionSyntaxError, match="must be a string, got int"):
        compile_expression(5)  # type: ignore[arg-type]


def test_evaluate_malformed_wrapped_text_is_an_error_not_a_literal() -> None:
    with pytest.raises(ExpressionSyntaxError):
        evaluate("${a", {"a": 1})


def test_deeply_nested_expression_is_a_clear_error() -> None:
    text = "${" + "(" * 3000 + "1" + ")" * 3000 + "}"
    with pytest.raises(ExpressionError, match="nested too deeply"):
        compile_expression(text).evaluate({})


def test_errors_are_picklable() -> None:
    error = ExpressionEvaluationError("boom in ${x}", expression="${x}", missing_variable="x")
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, ExpressionEvaluationError)
    assert (copy.message, copy.expression, copy.missing_variable) == ("boom in ${x}", "${x}", "x")


def test_error_hierarchy() -> None:
    assert issubclass(ExpressionSyntaxError, ExpressionError)
    assert issubclass(ExpressionEvaluationError, ExpressionError)


# --- strings, fn: rewrite -----------------------------------------------------------------


def test_fn_prefix_inside_strings_is_not_rewritten() -> None:
    assert ev("${'fn:upper(x)'}") == "fn:upper(x)"
    assert ev("${\"call fn:lower(y)\" + fn:upper('a')}") == "call fn:lower(y)A"
    assert ev("${r'\\'' + '}'}") == "\\'}"  # raw string: the backslash does not escape
    assert ev("${'''triple 'quoted' fn:x(''' + 'y'}") == "triple 'quoted' fn:x(y"


# --- caching and threads ------------------------------------------------------------------


def test_compile_is_cached_by_text() -> None:
    first = compile_expression("${cache_probe + 1}")
    second = compile_expression("${cache_probe + 1}")
    assert first is second
    assert isinstance(first, CompiledExpression)
    assert first.evaluate({"cache_probe": 1}) == 2
    assert first.evaluate({"cache_probe": 41}) == 42


def test_evaluate_from_many_threads() -> None:
    compiled = compile_expression("${items.map(i, i * factor).filter(v, v > limit)}")
    barrier = threading.Barrier(8)

    def work(n: int) -> list[Any]:
        barrier.wait()
        return [
            compiled.evaluate({"items": [1, 2, 3, n], "factor": n, "limit": n}) for _ in range(50)
        ]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(1, 9)))
    for n, outcomes in zip(range(1, 9), results, strict=True):
        expected = [v for v in (i * n for i in [1, 2, 3, n]) if v > n]
        assert all(outcome == expected for outcome in outcomes)


def test_compile_from_many_threads() -> None:
    texts = [f"${{x + {i}}}" for i in range(200)]

    def work(text: str) -> Any:
        return compile_expression(text).evaluate({"x": 1})

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, texts))
    assert results == [1 + i for i in range(200)]
