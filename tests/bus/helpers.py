"""Live events for bus tests."""

from __future__ import annotations

from typing import Any

from workflow_engine.bus import LiveEvent


def live_event(
    sequence: int,
    *,
    instance_id: str = "i-1",
    definition_key: str = "order",
    event_type: str = "activity.completed",
    status: str = "running",
    tenant_id: str = "",
    **extra: Any,
) -> LiveEvent:
    """An event of `instance_id` with row id = 100 + sequence."""
    return LiveEvent(
        id=100 + sequence,
        instance_id=instance_id,
        sequence=sequence,
        type=event_type,
        timestamp="2026-01-01T00:00:00+00:00",
        definition_key=definition_key,
        tenant_id=tenant_id,
        instance_status=status,
        **extra,
    )
