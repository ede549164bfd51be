"""Typed views the parser derives from a node's raw `config` (shared with the JSON exporter).

Keeping these rules in one place guarantees that exporting a model and parsing it again derives
the same `event_kind`, `timer`, retry policy and multi-instance settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflow_engine.model.types import (
    ACTIVITY_TYPES,
    EVENT_TYPES,
    EventKind,
    MultiInstanceSpec,
    NodeType,
    RetryPolicy,
    TimerKind,
    TimerSpec,
)

_TIMER_KEYS: tuple[tuple[str, TimerKind], ...] = (
    ("timer_date", TimerKind.DATE),
    ("timer_duration", TimerKind.DURATION),
    ("timer_cycle", TimerKind.CYCLE),
)


def derive_event_kind(node_type: NodeType, config: Mapping[str, Any]) -> EventKind | None:
    """The event definition a node's config implies; `None` for non-events.

    A boundary event without any trigger key catches any error (BPMN's error boundary without
    `errorRef`); `"error_ref": null` says the same explicitly.
    """
    if node_type not in EVENT_TYPES:
        return None
    if node_type is NodeType.END_EVENT and config.get("terminate") is True:
        return EventKind.TERMINATE
    if "error_ref" in config:
        return EventKind.ERROR
    if any(config.get(key) is not None for key, _ in _TIMER_KEYS):
        return EventKind.TIMER
    if config.get("message_ref") is not None:
        return EventKind.MESSAGE
    if config.get("signal_ref") is not None:
        return EventKind.SIGNAL
    if "escalation_code" in config:  # `null` on a catcher: any escalation
        return EventKind.ESCALATION
    if "link_name" in config:
        return EventKind.LINK
    if node_type is NodeType.BOUNDARY_EVENT:
        return EventKind.ERROR
    return EventKind.NONE


def derive_timer(node_type: NodeType, config: Mapping[str, Any]) -> TimerSpec | None:
    """The first `timer_date` / `timer_duration` / `timer_cycle` string of an event's config."""
    if node_type not in EVENT_TYPES:
        return None
    for key, kind in _TIMER_KEYS:
        value = config.get(key)
        if isinstance(value, str):
            return TimerSpec(kind=kind, value=value)
    return None


def _opt_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _opt_float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _opt_text(value: object) -> str | None:
    """Strings as written; integers as their decimal text (`loop_cardinality: 3`)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def derive_retry_policy(node_type: NodeType, config: Mapping[str, Any]) -> RetryPolicy | None:
    """`config.retry_policy` of an activity; wrongly typed fields are left unset.

    The validator reports the wrong types with their paths, so the parser stays lenient here.
    """
    raw = config.get("retry_policy")
    if node_type not in ACTIVITY_TYPES or not isinstance(raw, dict):
        return None
    errors = raw.get("non_retryable_error_types")
    return RetryPolicy(
        max_attempts=_opt_int(raw.get("max_attempts")),
        initial_interval=_opt_str(raw.get("initial_interval")),
        backoff_coefficient=_opt_float(raw.get("backoff_coefficient")),
        maximum_interval=_opt_str(raw.get("maximum_interval")),
        non_retryable_error_types=(
            tuple(e for e in errors if isinstance(e, str)) if isinstance(errors, list) else ()
        ),
    )


def derive_multi_instance(
    node_type: NodeType, config: Mapping[str, Any]
) -> MultiInstanceSpec | None:
    """`config.multi_instance` of an activity; wrongly typed fields are left unset."""
    raw = config.get("multi_instance")
    if node_type not in ACTIVITY_TYPES or not isinstance(raw, dict):
        return None
    return MultiInstanceSpec(
        is_sequential=raw.get("is_sequential") is True,
        loop_cardinality=_opt_text(raw.get("loop_cardinality")),
        collection=_opt_str(raw.get("collection")),
        element_variable=_opt_str(raw.get("element_variable")),
        completion_condition=_opt_str(raw.get("completion_condition")),
    )


def derive_mapping(config: Mapping[str, Any], key: str) -> dict[str, Any]:
    """`config[key]` when it is an object (input / output mappings), else empty."""
    raw = config.get(key)
    return dict(raw) if isinstance(raw, dict) else {}
