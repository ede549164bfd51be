"""The entry points: a whole document (or JSON text) -> `ProcessModel` and findings.

`_Parser` puts the parts together: the header, the elements (collected, then their flows
resolved, then built into nodes and scopes), the connections and the definitions lists.
"""

from __future__ import annotations

import json

from workflow_engine.model.codes import IssueCode
from workflow_engine.model.issues import ValidationIssue
from workflow_engine.model.json_values import JsonValueError, loads_strict
from workflow_engine.model.parser.definitions import _DefinitionReader
from workflow_engine.model.parser.keys import DOCUMENT_KEYS
from workflow_engine.model.parser.nodes import _NodeBuilder
from workflow_engine.model.parser.reader import _describe
from workflow_engine.model.paths import ROOT
from workflow_engine.model.types import ProcessModel


def parse_json_text(text: str | bytes) -> tuple[ProcessModel | None, list[ValidationIssue]]:
    """Decode JSON text and parse it as a definition.

    Args:
        text: The JSON document, as text or UTF-8 bytes.

    Returns:
        The model (or `None` when there is nothing to build) and every finding; a syntax error
        is one issue at `$` naming the line and column.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return None, [
                ValidationIssue(
                    ROOT,
                    f"the definition is not UTF-8 text (byte {exc.start} cannot be decoded)",
                    IssueCode.INVALID_JSON,
                )
            ]
    try:
        document = loads_strict(text)
    except JsonValueError as exc:
        return None, [
            ValidationIssue(exc.problem.path, exc.problem.message, IssueCode.INVALID_JSON)
        ]
    except json.JSONDecodeError as exc:
        return None, [
            ValidationIssue(
                ROOT,
                f"the definition is not valid JSON: {exc.msg} at line {exc.lineno}, "
                f"column {exc.colno}",
                IssueCode.INVALID_JSON,
            )
        ]
    except RecursionError:
        return None, [
            ValidationIssue(ROOT, "the definition is nested too deeply", IssueCode.INVALID_JSON)
        ]
    return parse_definition(document)


def parse_definition(document: object) -> tuple[ProcessModel | None, list[ValidationIssue]]:
    """Build a `ProcessModel` from a decoded JSON definition.

    Args:
        document: Whatever `json.loads` returned (any value; garbage gives issues, not errors).

    Returns:
        The model and the parser's findings. The model is `None` only when `document` is not
        an object. Run `workflow_engine.model.validator.validate` on the model for the
        remaining rules, or use `check_definition` for both.
    """
    parser = _Parser()
    try:
        model = parser.parse(document)
    except RecursionError:
        parser.error(ROOT, "the definition is nested too deeply", IssueCode.INVALID_DOCUMENT)
        model = None
    return model, parser.issues


class _Parser(_NodeBuilder, _DefinitionReader):
    """One parse: collects raw elements, then resolves flows, then builds the model."""

    def parse(self, document: object) -> ProcessModel | None:
        if not isinstance(document, dict):
            self.error(
                ROOT,
                "a definition must be a JSON object with 'process' and 'elements', "
                f"not {_describe(document)}",
                IssueCode.INVALID_DOCUMENT,
            )
            return None
        header = self._header(document.get("process"))
        elements = document.get("elements")
        if elements is None:
            self.error("elements", "the definition has no 'elements' list", IssueCode.MISSING_KEY)
        else:
            self._collect(elements, "elements", None, depth=0)
        self._build_flows()
        self._resolve_outgoing()
        incoming = self._resolve_incoming()
        nodes = self._build_nodes(incoming)
        scopes = self._build_scopes()
        connections = self._build_connections()
        messages = self._definitions(document, "message_definitions", self._message)
        signals = self._definitions(document, "signal_definitions", self._signal)
        errors = self._definitions(document, "error_definitions", self._error_definition)
        extensions = {k: v for k, v in document.items() if k not in DOCUMENT_KEYS}
        return ProcessModel(
            process=header,
            nodes=nodes,
            flows=self.flows,
            scopes=scopes,
            connections=connections,
            message_definitions=messages,
            signal_definitions=signals,
            error_definitions=errors,
            extensions=extensions,
        )
