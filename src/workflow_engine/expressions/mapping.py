"""Input and output mappings: ``name -> literal or ${expr}``.

A string starting with ``${`` is evaluated; every other value is a literal (strings, numbers,
booleans, ``None``). Nested dicts and lists are walked, so ``${...}`` strings inside them are
evaluated too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflow_engine.expressions.compiler import compile_expression
from workflow_engine.expressions.errors import (
    ExpressionError,
    ExpressionEvaluationError,
    ExpressionSyntaxError,
)
from workflow_engine.expressions.functions import FunctionRegistry
from workflow_engine.expressions.source import looks_like_expression


def _resolve(
    value: Any,
    variables: Mapping[str, Any],
    functions: FunctionRegistry | None,
    path: str,
) -> Any:
    if isinstance(value, str):
        if not looks_like_expression(value):
            return value
        try:
            return compile_expression(value).evaluate(variables, functions=functions)
        except ExpressionError as exc:
            raise _located(exc, path) from None
    if isinstance(value, Mapping):
        return {
            key: _resolve(item, variables, functions, f"{path}.{key}")
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [
            _resolve(item, variables, functions, f"{path}[{index}]")
            for index, item in enumerate(value)
        ]
    return value


def _located(exc: ExpressionError, path: str) -> ExpressionError:
    """Return the same error, its message prefixed with the mapping entry it came from."""
    message = f"mapping '{path}': {exc.message}"
    if isinstance(exc, ExpressionEvaluationError):
        return ExpressionEvaluationError(
            message, expression=exc.expression, missing_variable=exc.missing_variable
        )
    if isinstance(exc, ExpressionSyntaxError):
        return ExpressionSyntaxError(message, expression=exc.expression)
    return ExpressionError(message, expression=exc.expression)


def _apply(
    mapping: Mapping[str, Any],
    scope: Mapping[str, Any],
    functions: FunctionRegistry | None,
) -> dict[str, Any]:
    if not isinstance(mapping, Mapping):
        raise ExpressionSyntaxError(
            f"a mapping must be an object of name -> value, got {type(mapping).__name__}"
        )
    resolved: dict[str, Any] = {}
    for name, value in mapping.items():
        if not isinstance(name, str) or not name:
            raise ExpressionSyntaxError(
                f"mapping target {name!r} must be a non-empty string variable name"
            )
        resolved[name] = _resolve(value, scope, functions, name)
    return resolved


def apply_input_mapping(
    mapping: Mapping[str, Any],
    variables: Mapping[str, Any],
    *,
    functions: FunctionRegistry | None = None,
) -> dict[str, Any]:
    """Compute an activity's inputs from process variables.

    Args:
        mapping: Target name → literal or ``"${expr}"`` (nested dicts/lists allowed).
        variables: The process variables expressions can read.
        functions: Extra ``fn:`` functions.

    Returns:
        A new dict with every expression replaced by its value.

    Raises:
        ExpressionSyntaxError: for a malformed mapping or expression (message names the entry).
        ExpressionEvaluationError: when an expression cannot be evaluated.

    """
    return _apply(mapping, variables, functions)


def apply_output_mapping(
    mapping: Mapping[str, Any],
    result: Any,
    variables: Mapping[str, Any],
    *,
    functions: FunctionRegistry | None = None,
) -> dict[str, Any]:
    """Compute the variables an activity's result sets.

    Expressions see the process variables plus ``result`` (the activity result), which shadows
    a process variable of the same name.

    Args:
        mapping: Variable name → literal or ``"${expr}"`` such as ``"${result.body.id}"``.
        result: The activity's result (plain Python).
        variables: The process variables.
        functions: Extra ``fn:`` functions.

    Returns:
        A new dict of variable name → value.

    Raises:
        ExpressionSyntaxError: for a malformed mapping or expression (message names the entry).
        ExpressionEvaluationError: when an expression cannot be evaluated.

    """
    if not isinstance(variables, Mapping):
        raise ExpressionEvaluationError(
            f"variables must be a mapping, got {type(variables).__name__}"
        )
    return _apply(mapping, {**variables, "result": result}, functions)
