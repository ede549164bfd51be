"""`ProcessModel` → BPMN 2.0 XML that validates against the OMG schema and opens in bpmn.io.

Everything with a BPMN form gets it (Camunda 7 attributes for assignees, forms, topics, I/O
mappings …) so other tools understand the file. What has no BPMN form travels in our own
`<wfe:config>` extension as JSON. Which keys those are is not guessed: after writing an element
the exporter reads it back with the importer's own `node_config` and keeps in `wfe:config` only
the keys that did not survive, so `import_bpmn(export_bpmn(m))` rebuilds `m`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from lxml import etree

from workflow_engine.model.bpmn.context import ImportContext
from workflow_engine.model.bpmn.layout import Bounds, DiagramLayout, document_layout
from workflow_engine.model.bpmn.namespaces import (
    BPMN,
    BPMNDI,
    CAMUNDA,
    DC,
    DI,
    PREFIXES,
    WFE,
    XSI,
    q,
)
from workflow_engine.model.bpmn.reader import UNSET_KEY, node_config
from workflow_engine.model.types import (
    EVENT_TYPES,
    FlowNode,
    Listener,
    NodeType,
    ProcessModel,
    SequenceFlow,
)

_NOT_NCNAME = re.compile(r"[^A-Za-z0-9_.-]")
_MISSING = object()
_FORMAL = "bpmn:tFormalExpression"
_TIMERS = (
    ("timer_date", "timeDate"),
    ("timer_duration", "timeDuration"),
    ("timer_cycle", "timeCycle"),
)


def export_bpmn(model: ProcessModel, *, diagram: Mapping[str, Any] | None = None) -> bytes:
    """Write `model` as a BPMN 2.0 XML document (UTF-8 bytes).

    Args:
        model: The process to write.
        diagram: The document's `diagram` (`{"shapes": …, "edges": …}`) to reuse the modeler's
            coordinates; when absent or not covering every node, an automatic layout is used.

    Returns:
        The XML document, with diagram interchange (DI) for every node, flow and connection.
    """
    return _Writer(model).write(document_layout(model, diagram))


def _ncname(value: str, taken: set[str]) -> str:
    base = _NOT_NCNAME.sub("_", value) or "id"
    if not (base[0].isalpha() or base[0] == "_"):
        base = f"_{base}"
    candidate, counter = base, 2
    while candidate in taken:
        candidate, counter = f"{base}_{counter}", counter + 1
    taken.add(candidate)
    return candidate


def _sub(parent: etree._Element, namespace: str, local: str, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, q(namespace, local))
    for key, value in attributes.items():
        element.set(key, value)
    return element


def _formal(parent: etree._Element, local: str, text: str) -> etree._Element:
    element = _sub(parent, BPMN, local)
    element.set(q(XSI, "type"), _FORMAL)
    element.text = text
    return element


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


class _Writer:
    def __init__(self, model: ProcessModel) -> None:
        self.model = model
        self.taken: set[str] = set(model.nodes) | {
            f.id for f in model.flows.values() if not f.implicit
        }
        self.taken |= {c.id for c in model.connections}
        self.taken |= set(model.message_definitions) | set(model.signal_definitions)
        self.taken |= set(model.error_definitions) | {model.process.id}
        #: Escalation code → the id of the `bpmn:escalation` written for it.
        self.escalation_ids: dict[str, str] = {}
        for node in model.nodes.values():
            code = node.config.get("escalation_code")
            if isinstance(code, str) and code not in self.escalation_ids:
                self.escalation_ids[code] = _ncname(f"Escalation_{code}", self.taken)
        #: Model flow id → XML id (differs for implicit flows, whose ids contain `->`).
        self.flow_ids = {
            f.id: (_ncname(f"Flow_{f.source}_{f.target}", self.taken) if f.implicit else f.id)
            for f in model.flows.values()
        }

    # -- document ----------------------------------------------------------------------------

    def write(self, layout: DiagramLayout) -> bytes:
        model = self.model
        root = etree.Element(q(BPMN, "definitions"), nsmap=dict(PREFIXES))
        root.set("id", _ncname(f"Definitions_{model.process.id}", self.taken))
        root.set("targetNamespace", "https://workflow-engine.dev/bpmn")
        root.set("exporter", "workflow-engine")
        root.set("exporterVersion", "1")
        self._root_definitions(root)
        messages = [c for c in model.connections if c.type.value == "messageFlow"]
        collaboration_id = ""
        participant_id = ""
        if messages:
            collaboration_id = _ncname(f"Collaboration_{model.process.id}", self.taken)
            participant_id = _ncname(f"Participant_{model.process.id}", self.taken)
            collaboration = _sub(root, BPMN, "collaboration", id=collaboration_id)
            _sub(collaboration, BPMN, "participant", id=participant_id, processRef=model.process.id)
            for connection in messages:
                flow = _sub(
                    collaboration,
                    BPMN,
                    "messageFlow",
                    id=connection.id,
                    sourceRef=connection.source,
                    targetRef=connection.target,
                )
                if connection.name:
                    flow.set("name", connection.name)
        process = self._process(root)
        self._scope(process, None)
        for connection in model.connections:
            if connection.type.value == "association":
                _sub(
                    process,
                    BPMN,
                    "association",
                    id=connection.id,
                    sourceRef=connection.source,
                    targetRef=connection.target,
                )
        self._diagram(root, layout, collaboration_id, participant_id)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)

    def _root_definitions(self, root: etree._Element) -> None:
        for message in self.model.message_definitions.values():
            element = _sub(root, BPMN, "message", id=message.id)
            if message.name:
                element.set("name", message.name)
            extra: dict[str, Any] = {}
            if message.structure:
                extra["structure"] = dict(message.structure)
            if message.correlation_key is not None:
                extra["correlation_key"] = message.correlation_key
            self._wfe_config(element, extra)
        for signal in self.model.signal_definitions.values():
            element = _sub(root, BPMN, "signal", id=signal.id)
            if signal.name:
                element.set("name", signal.name)
            if signal.scope != "global":
                self._wfe_config(element, {"scope": signal.scope})
        for code, ident in self.escalation_ids.items():
            _sub(root, BPMN, "escalation", id=ident, name=code, escalationCode=code)
        for error in self.model.error_definitions.values():
            element = _sub(root, BPMN, "error", id=error.id)
            if error.name:
                element.set("name", error.name)
            if error.error_code:
                element.set("errorCode", error.error_code)

    def _process(self, root: etree._Element) -> etree._Element:
        header = self.model.process
        process = _sub(root, BPMN, "process", id=header.id)
        if header.name:
            process.set("name", header.name)
        process.set("isExecutable", "true" if header.executable else "false")
        if header.version:
            process.set(q(CAMUNDA, "versionTag"), header.version)
        if header.candidate_starter_users:
            process.set(
                q(CAMUNDA, "candidateStarterUsers"), ",".join(header.candidate_starter_users)
            )
        if header.candidate_starter_groups:
            process.set(
                q(CAMUNDA, "candidateStarterGroups"), ",".join(header.candidate_starter_groups)
            )
        if header.description:
            _sub(process, BPMN, "documentation").text = header.description
        self._listeners(process, header.listeners)
        extra: dict[str, Any] = {}
        if header.key != header.id:
            extra["key"] = header.key
        for key in ("category", "tenant_id", "start_form_key"):
            if getattr(header, key):
                extra[key] = getattr(header, key)
        if header.timeout is not None:
            extra["timeout"] = header.timeout
        if header.variables:
            extra["variables"] = {
                name: {
                    "type": v.type.value,
                    "scope": v.scope,
                    "required": v.required,
                    "sensitive": v.sensitive,
                    "description": v.description,
                    **({"default": v.default} if v.has_default else {}),
                }
                for name, v in header.variables.items()
            }
        self._wfe_config(process, extra)
        return process

    # -- scopes, nodes, flows ----------------------------------------------------------------

    def _scope(self, parent: etree._Element, scope: str | None) -> None:
        for node in self.model.nodes_in_scope(scope):
            self._node(parent, node)
        if scope is None:
            flows: Iterable[SequenceFlow] = (
                f for f in self.model.flows.values() if self.model.nodes[f.source].scope is None
            )
        else:
            flows = (self.model.flows[f] for f in self.model.scopes[scope].flow_ids)
        for flow in flows:
            self._flow(parent, flow)

    def _extension_elements(self, element: etree._Element) -> etree._Element:
        existing = element.find(q(BPMN, "extensionElements"))
        if existing is not None:
            return existing
        ext = etree.Element(q(BPMN, "extensionElements"))
        documentation = element.findall(q(BPMN, "documentation"))
        element.insert(len(documentation), ext)
        return ext

    def _wfe_config(self, element: etree._Element, values: Mapping[str, Any]) -> None:
        if values:
            ext = self._extension_elements(element)
            _sub(ext, WFE, "config").text = _json(dict(values))

    def _listeners(self, element: etree._Element, listeners: Iterable[Listener]) -> None:
        for listener in listeners:
            ext = self._extension_elements(element)
            local = "taskListener" if listener.type == "task" else "executionListener"
            item = _sub(ext, CAMUNDA, local, event=listener.event)
            item.set("class", listener.class_name)
            if listener.type not in ("task", "execution"):
                item.set(q(WFE, "type"), listener.type)
            if listener.config:
                item.set(q(WFE, "config"), _json(dict(listener.config)))

    def _node(self, parent: etree._Element, node: FlowNode) -> None:
        config = dict(node.config)
        element = _sub(parent, BPMN, node.type.value, id=node.id)
        if node.name:
            element.set("name", node.name)
        if node.documentation:
            _sub(element, BPMN, "documentation").text = node.documentation
        self._listeners(element, node.listeners)
        self._attributes(element, node, config)
        for flow_id in node.incoming:
            _sub(element, BPMN, "incoming").text = self.flow_ids[flow_id]
        for flow_id in node.outgoing:
            _sub(element, BPMN, "outgoing").text = self.flow_ids[flow_id]
        self._body(element, node, config)
        if node.type is NodeType.SUB_PROCESS:
            self._scope(element, node.id)
        codes: dict[str, str | None] = {i: c for c, i in self.escalation_ids.items()}
        derived = node_config(ImportContext(escalation_codes=codes), element, node.type)
        derived.pop("$decision_ref", None)
        residual = {
            k: v for k, v in config.items() if k != "elements" and derived.get(k, _MISSING) != v
        }
        unset = [k for k in derived if k not in config]
        if unset:
            residual[UNSET_KEY] = unset
        self._wfe_config(element, residual)

    def _attributes(self, element: etree._Element, node: FlowNode, config: dict[str, Any]) -> None:
        def text(key: str) -> str | None:
            value = config.get(key)
            return value if isinstance(value, str) else None

        def strings(key: str) -> str | None:
            value = config.get(key)
            if (
                isinstance(value, list)
                and value
                and all(isinstance(v, str) and v.strip() == v and v and "," not in v for v in value)
            ):
                return ",".join(value)
            return None

        kind = node.type
        camunda = {
            NodeType.START_EVENT: (("initiator", "initiator"), ("form_key", "formKey")),
            NodeType.USER_TASK: (
                ("assignee", "assignee"),
                ("form_key", "formKey"),
                ("due_date", "dueDate"),
                ("priority", "priority"),
            ),
            NodeType.SCRIPT_TASK: (("result_variable", "resultVariable"),),
            NodeType.BUSINESS_RULE_TASK: (("result_variable", "resultVariable"),),
            NodeType.CALL_ACTIVITY: (("version", "calledElementVersion"),),
        }.get(kind, ())
        for key, attribute in camunda:
            if text(key) is not None:
                element.set(q(CAMUNDA, attribute), text(key) or "")
        if kind is NodeType.USER_TASK:
            for key, attribute in (
                ("candidate_users", "candidateUsers"),
                ("candidate_groups", "candidateGroups"),
            ):
                joined = strings(key)
                if joined is not None:
                    element.set(q(CAMUNDA, attribute), joined)
        if kind is NodeType.START_EVENT and isinstance(config.get("is_interrupting"), bool):
            element.set("isInterrupting", "true" if config["is_interrupting"] else "false")
        if kind is NodeType.BOUNDARY_EVENT:
            element.set("attachedToRef", node.attached_to or "")
            if isinstance(config.get("cancel_activity"), bool):
                element.set("cancelActivity", "true" if config["cancel_activity"] else "false")
        if kind in (NodeType.SERVICE_TASK, NodeType.SEND_TASK) and text("activity_name"):
            element.set(q(CAMUNDA, "type"), "external")
            element.set(q(CAMUNDA, "topic"), text("activity_name") or "")
        if kind is NodeType.RECEIVE_TASK and text("message_ref"):
            element.set("messageRef", text("message_ref") or "")
        if kind is NodeType.CALL_ACTIVITY and text("called_element"):
            element.set("calledElement", text("called_element") or "")
        if kind in (NodeType.EXCLUSIVE_GATEWAY, NodeType.INCLUSIVE_GATEWAY):
            default = self._default_flow(node, text("default_flow"))
            if default is not None:
                element.set("default", default)
        if kind is NodeType.SUB_PROCESS and config.get("triggered_by_event") is True:
            element.set("triggeredByEvent", "true")
        if kind is NodeType.CALL_ACTIVITY:
            self._call_mappings(element, config)
        if node.is_activity:
            self._io_mappings(element, config)

    def _default_flow(self, node: FlowNode, default: str | None) -> str | None:
        if default is None:
            return None
        for flow_id in node.outgoing:
            flow = self.model.flows[flow_id]
            if flow_id == default or (flow.implicit and flow.target == default):
                return self.flow_ids[flow_id]
        return None

    def _call_mappings(self, element: etree._Element, config: Mapping[str, Any]) -> None:
        if config.get("propagate_all_variables") is True:
            ext = self._extension_elements(element)
            _sub(ext, CAMUNDA, "in", variables="all")
            _sub(ext, CAMUNDA, "out", variables="all")
        for key, local in (("in_mapping", "in"), ("out_mapping", "out")):
            mapping = config.get(key)
            if isinstance(mapping, dict) and all(isinstance(v, str) for v in mapping.values()):
                for target, source in mapping.items():
                    ext = self._extension_elements(element)
                    _sub(ext, CAMUNDA, local, sourceExpression=source, target=str(target))

    def _io_mappings(self, element: etree._Element, config: Mapping[str, Any]) -> None:
        inputs, outputs = config.get("input_mapping"), config.get("output_mapping")
        pairs = [("inputParameter", inputs), ("outputParameter", outputs)]
        usable = [
            (local, m)
            for local, m in pairs
            if isinstance(m, dict) and m and all(isinstance(v, str) for v in m.values())
        ]
        if not usable:
            return
        io = _sub(self._extension_elements(element), CAMUNDA, "inputOutput")
        for local, mapping in usable:
            for name, value in mapping.items():
                _sub(io, CAMUNDA, local, name=str(name)).text = value

    def _body(self, element: etree._Element, node: FlowNode, config: Mapping[str, Any]) -> None:
        if node.is_activity:
            self._multi_instance(element, config.get("multi_instance"))
        if node.type in EVENT_TYPES:
            self._event_definition(element, node, config)
        if node.type is NodeType.SCRIPT_TASK:
            script = config.get("script")
            if isinstance(script, str) and config.get("script_format", "cel") == "cel":
                element.set("scriptFormat", "cel")
                _sub(element, BPMN, "script").text = script

    def _multi_instance(self, element: etree._Element, spec: object) -> None:
        if not isinstance(spec, dict):
            return
        loop = _sub(element, BPMN, "multiInstanceLoopCharacteristics")
        if isinstance(spec.get("is_sequential"), bool):
            loop.set("isSequential", "true" if spec["is_sequential"] else "false")
        for key, attribute in (
            ("collection", "collection"),
            ("element_variable", "elementVariable"),
        ):
            if isinstance(spec.get(key), str):
                loop.set(q(CAMUNDA, attribute), spec[key])
        if isinstance(spec.get("loop_cardinality"), str):
            _formal(loop, "loopCardinality", spec["loop_cardinality"])
        if isinstance(spec.get("completion_condition"), str):
            _formal(loop, "completionCondition", spec["completion_condition"])

    def _event_definition(
        self, element: etree._Element, node: FlowNode, config: Mapping[str, Any]
    ) -> None:
        for key, local in _TIMERS:
            if isinstance(config.get(key), str):
                _formal(_sub(element, BPMN, "timerEventDefinition"), local, config[key])
                return
        for key, local, attribute in (
            ("message_ref", "messageEventDefinition", "messageRef"),
            ("signal_ref", "signalEventDefinition", "signalRef"),
        ):
            if isinstance(config.get(key), str):
                _sub(element, BPMN, local).set(attribute, config[key])
                return
        if "error_ref" in config:
            definition = _sub(element, BPMN, "errorEventDefinition")
            if isinstance(config["error_ref"], str):
                definition.set("errorRef", config["error_ref"])
            return
        if node.type is NodeType.END_EVENT and config.get("terminate") is True:
            _sub(element, BPMN, "terminateEventDefinition")
            return
        if "escalation_code" in config:
            definition = _sub(element, BPMN, "escalationEventDefinition")
            code = config["escalation_code"]
            if isinstance(code, str):
                definition.set("escalationRef", self.escalation_ids[code])
            return  # no escalationRef: catches any escalation
        if isinstance(config.get("link_name"), str):
            _sub(element, BPMN, "linkEventDefinition", name=config["link_name"])
            return
        if node.type is NodeType.BOUNDARY_EVENT:
            # No trigger key on a boundary event means "catch any error" (model views agree).
            _sub(element, BPMN, "errorEventDefinition")

    def _flow(self, parent: etree._Element, flow: SequenceFlow) -> None:
        element = _sub(
            parent,
            BPMN,
            "sequenceFlow",
            id=self.flow_ids[flow.id],
            sourceRef=flow.source,
            targetRef=flow.target,
        )
        if flow.name:
            element.set("name", flow.name)
        if flow.implicit:
            element.set(q(WFE, "implicit"), "true")
        config = dict(flow.config)
        condition = config.get("condition")
        residual = {k: v for k, v in config.items() if k != "condition"}
        if (
            isinstance(condition, str)
            and condition.strip() == condition
            and condition
            and (not condition.startswith("="))
        ):
            self._wfe_config(element, residual)
            _formal(element, "conditionExpression", condition)
        else:
            if condition is not None:
                residual["condition"] = condition
            self._wfe_config(element, residual)

    # -- diagram -------------------------------------------------------------------------------

    def _diagram(
        self,
        root: etree._Element,
        layout: DiagramLayout,
        collaboration_id: str,
        participant_id: str,
    ) -> None:
        diagram = _sub(root, BPMNDI, "BPMNDiagram", id=_ncname("BPMNDiagram_1", self.taken))
        plane = _sub(
            diagram,
            BPMNDI,
            "BPMNPlane",
            id=_ncname("BPMNPlane_1", self.taken),
            bpmnElement=collaboration_id or self.model.process.id,
        )
        if participant_id and layout.shapes:
            left = min(b.x for b in layout.shapes.values()) - 60
            top = min(b.y for b in layout.shapes.values()) - 30
            right = max(b.right for b in layout.shapes.values()) + 30
            bottom = max(b.bottom for b in layout.shapes.values()) + 30
            self._shape(
                plane,
                participant_id,
                Bounds(left, top, right - left, bottom - top),
                isHorizontal="true",
            )
        for node in self.model.nodes.values():
            bounds = layout.shapes.get(node.id)
            if bounds is None:
                continue
            extra: dict[str, str] = {}
            if node.type is NodeType.SUB_PROCESS:
                extra["isExpanded"] = "true"
            if node.type is NodeType.EXCLUSIVE_GATEWAY:
                extra["isMarkerVisible"] = "true"
            self._shape(plane, node.id, bounds, **extra)
        for edge_id, points in layout.edges.items():
            xml_id = self.flow_ids.get(edge_id, edge_id)
            edge = _sub(
                plane,
                BPMNDI,
                "BPMNEdge",
                id=_ncname(f"{xml_id}_di", self.taken),
                bpmnElement=xml_id,
            )
            for x, y in points:
                _sub(edge, DI, "waypoint", x=_number(x), y=_number(y))

    def _shape(self, plane: etree._Element, ref: str, bounds: Bounds, **extra: str) -> None:
        shape = _sub(
            plane,
            BPMNDI,
            "BPMNShape",
            id=_ncname(f"{ref}_di", self.taken),
            bpmnElement=ref,
            **extra,
        )
        _sub(
            shape,
            DC,
            "Bounds",
            x=_number(bounds.x),
            y=_number(bounds.y),
            width=_number(bounds.width),
            height=_number(bounds.height),
        )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"
