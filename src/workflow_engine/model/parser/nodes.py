"""Building the model's nodes, subprocess scopes and message flows / associations."""

from __future__ import annotations

import json
from collections.abc import Mapping

from workflow_engine.model.codes import IssueCode
from workflow_engine.model.parser.elements import _RawNode
from workflow_engine.model.parser.flows import _FlowResolver
from workflow_engine.model.parser.header import _HeaderReader
from workflow_engine.model.parser.reader import _describe
from workflow_engine.model.paths import key_path
from workflow_engine.model.types import (
    Connection,
    EventKind,
    FlowNode,
    NodeType,
    SubProcessScope,
)
from workflow_engine.model.views import (
    derive_event_kind,
    derive_mapping,
    derive_multi_instance,
    derive_retry_policy,
    derive_timer,
)


class _NodeBuilder(_FlowResolver, _HeaderReader):
    """Turns the resolved raw elements into `FlowNode`, `SubProcessScope` and `Connection`."""

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
