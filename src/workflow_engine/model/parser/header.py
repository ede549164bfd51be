"""The `process` header: ids, labels, timeout, variable declarations and listeners."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflow_engine.model.codes import IssueCode
from workflow_engine.model.parser.keys import (
    HEADER_KEYS,
    LISTENER_KEYS,
    VARIABLE_KEYS,
    VARIABLE_SCOPES,
)
from workflow_engine.model.parser.reader import _describe, _Reader
from workflow_engine.model.paths import index_path, key_path
from workflow_engine.model.types import (
    VARIABLE_TYPE_ALIASES,
    Listener,
    ProcessHeader,
    VariableDeclaration,
    VariableType,
)


class _HeaderReader(_Reader):
    """Reads the `process` header and listener lists (the header's and the nodes')."""

    def _header(self, raw: object) -> ProcessHeader:
        path = "process"
        if raw is None:
            self.error(path, "the definition has no 'process' header", IssueCode.MISSING_KEY)
            return ProcessHeader(id="", key="")
        if not isinstance(raw, dict):
            self.error(
                path,
                f"'process' must be an object, not {_describe(raw)}",
                IssueCode.INVALID_TYPE,
            )
            return ProcessHeader(id="", key="")
        what = "the process"
        self._unknown_keys(raw, HEADER_KEYS, path, what)
        process_id = self._header_name(raw, "id", path)
        process_key = self._header_name(raw, "key", path)
        version = raw.get("version")
        if isinstance(version, int | float) and not isinstance(version, bool):
            # Authors write `"version": 1`; it is only a label, so keep its text.
            version_text = str(version)
        else:
            version_text = self._string(raw, "version", path, what)
        timeout = raw.get("timeout")
        if timeout is not None and not isinstance(timeout, str):
            self.error(
                key_path(path, "timeout"),
                f"'timeout' of the process must be an ISO 8601 duration string such as 'PT5M', "
                f"not {_describe(timeout)}",
                IssueCode.INVALID_TYPE,
            )
            timeout = None
        return ProcessHeader(
            id=process_id,
            key=process_key,
            name=self._string(raw, "name", path, what),
            description=self._string(raw, "description", path, what),
            version=version_text,
            category=self._string(raw, "category", path, what),
            tenant_id=self._string(raw, "tenant_id", path, what),
            start_form_key=self._string(raw, "start_form_key", path, what),
            executable=self._bool(raw, "executable", path, what, default=True),
            timeout=timeout,
            variables=self._variables(raw.get("variables"), key_path(path, "variables")),
            listeners=self._listeners(raw.get("listeners"), key_path(path, "listeners"), what),
            candidate_starter_users=self._string_list(raw, "candidate_starter_users", path, what),
            candidate_starter_groups=self._string_list(raw, "candidate_starter_groups", path, what),
        )

    def _header_name(self, raw: Mapping[str, Any], key: str, path: str) -> str:
        value = raw.get(key)
        if value is None:
            self.error(key_path(path, key), f"the process has no '{key}'", IssueCode.MISSING_KEY)
            return ""
        if not isinstance(value, str) or not value.strip():
            self.error(
                key_path(path, key),
                f"'{key}' of the process must be a non-empty string, not {_describe(value)}",
                IssueCode.INVALID_TYPE,
            )
            return ""
        return value

    def _variables(self, raw: object, path: str) -> dict[str, VariableDeclaration]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.error(
                path,
                "'variables' of the process must be an object mapping names to declarations, "
                f"not {_describe(raw)}",
                IssueCode.INVALID_TYPE,
            )
            return {}
        result: dict[str, VariableDeclaration] = {}
        for name, decl in raw.items():
            var_path = key_path(path, name)
            what = f"variable '{name}'"
            if not isinstance(decl, dict):
                self.error(
                    var_path,
                    f"the declaration of {what} must be an object like "
                    f'{{"type": "string"}}, not {_describe(decl)}',
                    IssueCode.INVALID_TYPE,
                )
                continue
            self._unknown_keys(decl, VARIABLE_KEYS, var_path, what)
            scope = self._string(decl, "scope", var_path, what, default="global")
            if scope not in VARIABLE_SCOPES:
                self.error(
                    key_path(var_path, "scope"),
                    f"{what} has scope '{scope}'; the scope must be 'global' or 'local'",
                    IssueCode.INVALID_VALUE,
                )
                scope = "global"
            result[name] = VariableDeclaration(
                name=name,
                type=self._variable_type(decl, var_path, what),
                scope=scope,
                required=self._bool(decl, "required", var_path, what, default=False),
                default=decl.get("default"),
                has_default="default" in decl,
                sensitive=self._bool(decl, "sensitive", var_path, what, default=False),
                description=self._string(decl, "description", var_path, what),
            )
        return result

    def _variable_type(self, decl: Mapping[str, Any], path: str, what: str) -> VariableType:
        raw = decl.get("type")
        type_path = key_path(path, "type")
        if raw is None:
            return VariableType.ANY
        if not isinstance(raw, str):
            self.error(
                type_path,
                f"the type of {what} must be a string, not {_describe(raw)}",
                IssueCode.INVALID_TYPE,
            )
            return VariableType.ANY
        spelled = raw.strip().lower()
        for known in VariableType:
            if known.value == spelled:
                return known
        alias = VARIABLE_TYPE_ALIASES.get(spelled)
        if alias is not None:
            return alias
        self.error(
            type_path,
            f"{what} has unknown type '{raw}'; known types: "
            f"{', '.join(t.value for t in VariableType)}",
            IssueCode.UNKNOWN_VARIABLE_TYPE,
        )
        return VariableType.ANY

    def _listeners(self, raw: object, path: str, owner: str) -> tuple[Listener, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.error(
                path,
                f"'listeners' of {owner} must be a list, not {_describe(raw)}",
                IssueCode.INVALID_TYPE,
            )
            return ()
        result: list[Listener] = []
        for index, item in enumerate(raw):
            item_path = index_path(path, index)
            what = f"listener {index} of {owner}"
            if not isinstance(item, dict):
                self.error(
                    item_path,
                    f"{what} must be an object with 'event' and 'class', not {_describe(item)}",
                    IssueCode.INVALID_TYPE,
                )
                continue
            self._unknown_keys(item, LISTENER_KEYS, item_path, what)
            ok = True
            for key in ("event", "class"):
                value = item.get(key)
                if value is None:
                    self.error(
                        key_path(item_path, key), f"{what} has no '{key}'", IssueCode.MISSING_KEY
                    )
                    ok = False
                elif not isinstance(value, str) or not value.strip():
                    self.error(
                        key_path(item_path, key),
                        f"'{key}' of {what} must be a non-empty string, not {_describe(value)}",
                        IssueCode.INVALID_TYPE,
                    )
                    ok = False
            listener_type = self._string(item, "type", item_path, what, default="execution")
            config = self._object(item, "config", item_path, what)
            if ok:
                result.append(
                    Listener(
                        event=item["event"],
                        type=listener_type,
                        class_name=item["class"],
                        config=dict(config),
                    )
                )
        return tuple(result)
