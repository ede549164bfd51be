"""Which live events a subscriber wants."""

from __future__ import annotations

from dataclasses import dataclass

from workflow_engine.bus.events import LiveEvent

__all__ = ["EventFilter"]


@dataclass(frozen=True, slots=True)
class EventFilter:
    """A conjunction of optional conditions; an empty filter matches every event.

    Attributes:
        instance_id: Only this instance's events (the bus then uses the instance's channel).
        definition_key: Only instances of this definition key.
        tenant_id: Only this tenant's instances.
        statuses: Only events whose batch left the instance in one of these statuses.
        event_types: Only these event types (`activity.completed`, ...).
    """

    instance_id: str | None = None
    definition_key: str | None = None
    tenant_id: str | None = None
    statuses: frozenset[str] = frozenset()
    event_types: frozenset[str] = frozenset()

    def matches(self, event: LiveEvent) -> bool:
        """Whether `event` passes every condition that is set."""
        return (
            (self.instance_id is None or event.instance_id == self.instance_id)
            and (self.definition_key is None or event.definition_key == self.definition_key)
            and (self.tenant_id is None or event.tenant_id == self.tenant_id)
            and (not self.statuses or event.instance_status in self.statuses)
            and (not self.event_types or event.type in self.event_types)
        )
