"""Parsing untrusted XML bytes without ever expanding entities or touching the network.

BPMN files come from users, so the parser is locked down: no entity resolution (XXE), no DTD
loading, no network, and libxml2's size limits stay on (`huge_tree=False`). A document that
declares a DOCTYPE at all is refused: BPMN never needs one, and refusing it outright means an
entity bomb (billion laughs) is never even looked at.
"""

from __future__ import annotations

import re

from lxml import etree

from workflow_engine.model.issues import ValidationIssue

#: The XML declaration: lxml refuses `str` input that still carries one (it names an encoding).
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
#: A DOCTYPE in the prolog (after the declaration, comments and PIs), seen before parsing so
#: the finding names the real problem even where libxml2 would stumble over an entity first.
_PROLOG_DOCTYPE = re.compile(rb"^\s*(?:<\?[^>]*>\s*|<!--[^>]*>\s*)*<!DOCTYPE")
_DOCTYPE_ISSUE = ValidationIssue(
    "$",
    "DOCTYPE declarations are not allowed in BPMN documents (entities are never expanded)",
    "XML_DTD_FORBIDDEN",
)


def _parser() -> etree.XMLParser:
    # A fresh parser per call: lxml parsers keep per-parse state and are not thread-safe.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_xml(data: object) -> tuple[etree._Element | None, ValidationIssue | None]:
    """Parse `data` (bytes or str) into an element tree root, or say why it cannot be read.

    Returns:
        `(root, None)` on success, `(None, issue)` for anything else: not text, not well-formed,
        or carrying a DOCTYPE.
    """
    if isinstance(data, bytearray | memoryview):
        data = bytes(data)
    if isinstance(data, str):
        data = _DECLARATION.sub("", data, count=1)
    elif not isinstance(data, bytes):
        return None, ValidationIssue(
            "$", f"expected BPMN XML as bytes or text, got {type(data).__name__}", "XML_MALFORMED"
        )
    if _PROLOG_DOCTYPE.match(data if isinstance(data, bytes) else data.encode("utf-8")):
        return None, _DOCTYPE_ISSUE
    if not data.strip():
        return None, ValidationIssue("$", "the BPMN document is empty", "XML_MALFORMED")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        line = f" (line {exc.lineno})" if exc.lineno else ""
        return None, ValidationIssue(
            "$", f"the document is not well-formed XML{line}: {exc.msg}", "XML_MALFORMED"
        )
    except (ValueError, TypeError, LookupError, etree.LxmlError) as exc:
        # e.g. an unknown encoding name in the XML declaration.
        return None, ValidationIssue(
            "$", f"the document cannot be read as XML: {exc}", "XML_MALFORMED"
        )
    if root is None:
        return None, ValidationIssue("$", "the document has no root element", "XML_MALFORMED")
    docinfo = root.getroottree().docinfo
    # `doctype` is missing from lxml's stubs; it is the whole `<!DOCTYPE ...>` text or "".
    doctype = str(getattr(docinfo, "doctype", "") or "")
    if doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        return None, _DOCTYPE_ISSUE
    return root, None
