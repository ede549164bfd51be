"""BPMN 2.0 XML → the JSON definition format → a validated `ProcessModel`.

The importer never builds a model itself: it translates the XML into exactly the JSON document
a person could have written (`docs/json-format.md`) and hands that to the JSON parser and the
validator, so both formats obey the same rules. Findings of those two speak in document paths
(`elements[3].config.condition`); they are rewritten here to where the author wrote the element
(`bpmn:process[@id='p']/bpmn:sequenceFlow[@id='f'] (line 12).config.condition`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

from workflow_engine.model.bpmn.context import ImportContext, xml_location
from workflow_engine.model.bpmn.diagram import read_diagram
from workflow_engine.model.bpmn.feel import convert
from workflow_engine.model.bpmn.namespaces import BPMN, CAMUNDA, ZEEBE, q, split_tag
from workflow_engine.model.bpmn.reader import (
    documentation,
    extension,
    listeners,
    merge_residual,
    split_list,
    wfe_json,
)
from workflow_engine.model.bpmn.scope import ScopeReader, read_message_flows
from workflow_engine.model.bpmn.xmlsafe import parse_xml
from workflow_engine.model.issues import Severity, ValidationIssue, ValidationReport
from workflow_engine.model.parser import parse_definition
from workflow_engine.model.types import NodeType, ProcessModel
from workflow_engine.model.validator import validate

_FLOW_NODE_NAMES = frozenset(t.value for t in NodeType)


@dataclass(frozen=True, slots=True)
class BpmnImport:
    """The outcome of importing one BPMN file.

    Attributes:
        document: The JSON-format definition the XML translates to (with a top-level `diagram`
            holding the modeler's coordinates), or `None` when no process could be read.
        model: The validated model, or `None` when any error was found.
        report: Every finding (importer, parser, validator), paths pointing into the XML.
        process_ids: The ids of every `bpmn:process` in the file, in document order.
    """

    document: dict[str, Any] | None
    model: ProcessModel | None
    report: ValidationReport
    process_ids: tuple[str, ...] = ()


def import_bpmn(xml: bytes | str, *, process_id: str | None = None) -> BpmnImport:
    """Translate a BPMN 2.0 XML document into a definition and validate it.

    Never raises: unreadable, hostile (XXE, entity bombs) or unsupported input comes back as
    findings in `report`.

    Args:
        xml: The file's bytes (preferred: the XML declaration then decides the encoding) or text.
        process_id: Which `bpmn:process` to import when the file holds several.

    Returns:
        A `BpmnImport`; `model` is set only when `report.valid`.
    """
    try:
        return _import(xml, process_id)
    except RecursionError:
        issue = ValidationIssue("$", "the BPMN document is nested too deeply", "XML_MALFORMED")
        return BpmnImport(None, None, ValidationReport.of([issue]))
    except Exception as exc:  # a last line of defence: a bug must not become a 500
        issue = ValidationIssue(
            "$",
            f"the BPMN document could not be imported ({type(exc).__name__}: {exc})",
            "IMPORT_FAILED",
        )
        return BpmnImport(None, None, ValidationReport.of([issue]))


def _import(xml: object, process_id: str | None) -> BpmnImport:
    root, problem = parse_xml(xml)
    if root is None:
        return BpmnImport(None, None, ValidationReport.of([problem] if problem else []))
    if split_tag(root.tag) != (BPMN, "definitions"):
        namespace, local = split_tag(root.tag)
        found = f"{{{namespace}}}{local}" if namespace else local
        issue = ValidationIssue(
            "$",
            f"not a BPMN 2.0 document: the root element is {found}, expected definitions in "
            f"the namespace {BPMN}",
            "NOT_BPMN",
        )
        return BpmnImport(None, None, ValidationReport.of([issue]))
    processes = [c for c in root if split_tag(c.tag) == (BPMN, "process")]
    process_ids = tuple(p.get("id") or "" for p in processes)
    chosen, choice_issue = _choose(root, processes, process_id)
    if chosen is None:
        found_issues = [choice_issue] if choice_issue else []
        return BpmnImport(None, None, ValidationReport.of(found_issues), process_ids)
    ctx = ImportContext()
    document = _document(ctx, root, chosen)
    model, issues = parse_definition(document)
    if model is not None:
        issues = [*issues, *validate(model)]
    rewritten = [*ctx.issues, *(_relocate(i, ctx.locations) for i in issues)]
    report = ValidationReport.of(_unique(rewritten))
    accepted = _relocate_model(model, ctx.locations) if model and report.valid else None
    return BpmnImport(document, accepted, report, process_ids)


def _choose(
    root: etree._Element, processes: list[etree._Element], wanted: str | None
) -> tuple[etree._Element | None, ValidationIssue | None]:
    listed = ", ".join(f"'{p.get('id')}'" for p in processes)
    if not processes:
        return None, ValidationIssue(
            xml_location(root), "the file holds no bpmn:process", "NO_PROCESS"
        )
    if wanted is not None:
        for process in processes:
            if process.get("id") == wanted:
                return process, None
        return None, ValidationIssue(
            xml_location(root),
            f"the file has no bpmn:process '{wanted}'; it has {listed}",
            "PROCESS_NOT_FOUND",
        )
    if len(processes) == 1:
        return processes[0], None
    with_nodes = [p for p in processes if _has_flow_nodes(p)]
    executable = [p for p in with_nodes if p.get("isExecutable") != "false"]
    for candidates in (executable, with_nodes):
        if len(candidates) == 1:
            return candidates[0], None
        if len(candidates) > 1:
            break
    return None, ValidationIssue(
        xml_location(root),
        f"the file holds {len(processes)} processes ({listed}); one definition is one "
        "process: pass process_id to choose which to import",
        "PROCESS_AMBIGUOUS",
    )


def _has_flow_nodes(process: etree._Element) -> bool:
    return any(split_tag(c.tag)[1] in _FLOW_NODE_NAMES for c in process)


def _document(ctx: ImportContext, root: etree._Element, process: etree._Element) -> dict[str, Any]:
    for item in root:
        if split_tag(item.tag) == (BPMN, "escalation") and item.get("id"):
            # Our format names the code itself (`escalation_code`), not a definition.
            ctx.escalation_codes[item.get("id") or ""] = item.get("escalationCode") or None
    reader = ScopeReader(ctx)
    header = _header(ctx, process)
    elements = reader.read(process)
    message_flows = read_message_flows(root, reader)
    for item, element in message_flows:
        reader.origins[id(element)] = item
        elements.append(element)
    reader.assign_locations(elements, "elements")
    ctx.locations["process"] = xml_location(process)
    document: dict[str, Any] = {"process": header, "elements": elements}
    for key, values in _root_definitions(ctx, root).items():
        document[key] = values
    ids = set(reader.known_ids) | set(ctx.flow_aliases.values())
    diagram = read_diagram(root, ids, ctx.flow_aliases)
    if diagram:
        document["diagram"] = diagram
    return document


def _header(ctx: ImportContext, process: etree._Element) -> dict[str, Any]:
    ident = process.get("id") or ""
    if not ident:
        ctx.error(process, "bpmn:process has no id", "MISSING_KEY")
    header: dict[str, Any] = {"id": ident, "key": ident}
    if process.get("name") is not None:
        header["name"] = process.get("name")
    description = documentation(process)
    if description:
        header["description"] = description
    version = process.get(q(CAMUNDA, "versionTag"))
    version_tag = extension(process, ZEEBE, "versionTag")
    if version_tag is not None and version_tag.get("value"):
        version = version_tag.get("value")
    if version:
        header["version"] = version
    executable = process.get("isExecutable") != "false"
    header["executable"] = executable
    if not executable:
        ctx.warning(
            process,
            f"process '{ident}' is marked isExecutable=\"false\": it deploys but cannot be started",
            "NOT_EXECUTABLE",
        )
    for attribute, key in (
        ("candidateStarterUsers", "candidate_starter_users"),
        ("candidateStarterGroups", "candidate_starter_groups"),
    ):
        value = process.get(q(CAMUNDA, attribute))
        if value is not None:
            header[key] = split_list(value)
    found = listeners(ctx, process)
    if found:
        header["listeners"] = found
    merge_residual(header, wfe_json(ctx, process))
    return header


def _root_definitions(ctx: ImportContext, root: etree._Element) -> dict[str, list[Any]]:
    result: dict[str, list[Any]] = {
        "message_definitions": [],
        "signal_definitions": [],
        "error_definitions": [],
    }
    for item in root:
        namespace, local = split_tag(item.tag)
        ident = item.get("id")
        if namespace != BPMN or not ident:
            continue
        entry: dict[str, Any] = {"id": ident}
        if local == "message":
            key = "message_definitions"
            if item.get("name") is not None:
                entry["name"] = item.get("name")
            subscription = extension(item, ZEEBE, "subscription")
            if subscription is not None and subscription.get("correlationKey"):
                converted = convert(subscription.get("correlationKey", ""))
                if converted.error is not None:
                    ctx.error(
                        subscription, f"correlationKey: {converted.error}", "EXPRESSION_SYNTAX"
                    )
                entry["correlation_key"] = converted.value
        elif local == "signal":
            key = "signal_definitions"
            if item.get("name") is not None:
                entry["name"] = item.get("name")
        elif local == "error":
            key = "error_definitions"
            if item.get("name") is not None:
                entry["name"] = item.get("name")
            if item.get("errorCode") is not None:
                entry["error_code"] = item.get("errorCode")
        else:
            continue
        merge_residual(entry, wfe_json(ctx, item))
        ctx.locations[f"{key}[{len(result[key])}]"] = xml_location(item)
        result[key].append(entry)
    return {k: v for k, v in result.items() if v}


# --- findings and model paths ------------------------------------------------------------


def relocate_path(path: str, locations: Mapping[str, str]) -> str:
    """Rewrite a document path to its XML location: the longest known prefix wins.

    `elements[3].config.condition` → `bpmn:process[@id='p']/bpmn:sequenceFlow[@id='f']
    (line 12).config.condition`.
    """
    if path in locations:
        return locations[path]
    for end in range(len(path) - 1, 0, -1):
        if path[end] in ".[" and path[:end] in locations:
            return locations[path[:end]] + path[end:]
    return path


def _relocate(issue: ValidationIssue, locations: Mapping[str, str]) -> ValidationIssue:
    return dataclasses.replace(issue, path=relocate_path(issue.path, locations))


def _unique(issues: Iterable[ValidationIssue]) -> list[ValidationIssue]:
    seen: set[tuple[str, str, str, Severity]] = set()
    unique: list[ValidationIssue] = []
    for issue in issues:
        key = (issue.path, issue.message, issue.code, issue.severity)
        if key not in seen:
            seen.add(key)
            unique.append(issue)
    return unique


def _relocate_model(model: ProcessModel, locations: Mapping[str, str]) -> ProcessModel:
    nodes = {
        k: dataclasses.replace(n, path=relocate_path(n.path, locations))
        for k, n in model.nodes.items()
    }
    flows = {
        k: dataclasses.replace(f, path=relocate_path(f.path, locations))
        for k, f in model.flows.items()
    }
    return dataclasses.replace(model, nodes=nodes, flows=flows)
