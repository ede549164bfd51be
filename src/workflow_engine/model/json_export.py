"""`ProcessModel` -> the JSON definition format, plus the canonical form used for content hashes.

`to_document` is the inverse of `parse_definition` for every model the parser builds:
`parse_definition(to_document(m))[0] == m` (source paths aside: `FlowNode.path` and
`SequenceFlow.path` say where something was written and are not part of model equality).
Implicit flows are written back as bare node ids in `outgoing`, explicit flows as
`sequenceFlow` elements placed so the parser rebuilds the same flow order.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from workflow_engine.model import graph
from workflow_engine.model.types import (
    FlowNode,
    Listener,
    NodeType,
    ProcessHeader,
    ProcessModel,
    SequenceFlow,
    VariableDeclaration,
)
from workflow_engine.model.views import derive_event_kind


def canonical_json(document: Any) -> str:
    """The document as compact JSON with sorted keys (UTF-8 text kept as is).

    Two documents with the same content give the same text regardless of key order or
    whitespace, which is what "identical content -> the existing version" compares.
    """
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(document: Any) -> str:
    """The sha256 hex digest of `canonical_json(document)`."""
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


def to_document(model: ProcessModel) -> dict[str, Any]:
    """Write a model in the JSON definition format.

    Args:
        model: Any model built by `parse_definition` (including BPMN imports, which go through
            it) or assembled by hand with consistent typed views.

    Returns:
        A JSON-ready dict: `process`, `elements`, the three definition lists, and any
        `extensions` back at the top level.
    """
    document: dict[str, Any] = {
        "process": _header(model.process),
        "elements": [
            *_scope_elements(model, None),
            *(
                _connection(c.id, c.type.value, c.name, c.source, c.target)
                for c in model.connections
            ),
        ],
        "message_definitions": [
            _compact(
                {
                    "id": m.id,
                    "name": m.name,
                    "structure": dict(m.structure),
                    "correlation_key": m.correlation_key,
                }
            )
            for m in model.message_definitions.values()
        ],
        "signal_definitions": [
            {"id": s.id, "name": s.name, "scope": s.scope}
            for s in model.signal_definitions.values()
        ],
        "error_definitions": [
            {"id": e.id, "name": e.name, "error_code": e.error_code}
            for e in model.error_definitions.values()
        ],
    }
    for key, value in model.extensions.items():
        document.setdefault(key, value)
    return document


def _compact(item: dict[str, Any]) -> dict[str, Any]:
    """Drop empty optional values (`""`, `None`, `{}`, `[]`) so documents stay readable."""
    return {k: v for k, v in item.items() if v not in ("", None, {}, [])}


def _header(header: ProcessHeader) -> dict[str, Any]:
    result: dict[str, Any] = {"id": header.id, "key": header.key}
    result.update(
        _compact(
            {
                "name": header.name,
                "description": header.description,
                "version": header.version,
                "category": header.category,
                "tenant_id": header.tenant_id,
                "start_form_key": header.start_form_key,
            }
        )
    )
    result["executable"] = header.executable
    if header.timeout is not None:
        result["timeout"] = header.timeout
    if header.variables:
        result["variables"] = {n: _variable(v) for n, v in header.variables.items()}
    if header.listeners:
        result["listeners"] = [_listener(item) for item in header.listeners]
    if header.candidate_starter_users:
        result["candidate_starter_users"] = list(header.candidate_starter_users)
    if header.candidate_starter_groups:
        result["candidate_starter_groups"] = list(header.candidate_starter_groups)
    return result


def _variable(declaration: VariableDeclaration) -> dict[str, Any]:
    result: dict[str, Any] = {
        "type": declaration.type.value,
        "scope": declaration.scope,
        "required": declaration.required,
    }
    if declaration.has_default:
        result["default"] = declaration.default
    if declaration.sensitive:
        result["sensitive"] = True
    if declaration.description:
        result["description"] = declaration.description
    return result


def _listener(listener: Listener) -> dict[str, Any]:
    result: dict[str, Any] = {
        "event": listener.event,
        "type": listener.type,
        "class": listener.class_name,
    }
    if listener.config:
        result["config"] = dict(listener.config)
    return result


def _scope_elements(model: ProcessModel, scope: str | None) -> list[dict[str, Any]]:
    """The elements of one scope, interleaved so the parser rebuilds the same flow order.

    The parser orders flows as written: an explicit flow at its element, implicit flows at
    their source node. So explicit flows are written in flow order, and each node is written
    before the first implicit flow that leaves it.
    """
    if scope is None:
        node_ids = [n.id for n in model.nodes.values() if n.scope is None]
        flow_ids = [f for f in model.flows if graph.flow_scope(model, f) is None]
    else:
        contents = model.scopes[scope]
        node_ids = list(contents.node_ids)
        flow_ids = list(contents.flow_ids)
    pending = [n for n in node_ids if n in model.nodes]
    elements: list[dict[str, Any]] = []
    for flow_id in flow_ids:
        flow = model.flows.get(flow_id)
        if flow is None:
            continue
        if not flow.implicit:
            elements.append(_flow(flow))
        elif flow.source in pending:
            cut = pending.index(flow.source) + 1
            elements.extend(_node(model, model.nodes[n]) for n in pending[:cut])
            del pending[:cut]
    elements.extend(_node(model, model.nodes[n]) for n in pending)
    return elements


def _node(model: ProcessModel, node: FlowNode) -> dict[str, Any]:
    config = dict(node.config)
    if node.type is NodeType.SUB_PROCESS:
        config["elements"] = _scope_elements(model, node.id) if node.id in model.scopes else []
    result: dict[str, Any] = {"id": node.id, "type": node.type.value}
    if node.name:
        result["name"] = node.name
    result["config"] = config
    result["outgoing"] = [_entry(model, f, "target") for f in node.outgoing]
    result["incoming"] = [_entry(model, f, "source") for f in node.incoming]
    if node.listeners:
        result["listeners"] = [_listener(item) for item in node.listeners]
    if node.documentation:
        result["documentation"] = node.documentation
    if node.attached_to is not None and "attached_to" not in config:
        result["attached_to"] = node.attached_to
    if node.event_kind is not None and derive_event_kind(node.type, config) != node.event_kind:
        # The trigger has no config key (e.g. compensation, conditional, link).
        result["event_kind"] = node.event_kind.value
    return result


def _entry(model: ProcessModel, flow_id: str, end: str) -> str:
    """An `outgoing` / `incoming` entry: the flow id, or the other node for implicit flows."""
    flow = model.flows.get(flow_id)
    if flow is None or not flow.implicit:
        return flow_id
    return flow.target if end == "target" else flow.source


def _flow(flow: SequenceFlow) -> dict[str, Any]:
    config = dict(flow.config)
    if flow.condition is not None:
        config["condition"] = flow.condition
    result = _connection(flow.id, "sequenceFlow", flow.name, flow.source, flow.target)
    result["config"] = config
    return result


def _connection(
    element_id: str, element_type: str, name: str, source: str, target: str
) -> dict[str, Any]:
    result: dict[str, Any] = {"id": element_id, "type": element_type}
    if name:
        result["name"] = name
    result["source"] = source
    result["target"] = target
    return result
