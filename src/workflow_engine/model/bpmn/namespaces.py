"""XML namespaces: BPMN 2.0 and the vendor extensions the importer reads and the exporter writes."""

from __future__ import annotations

from typing import Final

BPMN: Final = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI: Final = "http://www.omg.org/spec/BPMN/20100524/DI"
DC: Final = "http://www.omg.org/spec/DD/20100524/DC"
DI: Final = "http://www.omg.org/spec/DD/20100524/DI"
XSI: Final = "http://www.w3.org/2001/XMLSchema-instance"
CAMUNDA: Final = "http://camunda.org/schema/1.0/bpmn"
ZEEBE: Final = "http://camunda.org/schema/zeebe/1.0"
#: Our own extension namespace: config keys without a BPMN form travel here.
WFE: Final = "https://workflow-engine.dev/schema/1.0"

#: Prefixes the exporter declares (and the importer uses to spell locations).
PREFIXES: Final[dict[str, str]] = {
    "bpmn": BPMN,
    "bpmndi": BPMNDI,
    "dc": DC,
    "di": DI,
    "xsi": XSI,
    "camunda": CAMUNDA,
    "wfe": WFE,
}


def q(namespace: str, local: str) -> str:
    """Clark notation `{namespace}local` as lxml spells qualified names."""
    return f"{{{namespace}}}{local}"


def split_tag(tag: object) -> tuple[str, str]:
    """`(namespace, local name)` of an lxml tag; comments and PIs give `("", "")`."""
    if not isinstance(tag, str):
        return "", ""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag
