"""Issue 4's done-when check on conformance models: the history API against Temporal.

Each model runs to its end on the real stack; then `tests/history_check.py` compares the
history API's log and steps with the Temporal history of the same run: every user activity
scheduled is exactly one attempt of one step with the same input and result, timers and
signals match, nothing missing, nothing twice.
"""

from __future__ import annotations

from collections import Counter

import pytest
from temporalio.client import Client

from tests.conformance.conftest import Stack
from tests.history_check import check_against_temporal, step_nodes

LIB = "lib-bpmn-engine/"


@pytest.mark.parametrize(
    ("model", "variables", "activity_steps"),
    [
        ("fork-uncontrolled-join.bpmn", {}, {"id-a-1": 1, "id-a-2": 1, "id-b-1": 2}),
        ("fork-controlled-parallel-join.bpmn", {}, {"id-a-1": 1, "id-a-2": 1, "id-b-1": 1}),
        ("exclusive-gateway-multiple-tasks.bpmn", {"price": 0}, {"task-a": 1}),
        ("simple-count-loop.bpmn", {"counter": 0.0}, {"id-increaseCounter": 4}),
        ("message-intermediate-timer-event.bpmn", {"message": "m-1"}, {"task-for-timer": 1}),
    ],
)
async def test_history_matches_temporal(
    stack: Stack,
    temporal_client: Client,
    model: str,
    variables: dict[str, object],
    activity_steps: dict[str, int],
) -> None:
    key = await stack.deploy(LIB + model)
    instance = await stack.start(key, **variables)
    await stack.wait_status(instance, "completed")
    steps = await check_against_temporal(temporal_client, stack.services, instance)
    with_attempts = Counter(s["node_id"] for s in steps if s["attempts"])
    assert with_attempts == Counter(activity_steps)
    for step in steps:
        assert step["status"] == "completed", step
        assert step["ended_at"] is not None and step["duration_ms"] is not None
    assert step_nodes(steps)[-1] in {s["node_id"] for s in steps if s["node_type"] == "endEvent"}
