"""The JSON definition format (`docs/json-format.md`) -> `ProcessModel`.

`parse_definition` accepts any decoded JSON value and never raises: everything wrong becomes a
`ValidationIssue` with the JSON path of what the author wrote. The parser reports only what the
model cannot express — the document's shape, ids, element types, `outgoing` / `incoming` entries
that name nothing or disagree with the flows, declarations it cannot type. Everything the model
*can* hold (conditions, timers, per-type config, reachability, …) is checked by
`workflow_engine.model.validator`, so the same rules apply to BPMN-imported models too.

The model is built whenever the document is an object; it is `None` only when there is nothing
to build from. A model that comes with errors is for reporting only, never for running.

The parser is split by part of the document; the names below are its public API, the
submodules are internal:

- `document`: the entry points and the order of the passes;
- `keys`: the known keys and element types;
- `reader`: findings and small typed readers (the shared base);
- `header`: the `process` header, variable declarations, listeners;
- `elements`: the first pass, collecting raw elements through subprocesses;
- `flows`: sequence flows, `outgoing` and `incoming`;
- `nodes`: nodes, subprocess scopes and other connections;
- `definitions`: message, signal and error definitions.
"""

from workflow_engine.model.parser.document import parse_definition, parse_json_text
from workflow_engine.model.parser.keys import (
    CONNECTION_KEYS,
    DOCUMENT_KEYS,
    HEADER_KEYS,
    KNOWN_ELEMENT_TYPES,
    LISTENER_KEYS,
    MAX_NESTING,
    NODE_KEYS,
    NODE_TYPE_KEYS,
    SIGNAL_SCOPES,
    VARIABLE_KEYS,
    VARIABLE_SCOPES,
)

__all__ = [
    "CONNECTION_KEYS",
    "DOCUMENT_KEYS",
    "HEADER_KEYS",
    "KNOWN_ELEMENT_TYPES",
    "LISTENER_KEYS",
    "MAX_NESTING",
    "NODE_KEYS",
    "NODE_TYPE_KEYS",
    "SIGNAL_SCOPES",
    "VARIABLE_KEYS",
    "VARIABLE_SCOPES",
    "parse_definition",
    "parse_json_text",
]
