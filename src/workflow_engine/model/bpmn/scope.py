"""Reading a process (or subprocess) body into the JSON format's `elements` list.

Flow nodes become elements with their `config`; sequence flows become `sequenceFlow` elements
and fill the nodes' `incoming` / `outgoing` in document order of the flows (the order Camunda
and Zeebe use to pick "the first true condition" at an exclusive gateway). Elements the engine
does not run are reported at their XML location; purely graphical or data elements are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from workflow_engine.model.bpmn.context import ImportContext, qualified_name, xml_location
from workflow_engine.model.bpmn.feel import convert
from workflow_engine.model.bpmn.namespaces import BPMN, CAMUNDA, WFE, q, split_tag
from workflow_engine.model.bpmn.reader import (
    child,
    documentation,
    listeners,
    local_ref,
    merge_residual,
    node_config,
    text_of,
    wfe_json,
)
from workflow_engine.model.types import NodeType

_NODE_TYPES = {t.value: t for t in NodeType}
#: Elements that carry no behaviour here: data, artifacts, lanes. Skipped without a finding.
_SILENT = frozenset(
    {
        "dataObject",
        "dataObjectReference",
        "dataStoreReference",
        "dataStore",
        "textAnnotation",
        "group",
        "laneSet",
        "ioSpecification",
        "property",
        "extensionElements",
        "documentation",
        "auditing",
        "monitoring",
        "categoryValueRef",
        "resourceRole",
        "performer",
        "humanPerformer",
        "potentialOwner",
        "correlationSubscription",
        "supports",
        "ioBinding",
        "supportedInterfaceRef",
        # A subprocess's own parts, read by `node_config`.
        "incoming",
        "outgoing",
        "multiInstanceLoopCharacteristics",
        "standardLoopCharacteristics",
    }
)
#: Condition languages whose text is an expression we read (Camunda's JUEL, FEEL, CEL).
_CONDITION_LANGUAGES = frozenset(
    {
        "",
        "juel",
        "el",
        "feel",
        "cel",
        "http://www.omg.org/spec/feel/20140401",
        "https://www.omg.org/spec/dmn/20191111/feel",
        "http://www.w3.org/1999/xpath",
    }
)
_ID_CHARS = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass
class _Flow:
    element: etree._Element
    id: str
    source: str
    target: str
    implicit: bool


@dataclass
class ScopeReader:
    """Reads one scope; `known_ids` collects every id given out in the whole document."""

    ctx: ImportContext
    known_ids: set[str] = field(default_factory=set)
    node_ids: set[str] = field(default_factory=set)
    #: `id()` of each produced element dict → the XML element it came from (for locations).
    origins: dict[int, etree._Element] = field(default_factory=dict)

    def assign_locations(self, elements: list[dict[str, Any]], base_path: str) -> None:
        """Record the XML location of every element of a finished `elements` list, nested too."""
        for index, element in enumerate(elements):
            path = f"{base_path}[{index}]"
            origin = self.origins.get(id(element))
            if origin is not None:
                self.ctx.locations[path] = xml_location(origin)
            nested = element.get("config", {}).get("elements")
            if element.get("type") == NodeType.SUB_PROCESS.value and isinstance(nested, list):
                self.assign_locations(nested, f"{path}.config.elements")

    def read(self, container: etree._Element) -> list[dict[str, Any]]:
        """The `elements` list of `container` (a `bpmn:process` or `bpmn:subProcess`)."""
        entries: list[tuple[etree._Element, dict[str, Any]]] = []
        nodes: dict[str, dict[str, Any]] = {}
        flow_elements: list[etree._Element] = []
        associations: list[etree._Element] = []
        for item in container:
            namespace, local = split_tag(item.tag)
            if namespace != BPMN:
                continue  # comments, vendor elements outside extensionElements
            if local in _NODE_TYPES:
                element = self._node(item, _NODE_TYPES[local])
                if element is not None:
                    nodes[element["id"]] = element
                    entries.append((item, element))
            elif local == "sequenceFlow":
                flow_elements.append(item)
                entries.append((item, {}))  # placeholder keeps document order
            elif local == "association":
                associations.append(item)
            elif local in _SILENT or local.endswith("Association") or local == "lane":
                continue
            else:
                self.ctx.unsupported(item)
        flows = [f for f in (self._flow(e, nodes) for e in flow_elements) if f is not None]
        flow_dicts = {id(f.element): f for f in flows}
        result: list[dict[str, Any]] = []
        for item, element in entries:
            if not element:
                found = flow_dicts.get(id(item))
                if found is None or found.implicit:
                    continue
                element = self._flow_element(found)
            self.origins[id(element)] = item
            result.append(element)
        for flow in flows:
            source, target = nodes[flow.source], nodes[flow.target]
            source["outgoing"].append(flow.target if flow.implicit else flow.id)
            target["incoming"].append(flow.source if flow.implicit else flow.id)
        aliases = {f.id: f.target for f in flows if f.implicit}
        for element in nodes.values():
            default = element["config"].get("default_flow")
            if isinstance(default, str) and default in aliases:
                element["config"]["default_flow"] = aliases[default]
        for association in associations:
            connection = self._association(association)
            if connection is not None:
                self.origins[id(connection)] = association
                result.append(connection)
        return result

    # -- nodes -----------------------------------------------------------------------------

    def _node(self, item: etree._Element, node_type: NodeType) -> dict[str, Any] | None:
        ident = item.get("id")
        if not ident:
            self.ctx.error(item, f"{qualified_name(item)} has no id", "MISSING_KEY")
            return None
        if ident in self.known_ids:
            self.ctx.error(item, f"id '{ident}' is used twice", "DUPLICATE_ID")
            return None
        self.known_ids.add(ident)
        self.node_ids.add(ident)
        config = node_config(self.ctx, item, node_type)
        removed = merge_residual(config, wfe_json(self.ctx, item))
        element: dict[str, Any] = {"id": ident, "type": node_type.value}
        if "attached_to" in removed and item.get("attachedToRef"):
            # The model kept `attached_to` at the element's top level (JSON's other spelling).
            element["attached_to"] = local_ref(item.get("attachedToRef"))
        decision = config.pop("$decision_ref", None)
        if decision is not None and "decision_table" not in config:
            self.ctx.error(
                item,
                f"businessRuleTask '{ident}' calls the external DMN decision '{decision}', "
                "which is not supported: embed a decision_table in the wfe:config extension",
                "UNSUPPORTED_ELEMENT",
            )
        if item.get("name") is not None:
            element["name"] = item.get("name")
        element["config"] = config
        element["incoming"] = []
        element["outgoing"] = []
        found_listeners = listeners(self.ctx, item)
        if found_listeners:
            element["listeners"] = found_listeners
        docs = documentation(item)
        if docs:
            element["documentation"] = docs
        if node_type is NodeType.SUB_PROCESS:
            config["elements"] = self.read(item)
        return element

    # -- flows -----------------------------------------------------------------------------

    def _flow(self, item: etree._Element, nodes: dict[str, dict[str, Any]]) -> _Flow | None:
        source = local_ref(item.get("sourceRef"))
        target = local_ref(item.get("targetRef"))
        label = item.get("id") or "sequenceFlow"
        if not source or not target:
            self.ctx.error(
                item,
                f"sequenceFlow '{label}' needs a sourceRef and a targetRef",
                "MISSING_REFERENCE",
            )
            return None
        for end, ref in (("sourceRef", source), ("targetRef", target)):
            if ref not in nodes:
                if ref in self.node_ids or ref in self.known_ids:
                    self.ctx.error(
                        item,
                        f"sequenceFlow '{label}' {end} '{ref}' is in another "
                        "scope: flows may not cross a subprocess border",
                        "CROSS_SCOPE_FLOW",
                    )
                elif not self._skipped_node(item, ref):
                    self.ctx.error(
                        item,
                        f"sequenceFlow '{label}' {end} '{ref}' names no flow node of this process",
                        "DANGLING_REFERENCE",
                    )
                return None
        implicit = (
            item.get(q(WFE, "implicit")) == "true"
            and child(item, BPMN, "conditionExpression") is None
        )
        ident = item.get("id")
        if implicit and ident:
            self.ctx.flow_aliases[ident] = f"{source}->{target}"
        elif not ident:
            ident = self._fresh_id(f"{source}_to_{target}")
        elif ident in self.known_ids:
            self.ctx.error(item, f"id '{ident}' is used twice", "DUPLICATE_ID")
            return None
        self.known_ids.add(ident)
        return _Flow(item, ident, source, target, implicit)

    def _skipped_node(self, flow: etree._Element, ref: str) -> bool:
        # A flow into an element already reported as unsupported needs no second finding.
        parent = flow.getparent()
        if parent is None:
            return False
        return any(c.get("id") == ref for c in parent)

    def _fresh_id(self, wanted: str) -> str:
        base = _ID_CHARS.sub("_", wanted)
        candidate, counter = base, 2
        while candidate in self.known_ids:
            candidate, counter = f"{base}_{counter}", counter + 1
        return candidate

    def _flow_element(self, flow: _Flow) -> dict[str, Any]:
        item = flow.element
        config: dict[str, Any] = {}
        condition = child(item, BPMN, "conditionExpression")
        if condition is not None:
            value = self._condition(condition, flow.id)
            if value:
                config["condition"] = value
        merge_residual(config, wfe_json(self.ctx, item))
        element: dict[str, Any] = {"id": flow.id, "type": "sequenceFlow"}
        if item.get("name") is not None:
            element["name"] = item.get("name")
        element["source"] = flow.source
        element["target"] = flow.target
        element["config"] = config
        docs = documentation(item)
        if docs:
            element["documentation"] = docs
        return element

    def _condition(self, condition: etree._Element, flow_id: str) -> str:
        language = (condition.get("language") or "").strip()
        if condition.get(q(CAMUNDA, "resource")):
            self.ctx.error(
                condition,
                f"condition of '{flow_id}' loads an external script "
                "resource, which is not supported",
                "UNSUPPORTED_ELEMENT",
            )
            return ""
        if language.lower() not in _CONDITION_LANGUAGES:
            self.ctx.error(
                condition,
                f"condition language '{language}' of '{flow_id}' is not "
                "supported: write a ${...} (CEL) or =FEEL condition",
                "UNSUPPORTED_ELEMENT",
            )
            return ""
        text = text_of(condition)
        if not text:
            return ""
        converted = convert(text)
        if converted.error is not None:
            self.ctx.error(
                condition,
                f"condition of sequenceFlow '{flow_id}': {converted.error}",
                "EXPRESSION_SYNTAX",
            )
        return converted.value

    # -- connections -----------------------------------------------------------------------

    def _association(self, item: etree._Element) -> dict[str, Any] | None:
        source = local_ref(item.get("sourceRef"))
        target = local_ref(item.get("targetRef"))
        ident = item.get("id")
        # Associations mostly link text annotations (skipped); keep those between nodes.
        if not ident or source not in self.node_ids or target not in self.node_ids:
            return None
        if ident in self.known_ids:
            return None
        self.known_ids.add(ident)
        return {
            "id": ident,
            "type": "association",
            "source": source,
            "target": target,
            "config": {},
        }


def read_message_flows(
    definitions: etree._Element, reader: ScopeReader
) -> list[tuple[etree._Element, dict[str, Any]]]:
    """Message flows of the collaborations whose both ends are nodes of the imported process."""
    found: list[tuple[etree._Element, dict[str, Any]]] = []
    for collaboration in definitions:
        if split_tag(collaboration.tag) != (BPMN, "collaboration"):
            continue
        for item in collaboration:
            if split_tag(item.tag) != (BPMN, "messageFlow"):
                continue
            source = local_ref(item.get("sourceRef"))
            target = local_ref(item.get("targetRef"))
            ident = item.get("id")
            if (
                not ident
                or source not in reader.node_ids
                or target not in reader.node_ids
                or ident in reader.known_ids
            ):
                continue
            reader.known_ids.add(ident)
            element: dict[str, Any] = {
                "id": ident,
                "type": "messageFlow",
                "source": source,
                "target": target,
                "config": {},
            }
            if item.get("name") is not None:
                element["name"] = item.get("name")
            found.append((item, element))
    return found


__all__ = ["ScopeReader", "read_message_flows", "text_of"]
