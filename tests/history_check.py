"""Compare an instance's history API answer with the Temporal history of the same run.

The history API reads only the database; Temporal is the source of truth. For one ended
instance this checks, from the Temporal side:

* every `ActivityTaskScheduled` of a user activity (not one of the engine's own) is exactly
  one attempt of exactly one step, in the same order, with the same activity name and input;
* every completed one has its result as that attempt's result, and the last attempt's result
  is the step's output; every failed one is a failed attempt;
* `TimerFired` events <-> `timer.fired` / `event.timed_out` / `process.timed_out` events;
* `bpmn_signal` signals <-> `signal.received` / `signal.ignored` events, one each;

and from the API side: the log is 1..N without gaps, steps are in order of their first event,
every node event belongs to exactly one step, and every step has start / end / duration.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.converter import DataConverter

from workflow_engine.api.rest.history_schemas import EventOut, StepOut
from workflow_engine.engine.contract import SIGNAL_BPMN_SIGNAL, workflow_id
from workflow_engine.services.container import Services


def engine_activity_names(services: Services) -> set[str]:
    """Names of the engine's own activities (projection, definitions, signals)."""
    names: set[str] = set()
    for fn in services.engine_activities():
        definition = activity._Definition.from_callable(fn)
        if definition is not None and definition.name:
            names.add(definition.name)
    return names


def _decode(payloads: Any) -> Any:
    values = DataConverter.default.payload_converter.from_payloads(list(payloads.payloads))
    return values[0] if values else None


async def temporal_events(client: Client, instance_id: str) -> list[HistoryEvent]:
    """The Temporal history of the instance's workflow, across continue-as-new runs."""
    handle = client.get_workflow_handle(workflow_id(instance_id))
    history = await handle.fetch_history()
    return list(history.events)


async def api_view(
    services: Services, instance_id: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The history API's events and steps as their JSON bodies (what REST answers)."""
    events: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = await services.history.history(instance_id, page_size=7, page_token=token)
        events += [EventOut.of(e).model_dump(mode="json") for e in page.events]
        token = page.next_page_token
        if token is None:
            break
    steps = [
        StepOut.of(s).model_dump(mode="json") for s in await services.history.steps(instance_id)
    ]
    return events, steps


def check_api_consistency(events: list[dict[str, Any]], steps: list[dict[str, Any]]) -> None:
    """The log is contiguous and every node event is in exactly one step, steps in order."""
    sequences = [e["sequence"] for e in events]
    assert sequences == list(range(1, len(sequences) + 1)), sequences
    node_events = {e["sequence"] for e in events if e["node_id"] is not None}
    in_steps = Counter(s for step in steps for s in step["event_sequences"])
    assert set(in_steps) == node_events, set(in_steps) ^ node_events
    assert all(n == 1 for n in in_steps.values()), [s for s, n in in_steps.items() if n > 1]
    ids = [step["step_id"] for step in steps]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for step in steps:
        assert step["step_id"] == step["event_sequences"][0]
        assert step["started_at"] is not None
        if step["status"] in ("completed", "interrupted"):
            assert step["ended_at"] is not None and step["duration_ms"] is not None, step


async def check_against_temporal(
    client: Client,
    services: Services,
    instance_id: str,
    *,
    internal: Callable[[str], bool] | None = None,
) -> list[dict[str, Any]]:
    """Run every check of the module docstring; returns the steps (for more assertions)."""
    engine = engine_activity_names(services)
    is_internal = internal or (lambda name: name in engine)
    events, steps = await api_view(services, instance_id)
    check_api_consistency(events, steps)
    history = await temporal_events(client, instance_id)

    scheduled: dict[int, tuple[str, Any]] = {}
    outcomes: dict[int, tuple[str, Any]] = {}
    timers_fired = 0
    signals: list[str] = []
    for event in history:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attrs = event.activity_task_scheduled_event_attributes
            name = attrs.activity_type.name
            if not is_internal(name):
                scheduled[event.event_id] = (name, _decode(attrs.input))
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            done = event.activity_task_completed_event_attributes
            outcomes[done.scheduled_event_id] = ("completed", _decode(done.result))
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
            failed = event.activity_task_failed_event_attributes
            outcomes[failed.scheduled_event_id] = ("failed", failed.failure.message)
        elif event.event_type == EventType.EVENT_TYPE_TIMER_FIRED:
            timers_fired += 1
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            attrs_s = event.workflow_execution_signaled_event_attributes
            if attrs_s.signal_name == SIGNAL_BPMN_SIGNAL:
                signals.append(str(_decode(attrs_s.input)["name"]))

    attempts = sorted(
        ((a, step) for step in steps for a in step["attempts"]),
        key=lambda pair: pair[0]["sequence"],
    )
    temporal_side = [scheduled[i] for i in sorted(scheduled)]
    assert [(a["activity"], a["input"]) for a, _ in attempts] == [
        (name, value) for name, value in temporal_side
    ], "activities scheduled in Temporal and attempts in the history API differ"
    for (attempt, step), event_id in zip(attempts, sorted(scheduled), strict=True):
        outcome = outcomes.get(event_id)
        if outcome is None:
            assert attempt["status"] == "running", attempt
            continue
        kind, value = outcome
        assert attempt["status"] == kind, (attempt, outcome)
        if kind == "completed":
            assert attempt["result"] == value
            if attempt is step["attempts"][-1]:
                assert step["output"] == value
    by_type = Counter(e["type"] for e in events)
    assert (
        timers_fired
        == by_type["timer.fired"] + by_type["event.timed_out"] + by_type["process.timed_out"]
    ), (timers_fired, by_type)
    # A delivery names the signal by its name or its definition id, the event by its name:
    # compare how many arrived (each bpmn_signal is received by a wait or ignored).
    received = [e for e in events if e["type"] in ("signal.received", "signal.ignored")]
    assert len(received) == len(signals), (received, signals)
    return steps


def step_nodes(steps: Iterable[dict[str, Any]]) -> list[str]:
    """The node ids of steps, in order."""
    return [s["node_id"] for s in steps]
