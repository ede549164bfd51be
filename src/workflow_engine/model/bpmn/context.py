"""Import state shared by the element readers: findings and where each element sits in the XML."""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from workflow_engine.model.bpmn.namespaces import PREFIXES, split_tag
from workflow_engine.model.issues import Severity, ValidationIssue

_PREFIX_BY_NAMESPACE = {namespace: prefix for prefix, namespace in PREFIXES.items()}
_PREFIX_BY_NAMESPACE["http://camunda.org/schema/zeebe/1.0"] = "zeebe"


def qualified_name(element: etree._Element) -> str:
    """`bpmn:userTask`, `camunda:inputParameter`, … whatever prefix the author used."""
    namespace, local = split_tag(element.tag)
    prefix = _PREFIX_BY_NAMESPACE.get(namespace)
    return f"{prefix}:{local}" if prefix else local


def xml_location(element: etree._Element) -> str:
    """An XPath-like location: `bpmn:process[@id='p']/bpmn:userTask[@id='t'] (line 12)`.

    The chain starts below `bpmn:definitions` (every path would start with it) and names each
    ancestor by id where it has one, so a reader can find the element in any editor.
    """
    parts: list[str] = []
    node: etree._Element | None = element
    while node is not None:
        local = split_tag(node.tag)[1]
        if local == "definitions" and node.getparent() is None:
            break
        name = qualified_name(node)
        ident = node.get("id")
        parts.append(f"{name}[@id='{ident}']" if ident else name)
        node = node.getparent()
    path = "/".join(reversed(parts)) or "bpmn:definitions"
    line = element.sourceline
    return f"{path} (line {line})" if line else path


@dataclass
class ImportContext:
    """Findings and document-path → XML-location pairs collected while reading one process.

    `locations` lets findings of the JSON parser and validator (which speak in document paths
    such as `elements[3].config.condition`) be rewritten to where the author wrote the element.
    """

    issues: list[ValidationIssue] = field(default_factory=list)
    locations: dict[str, str] = field(default_factory=dict)
    #: XML id of a sequence flow imported as an implicit flow → its model id (`a->b`).
    flow_aliases: dict[str, str] = field(default_factory=dict)
    #: `bpmn:escalation` id → its escalationCode (None: it has none, so it catches any).
    escalation_codes: dict[str, str | None] = field(default_factory=dict)

    def error(self, element: etree._Element, message: str, code: str) -> None:
        """Record a blocking finding at `element`."""
        self.issues.append(ValidationIssue(xml_location(element), message, code))

    def warning(self, element: etree._Element, message: str, code: str) -> None:
        """Record a non-blocking finding at `element`."""
        self.issues.append(ValidationIssue(xml_location(element), message, code, Severity.WARNING))

    def unsupported(self, element: etree._Element, what: str | None = None) -> None:
        """Record that an element (or a feature of it) is something this engine does not run."""
        ident = element.get("id")
        subject = what or (
            f"{qualified_name(element)} '{ident}'" if ident else qualified_name(element)
        )
        self.error(element, f"{subject} is not supported by this engine", "UNSUPPORTED_ELEMENT")
