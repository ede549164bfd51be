"""Findings and small typed readers: the base every part of the parser builds on.

`_Reader` collects the issues of one parse and reads single values (strings, booleans, string
lists, objects, ids) out of a JSON object, reporting a wrong type at the key's JSON path and
falling back to a default so parsing goes on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflow_engine.model.codes import IssueCode
from workflow_engine.model.issues import Severity, ValidationIssue
from workflow_engine.model.paths import index_path, key_path


def _describe(value: object) -> str:
    """A JSON type name for messages ("a list", "null", …)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class _Reader:
    """The findings of one parse and the readers that report into them."""

    def __init__(self) -> None:
        self.issues: list[ValidationIssue] = []

    # -- findings ---------------------------------------------------------------------------

    def error(self, path: str, message: str, code: IssueCode) -> None:
        self.issues.append(ValidationIssue(path, message, code, Severity.ERROR))

    def warning(self, path: str, message: str, code: IssueCode) -> None:
        self.issues.append(ValidationIssue(path, message, code, Severity.WARNING))

    def _unknown_keys(
        self, item: Mapping[str, Any], known: frozenset[str], path: str, what: str
    ) -> None:
        for key in item:
            if key not in known:
                self.warning(
                    key_path(path, key),
                    f"{what} has an unknown key '{key}', which is ignored; known keys: "
                    f"{', '.join(sorted(known))}",
                    IssueCode.UNKNOWN_KEY,
                )

    # -- small typed readers ----------------------------------------------------------------

    def _string(
        self, item: Mapping[str, Any], key: str, path: str, what: str, *, default: str = ""
    ) -> str:
        value = item.get(key)
        if value is None:
            return default
        if isinstance(value, str):
            return value
        self.error(
            key_path(path, key),
            f"'{key}' of {what} must be a string, not {_describe(value)}",
            IssueCode.INVALID_TYPE,
        )
        return default

    def _bool(
        self, item: Mapping[str, Any], key: str, path: str, what: str, *, default: bool
    ) -> bool:
        value = item.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        self.error(
            key_path(path, key),
            f"'{key}' of {what} must be true or false, not {_describe(value)}",
            IssueCode.INVALID_TYPE,
        )
        return default

    def _string_list(
        self, item: Mapping[str, Any], key: str, path: str, what: str
    ) -> tuple[str, ...]:
        value = item.get(key)
        if value is None:
            return ()
        list_path = key_path(path, key)
        if not isinstance(value, list):
            self.error(
                list_path,
                f"'{key}' of {what} must be a list of strings, not {_describe(value)}",
                IssueCode.INVALID_TYPE,
            )
            return ()
        result: list[str] = []
        for index, entry in enumerate(value):
            if isinstance(entry, str):
                result.append(entry)
            else:
                self.error(
                    index_path(list_path, index),
                    f"entries of '{key}' of {what} must be strings, not {_describe(entry)}",
                    IssueCode.INVALID_TYPE,
                )
        return tuple(result)

    def _object(self, item: Mapping[str, Any], key: str, path: str, what: str) -> dict[str, Any]:
        value = item.get(key)
        if value is None:
            return {}
        if isinstance(value, dict):
            return value
        self.error(
            key_path(path, key),
            f"'{key}' of {what} must be an object, not {_describe(value)}",
            IssueCode.INVALID_TYPE,
        )
        return {}

    def _required_id(self, item: Mapping[str, Any], path: str, what: str) -> str | None:
        value = item.get("id")
        id_path = key_path(path, "id")
        if value is None:
            self.error(id_path, f"{what} has no 'id'", IssueCode.MISSING_KEY)
            return None
        if not isinstance(value, str):
            self.error(
                id_path,
                f"the id of {what} must be a string, not {_describe(value)}",
                IssueCode.INVALID_TYPE,
            )
            return None
        if not value.strip():
            self.error(id_path, f"the id of {what} must not be empty", IssueCode.INVALID_VALUE)
            return None
        return value
