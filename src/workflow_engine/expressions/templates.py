"""String templates: ``"https://api/users/${user_id}"`` with ``${...}`` parts interpolated.

Mappings (:mod:`workflow_engine.expressions.mapping`) treat a value as *one* expression or a
literal. Connector settings such as the built-in HTTP task's ``url`` and ``headers`` need more:
text with expressions embedded in it. :func:`render_template` provides that:

- a string that is exactly one ``${...}`` keeps the evaluated value's type (``"${order}"``
  renders to the ``order`` dict, ``"${n + 1}"`` to an int);
- a string with ``${...}`` parts among text is interpolated, each value rendered as text
  (strings as is, ``null`` as empty, booleans ``true``/``false``, lists and maps as JSON);
- ``$${`` writes a literal ``${`` (an escape for text that must contain one);
- dicts and lists are rendered recursively (keys unchanged); any other value is returned as is.

Pure and deterministic like the rest of the package.
"""

from __future__ import annotations

import datetime
import json
import math
from collections.abc import Mapping
from typing import Any

from workflow_engine.expressions.compiler import compile_expression
from workflow_engine.expressions.errors import (
    ExpressionError,
    ExpressionEvaluationError,
    ExpressionSyntaxError,
)
from workflow_engine.expressions.functions import FunctionRegistry
from workflow_engine.expressions.source import (
    UnterminatedStringError,
    is_expression,
    skip_string,
    string_start,
)

__all__ = ["render_template", "template_text"]

_ESCAPE = "$${"


def render_template(
    value: Any,
    variables: Mapping[str, Any],
    *,
    functions: FunctionRegistry | None = None,
) -> Any:
    """Render every ``${...}`` inside ``value`` against ``variables``.

    Args:
        value: A string template, a dict / list holding templates (rendered recursively), or
            any other value (returned unchanged).
        variables: The variables expressions can read.
        functions: Extra ``fn:`` functions.

    Returns:
        The rendered value: a new dict / list for containers, the evaluated value for a string
        that is exactly one ``${...}``, a string for an interpolated template.

    Raises:
        ExpressionSyntaxError: for an unbalanced ``${`` or an expression that does not compile;
            the message names the template and where it sits (``headers.Authorization``).
        ExpressionEvaluationError: when an embedded expression cannot be evaluated (message
            names the template; ``missing_variable`` is kept).

    """
    if not isinstance(variables, Mapping):
        raise ExpressionEvaluationError(
            f"variables must be a mapping, got {type(variables).__name__}"
        )
    return _render(value, variables, functions, "")


def _render(
    value: Any, variables: Mapping[str, Any], functions: FunctionRegistry | None, path: str
) -> Any:
    if isinstance(value, str):
        return _render_string(value, variables, functions, path)
    if isinstance(value, Mapping):
        return {
            key: _render(item, variables, functions, f"{path}.{key}" if path else str(key))
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [
            _render(item, variables, functions, f"{path}[{index}]")
            for index, item in enumerate(value)
        ]
    return value


def _render_string(
    text: str, variables: Mapping[str, Any], functions: FunctionRegistry | None, path: str
) -> Any:
    if "${" not in text:
        return text
    if is_expression(text) and not text.lstrip().startswith(_ESCAPE):
        try:
            return compile_expression(text).evaluate(variables, functions=functions)
        except ExpressionError as exc:
            raise _located(exc, text, path) from None
    parts: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith(_ESCAPE, i):
            parts.append("${")
            i += len(_ESCAPE)
            continue
        if not text.startswith("${", i):
            parts.append(text[i])
            i += 1
            continue
        close = _closing_brace(text, i + 1)
        if close is None:
            raise _located(
                ExpressionSyntaxError(
                    f"unbalanced '${{' at column {i + 1}: it has no matching '}}' "
                    "(write '$${' for a literal '${')",
                    expression=text,
                ),
                text,
                path,
            )
        embedded = text[i : close + 1]
        try:
            rendered = compile_expression(embedded).evaluate(variables, functions=functions)
        except ExpressionError as exc:
            raise _located(exc, text, path) from None
        parts.append(template_text(rendered))
        i = close + 1
    return "".join(parts)


def _closing_brace(text: str, open_index: int) -> int | None:
    """Index of the ``}`` matching the ``{`` at ``open_index``; string literals are skipped."""
    depth = 0
    i = open_index
    while i < len(text):
        if string_start(text, i):
            try:
                i = skip_string(text, i)
            except UnterminatedStringError:
                return None
            continue
        char = text[i]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def template_text(value: Any) -> str:
    """How a value is written into an interpolated template.

    Strings as is, ``None`` as empty text, booleans ``true`` / ``false`` (as in CEL and JSON),
    integral floats without ``.0``, dates in ISO 8601, lists and maps as compact JSON.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value)) if abs(value) < 1e16 else repr(value)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=template_text)
    return str(value)


def _located(exc: ExpressionError, template: str, path: str) -> ExpressionError:
    """The same kind of error, its message naming the template (and its place) first."""
    where = f"template {path!r} ({template!r})" if path else f"template {template!r}"
    message = f"{where}: {exc.message}"
    if isinstance(exc, ExpressionEvaluationError):
        return ExpressionEvaluationError(
            message, expression=template, missing_variable=exc.missing_variable
        )
    if isinstance(exc, ExpressionSyntaxError):
        return ExpressionSyntaxError(message, expression=template)
    return ExpressionError(message, expression=template)
