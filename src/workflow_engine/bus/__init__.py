"""Live events: committed event-log entries pushed to subscribers (SSE streams).

`publish(events)` after the projection commits; `subscribe(filter)` gives a bounded
subscription. :class:`InProcessEventBus` serves one process (`wfe dev`),
:class:`RedisEventBus` several (worker and API replicas), chosen by `Settings.redis_url`
(see `workflow_engine.services.container`).
"""

from workflow_engine.bus.base import (
    DEFAULT_QUEUE_SIZE,
    EventBus,
    Subscription,
    SubscriptionDroppedError,
)
from workflow_engine.bus.events import LiveEvent, LiveEventError
from workflow_engine.bus.filters import EventFilter
from workflow_engine.bus.memory import InProcessEventBus
from workflow_engine.bus.redis import RedisEventBus

__all__ = [
    "DEFAULT_QUEUE_SIZE",
    "EventBus",
    "EventFilter",
    "InProcessEventBus",
    "LiveEvent",
    "LiveEventError",
    "RedisEventBus",
    "Subscription",
    "SubscriptionDroppedError",
]
