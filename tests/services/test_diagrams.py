"""`instance_marks`: run-time state of a diagram from the instance row and its event log."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from tests.model.builders import document, element, seed
from workflow_engine.model.parser import parse_definition
from workflow_engine.model.types import ProcessModel
from workflow_engine.services.diagrams import instance_marks
from workflow_engine.store.instances import EventRecord, InstanceRecord

_NOW = datetime(2024, 1, 1, tzinfo=UTC)


def _model(raw: dict[str, Any]) -> ProcessModel:
    model, issues = parse_definition(raw)
    assert model is not None, issues
    return model


def _instance(status: str = "running", active: tuple[str, ...] = ()) -> InstanceRecord:
    return InstanceRecord(
        id="i1", process_definition_id=1, definition_key="p", definition_version=1,
        status=status, business_key=None, start_user_id=None, start_time=_NOW, end_time=None,
        duration=None, delete_reason=None, activity_id=None, active_activity_ids=active,
        tenant_id="", workflow_id="wf-i1", super_instance_id=None, last_sequence=0, name=None,
    )  # fmt: skip


def _log(
    *items: tuple[str, str | None] | tuple[str, str | None, dict[str, Any]],
) -> list[EventRecord]:
    counter = itertools.count(1)
    return [
        EventRecord(
            sequence=next(counter), event_type=item[0], timestamp=_NOW, activity_id=item[1],
            task_id=None, event_name=None, user_id=None, data=item[2] if len(item) > 2 else {},
        )
        for item in items
    ]  # fmt: skip


def test_waiting_at_the_review_task() -> None:
    model = _model(seed())
    events = _log(
        ("process.started", None),
        ("event.passed", "start_event"),
        ("activity.started", "validate_user_task"),
        ("task.created", "validate_user_task"),
    )
    marks = instance_marks(model, _instance(active=("validate_user_task",)), events)
    assert marks.waiting == {"validate_user_task"}
    assert marks.active == set()
    assert marks.done == {"start_event"}
    assert marks.failed == set()
    assert marks.taken_flows == {"start_event->validate_user_task"}


def test_gateway_flows_come_from_its_records_and_a_service_task_runs_active() -> None:
    model = _model(seed())
    events = _log(
        ("event.passed", "start_event"),
        ("activity.started", "validate_user_task"),
        ("activity.completed", "validate_user_task"),
        ("gateway.taken", "email_gateway", {"flows": ["email_valid_path"], "default": False}),
        ("activity.started", "send_email_task"),
        ("activity.scheduled", "send_email_task"),
    )
    marks = instance_marks(model, _instance(active=("send_email_task",)), events)
    assert marks.active == {"send_email_task"}
    assert marks.waiting == set()
    assert marks.done == {"start_event", "validate_user_task", "email_gateway"}
    assert marks.taken_flows == {
        "start_event->validate_user_task",
        "validate_user_task->email_gateway",
        "email_valid_path",
    }


def test_an_open_incident_marks_the_node_failed_until_a_retry_gets_through() -> None:
    model = _model(seed())
    start: list[tuple[str, str | None, dict[str, Any]]] = [
        ("event.passed", "start_event", {}),
        ("activity.started", "validate_user_task", {}),
        ("activity.completed", "validate_user_task", {}),
        ("gateway.taken", "email_gateway", {"flows": ["email_valid_path"]}),
        ("activity.started", "send_email_task", {}),
        ("activity.failed", "send_email_task", {"error_type": "Boom"}),
        ("incident.created", "send_email_task", {"incident_id": "x"}),
    ]
    failing = instance_marks(model, _instance("incident", ("send_email_task",)), _log(*start))
    assert failing.failed == {"send_email_task"}
    assert failing.active == set()
    retried = _log(
        *start,
        ("incident.resolved", "send_email_task", {"incident_id": "x"}),
        ("activity.result", "send_email_task"),
        ("activity.completed", "send_email_task"),
        ("event.waiting", "wait_verification_event"),
    )
    marks = instance_marks(model, _instance(active=("wait_verification_event",)), retried)
    assert marks.failed == set()
    assert "send_email_task" in marks.done
    assert marks.waiting == {"wait_verification_event"}
    assert "send_email_task->wait_verification_event" in marks.taken_flows


def test_an_ended_instance_has_nothing_active_and_unknown_ids_are_ignored() -> None:
    raw = document(
        element("s", "startEvent", outgoing=["a"]),
        element("a", "task", outgoing=["e"]),
        element("e", "endEvent"),
    )
    model = _model(raw)
    events = _log(
        ("event.passed", "s"),
        ("activity.started", "a"),
        ("activity.completed", "gone_node"),
    )
    marks = instance_marks(model, _instance("terminated", ("a",)), events)
    assert marks.active == set() and marks.waiting == set()
    assert marks.done == {"s"}
    # `a` was entered but never finished: its outgoing flow was not taken.
    assert marks.taken_flows == {"s->a"}
