"""Task completion is checked against the task's form fields by the API (issue 16 item 9).

The real interpreter runs the process; a completion that breaks the form is a 400 naming every
bad field, and nothing is recorded: the task stays open and the event log has no completion.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.services.support import eventually
from workflow_engine.api.rest.app import create_app
from workflow_engine.services.container import Services

DEFINITION: dict[str, Any] = {
    "process": {"id": "approval", "key": "approval", "name": "Approval"},
    "elements": [
        {"id": "start", "type": "startEvent", "outgoing": ["decide"]},
        {
            "id": "decide",
            "type": "userTask",
            "name": "Decide",
            "outgoing": ["end"],
            "config": {
                "candidate_groups": ["staff"],
                "form_fields": [
                    {"id": "approved", "label": "Approved", "type": "boolean", "required": True},
                    {"id": "discount", "type": "double"},
                    {"id": "reason", "type": "string", "required": True, "pattern": ".{3,}"},
                ],
            },
        },
        {"id": "end", "type": "endEvent"},
    ],
}


@pytest.fixture
async def api(live_services: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(live_services))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def _open_task(api: httpx.AsyncClient) -> tuple[str, str]:
    deployed = await api.post("/api/v1/definitions", json=DEFINITION)
    assert deployed.status_code in (200, 201), deployed.text
    started = await api.post("/api/v1/instances", json={"definition_key": "approval"})
    assert started.status_code == 201, started.text
    instance_id = str(started.json()["id"])

    async def tasks() -> list[dict[str, Any]]:
        response = await api.get("/api/v1/tasks", params={"instance_id": instance_id})
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    (task,) = await eventually(tasks, bool, within=30)
    return instance_id, str(task["id"])


async def test_a_completion_that_breaks_the_form_is_refused_and_records_nothing(
    api: httpx.AsyncClient,
) -> None:
    instance_id, task_id = await _open_task(api)
    refused = await api.post(
        f"/api/v1/tasks/{task_id}/complete",
        json={"variables": {"approved": "yes", "discount": "abc", "reason": "ok"}},
    )
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["code"] == "VALIDATION_FAILED"
    assert {d["path"] for d in error["details"]} == {
        "variables.approved",
        "variables.discount",
        "variables.reason",
    }
    missing = await api.post(f"/api/v1/tasks/{task_id}/complete", json={"variables": {}})
    assert missing.status_code == 400
    assert {d["path"] for d in missing.json()["error"]["details"]} == {
        "variables.approved",
        "variables.reason",
    }

    assert (await api.get(f"/api/v1/tasks/{task_id}")).json()["state"] != "completed"
    history = (await api.get(f"/api/v1/instances/{instance_id}/history")).json()["events"]
    assert not [e for e in history if e["type"] == "task.completed"]

    done = await api.post(
        f"/api/v1/tasks/{task_id}/complete",
        json={"variables": {"approved": False, "discount": 2, "reason": "too expensive"}},
    )
    assert done.status_code == 200, done.text

    async def status() -> str:
        return str((await api.get(f"/api/v1/instances/{instance_id}")).json()["status"])

    await eventually(status, lambda s: s == "completed", within=30)
