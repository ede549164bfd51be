"""What the event bus carries: one engine event, as written to the event log, plus context.

A `LiveEvent` is a `process_event` row that was just committed, with the instance's
definition key, tenant and status after its batch, so subscribers can filter without a
database round trip. It travels as JSON (Redis pub/sub) and is the body of an SSE message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["LiveEvent", "LiveEventError"]


class LiveEventError(ValueError):
    """A bus message is not a valid live event (the message names the field and why)."""


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """One committed event-log entry of an instance.

    Attributes:
        id: The `process_event` row id: the cursor of the global stream.
        instance_id: The process instance.
        sequence: 1, 2, 3 ... per instance: the cursor of the instance's stream.
        type: Event type (`activity.completed`, `process.completed`, ...).
        timestamp: When the engine recorded it (ISO 8601, UTC).
        definition_key: The instance's definition key.
        tenant_id: The instance's tenant.
        instance_status: The instance's status after the batch that carried the event.
        name: The event's name, if any.
        activity_id: The BPMN node, if any.
        task_id: The user task, if any.
        user_id: Who caused it, if known.
        data: The event's payload.
    """

    id: int
    instance_id: str
    sequence: int
    type: str
    timestamp: str
    definition_key: str
    tenant_id: str
    instance_status: str
    name: str | None = None
    activity_id: str | None = None
    task_id: str | None = None
    user_id: str | None = None
    data: Any = None

    def to_dict(self) -> dict[str, Any]:
        """The event as a JSON-able dict (field names as above)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> LiveEvent:
        """Read an event written by :meth:`to_dict`.

        Raises:
            LiveEventError: a required field is missing or has the wrong type.
        """
        if not isinstance(raw, Mapping):
            raise LiveEventError(f"a live event must be a JSON object, got {type(raw).__name__}")
        values: dict[str, Any] = {}
        for name, kind in _REQUIRED.items():
            value = raw.get(name)
            # bool is an int subclass; a flag in the place of a cursor is a broken message.
            if not isinstance(value, kind) or isinstance(value, bool):
                raise LiveEventError(
                    f"live event field {name!r} must be {kind.__name__}, got {value!r}"
                )
            values[name] = value
        for name in _OPTIONAL_TEXT:
            value = raw.get(name)
            if value is not None and not isinstance(value, str):
                raise LiveEventError(f"live event field {name!r} must be a string or null")
            values[name] = value
        values["data"] = raw.get("data")
        return cls(**values)


_REQUIRED: dict[str, type] = {
    "id": int,
    "instance_id": str,
    "sequence": int,
    "type": str,
    "timestamp": str,
    "definition_key": str,
    "tenant_id": str,
    "instance_status": str,
}
_OPTIONAL_TEXT = ("name", "activity_id", "task_id", "user_id")
