"""Listener classes: implemented ones run as activities named by the class, others are skipped."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from temporalio.client import Client

from workflow_engine.engine.contract import (
    UPDATE_COMPLETE_TASK,
    CompleteTaskRequest,
    CompleteTaskResult,
)

from .harness import doc, el, engine, eventually, recording, until

pytestmark = pytest.mark.temporal


def _audited() -> dict[str, Any]:
    definition = doc(
        el("start", "startEvent", "charge"),
        el(
            "charge",
            "serviceTask",
            "approve",
            config={"activity_name": "Charge"},
            listeners=[
                {"event": "start", "class": "Audit", "config": {"level": "service"}},
                {"event": "end", "class": "com.example.NotDeployed"},
            ],
        ),
        el(
            "approve",
            "userTask",
            "end",
            listeners=[
                {"event": "create", "type": "task", "class": "Audit", "config": {"n": 1}},
                {"event": "complete", "type": "task", "class": "Audit"},
            ],
        ),
        el("end", "endEvent"),
    )
    definition["process"]["listeners"] = [
        {"event": "start", "class": "Audit", "config": {"scope": "process"}},
        {"event": "end", "class": "Audit"},
        {"event": "start", "class": "com.example.NotDeployed"},
    ]
    return definition


async def test_implemented_listeners_run_and_others_are_skipped(temporal_client: Client) -> None:
    instance_id = str(uuid.uuid4())
    calls: dict[str, list[Any]] = {}
    audit = recording("Audit", calls, lambda arg: {"last_audit": arg["event"]})
    charge = recording("Charge", calls, {"charged": 10})
    async with engine(temporal_client, audit, charge) as eng:
        handle = await eng.start(
            _audited(),
            variables={"amount": 10},
            instance_id=instance_id,
            implemented_listeners=["Audit"],
        )
        snap = await until(handle, lambda s: bool(s.open_task_ids))
        await handle.execute_update(
            UPDATE_COMPLETE_TASK,
            CompleteTaskRequest(task_id=snap.open_task_ids[0], variables={"ok": True}),
            result_type=CompleteTaskResult,
        )
        result = await handle.result()
        await eventually(lambda: eng.last(instance_id).ended_at is not None)
    assert result.status == "completed"
    seen = calls["Audit"]
    assert [(c["event"], c["node_id"]) for c in seen] == [
        ("start", None),
        ("start", "charge"),
        ("create", "approve"),
        ("complete", "approve"),
        ("end", None),
    ]
    for call in seen:
        assert set(call) == {"event", "instance_id", "node_id", "config", "variables"}
        assert call["instance_id"] == instance_id
    assert seen[0]["config"] == {"scope": "process"}
    assert seen[0]["variables"] == {"amount": 10}
    assert seen[1]["config"] == {"level": "service"}
    assert seen[1]["variables"] == {"amount": 10, "last_audit": "start"}
    assert seen[2]["config"] == {"n": 1}
    assert seen[2]["variables"]["charged"] == 10
    assert seen[3]["config"] == {} and seen[3]["variables"]["ok"] is True
    assert seen[4]["variables"]["last_audit"] == "complete"
    # A listener's dict result becomes variables.
    assert result.variables["last_audit"] == "end"
    events = eng.events(instance_id)
    executed = [(e.activity_id, e.data["event"]) for e in events if e.type == "listener.executed"]
    assert executed == [
        (None, "start"),
        ("charge", "start"),
        ("approve", "create"),
        ("approve", "complete"),
        (None, "end"),
    ]
    skipped = [
        (e.activity_id, e.data["event"], e.data["class"])
        for e in events
        if e.type == "listener.skipped"
    ]
    assert skipped == [
        (None, "start", "com.example.NotDeployed"),
        ("charge", "end", "com.example.NotDeployed"),
    ]
    # The service task's start listener ran before its activity was called.
    types = [(e.type, e.activity_id) for e in events]
    assert types.index(("listener.executed", "charge")) < types.index(
        ("activity.scheduled", "charge")
    )
    assert types[-1] == ("process.completed", None)


async def test_without_implementations_every_listener_is_skipped(temporal_client: Client) -> None:
    calls: dict[str, list[Any]] = {}
    charge = recording("Charge", calls, {"charged": 10})
    async with engine(temporal_client, charge) as eng:
        handle = await eng.start(_audited())
        snap = await until(handle, lambda s: bool(s.open_task_ids))
        await handle.execute_update(
            UPDATE_COMPLETE_TASK,
            CompleteTaskRequest(task_id=snap.open_task_ids[0]),
            result_type=CompleteTaskResult,
        )
        result = await handle.result()
    assert result.status == "completed" and "last_audit" not in result.variables
    assert "Audit" not in calls and "listener.executed" not in eng.types()
    assert eng.types().count("listener.skipped") == 7
