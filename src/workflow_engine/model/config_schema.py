"""The `config` keys each element type understands, and what kind of value each one takes.

This table is the machine-readable form of `docs/json-format.md`: the validator checks every
element's `config` against it (unknown keys are warnings, wrong values errors), and other
layers can read it to know which keys exist. Keys are grouped the way the document groups them:
activity keys shared by every task, `subProcess` and `callActivity`, then keys per type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from workflow_engine.model.types import ACTIVITY_TYPES, NodeType


class ValueKind(StrEnum):
    """What a config value must look like."""

    STRING = "string"
    BOOLEAN = "boolean"
    #: An integer or a string holding one (`priority: "50"`).
    NUMERIC = "numeric"
    #: An integer or a string (`callActivity.version`).
    INTEGER_OR_STRING = "integer or string"
    OBJECT = "object"
    LIST = "list"
    #: A list of strings or one comma-separated string (`candidate_groups`).
    STRING_LIST = "list of strings or comma-separated string"
    ANY = "any value"
    #: One of `ConfigKey.choices`.
    CHOICE = "choice"
    #: A reference to a definition or node id; `null` allowed where `nullable`.
    REFERENCE = "reference"
    #: A `${...}` expression.
    EXPRESSION = "expression"
    #: A literal string, or a `${...}` expression that must compile.
    TEXT_OR_EXPRESSION = "string or expression"
    #: An object name -> literal or `${...}` (input/output mappings).
    MAPPING = "mapping"
    DURATION = "ISO 8601 duration"
    DATE = "ISO 8601 date-time"
    CYCLE = "ISO 8601 repeating interval"
    DURATION_OR_DATE = "ISO 8601 duration or date-time"
    RETRY_POLICY = "retry policy"
    MULTI_INSTANCE = "multi-instance object"
    #: Either an object name -> `${...}` or one `${...}` expression (`scriptTask.script`).
    SCRIPT = "script"
    DECISION_TABLE = "decision table"
    FORM_FIELDS = "list of form fields"


@dataclass(frozen=True, slots=True)
class ConfigKey:
    """One documented config key.

    Attributes:
        kind: What the value must look like.
        required: Whether the key must be present.
        choices: Allowed values for `ValueKind.CHOICE`.
        nullable: Whether `null` is accepted (e.g. `error_ref: null` means "any error").
    """

    kind: ValueKind
    required: bool = False
    choices: tuple[str, ...] = ()
    nullable: bool = False


#: Keys every activity (task, `subProcess`, `callActivity`) accepts.
ACTIVITY_KEYS: Mapping[str, ConfigKey] = {
    "retry_policy": ConfigKey(ValueKind.RETRY_POLICY),
    "timeout": ConfigKey(ValueKind.DURATION),
    "input_mapping": ConfigKey(ValueKind.MAPPING),
    "output_mapping": ConfigKey(ValueKind.MAPPING),
    "multi_instance": ConfigKey(ValueKind.MULTI_INSTANCE),
}

_TIMER_KEYS: Mapping[str, ConfigKey] = {
    "timer_date": ConfigKey(ValueKind.DATE),
    "timer_duration": ConfigKey(ValueKind.DURATION),
    "timer_cycle": ConfigKey(ValueKind.CYCLE),
}
_MESSAGE_KEYS: Mapping[str, ConfigKey] = {
    "message_ref": ConfigKey(ValueKind.REFERENCE),
    "correlation_key": ConfigKey(ValueKind.TEXT_OR_EXPRESSION),
}
_SIGNAL_KEYS: Mapping[str, ConfigKey] = {"signal_ref": ConfigKey(ValueKind.REFERENCE)}

_SERVICE_KEYS: Mapping[str, ConfigKey] = {
    "implementation": ConfigKey(
        ValueKind.CHOICE, choices=("temporal_activity", "http", "script", "noop")
    ),
    "activity_name": ConfigKey(ValueKind.STRING),
    "task_queue": ConfigKey(ValueKind.STRING),
    "method": ConfigKey(
        ValueKind.CHOICE, choices=("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
    ),
    "url": ConfigKey(ValueKind.TEXT_OR_EXPRESSION),
    "headers": ConfigKey(ValueKind.MAPPING),
    "body": ConfigKey(ValueKind.ANY),
    "script": ConfigKey(ValueKind.SCRIPT),
    "result_variable": ConfigKey(ValueKind.STRING),
}

#: Keys per element type (`NodeType` values plus `sequenceFlow`), activity keys excluded.
_TYPE_KEYS: Mapping[str, Mapping[str, ConfigKey]] = {
    NodeType.START_EVENT: {
        "form_key": ConfigKey(ValueKind.STRING),
        "form_fields": ConfigKey(ValueKind.FORM_FIELDS),
        "initiator": ConfigKey(ValueKind.STRING),
        "is_interrupting": ConfigKey(ValueKind.BOOLEAN),
        "error_ref": ConfigKey(ValueKind.REFERENCE, nullable=True),
        "escalation_code": ConfigKey(ValueKind.STRING, nullable=True),
        **_MESSAGE_KEYS,
        **_SIGNAL_KEYS,
        **_TIMER_KEYS,
    },
    NodeType.END_EVENT: {
        "terminate": ConfigKey(ValueKind.BOOLEAN),
        "error_ref": ConfigKey(ValueKind.REFERENCE),
        "escalation_code": ConfigKey(ValueKind.STRING),
        **_MESSAGE_KEYS,
        **_SIGNAL_KEYS,
    },
    NodeType.INTERMEDIATE_CATCH_EVENT: {
        **_TIMER_KEYS,
        **_MESSAGE_KEYS,
        **_SIGNAL_KEYS,
        "timeout": ConfigKey(ValueKind.DURATION),
        "timeout_action": ConfigKey(ValueKind.CHOICE, choices=("cancel", "continue")),
        "output_mapping": ConfigKey(ValueKind.MAPPING),
        "link_name": ConfigKey(ValueKind.STRING),
    },
    NodeType.INTERMEDIATE_THROW_EVENT: {
        **_MESSAGE_KEYS,
        **_SIGNAL_KEYS,
        "escalation_code": ConfigKey(ValueKind.STRING),
        "link_name": ConfigKey(ValueKind.STRING),
        "input_mapping": ConfigKey(ValueKind.MAPPING),
    },
    NodeType.BOUNDARY_EVENT: {
        "attached_to": ConfigKey(ValueKind.REFERENCE),
        "cancel_activity": ConfigKey(ValueKind.BOOLEAN),
        "error_ref": ConfigKey(ValueKind.REFERENCE, nullable=True),
        "escalation_code": ConfigKey(ValueKind.STRING, nullable=True),
        **_TIMER_KEYS,
        **_MESSAGE_KEYS,
        **_SIGNAL_KEYS,
        "output_mapping": ConfigKey(ValueKind.MAPPING),
    },
    NodeType.USER_TASK: {
        "assignee": ConfigKey(ValueKind.TEXT_OR_EXPRESSION),
        "candidate_users": ConfigKey(ValueKind.STRING_LIST),
        "candidate_groups": ConfigKey(ValueKind.STRING_LIST),
        "priority": ConfigKey(ValueKind.NUMERIC),
        "due_date": ConfigKey(ValueKind.DURATION_OR_DATE),
        "form_key": ConfigKey(ValueKind.STRING),
        "category": ConfigKey(ValueKind.STRING),
        "form_fields": ConfigKey(ValueKind.FORM_FIELDS),
    },
    NodeType.SERVICE_TASK: _SERVICE_KEYS,
    NodeType.SEND_TASK: _SERVICE_KEYS,
    NodeType.SCRIPT_TASK: {
        "script_format": ConfigKey(ValueKind.CHOICE, choices=("cel",)),
        "script": ConfigKey(ValueKind.SCRIPT, required=True),
        "result_variable": ConfigKey(ValueKind.STRING),
    },
    NodeType.BUSINESS_RULE_TASK: {
        "decision_table": ConfigKey(ValueKind.DECISION_TABLE, required=True),
        "result_variable": ConfigKey(ValueKind.STRING),
    },
    NodeType.RECEIVE_TASK: dict(_MESSAGE_KEYS),
    NodeType.MANUAL_TASK: {},
    NodeType.TASK: {},
    NodeType.EXCLUSIVE_GATEWAY: {"default_flow": ConfigKey(ValueKind.REFERENCE)},
    NodeType.INCLUSIVE_GATEWAY: {"default_flow": ConfigKey(ValueKind.REFERENCE)},
    NodeType.PARALLEL_GATEWAY: {},
    NodeType.EVENT_BASED_GATEWAY: {},
    NodeType.SUB_PROCESS: {
        "elements": ConfigKey(ValueKind.LIST),
        "triggered_by_event": ConfigKey(ValueKind.BOOLEAN),
    },
    NodeType.CALL_ACTIVITY: {
        "called_element": ConfigKey(ValueKind.STRING, required=True),
        "version": ConfigKey(ValueKind.INTEGER_OR_STRING),
        "in_mapping": ConfigKey(ValueKind.MAPPING),
        "out_mapping": ConfigKey(ValueKind.MAPPING),
        "propagate_all_variables": ConfigKey(ValueKind.BOOLEAN),
    },
    "sequenceFlow": {
        "condition": ConfigKey(ValueKind.EXPRESSION),
        "source": ConfigKey(ValueKind.REFERENCE),
        "target": ConfigKey(ValueKind.REFERENCE),
    },
}


def _with_activity_keys() -> dict[str, Mapping[str, ConfigKey]]:
    table: dict[str, Mapping[str, ConfigKey]] = {}
    for element_type, keys in _TYPE_KEYS.items():
        if element_type in ACTIVITY_TYPES:
            table[str(element_type)] = {**ACTIVITY_KEYS, **keys}
        else:
            table[str(element_type)] = dict(keys)
    return table


#: Every documented config key by element type (`startEvent`, …, `sequenceFlow`).
CONFIG_KEYS: Mapping[str, Mapping[str, ConfigKey]] = _with_activity_keys()

#: Config keys that name an event trigger, in the order the parser checks them.
TRIGGER_KEYS: tuple[str, ...] = (
    "timer_date",
    "timer_duration",
    "timer_cycle",
    "message_ref",
    "signal_ref",
    "error_ref",
    "escalation_code",
    "link_name",
)
