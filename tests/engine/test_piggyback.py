"""The batch header decoder builds the same RuntimeBatch as the typed payload converter."""

from __future__ import annotations

import dataclasses

import pytest
from temporalio.converter import DataConverter

from workflow_engine.engine.contract import (
    EngineEvent,
    RuntimeBatch,
    SubscriptionRecord,
    TaskRecord,
)
from workflow_engine.engine.piggyback import batch_from_json, batch_to_json

_CONVERTER = DataConverter.default.payload_converter


def _full_batch() -> RuntimeBatch:
    return RuntimeBatch(
        instance_id="i-1",
        through_sequence=7,
        events=[
            EngineEvent(sequence=6, type="node.entered", timestamp="2026-01-01T00:00:00Z"),
            EngineEvent(
                sequence=7,
                type="task.created",
                timestamp="2026-01-01T00:00:01Z",
                activity_id="review",
                task_id="t-1",
                name="Review",
                user_id="u",
                data={"a": [1, {"b": None}]},
            ),
        ],
        status="waiting",
        active_node_ids=["review"],
        variables={"x": 1, "nested": {"y": [True, 2.5]}},
        tasks=[
            TaskRecord(
                task_id="t-1",
                node_id="review",
                name="Review",
                state="created",
                created_at="2026-01-01T00:00:01Z",
                candidate_users=["a", "b"],
                due_date="2026-01-02T00:00:00Z",
            )
        ],
        subscriptions=[
            SubscriptionRecord(
                kind="message", name="m", node_id="n", execution_id="e", correlation_key="k"
            )
        ],
        ended_at=None,
        end_reason="because",
    )


@pytest.mark.parametrize(
    "batch",
    [_full_batch(), RuntimeBatch(instance_id="i-2", through_sequence=1)],
    ids=["full", "minimal"],
)
def test_decoding_matches_the_payload_converter(batch: RuntimeBatch) -> None:
    payload = _CONVERTER.to_payloads([batch])[0]
    typed = _CONVERTER.from_payload(payload, RuntimeBatch)
    fast = batch_from_json(_CONVERTER.from_payload(payload))
    assert fast == typed == batch


@pytest.mark.parametrize(
    "batch",
    [_full_batch(), RuntimeBatch(instance_id="i-2", through_sequence=1)],
    ids=["full", "minimal"],
)
def test_encoding_matches_the_payload_converter(batch: RuntimeBatch) -> None:
    # Same object as `dataclasses.asdict`, so the payload is byte for byte the dataclass's.
    assert batch_to_json(batch) == dataclasses.asdict(batch)
    assert _CONVERTER.to_payloads([batch_to_json(batch)]) == _CONVERTER.to_payloads([batch])
    assert batch_from_json(batch_to_json(batch)) == batch


def test_unknown_keys_are_ignored() -> None:
    raw = {"instance_id": "i", "through_sequence": 1, "later_field": 3}
    raw["events"] = [{"sequence": 1, "type": "t", "timestamp": "now", "extra": True}]
    batch = batch_from_json(raw)
    assert batch.events == [EngineEvent(sequence=1, type="t", timestamp="now")]


def test_a_missing_field_names_the_header() -> None:
    with pytest.raises(ValueError, match="wfe-runtime-batch is not a runtime batch"):
        batch_from_json({"instance_id": "i"})


def test_a_non_object_event_is_named() -> None:
    with pytest.raises(ValueError, match=r"events\[0\] must be an object, got str"):
        batch_from_json({"instance_id": "i", "through_sequence": 1, "events": ["x"]})
