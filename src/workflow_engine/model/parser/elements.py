"""Collecting the raw elements: ids, element types, nesting through subprocesses.

The first pass of a parse walks `elements` (and subprocess children) in document order and
sorts every element into raw nodes, raw sequence flows and other connections, reporting
duplicate ids and unknown types. Nothing is resolved yet; see `flows` and `nodes`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workflow_engine.model.codes import IssueCode
from workflow_engine.model.parser.keys import (
    _CONNECTION_TYPES,
    _NODE_TYPES,
    CONNECTION_KEYS,
    KNOWN_ELEMENT_TYPES,
    MAX_NESTING,
    NODE_KEYS,
    NODE_TYPE_KEYS,
)
from workflow_engine.model.parser.reader import _describe, _Reader
from workflow_engine.model.paths import index_path, key_path
from workflow_engine.model.types import ConnectionType, NodeType, SequenceFlow


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


class _ElementCollector(_Reader):
    """The state of one parse and its first pass over the elements."""

    def __init__(self) -> None:
        super().__init__()
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
