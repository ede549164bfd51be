"""Sequence flows: explicit flows' ends, then each node's `outgoing` and `incoming`.

Bare node ids in `outgoing` become implicit flows; `outgoing` / `incoming` entries that name
nothing or disagree with the flows are reported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflow_engine.model.codes import IssueCode
from workflow_engine.model.parser.elements import _ElementCollector, _RawFlow, _RawNode
from workflow_engine.model.parser.reader import _describe
from workflow_engine.model.paths import index_path, key_path
from workflow_engine.model.types import SequenceFlow, implicit_flow_id


class _FlowResolver(_ElementCollector):
    """Resolves the sequence flows of the collected elements."""

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
