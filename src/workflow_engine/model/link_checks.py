"""Deploy-time checks of link events: every throw has exactly one catch of its name.

A link throw event moves its token to the link catch event of the same `link_name` in the same
(sub)process. So, per scope: a throw names a catch that exists, no two catches share a name, a
catch has no incoming sequence flow (it is entered only by its throws, never after an
event-based gateway), and a throw has no outgoing one.
"""

from __future__ import annotations

from workflow_engine.model import graph
from workflow_engine.model.codes import IssueCode
from workflow_engine.model.issues import ValidationIssue
from workflow_engine.model.paths import key_path
from workflow_engine.model.types import EventKind, FlowNode, NodeType, ProcessModel

_LINK_TYPES = frozenset({NodeType.INTERMEDIATE_CATCH_EVENT, NodeType.INTERMEDIATE_THROW_EVENT})


def _where(scope: str | None) -> str:
    return "the process" if scope is None else f"subprocess '{scope}'"


def _name_path(node: FlowNode) -> str:
    return key_path(key_path(_path(node), "config"), "link_name")


def _path(node: FlowNode) -> str:
    return node.path or f"elements[id={node.id}]"


def check_links(model: ProcessModel) -> list[ValidationIssue]:
    """Findings (errors) about the link events of `model`."""
    issues: list[ValidationIssue] = []
    first_catch: dict[tuple[str | None, str], FlowNode] = {}
    for node in model.nodes.values():
        if node.event_kind is not EventKind.LINK:
            continue
        if node.type not in _LINK_TYPES:
            issues.append(
                ValidationIssue(
                    _name_path(node),
                    f"{node.type.value} '{node.id}' cannot be a link event; only intermediate "
                    "throw and catch events link",
                    IssueCode.INVALID_TRIGGER,
                )
            )
            continue
        name = node.config.get("link_name")
        if not isinstance(name, str) or not name.strip():
            if name is None or isinstance(name, str):
                issues.append(
                    ValidationIssue(
                        _name_path(node),
                        f"link event '{node.id}' needs a non-empty 'link_name' (the name that "
                        "pairs a link throw with its catch)",
                        IssueCode.MISSING_CONFIG_KEY,
                    )
                )
            continue
        if node.type is NodeType.INTERMEDIATE_CATCH_EVENT:
            issues.extend(_catch(model, node, name, first_catch))
        else:
            issues.extend(_throw(model, node, name))
    return issues


def _catch(
    model: ProcessModel,
    node: FlowNode,
    name: str,
    first_catch: dict[tuple[str | None, str], FlowNode],
) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []
    first = first_catch.setdefault((node.scope, name), node)
    if first is not node:
        issues.append(
            ValidationIssue(
                _name_path(node),
                f"link catch event '{node.id}' has link_name '{name}', as has '{first.id}' in "
                f"{_where(node.scope)}; a link name has exactly one catch event per scope",
                IssueCode.DUPLICATE_LINK_NAME,
            )
        )
    for flow in model.incoming_flows(node.id):
        source = model.nodes.get(flow.source)
        if source is not None and source.type is NodeType.EVENT_BASED_GATEWAY:
            issues.append(
                ValidationIssue(
                    _path(node),
                    f"link catch event '{node.id}' follows event-based gateway '{source.id}'; "
                    "a link catch is entered only by its link throw events, so it cannot wait "
                    "after an event-based gateway",
                    IssueCode.INVALID_EVENT_GATEWAY_TARGET,
                )
            )
    if node.incoming:
        issues.append(
            ValidationIssue(
                key_path(_path(node), "incoming"),
                f"link catch event '{node.id}' cannot have incoming sequence flows "
                f"({', '.join(node.incoming)}); its link throw events lead to it",
                IssueCode.INCOMING_NOT_ALLOWED,
            )
        )
    return issues


def _throw(model: ProcessModel, node: FlowNode, name: str) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []
    if not graph.link_catches(model, node.scope, name):
        issues.append(
            ValidationIssue(
                _name_path(node),
                f"link throw event '{node.id}' jumps to link '{name}', but {_where(node.scope)} "
                f"has no link catch event named '{name}'",
                IssueCode.DANGLING_REFERENCE,
            )
        )
    if node.outgoing:
        issues.append(
            ValidationIssue(
                key_path(_path(node), "outgoing"),
                f"link throw event '{node.id}' cannot have outgoing sequence flows "
                f"({', '.join(node.outgoing)}); its token continues at the link catch event",
                IssueCode.OUTGOING_NOT_ALLOWED,
            )
        )
    return issues
