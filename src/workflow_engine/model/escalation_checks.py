"""Deploy-time checks of escalation events.

Throw and end events name the `escalation_code` they throw (non-empty); catchers — boundary
events and event-subprocess start events — name the code they catch, or `null` for any. An
escalation boundary sits on a subprocess or a call activity: only those have inner paths that
can throw one (BPMN 2.0 §10.5.4).
"""

from __future__ import annotations

from workflow_engine.model.codes import IssueCode
from workflow_engine.model.issues import ValidationIssue
from workflow_engine.model.paths import key_path
from workflow_engine.model.types import EventKind, FlowNode, NodeType, ProcessModel

_THROWERS = frozenset({NodeType.INTERMEDIATE_THROW_EVENT, NodeType.END_EVENT})
_HOSTS = frozenset({NodeType.SUB_PROCESS, NodeType.CALL_ACTIVITY})


def _path(node: FlowNode) -> str:
    return node.path or f"elements[id={node.id}]"


def check_escalations(model: ProcessModel) -> list[ValidationIssue]:
    """Findings (errors) about the escalation events of `model`."""
    issues: list[ValidationIssue] = []
    for node in model.nodes.values():
        if node.event_kind is not EventKind.ESCALATION:
            continue
        code_path = key_path(key_path(_path(node), "config"), "escalation_code")
        code = node.config.get("escalation_code")
        blank = code is None or (isinstance(code, str) and not code.strip())
        if node.type in _THROWERS and blank:  # other non-strings: the config check reports
            issues.append(
                ValidationIssue(
                    code_path,
                    f"escalation {node.type.value} '{node.id}' needs a non-empty "
                    "escalation_code: the code its catchers match",
                    IssueCode.INVALID_CONFIG_VALUE,
                )
            )
        if node.type is NodeType.BOUNDARY_EVENT and node.attached_to is not None:
            host = model.nodes.get(node.attached_to)
            if host is not None and host.is_activity and host.type not in _HOSTS:
                issues.append(
                    ValidationIssue(
                        key_path(_path(node), "attached_to"),
                        f"escalation boundary event '{node.id}' is attached to "
                        f"{host.type.value} '{host.id}'; an escalation boundary sits on a "
                        "subprocess or a call activity (nothing inside a task can throw one)",
                        IssueCode.INVALID_BOUNDARY_HOST,
                    )
                )
    return issues
