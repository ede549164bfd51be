"""The `message_definitions`, `signal_definitions` and `error_definitions` lists."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from workflow_engine.model.codes import IssueCode
from workflow_engine.model.parser.keys import SIGNAL_SCOPES
from workflow_engine.model.parser.reader import _describe, _Reader
from workflow_engine.model.paths import index_path, key_path
from workflow_engine.model.types import ErrorDefinition, MessageDefinition, SignalDefinition

_T = TypeVar("_T")


class _DefinitionReader(_Reader):
    """Reads the lists of message, signal and error definitions."""

    def _definitions(
        self,
        document: Mapping[str, Any],
        key: str,
        build: Callable[[str, Mapping[str, Any], str], _T],
    ) -> dict[str, _T]:
        raw = document.get(key)
        if raw is None:
            return {}
        if not isinstance(raw, list):
            self.error(key, f"'{key}' must be a list, not {_describe(raw)}", IssueCode.INVALID_TYPE)
            return {}
        result: dict[str, _T] = {}
        seen: dict[str, str] = {}
        for index, item in enumerate(raw):
            path = index_path(key, index)
            if not isinstance(item, dict):
                self.error(
                    path,
                    f"entries of '{key}' must be objects with an 'id', not {_describe(item)}",
                    IssueCode.INVALID_TYPE,
                )
                continue
            def_id = self._required_id(item, path, f"the entry at {path}")
            if def_id is None:
                continue
            if def_id in seen:
                self.error(
                    key_path(path, "id"),
                    f"id '{def_id}' is already used by the entry at {seen[def_id]}",
                    IssueCode.DUPLICATE_ID,
                )
                continue
            seen[def_id] = path
            result[def_id] = build(def_id, item, path)
        return result

    def _message(self, def_id: str, item: Mapping[str, Any], path: str) -> MessageDefinition:
        what = f"message '{def_id}'"
        self._unknown_keys(
            item, frozenset({"id", "name", "structure", "correlation_key"}), path, what
        )
        correlation = self._string(item, "correlation_key", path, what)
        return MessageDefinition(
            id=def_id,
            name=self._string(item, "name", path, what),
            structure=dict(self._object(item, "structure", path, what)),
            correlation_key=correlation or None,
        )

    def _signal(self, def_id: str, item: Mapping[str, Any], path: str) -> SignalDefinition:
        what = f"signal '{def_id}'"
        self._unknown_keys(item, frozenset({"id", "name", "scope"}), path, what)
        scope = self._string(item, "scope", path, what, default="global")
        if scope not in SIGNAL_SCOPES:
            self.error(
                key_path(path, "scope"),
                f"{what} has scope '{scope}'; the scope must be 'global' or 'process_instance'",
                IssueCode.INVALID_VALUE,
            )
            scope = "global"
        return SignalDefinition(id=def_id, name=self._string(item, "name", path, what), scope=scope)

    def _error_definition(self, def_id: str, item: Mapping[str, Any], path: str) -> ErrorDefinition:
        what = f"error '{def_id}'"
        self._unknown_keys(item, frozenset({"id", "name", "error_code"}), path, what)
        return ErrorDefinition(
            id=def_id,
            name=self._string(item, "name", path, what),
            error_code=self._string(item, "error_code", path, what),
        )
