"""Turning uploaded bytes (JSON or BPMN 2.0 XML) into a checked process model.

One place decides what a definition *is*, so validate and deploy (REST, gRPC, CLI) always agree:
decode → parse → validate, then the canonical document and its content hash identify the
version ("identical content → the existing version").
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from workflow_engine.model.bpmn import import_bpmn
from workflow_engine.model.issues import Severity, ValidationIssue, ValidationReport
from workflow_engine.model.json_export import content_hash
from workflow_engine.model.json_values import JsonValueError, loads_strict
from workflow_engine.model.types import ProcessModel
from workflow_engine.model.validator import check_definition
from workflow_engine.services.errors import UnsupportedMediaTypeError

_JSON_TYPES = frozenset({"application/json", "text/json"})
_XML_TYPES = frozenset({"application/xml", "text/xml", "application/bpmn+xml", "application/bpmn"})


class DefinitionFormat(StrEnum):
    """How a definition was written."""

    JSON = "json"
    BPMN = "bpmn"

    @property
    def media_type(self) -> str:
        """The media type its resource is served with."""
        return "application/json" if self is DefinitionFormat.JSON else "application/xml"


def format_from_content_type(content_type: str | None) -> DefinitionFormat:
    """Pick the format from a Content-Type header (parameters such as charset are ignored).

    Raises:
        UnsupportedMediaTypeError: for anything but JSON or XML media types.
    """
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in _JSON_TYPES or media.endswith("+json"):
        return DefinitionFormat.JSON
    if media in _XML_TYPES or media.endswith("+xml"):
        return DefinitionFormat.BPMN
    shown = media or "none"
    raise UnsupportedMediaTypeError(
        f"content type '{shown}' is not supported: send a JSON definition as application/json "
        "or BPMN 2.0 XML as application/xml"
    )


def format_from_filename(name: str) -> DefinitionFormat:
    """Pick the format from a file name (`.json`; `.bpmn`, `.bpmn20.xml`, `.xml`)."""
    lowered = name.lower()
    if lowered.endswith(".json"):
        return DefinitionFormat.JSON
    if lowered.endswith((".bpmn", ".xml")):
        return DefinitionFormat.BPMN
    raise UnsupportedMediaTypeError(
        f"cannot tell the format of '{name}': use a .json, .bpmn or .bpmn20.xml file"
    )


@dataclass(frozen=True, slots=True)
class CheckedDefinition:
    """The outcome of reading one upload.

    Attributes:
        format: JSON or BPMN.
        document: The definition in the JSON format (for BPMN: the imported document), or
            None when the bytes could not be read as a definition at all.
        model: The parsed model, or None when the document was too broken to build one.
        report: Every error and warning.
        content_hash: sha256 of the canonical document; "" when there is no document.
    """

    format: DefinitionFormat
    document: dict[str, Any] | None
    model: ProcessModel | None
    report: ValidationReport
    content_hash: str


def check_upload(
    content: bytes,
    *,
    fmt: DefinitionFormat,
    process_id: str | None = None,
    max_elements: int | None = None,
    known_listener_classes: Collection[str] | None = None,
) -> CheckedDefinition:
    """Decode, parse and validate an uploaded definition; never raises on bad input."""
    if fmt is DefinitionFormat.BPMN:
        return _check_bpmn(
            content,
            process_id=process_id,
            max_elements=max_elements,
            known_listener_classes=known_listener_classes,
        )
    document, issue = _decode_json(content)
    if issue is not None:
        return CheckedDefinition(fmt, None, None, ValidationReport.of([issue]), "")
    model, report = check_definition(
        document, known_listener_classes=known_listener_classes, max_elements=max_elements
    )
    doc = document if isinstance(document, dict) else None
    return CheckedDefinition(fmt, doc, model, report, content_hash(doc) if doc else "")


def _check_bpmn(
    content: bytes,
    *,
    process_id: str | None,
    max_elements: int | None,
    known_listener_classes: Collection[str] | None,
) -> CheckedDefinition:
    imported = import_bpmn(content, process_id=process_id)
    issues = [*imported.report.errors, *imported.report.warnings]
    model = imported.model
    if model is not None and max_elements is not None and len(model.nodes) > max_elements:
        issues.append(
            ValidationIssue(
                "$",
                f"the process has {len(model.nodes)} elements; at most {max_elements} are allowed",
                "TOO_MANY_ELEMENTS",
            )
        )
    if model is not None and known_listener_classes is not None:
        issues.extend(_unknown_listeners(model, known_listener_classes))
    doc = imported.document
    return CheckedDefinition(
        DefinitionFormat.BPMN,
        doc,
        model,
        ValidationReport.of(issues),
        content_hash(doc) if doc else "",
    )


def _unknown_listeners(model: ProcessModel, known: Collection[str]) -> list[ValidationIssue]:
    listeners = [("process", listener) for listener in model.process.listeners]
    listeners += [
        (node.path or node.id, lst) for node in model.nodes.values() for lst in node.listeners
    ]
    return [
        ValidationIssue(
            f"{where}.listeners",
            f"listener class '{listener.class_name}' is not implemented by any worker; "
            "it will be recorded as skipped",
            "UNKNOWN_LISTENER",
            Severity.WARNING,
        )
        for where, listener in listeners
        if listener.class_name not in known
    ]


def _decode_json(content: bytes) -> tuple[object, ValidationIssue | None]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, ValidationIssue(
            "$", f"the body is not UTF-8 text (byte {exc.start} is invalid)", "NOT_UTF8"
        )
    try:
        return loads_strict(text), None
    except JsonValueError as exc:
        # NaN, infinities, integers beyond 64 bits, NUL / lone surrogates: never stored altered.
        return None, ValidationIssue(exc.problem.path, exc.problem.message, "UNSTORABLE_VALUE")
    except json.JSONDecodeError as exc:
        return None, ValidationIssue(
            "$",
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            "INVALID_JSON",
        )
    except RecursionError:
        return None, ValidationIssue("$", "the JSON is nested too deeply", "INVALID_JSON")
