"""The JSON definition format (`docs/json-format.md`) -> `ProcessModel`.

`parse_definition` accepts any decoded JSON value and never raises: everything wrong becomes a
`ValidationIssue` with the JSON path of what the author wrote. The parser reports only what the
model cannot express — the document's shape, ids, element types, `outgoing` / `incoming` entries
that name nothing or disagree with the flows, declarations it cannot type. Everything the model
*can* hold (conditions, timers, per-type config, reachability, …) is checked by
`workflow_engine.model.validator`, so the same rules apply to BPMN-imported models too.

The model is built whenever the document is an object; it is `None` only when there is nothing
to build from. A model that comes with errors is for reporting only, never for running.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from workflow_engine.model.codes import IssueCode
from workflow_engine.model.issues import Severity, ValidationIssue
from workflow_engine.model.paths import ROOT, index_path, key_path
from workflow_engine.model.types import (
    VARIABLE_TYPE_ALIASES,
    Connection,
    ConnectionType,
    ErrorDefinition,
    EventKind,
    FlowNode,
    Listener,
    MessageDefinition,
    NodeType,
    ProcessHeader,
    ProcessModel,
    SequenceFlow,
    SignalDefinition,
    SubProcessScope,
    VariableDeclaration,
    VariableType,
    implicit_flow_id,
)
from workflow_engine.model.views import (
    derive_event_kind,
    derive_mapping,
    derive_multi_instance,
    derive_retry_policy,
    derive_timer,
)

#: Keys of the document itself; anything else is kept in `ProcessModel.extensions`.
DOCUMENT_KEYS = frozenset(
    {"process", "elements", "message_definitions", "signal_definitions", "error_definitions"}
)
HEADER_KEYS = frozenset(
    {
        "id",
        "key",
        "name",
        "description",
        "version",
        "category",
        "tenant_id",
        "start_form_key",
        "executable",
        "timeout",
        "variables",
        "listeners",
        "candidate_starter_users",
        "candidate_starter_groups",
    }
)
NODE_KEYS = frozenset(
    {"id", "type", "name", "config", "incoming", "outgoing", "listeners", "documentation"}
)
#: Keys only some node types take at the top level of their element.
NODE_TYPE_KEYS: Mapping[NodeType, frozenset[str]] = {
    NodeType.BOUNDARY_EVENT: frozenset({"attached_to", "event_kind"}),
    NodeType.START_EVENT: frozenset({"event_kind"}),
    NodeType.END_EVENT: frozenset({"event_kind"}),
    NodeType.INTERMEDIATE_CATCH_EVENT: frozenset({"event_kind"}),
    NodeType.INTERMEDIATE_THROW_EVENT: frozenset({"event_kind"}),
    NodeType.SUB_PROCESS: frozenset({"elements"}),
}
CONNECTION_KEYS = frozenset({"id", "type", "name", "config", "source", "target"})
VARIABLE_KEYS = frozenset({"type", "scope", "required", "default", "sensitive", "description"})
VARIABLE_SCOPES = ("global", "local")
LISTENER_KEYS = frozenset({"event", "type", "class", "config"})
SIGNAL_SCOPES = ("global", "process_instance")
#: Subprocesses nested deeper than this are refused (protects against hostile documents).
MAX_NESTING = 64

_T = TypeVar("_T")

_CONNECTION_TYPES = {t.value: t for t in ConnectionType}
_NODE_TYPES = {t.value: t for t in NodeType}
KNOWN_ELEMENT_TYPES: tuple[str, ...] = (*_NODE_TYPES, *_CONNECTION_TYPES)


def parse_json_text(text: str | bytes) -> tuple[ProcessModel | None, list[ValidationIssue]]:
    """Decode JSON text and parse it as a definition.

    Args:
        text: The JSON document, as text or UTF-8 bytes.

    Returns:
        The model (or `None` when there is nothing to build) and every finding; a syntax error
        is one issue at `$` naming the line and column.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return None, [
                ValidationIssue(
                    ROOT,
                    f"the definition is not UTF-8 text (byte {exc.start} cannot be decoded)",
                    IssueCode.INVALID_JSON,
                )
            ]
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, [
            ValidationIssue(
                ROOT,
                f"the definition is not valid JSON: {exc.msg} at line {exc.lineno}, "
                f"column {exc.colno}",
                IssueCode.INVALID_JSON,
            )
        ]
    except RecursionError:
        return None, [
            ValidationIssue(ROOT, "the definition is nested too deeply", IssueCode.INVALID_JSON)
        ]
    return parse_definition(document)


def parse_definition(document: object) -> tuple[ProcessModel | None, list[ValidationIssue]]:
    """Build a `ProcessModel` from a decoded JSON definition.

    Args:
        document: Whatever `json.loads` returned (any value; garbage gives issues, not errors).

    Returns:
        The model and the parser's findings. The model is `None` only when `document` is not
        an object. Run `workflow_engine.model.validator.validate` on the model for the
        remaining rules, or use `check_definition` for both.
    """
    parser = _Parser()
    try:
        model = parser.parse(document)
    except RecursionError:
        parser.error(ROOT, "the definition is nested too deeply", IssueCode.INVALID_DOCUMENT)
        model = None
    return model, parser.issues


@dataclass
class _RawNode:
    id: str
    type: NodeType
    item: dict[str, Any]
    config: dict[str, Any]
    path: str
    scope: str | None
    children: list[str] = field(default_factory=list)


@dataclass
class _RawFlow:
    id: str
    item: dict[str, Any]
    config: dict[str, Any]
    path: str
    scope: str | None


@dataclass
class _RawConnection:
    id: str
    type: ConnectionType
    item: dict[str, Any]
    config: dict[str, Any]
    path: str


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


class _Parser:
    """One parse: collects raw elements, then resolves flows, then builds the model."""

    def __init__(self) -> None:
        self.issues: list[ValidationIssue] = []
        # Every element id seen (any kind) -> the path of its first occurrence.
        self.first_path: dict[str, str] = {}
        # Ids of elements that were reported and left out; references to them stay silent so
        # one mistake gives one finding.
        self.unbuildable: set[str] = set()
        # Document order (pre-order through subprocesses) of nodes and explicit flows.
        self.order: list[_RawNode | _RawFlow] = []
        self.nodes: dict[str, _RawNode] = {}
        self.raw_flows: dict[str, _RawFlow] = {}
        self.connections: list[_RawConnection] = []
        self.flows: dict[str, SequenceFlow] = {}
        self.flow_scope: dict[str, str | None] = {}

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

    # -- the document -----------------------------------------------------------------------

    def parse(self, document: object) -> ProcessModel | None:
        if not isinstance(document, dict):
            self.error(
                ROOT,
                "a definition must be a JSON object with 'process' and 'elements', "
                f"not {_describe(document)}",
                IssueCode.INVALID_DOCUMENT,
            )
            return None
        header = self._header(document.get("process"))
        elements = document.get("elements")
        if elements is None:
            self.error("elements", "the definition has no 'elements' list", IssueCode.MISSING_KEY)
        else:
            self._collect(elements, "elements", None, depth=0)
        self._build_flows()
        self._resolve_outgoing()
        incoming = self._resolve_incoming()
        nodes = self._build_nodes(incoming)
        scopes = self._build_scopes()
        connections = self._build_connections()
        messages = self._definitions(document, "message_definitions", self._message)
        signals = self._definitions(document, "signal_definitions", self._signal)
        errors = self._definitions(document, "error_definitions", self._error_definition)
        extensions = {k: v for k, v in document.items() if k not in DOCUMENT_KEYS}
        return ProcessModel(
            process=header,
            nodes=nodes,
            flows=self.flows,
            scopes=scopes,
            connections=connections,
            message_definitions=messages,
            signal_definitions=signals,
            error_definitions=errors,
            extensions=extensions,
        )

    # -- header -----------------------------------------------------------------------------

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

    # -- elements: collection ---------------------------------------------------------------

    def _collect(self, elements: object, path: str, scope: str | None, *, depth: int) -> None:
        if not isinstance(elements, list):
            self.error(
                path,
                f"'elements' must be a list of elements, not {_describe(elements)}",
                IssueCode.INVALID_TYPE,
            )
            return
        if depth > MAX_NESTING:
            self.error(
                path,
                f"subprocesses are nested more than {MAX_NESTING} levels deep",
                IssueCode.INVALID_DOCUMENT,
            )
            return
        for index, item in enumerate(elements):
            self._collect_element(item, index_path(path, index), scope, depth)

    def _collect_element(self, item: object, path: str, scope: str | None, depth: int) -> None:
        if not isinstance(item, dict):
            self.error(
                path,
                f"an element must be an object with 'id' and 'type', not {_describe(item)}",
                IssueCode.INVALID_TYPE,
            )
            return
        raw_type = item.get("type")
        type_label = f"'{raw_type}' element" if isinstance(raw_type, str) else "element"
        element_id = self._required_id(item, path, f"the {type_label} at {path}")
        element_type = self._element_type(raw_type, path, element_id)
        if element_id is None:
            return
        first = self.first_path.get(element_id)
        if first is not None:
            self.error(
                key_path(path, "id"),
                f"id '{element_id}' is already used by the element at {first}; ids must be "
                "unique across the whole definition",
                IssueCode.DUPLICATE_ID,
            )
            return
        self.first_path[element_id] = path
        if element_type is None:
            self.unbuildable.add(element_id)
            return
        what = f"'{element_id}'"
        config = self._object(item, "config", path, what)
        if isinstance(element_type, ConnectionType):
            self._unknown_keys(item, CONNECTION_KEYS, path, what)
            if element_type is ConnectionType.SEQUENCE_FLOW:
                flow = _RawFlow(element_id, item, config, path, scope)
                self.raw_flows[element_id] = flow
                self.order.append(flow)
            else:
                self.connections.append(
                    _RawConnection(element_id, element_type, item, config, path)
                )
            return
        known = NODE_KEYS | NODE_TYPE_KEYS.get(element_type, frozenset())
        self._unknown_keys(item, known, path, what)
        node = _RawNode(element_id, element_type, item, dict(config), path, scope)
        self.nodes[element_id] = node
        self.order.append(node)
        if element_type is NodeType.SUB_PROCESS:
            self._collect_children(node, depth)

    def _collect_children(self, node: _RawNode, depth: int) -> None:
        in_config = node.config.pop("elements", None)
        on_top = node.item.get("elements")
        if in_config is not None and on_top is not None:
            self.error(
                key_path(node.path, "elements"),
                f"subprocess '{node.id}' gives its children twice, in 'config.elements' and "
                "'elements'; use one of them",
                IssueCode.INVALID_VALUE,
            )
        if in_config is not None:
            children, children_path = in_config, key_path(key_path(node.path, "config"), "elements")
        elif on_top is not None:
            children, children_path = on_top, key_path(node.path, "elements")
        else:
            return
        before = len(self.order)
        self._collect(children, children_path, node.id, depth=depth + 1)
        node.children = [
            r.id for r in self.order[before:] if isinstance(r, _RawNode) and r.scope == node.id
        ]

    def _element_type(
        self, raw: object, path: str, element_id: str | None
    ) -> NodeType | ConnectionType | None:
        type_path = key_path(path, "type")
        name = f"element '{element_id}'" if element_id else f"the element at {path}"
        if raw is None:
            self.error(type_path, f"{name} has no 'type'", IssueCode.MISSING_KEY)
            return None
        if not isinstance(raw, str):
            self.error(
                type_path,
                f"the type of {name} must be a string, not {_describe(raw)}",
                IssueCode.INVALID_TYPE,
            )
            return None
        if raw in _NODE_TYPES:
            return _NODE_TYPES[raw]
        if raw in _CONNECTION_TYPES:
            return _CONNECTION_TYPES[raw]
        self.error(
            type_path,
            f"{name} has unknown type '{raw}'; known types: {', '.join(KNOWN_ELEMENT_TYPES)}",
            IssueCode.UNKNOWN_NODE_TYPE,
        )
        return None

    # -- flows ------------------------------------------------------------------------------

    def _endpoint(
        self, item: Mapping[str, Any], config: Mapping[str, Any], key: str, path: str, what: str
    ) -> tuple[str | None, str]:
        """`source` / `target` of a flow (top level or config) and the path it was read at."""
        top, inner = item.get(key), config.get(key)
        top_path, inner_path = key_path(path, key), key_path(key_path(path, "config"), key)
        if top is None and inner is None:
            self.error(top_path, f"{what} has no '{key}'", IssueCode.MISSING_KEY)
            return None, top_path
        if top is not None and inner is not None and top != inner:
            self.error(
                inner_path,
                f"{what} gives '{key}' twice with different values: '{top}' at the top level "
                f"and '{inner}' in config",
                IssueCode.INVALID_VALUE,
            )
        value, value_path = (top, top_path) if top is not None else (inner, inner_path)
        if not isinstance(value, str) or not value:
            self.error(
                value_path,
                f"'{key}' of {what} must be a node id, not {_describe(value)}",
                IssueCode.INVALID_TYPE,
            )
            return None, value_path
        return value, value_path

    def _build_flows(self) -> None:
        """Explicit `sequenceFlow` elements whose ends resolve; the rest are reported."""
        for raw in list(self.raw_flows.values()):
            what = f"sequence flow '{raw.id}'"
            ends: list[str] = []
            for key in ("source", "target"):
                value, value_path = self._endpoint(raw.item, raw.config, key, raw.path, what)
                if value is None:
                    continue
                if value in self.nodes:
                    ends.append(value)
                elif value not in self.unbuildable:
                    self.error(
                        value_path,
                        f"{what} has {key} '{value}', {self._names_no_node(value)}",
                        IssueCode.DANGLING_REFERENCE,
                    )
            if len(ends) != 2:
                del self.raw_flows[raw.id]
                self.unbuildable.add(raw.id)
                continue
            condition = raw.config.get("condition")
            self.flows[raw.id] = SequenceFlow(
                id=raw.id,
                source=ends[0],
                target=ends[1],
                condition=condition if isinstance(condition, str) else None,
                name=self._string(raw.item, "name", raw.path, what),
                implicit=False,
                config=dict(raw.config),
                path=raw.path,
            )
            self.flow_scope[raw.id] = raw.scope

    def _names_no_node(self, value: str) -> str:
        if value in self.raw_flows or value in self.flows:
            return "which is a sequence flow, not a node"
        if any(c.id == value for c in self.connections):
            return "which is a message flow or association, not a node"
        return "which names no node"

    def _resolve_outgoing(self) -> None:
        """Each node's outgoing flows; bare node ids become implicit flows.

        Flows are ordered as written: an explicit flow at its element, a node's implicit flows
        at that node, in its `outgoing` order (the JSON exporter relies on this).
        """
        built: dict[str, SequenceFlow] = {}
        self.outgoing: dict[str, list[str]] = {}
        for raw in self.order:
            if isinstance(raw, _RawFlow):
                if raw.id in self.flows:
                    built[raw.id] = self.flows[raw.id]
                continue
            flows = self._node_outgoing(raw)
            for flow_id in self.outgoing[raw.id]:
                if flow_id in flows:
                    built[flow_id] = flows[flow_id]
        self.flows = built

    def _node_outgoing(self, node: _RawNode) -> dict[str, SequenceFlow]:
        """Resolve one node's `outgoing`; returns the implicit flows it creates."""
        explicit = [f.id for f in self.flows.values() if not f.implicit and f.source == node.id]
        given = node.item.get("outgoing")
        created: dict[str, SequenceFlow] = {}
        list_path = key_path(node.path, "outgoing")
        if given is None:
            self.outgoing[node.id] = explicit
            return created
        if not isinstance(given, list):
            self.error(
                list_path,
                f"'outgoing' of '{node.id}' must be a list of flow or node ids, "
                f"not {_describe(given)}",
                IssueCode.INVALID_TYPE,
            )
            self.outgoing[node.id] = explicit
            return created
        result: list[str] = []
        for index, entry in enumerate(given):
            entry_path = index_path(list_path, index)
            flow_id = self._outgoing_entry(node, entry, entry_path, created)
            if flow_id is None:
                continue
            if flow_id in result:
                self.error(
                    entry_path,
                    f"'{node.id}' lists '{entry}' twice in its outgoing",
                    IssueCode.INVALID_VALUE,
                )
                continue
            result.append(flow_id)
        for flow_id in explicit:
            if flow_id not in result:
                self.error(
                    list_path,
                    f"sequence flow '{flow_id}' starts at '{node.id}', but '{node.id}' does not "
                    "list it in its outgoing",
                    IssueCode.FLOW_MISMATCH,
                )
                result.append(flow_id)
        self.outgoing[node.id] = result
        return created

    def _outgoing_entry(
        self, node: _RawNode, entry: object, path: str, created: dict[str, SequenceFlow]
    ) -> str | None:
        if not isinstance(entry, str):
            self.error(
                path,
                f"entries of 'outgoing' of '{node.id}' must be flow or node ids, "
                f"not {_describe(entry)}",
                IssueCode.INVALID_TYPE,
            )
            return None
        flow = self.flows.get(entry)
        if flow is not None:
            if flow.source != node.id:
                self.error(
                    path,
                    f"'{node.id}' lists sequence flow '{entry}' in its outgoing, but that flow "
                    f"starts at '{flow.source}'",
                    IssueCode.FLOW_MISMATCH,
                )
                return None
            return entry
        if entry in self.nodes:
            flow_id = implicit_flow_id(node.id, entry)
            taken = self.first_path.get(flow_id)
            if taken is not None:
                self.error(
                    path,
                    f"the flow from '{node.id}' to '{entry}' gets the id '{flow_id}', which the "
                    f"element at {taken} already uses",
                    IssueCode.DUPLICATE_ID,
                )
                return None
            created[flow_id] = SequenceFlow(
                id=flow_id, source=node.id, target=entry, implicit=True, path=path
            )
            self.flow_scope[flow_id] = node.scope
            return flow_id
        if entry in self.unbuildable:
            return None
        self.error(
            path,
            f"outgoing '{entry}' of '{node.id}' {self._names_nothing(entry)}",
            IssueCode.DANGLING_REFERENCE,
        )
        return None

    def _names_nothing(self, entry: str) -> str:
        if any(c.id == entry for c in self.connections):
            return "is a message flow or association, not a sequence flow or node"
        return "names no sequence flow or node"

    def _resolve_incoming(self) -> dict[str, list[str]]:
        """Each node's incoming flows, derived from the flows and checked against `incoming`."""
        derived: dict[str, list[str]] = {node_id: [] for node_id in self.nodes}
        for flow in self.flows.values():
            derived[flow.target].append(flow.id)
        result: dict[str, list[str]] = {}
        for node in self.nodes.values():
            result[node.id] = self._node_incoming(node, derived[node.id])
        return result

    def _node_incoming(self, node: _RawNode, derived: list[str]) -> list[str]:
        given = node.item.get("incoming")
        list_path = key_path(node.path, "incoming")
        if given is None:
            return derived
        if not isinstance(given, list):
            self.error(
                list_path,
                f"'incoming' of '{node.id}' must be a list of flow or node ids, "
                f"not {_describe(given)}",
                IssueCode.INVALID_TYPE,
            )
            return derived
        result: list[str] = []
        for index, entry in enumerate(given):
            entry_path = index_path(list_path, index)
            flow_id = self._incoming_entry(node, entry, entry_path, derived, result)
            if flow_id is None:
                continue
            if flow_id in result:
                self.error(
                    entry_path,
                    f"'{node.id}' lists '{entry}' twice in its incoming",
                    IssueCode.INVALID_VALUE,
                )
                continue
            result.append(flow_id)
        for flow_id in derived:
            if flow_id not in result:
                source = self.flows[flow_id].source
                self.error(
                    list_path,
                    f"the sequence flow '{flow_id}' from '{source}' ends at '{node.id}', but "
                    f"'{node.id}' does not list it (or '{source}') in its incoming",
                    IssueCode.FLOW_MISMATCH,
                )
                result.append(flow_id)
        return result

    def _incoming_entry(
        self, node: _RawNode, entry: object, path: str, derived: list[str], taken: list[str]
    ) -> str | None:
        if not isinstance(entry, str):
            self.error(
                path,
                f"entries of 'incoming' of '{node.id}' must be flow or node ids, "
                f"not {_describe(entry)}",
                IssueCode.INVALID_TYPE,
            )
            return None
        flow = self.flows.get(entry)
        if flow is not None:
            if flow.target != node.id:
                self.error(
                    path,
                    f"'{node.id}' lists sequence flow '{entry}' in its incoming, but that flow "
                    f"ends at '{flow.target}'",
                    IssueCode.FLOW_MISMATCH,
                )
                return None
            return entry
        if entry in self.nodes:
            candidates = [f for f in derived if self.flows[f].source == entry and f not in taken]
            if not candidates:
                self.error(
                    path,
                    f"'{node.id}' lists '{entry}' in its incoming, but no sequence flow leads "
                    f"from '{entry}' to '{node.id}' (add '{node.id}' to the outgoing of "
                    f"'{entry}')",
                    IssueCode.FLOW_MISMATCH,
                )
                return None
            implicit = implicit_flow_id(entry, node.id)
            return implicit if implicit in candidates else candidates[0]
        if entry in self.unbuildable:
            return None
        self.error(
            path,
            f"incoming '{entry}' of '{node.id}' {self._names_nothing(entry)}",
            IssueCode.DANGLING_REFERENCE,
        )
        return None

    # -- nodes, scopes, connections ---------------------------------------------------------

    def _build_nodes(self, incoming: Mapping[str, list[str]]) -> dict[str, FlowNode]:
        result: dict[str, FlowNode] = {}
        for raw in self.nodes.values():
            result[raw.id] = self._node(raw, incoming[raw.id])
        return result

    def _node(self, raw: _RawNode, incoming: list[str]) -> FlowNode:
        what = f"'{raw.id}'"
        config = raw.config
        attached_to: str | None = None
        if raw.type is NodeType.BOUNDARY_EVENT:
            attached_to = self._attached_to(raw)
        cancel = config.get("cancel_activity")
        return FlowNode(
            id=raw.id,
            type=raw.type,
            name=self._string(raw.item, "name", raw.path, what),
            config=config,
            incoming=tuple(incoming),
            outgoing=tuple(self.outgoing.get(raw.id, ())),
            listeners=self._listeners(
                raw.item.get("listeners"), key_path(raw.path, "listeners"), what
            ),
            scope=raw.scope,
            event_kind=self._event_kind(raw),
            timer=derive_timer(raw.type, config),
            attached_to=attached_to,
            cancel_activity=cancel if isinstance(cancel, bool) else True,
            retry_policy=derive_retry_policy(raw.type, config),
            multi_instance=derive_multi_instance(raw.type, config),
            input_mapping=derive_mapping(config, "input_mapping"),
            output_mapping=derive_mapping(config, "output_mapping"),
            documentation=self._string(raw.item, "documentation", raw.path, what),
            path=raw.path,
        )

    def _event_kind(self, raw: _RawNode) -> EventKind | None:
        derived = derive_event_kind(raw.type, raw.config)
        override = raw.item.get("event_kind")
        if override is None or derived is None:
            return derived
        for kind in EventKind:
            if kind.value == override:
                return kind
        self.error(
            key_path(raw.path, "event_kind"),
            f"'event_kind' of '{raw.id}' is {json.dumps(override, ensure_ascii=False)}; "
            f"it must be one of {', '.join(k.value for k in EventKind)}",
            IssueCode.INVALID_VALUE,
        )
        return derived

    def _attached_to(self, raw: _RawNode) -> str | None:
        top, inner = raw.item.get("attached_to"), raw.config.get("attached_to")
        if top is not None and inner is not None and top != inner:
            self.error(
                key_path(raw.path, "attached_to"),
                f"boundary event '{raw.id}' gives 'attached_to' twice with different values: "
                f"'{top}' at the top level and '{inner}' in config",
                IssueCode.INVALID_VALUE,
            )
        value = inner if inner is not None else top
        if value is None:
            return None
        if not isinstance(value, str):
            if inner is None:
                # In config the validator reports it with the other config values.
                self.error(
                    key_path(raw.path, "attached_to"),
                    f"'attached_to' of '{raw.id}' must be an activity id, not {_describe(value)}",
                    IssueCode.INVALID_TYPE,
                )
            return None
        return value

    def _build_scopes(self) -> dict[str, SubProcessScope]:
        scopes: dict[str, SubProcessScope] = {}
        for raw in self.nodes.values():
            if raw.type is not NodeType.SUB_PROCESS:
                continue
            scopes[raw.id] = SubProcessScope(
                id=raw.id,
                triggered_by_event=raw.config.get("triggered_by_event") is True,
                node_ids=tuple(raw.children),
                flow_ids=tuple(f for f in self.flows if self.flow_scope.get(f) == raw.id),
            )
        return scopes

    def _build_connections(self) -> tuple[Connection, ...]:
        result: list[Connection] = []
        known = set(self.first_path)
        for raw in self.connections:
            what = f"{raw.type.value} '{raw.id}'"
            ends: list[str] = []
            for key in ("source", "target"):
                value, value_path = self._endpoint(raw.item, raw.config, key, raw.path, what)
                if value is None:
                    continue
                if value not in known:
                    # Message flows may name pools outside the model; no run-time effect.
                    self.warning(
                        value_path,
                        f"{what} has {key} '{value}', which names no element",
                        IssueCode.DANGLING_REFERENCE,
                    )
                ends.append(value)
            if len(ends) == 2:
                result.append(
                    Connection(
                        id=raw.id,
                        type=raw.type,
                        source=ends[0],
                        target=ends[1],
                        name=self._string(raw.item, "name", raw.path, what),
                    )
                )
        return tuple(result)

    # -- message / signal / error definitions -----------------------------------------------

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
