"""The seed example (examples/user-registration.json) runs unchanged through the interpreter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from workflow_engine.engine.contract import (
    SIGNAL_BPMN_SIGNAL,
    UPDATE_COMPLETE_TASK,
    CompleteTaskRequest,
    CompleteTaskResult,
    SignalDelivery,
)

from .harness import engine, eventually, recording, until

pytestmark = pytest.mark.temporal

SEED = json.loads(
    (Path(__file__).resolve().parents[2] / "examples" / "user-registration.json").read_text(
        encoding="utf-8"
    )
)
START = {"user_id": "u1", "email": "u1@example.com", "username": "uno"}


@pytest.mark.parametrize("valid", [True, False])
async def test_user_registration(temporal_client: Client, valid: bool) -> None:
    calls: dict[str, list[Any]] = {}
    activities = [
        recording("SendEmailActivity", calls, {"code": "C0DE", "success": True}),
        recording("CompleteRegistrationActivity", calls, {"id": "R-1", "success": True}),
        recording("RejectRegistrationActivity", calls, {"rejected": True}),
    ]
    async with engine(temporal_client, *activities) as eng:
        handle = await eng.start(SEED, variables=START, initiator="u1")
        snap = await until(handle, lambda s: bool(s.open_task_ids))
        task_id = snap.open_task_ids[0]
        await eventually(lambda: task_id in eng.tasks())
        assert eng.tasks()[task_id].assignee == "u1"
        await handle.execute_update(
            UPDATE_COMPLETE_TASK,
            CompleteTaskRequest(task_id=task_id, variables={"userValid": valid}, user_id="u1"),
            result_type=CompleteTaskResult,
        )
        if valid:
            await until(handle, lambda s: s.active_node_ids == ["wait_verification_event"])
            await handle.signal(SIGNAL_BPMN_SIGNAL, SignalDelivery(name="email_verified"))
        result = await handle.result()
    assert result.status == "completed"
    if valid:
        assert calls["SendEmailActivity"] == [
            {"email": "u1@example.com", "template": "verification_email", "user_id": "u1"}
        ]
        assert result.variables["verification_code"] == "C0DE"
        assert result.variables["registration_id"] == "R-1"
        assert "RejectRegistrationActivity" not in calls
    else:
        assert calls["RejectRegistrationActivity"][0]["user_id"] == "u1"
        assert "SendEmailActivity" not in calls
    skipped = [e.data["class"] for e in eng.events() if e.type == "listener.skipped"]
    assert "com.example.ProcessStartListener" in skipped
