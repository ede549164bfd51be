"""Checking variables against a definition's `process.variables` declarations.

Used when an instance starts (required + types), when variables are set from outside and when
a task is completed (types only). Every finding names the variable by path, e.g.
`variables.email`, so the 400 answer says exactly what to fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from workflow_engine.model.issues import ValidationIssue
from workflow_engine.model.types import VariableDeclaration, VariableType
from workflow_engine.services.errors import InvalidArgumentError, ValidationFailedError

_TYPE_WORDS: Mapping[VariableType, str] = {
    VariableType.STRING: "a string",
    VariableType.INTEGER: "an integer",
    VariableType.NUMBER: "a number",
    VariableType.BOOLEAN: "a boolean",
    VariableType.OBJECT: "an object",
    VariableType.ARRAY: "an array",
    VariableType.DATE: "a date (YYYY-MM-DD)",
    VariableType.DATETIME: "a date-time (ISO 8601)",
}


def json_type_name(value: object) -> str:
    """How a JSON value's type reads in a message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


def value_matches(kind: VariableType, value: object) -> bool:
    """True when `value` is of the declared type (null is checked by the caller)."""
    match kind:
        case VariableType.ANY:
            return True
        case VariableType.STRING:
            return isinstance(value, str)
        case VariableType.INTEGER:
            return (isinstance(value, int) and not isinstance(value, bool)) or (
                isinstance(value, float) and value.is_integer()
            )
        case VariableType.NUMBER:
            return isinstance(value, int | float) and not isinstance(value, bool)
        case VariableType.BOOLEAN:
            return isinstance(value, bool)
        case VariableType.OBJECT:
            return isinstance(value, Mapping)
        case VariableType.ARRAY:
            return isinstance(value, list | tuple)
        case VariableType.DATE:
            return isinstance(value, str) and _parses(date.fromisoformat, value)
        case VariableType.DATETIME:
            return isinstance(value, str) and _parses(datetime.fromisoformat, value)
    return True


def _parses(parse: Any, text: str) -> bool:
    try:
        parse(text)
    except ValueError:
        return False
    return True


def check_variables(
    declarations: Mapping[str, VariableDeclaration],
    variables: Mapping[str, Any],
    *,
    require: bool,
    path: str = "variables",
) -> list[ValidationIssue]:
    """Every problem of `variables` against the declarations (undeclared names pass).

    Args:
        declarations: `process.variables` of the model.
        variables: The values given.
        require: Also report required variables that are missing (at start).
        path: Path prefix of the findings.
    """
    issues: list[ValidationIssue] = []
    for name, decl in declarations.items():
        if name not in variables:
            if require and decl.required and not decl.has_default:
                issues.append(
                    ValidationIssue(
                        f"{path}.{name}",
                        f"required variable '{name}' is missing",
                        "MISSING_VARIABLE",
                    )
                )
            continue
        value = variables[name]
        if value is None:
            if decl.required:
                issues.append(
                    ValidationIssue(
                        f"{path}.{name}",
                        f"required variable '{name}' must not be null",
                        "MISSING_VARIABLE",
                    )
                )
            continue
        if not value_matches(decl.type, value):
            issues.append(
                ValidationIssue(
                    f"{path}.{name}",
                    f"variable '{name}' must be {_TYPE_WORDS.get(decl.type, decl.type.value)}, "
                    f"got {json_type_name(value)}",
                    "INVALID_VARIABLE_TYPE",
                )
            )
    return issues


def with_defaults(
    declarations: Mapping[str, VariableDeclaration], variables: Mapping[str, Any]
) -> dict[str, Any]:
    """`variables` plus the declared defaults of variables not given."""
    result = dict(variables)
    for name, decl in declarations.items():
        if name not in result and decl.has_default:
            result[name] = decl.default
    return result


def require_variable_map(value: object, *, path: str = "variables") -> dict[str, Any]:
    """Check that `value` is a JSON object with string keys (None: empty).

    Raises:
        InvalidArgumentError: naming `path`.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise InvalidArgumentError(
            f"{path} must be an object of name → value, got {json_type_name(value)}"
        )
    return dict(value)


def raise_if_invalid(issues: list[ValidationIssue]) -> None:
    """Raise one ValidationFailedError whose message names the first problem.

    Raises:
        ValidationFailedError: when `issues` is not empty.
    """
    if not issues:
        return
    first = issues[0]
    more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
    raise ValidationFailedError(f"{first.path}: {first.message}{more}", details=issues)
