"""LiveEvent round trip and validation; EventFilter conditions."""

from __future__ import annotations

import pytest

from tests.bus.helpers import live_event
from workflow_engine.bus import EventFilter, LiveEvent, LiveEventError


def test_round_trip_keeps_every_field() -> None:
    event = live_event(3, activity_id="task_a", data={"x": [1, 2]}, name="n", user_id="u")
    assert LiveEvent.from_dict(event.to_dict()) == event


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("sequence", "3", "'sequence' must be int"),
        ("sequence", True, "'sequence' must be int"),
        ("instance_id", None, "'instance_id' must be str"),
        ("activity_id", 5, "'activity_id' must be a string or null"),
    ],
)
def test_invalid_message_names_the_field(field: str, value: object, needle: str) -> None:
    raw = live_event(1).to_dict() | {field: value}
    with pytest.raises(LiveEventError, match=needle):
        LiveEvent.from_dict(raw)


def test_non_object_is_rejected() -> None:
    with pytest.raises(LiveEventError, match="must be a JSON object"):
        LiveEvent.from_dict([1, 2])  # type: ignore[arg-type]


def test_empty_filter_matches_everything() -> None:
    assert EventFilter().matches(live_event(1))


@pytest.mark.parametrize(
    ("event_filter", "expected"),
    [
        (EventFilter(instance_id="i-1"), True),
        (EventFilter(instance_id="i-2"), False),
        (EventFilter(definition_key="order"), True),
        (EventFilter(definition_key="invoice"), False),
        (EventFilter(tenant_id="t1"), False),
        (EventFilter(statuses=frozenset({"running", "completed"})), True),
        (EventFilter(statuses=frozenset({"completed"})), False),
        (EventFilter(event_types=frozenset({"activity.completed"})), True),
        (EventFilter(event_types=frozenset({"task.created"})), False),
        (EventFilter(definition_key="order", statuses=frozenset({"failed"})), False),
    ],
)
def test_filter_conditions(event_filter: EventFilter, expected: bool) -> None:
    assert event_filter.matches(live_event(1)) is expected
