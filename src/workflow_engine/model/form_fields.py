"""Form fields of user tasks and start events: their types and the values they accept.

A task's `config.form_fields` is a list of `{id, label, type, required, default, options,
pattern}`. The portal builds its form from it and checks each value in the browser; the API
checks the same rules again when the task is completed (a browser is not the only client), with
the same vocabulary of types, so both answer alike. The canonical types and their aliases are
the ones the portal's `forms.js` knows; an unknown or missing type is `string`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import re2

from workflow_engine.model.issues import ValidationIssue

#: A value longer than this is not matched against a `pattern` (it is refused as too long).
MAX_PATTERN_SUBJECT = 10_000


class FormFieldType(StrEnum):
    """The canonical type of a form field."""

    STRING = "string"
    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    ENUM = "enum"
    JSON = "json"
    OBJECT = "object"
    ARRAY = "array"


_ALIASES: Mapping[str, FormFieldType] = {
    "textarea": FormFieldType.TEXT,
    "int": FormFieldType.INTEGER,
    "long": FormFieldType.INTEGER,
    "short": FormFieldType.INTEGER,
    "float": FormFieldType.NUMBER,
    "double": FormFieldType.NUMBER,
    "decimal": FormFieldType.NUMBER,
    "bool": FormFieldType.BOOLEAN,
    "date-time": FormFieldType.DATETIME,
    "datetime-local": FormFieldType.DATETIME,
    "timestamp": FormFieldType.DATETIME,
    "select": FormFieldType.ENUM,
    "any": FormFieldType.JSON,
    "map": FormFieldType.OBJECT,
    "dict": FormFieldType.OBJECT,
    "list": FormFieldType.ARRAY,
}


def form_field_type(name: object) -> FormFieldType:
    """The canonical type of a type name as written (unknown or missing: `string`)."""
    if not isinstance(name, str):
        return FormFieldType.STRING
    key = name.strip().lower()
    try:
        return FormFieldType(key)
    except ValueError:
        return _ALIASES.get(key, FormFieldType.STRING)


@dataclass(frozen=True, slots=True)
class FormField:
    """One field of a form, as the checks need it."""

    id: str
    type: FormFieldType
    required: bool = False
    label: str = ""
    options: tuple[Any, ...] | None = None
    pattern: str | None = None

    @property
    def title(self) -> str:
        """How a message names the field."""
        return f"'{self.id}'" if not self.label else f"'{self.id}' ({self.label})"


def _option_values(options: object) -> tuple[Any, ...] | None:
    """The values an enum field accepts: a list of values, of {value|id, label}, or a map."""
    if isinstance(options, Mapping):
        return tuple(options)
    if isinstance(options, list | tuple):
        values: list[Any] = []
        for option in options:
            if isinstance(option, Mapping):
                values.append(option.get("value", option.get("id")))
            else:
                values.append(option)
        return tuple(values)
    return None


def form_fields(config: Mapping[str, Any]) -> tuple[FormField, ...]:
    """The well-formed fields of a node's `config.form_fields` (deploy checks the rest)."""
    raw = config.get("form_fields")
    if not isinstance(raw, list):
        return ()
    fields: list[FormField] = []
    for item in raw:
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str) or not item["id"]:
            continue
        pattern = item.get("pattern")
        fields.append(
            FormField(
                id=item["id"],
                type=form_field_type(item.get("type")),
                required=item.get("required") is True,
                label=item["label"] if isinstance(item.get("label"), str) else "",
                options=_option_values(item.get("options")),
                pattern=pattern if isinstance(pattern, str) and pattern else None,
            )
        )
    return tuple(fields)


def pattern_error(pattern: str) -> str | None:
    """Why a `pattern` cannot be used (RE2 syntax: linear time, no backreferences), or None."""
    try:
        re2.compile(pattern)
    except re2.error as exc:
        return str(exc)
    return None


def _is_integer(value: object) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _parses(parse: Any, value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parse(value)
    except ValueError:
        return False
    return True


_EXPECTED: Mapping[FormFieldType, tuple[str, Any]] = {
    FormFieldType.STRING: ("a string", lambda v: isinstance(v, str)),
    FormFieldType.TEXT: ("a string", lambda v: isinstance(v, str)),
    FormFieldType.INTEGER: ("a whole number", _is_integer),
    FormFieldType.NUMBER: ("a number", _is_number),
    FormFieldType.BOOLEAN: ("true or false", lambda v: isinstance(v, bool)),
    FormFieldType.DATE: (
        "a date (YYYY-MM-DD)",
        lambda v: _parses(date.fromisoformat, v) and len(v) == 10,
    ),
    FormFieldType.DATETIME: (
        "a date and time (ISO 8601)",
        lambda v: _parses(datetime.fromisoformat, v),
    ),
    FormFieldType.JSON: ("any JSON value", lambda v: True),
    FormFieldType.OBJECT: ("a JSON object", lambda v: isinstance(v, Mapping)),
    FormFieldType.ARRAY: ("a JSON array", lambda v: isinstance(v, list | tuple)),
}


def _describe(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def check_form_values(
    fields: Sequence[FormField], values: Mapping[str, Any], *, path: str = "variables"
) -> list[ValidationIssue]:
    """Every way `values` (a task's completion variables) break the form's fields.

    Variables that are not fields pass (a process may take more than its form shows).

    Args:
        fields: The form's fields.
        values: The submitted variables.
        path: Path prefix of the findings (each names `<path>.<field id>`).
    """
    issues: list[ValidationIssue] = []
    for item in fields:
        where = f"{path}.{item.id}"
        value = values.get(item.id)
        if value is None:
            if item.required:
                issues.append(
                    ValidationIssue(where, f"form field {item.title} is required", "MISSING_FIELD")
                )
            continue
        if item.type is FormFieldType.ENUM:
            if item.options is not None and value not in item.options:
                allowed = ", ".join(_describe(o) for o in item.options[:20])
                issues.append(
                    ValidationIssue(
                        where,
                        f"form field {item.title} must be one of {allowed}; got {_describe(value)}",
                        "INVALID_FIELD_VALUE",
                    )
                )
            continue
        expected, accepts = _EXPECTED[item.type]
        if not accepts(value):
            issues.append(
                ValidationIssue(
                    where,
                    f"form field {item.title} must be {expected}; got {_describe(value)}",
                    "INVALID_FIELD_TYPE",
                )
            )
            continue
        if item.pattern is not None and isinstance(value, str):
            if len(value) > MAX_PATTERN_SUBJECT or pattern_error(item.pattern) is not None:
                matched = False
            else:
                matched = re2.fullmatch(item.pattern, value) is not None
            if not matched:
                issues.append(
                    ValidationIssue(
                        where,
                        f"form field {item.title} must match the pattern {item.pattern!r}",
                        "INVALID_FIELD_VALUE",
                    )
                )
    return issues
