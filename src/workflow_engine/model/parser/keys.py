"""The keys the definition format knows, per part of the document, and its element types.

Anything not listed here is reported as an unknown key (and ignored); see
`docs/json-format.md` for what each key means.
"""

from __future__ import annotations

from collections.abc import Mapping

from workflow_engine.model.types import ConnectionType, NodeType

#: Keys of the document itself; anything else is kept in `ProcessModel.extensions`.
DOCUMENT_KEYS = frozenset(
    {"process", "elements", "message_definitions", "signal_definitions", "error_definitions"}
)
HEADER_KEYS = frozenset(
    {
        "id",
        "key",
        "name",
        "description",
        "version",
        "category",
        "tenant_id",
        "start_form_key",
        "executable",
        "timeout",
        "variables",
        "listeners",
        "candidate_starter_users",
        "candidate_starter_groups",
    }
)
NODE_KEYS = frozenset(
    {"id", "type", "name", "config", "incoming", "outgoing", "listeners", "documentation"}
)
#: Keys only some node types take at the top level of their element.
NODE_TYPE_KEYS: Mapping[NodeType, frozenset[str]] = {
    NodeType.BOUNDARY_EVENT: frozenset({"attached_to", "event_kind"}),
    NodeType.START_EVENT: frozenset({"event_kind"}),
    NodeType.END_EVENT: frozenset({"event_kind"}),
    NodeType.INTERMEDIATE_CATCH_EVENT: frozenset({"event_kind"}),
    NodeType.INTERMEDIATE_THROW_EVENT: frozenset({"event_kind"}),
    NodeType.SUB_PROCESS: frozenset({"elements"}),
}
CONNECTION_KEYS = frozenset({"id", "type", "name", "config", "source", "target"})
VARIABLE_KEYS = frozenset({"type", "scope", "required", "default", "sensitive", "description"})
VARIABLE_SCOPES = ("global", "local")
LISTENER_KEYS = frozenset({"event", "type", "class", "config"})
SIGNAL_SCOPES = ("global", "process_instance")
#: Subprocesses nested deeper than this are refused (protects against hostile documents).
MAX_NESTING = 64

_CONNECTION_TYPES = {t.value: t for t in ConnectionType}
_NODE_TYPES = {t.value: t for t in NodeType}
KNOWN_ELEMENT_TYPES: tuple[str, ...] = (*_NODE_TYPES, *_CONNECTION_TYPES)
