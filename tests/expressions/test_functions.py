"""fn:name(...) calls: the registry, built-ins, unknown functions and failing functions."""

from __future__ import annotations

from typing import Any

import pytest

from workflow_engine.expressions import (
    DEFAULT_FUNCTIONS,
    ExpressionEvaluationError,
    FunctionRegistry,
    compile_expression,
    evaluate,
)


def test_registered_function_is_called_with_plain_values() -> None:
    seen: list[tuple[Any, ...]] = []

    def discount(amount: Any, tier: Any) -> float:
        seen.append((amount, tier))
        return float(amount) * (0.9 if tier == "vip" else 1.0)

    registry = FunctionRegistry().register("discount", discount)
    result = evaluate("${fn:discount(amount, 'vip')}", {"amount": 100}, functions=registry)
    assert result == pytest.approx(90.0)
    assert seen == [(100, "vip")]
    assert type(seen[0][0]) is int and type(seen[0][1]) is str


def test_function_receives_and_returns_nested_values() -> None:
    registry = FunctionRegistry({"keys": lambda m: sorted(m)})
    assert evaluate("${fn:keys(m)}", {"m": {"b": 1, "a": [1]}}, functions=registry) == ["a", "b"]


def test_registry_sees_defaults_and_can_override_them() -> None:
    registry = FunctionRegistry().register("upper", lambda s: f"<{s}>")
    assert evaluate("${fn:upper('a')}", {}, functions=registry) == "<a>"
    assert evaluate("${fn:lower('A')}", {}, functions=registry) == "a"
    assert evaluate("${fn:upper('a')}", {}) == "A"


def test_unknown_function_names_the_function() -> None:
    with pytest.raises(ExpressionEvaluationError) as info:
        evaluate("${fn:customFunction(param1, param2)}", {"param1": 1, "param2": 2})
    assert info.value.message == (
        "unknown function 'fn:customFunction' in ${fn:customFunction(param1, param2)}"
    )
    # Compiling does not need the registry.
    compiled = compile_expression("${fn:customFunction(param1, param2)}")
    assert compiled.function_names == frozenset({"customFunction"})
    registry = FunctionRegistry({"customFunction": lambda a, b: a + b})
    assert compiled.evaluate({"param1": 1, "param2": 2}, functions=registry) == 3


def test_failing_function_becomes_an_evaluation_error() -> None:
    def boom(_: Any) -> Any:
        raise RuntimeError("backend says no")

    registry = FunctionRegistry({"boom": boom})
    with pytest.raises(ExpressionEvaluationError) as info:
        evaluate("${fn:boom(1)}", {}, functions=registry)
    assert info.value.message == "fn:boom failed: backend says no in ${fn:boom(1)}"


def test_function_returning_unsupported_value() -> None:
    registry = FunctionRegistry({"obj": lambda: object()})
    with pytest.raises(ExpressionEvaluationError, match="the result of fn:obj"):
        evaluate("${fn:obj()}", {}, functions=registry)


def test_function_errors_short_circuit_like_other_errors() -> None:
    registry = FunctionRegistry({"boom": lambda: 1 / 0})
    assert evaluate("${true || fn:boom()}", {}, functions=registry) is True


def test_registry_api() -> None:
    registry = FunctionRegistry()
    assert registry.register("fn:a", len) is registry  # "fn:" prefix accepted
    assert "a" in registry and "fn:a" in registry and "b" not in registry and 3 not in registry
    assert registry.names() == frozenset({"a"})
    assert registry.get("a") is len
    assert registry.get("missing") is None
    assert len(registry) == 1
    assert "a" in repr(registry)
    copy = registry.copy().register("b", len)
    assert "b" not in registry and "b" in copy


@pytest.mark.parametrize("name", ["", "1abc", "a-b", "a.b", "fn:"])
def test_invalid_function_names(name: str) -> None:
    with pytest.raises(ValueError, match="invalid function name"):
        FunctionRegistry().register(name, len)


def test_register_rejects_non_callables_and_non_string_names() -> None:
    with pytest.raises(TypeError, match="must be callable"):
        FunctionRegistry().register("x", 3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be a string"):
        FunctionRegistry().register(3, len)  # type: ignore[arg-type]


def test_default_registry_is_frozen() -> None:
    assert DEFAULT_FUNCTIONS.frozen
    with pytest.raises(ValueError, match="frozen"):
        DEFAULT_FUNCTIONS.register("x", len)
    extended = DEFAULT_FUNCTIONS.copy().register("x", len)
    assert not extended.frozen and "upper" in extended


def test_functions_argument_must_be_a_registry() -> None:
    with pytest.raises(ExpressionEvaluationError, match="FunctionRegistry"):
        evaluate("${1}", {}, functions={"a": len})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "variables", "expected"),
    [
        ("${fn:upper(s)}", {"s": "abc"}, "ABC"),
        ("${fn:lower(s)}", {"s": "ABC"}, "abc"),
        ("${fn:trim(s)}", {"s": "  a "}, "a"),
        ("${fn:len(s)}", {"s": "abc"}, 3),
        ("${fn:len(l)}", {"l": [1, 2]}, 2),
        ("${fn:substring('abcdef', 1, 3)}", {}, "bc"),
        ("${fn:substring('abcdef', 2)}", {}, "cdef"),
        ("${fn:concat('task-', id, '-', n)}", {"id": 7, "n": 2.0}, "task-7-2"),
        ("${fn:concat('x', null, true)}", {}, "xtrue"),
        ("${fn:join(l, ',')}", {"l": ["a", 1]}, "a,1"),
        ("${fn:split('a,b', ',')}", {}, ["a", "b"]),
        ("${fn:replace('aXa', 'X', 'b')}", {}, "aba"),
        ("${fn:coalesce(a, b, 'c')}", {"a": None, "b": None}, "c"),
        ("${fn:isEmpty(s)}", {"s": ""}, True),
        ("${fn:isEmpty(l)}", {"l": [1]}, False),
        ("${fn:min(3, 1.5, 2)}", {}, 1.5),
        ("${fn:max(l)}", {"l": [3, 9, 2]}, 9),
        ("${fn:sum(l)}", {"l": [1, 2, 3]}, 6),
        ("${fn:abs(-4)}", {}, 4),
        ("${fn:round(2.5)}", {}, 3),
        ("${fn:round(2.345, 2)}", {}, 2.35),
        ("${fn:floor(2.7)}", {}, 2),
        ("${fn:ceil(2.1)}", {}, 3),
    ],
)
def test_default_functions(text: str, variables: dict[str, Any], expected: Any) -> None:
    result = evaluate(text, variables)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("${fn:upper(1)}", "fn:upper failed: the argument must be a string, got int"),
        ("${fn:min()}", "fn:min failed: needs at least one number"),
        ("${fn:split('a', '')}", "fn:split failed: the separator must not be empty"),
        ("${fn:abs('x')}", "fn:abs failed: the argument must be a number, got str"),
        ("${fn:upper('a', 'b')}", "fn:upper failed"),
    ],
)
def test_default_function_errors(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionEvaluationError) as info:
        evaluate(text, {})
    assert fragment in info.value.message
