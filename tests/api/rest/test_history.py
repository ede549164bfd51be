"""History over REST on the real interpreter: the seed example's log, steps, ended instances.

The seed example runs to its end (review task, e-mail activity, signal, registration
activity); the history API's answer is then compared with the Temporal history of the same
run (tests/history_check.py): nothing missing, nothing twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.client import Client

from tests.api.rest.runtime_client import deploy_seed, error
from tests.history_check import check_against_temporal, step_nodes
from tests.services.support import SEED_VARIABLES, eventually
from workflow_engine.api.rest.app import create_app
from workflow_engine.services.container import Services
from workflow_engine.store.tables import (
    HistoricTaskInstance,
    HistoricVariableInstance,
    ProcessVariable,
    TaskInstance,
)


@pytest.fixture
async def e2e(live_services: Services) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    transport = httpx.ASGITransport(app=create_app(live_services))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client, live_services


async def _get(api: httpx.AsyncClient, path: str, **params: Any) -> dict[str, Any]:
    response = await api.get(path, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _run_seed(api: httpx.AsyncClient) -> str:
    await deploy_seed(api)
    started = await api.post(
        "/api/v1/instances",
        json={"definition_key": "userRegistration", "variables": SEED_VARIABLES, "user_id": "u1"},
    )
    assert started.status_code == 201, started.text
    instance_id = str(started.json()["id"])

    async def open_tasks() -> list[dict[str, Any]]:
        body = await _get(api, "/api/v1/tasks", instance_id=instance_id, state="created")
        items: list[dict[str, Any]] = body["items"]
        return items

    task = (await eventually(open_tasks, bool, within=30))[0]
    done = await api.post(
        f"/api/v1/tasks/{task['id']}/complete",
        json={"variables": {"userValid": True}, "user_id": "u1"},
    )
    assert done.status_code == 200, done.text
    await eventually(
        lambda: _get(api, f"/api/v1/instances/{instance_id}"),
        lambda b: b["active_element_ids"] == ["wait_verification_event"],
        within=30,
    )
    assert (await api.post("/api/v1/signals", json={"name": "email_verified"})).json() == {
        "delivered": 1,
        "started": 0,
        "started_instance_ids": [],
    }
    await eventually(
        lambda: _get(api, f"/api/v1/instances/{instance_id}"),
        lambda b: b["status"] == "completed",
        within=30,
    )
    return instance_id


async def test_seed_example_history_matches_temporal(
    e2e: tuple[httpx.AsyncClient, Services], temporal_client: Client
) -> None:
    api, services = e2e
    instance_id = await _run_seed(api)

    steps = await check_against_temporal(temporal_client, services, instance_id)
    assert step_nodes(steps) == [
        "start_event",
        "validate_user_task",
        "email_gateway",
        "send_email_task",
        "wait_verification_event",
        "complete_registration_task",
        "end_event",
    ]
    assert all(s["status"] == "completed" for s in steps), [s["status"] for s in steps]

    # Over REST: the step list, one step's detail, and the same step by its id.
    listed = (await _get(api, f"/api/v1/instances/{instance_id}/steps"))["steps"]
    assert listed == steps
    email = next(s for s in listed if s["node_id"] == "send_email_task")
    detail = await _get(api, f"/api/v1/instances/{instance_id}/steps/{email['step_id']}")
    assert detail == email
    assert detail["input"] == {
        "email": "u1@example.com",
        "template": "verification_email",
        "user_id": "u1",
    }
    assert detail["output"] == {"code": "C-42", "success": True}
    assert [(a["number"], a["status"], a["activity"]) for a in detail["attempts"]] == [
        (1, "completed", "SendEmailActivity")
    ]
    assert detail["node_type"] == "serviceTask"
    assert detail["duration_ms"] is not None and detail["duration_ms"] >= 0
    assert detail["started_at"] <= detail["ended_at"]
    review = next(s for s in listed if s["node_id"] == "validate_user_task")
    assert review["user_id"] == "u1"
    assert review["output"] == {"userValid": True}
    assert review["task_id"] is not None

    # The event log: paged, filtered by exact types, a comma list and a family.
    full = await _get(api, f"/api/v1/instances/{instance_id}/history", page_size=1000)
    assert full["next_page_token"] is None
    types = [e["type"] for e in full["events"]]
    assert types[0] == "process.started" and types[-1] == "process.completed"
    family = await _get(api, f"/api/v1/instances/{instance_id}/history", type="activity.*")
    assert {e["type"] for e in family["events"]} == {t for t in types if t.startswith("activity.")}
    listed_types = await api.get(
        f"/api/v1/instances/{instance_id}/history",
        params=[("type", "timer.fired,signal.received"), ("type", "process.completed")],
    )
    assert [e["type"] for e in listed_types.json()["events"]] == [
        t for t in types if t in ("signal.received", "process.completed", "timer.fired")
    ]
    page = await _get(api, f"/api/v1/instances/{instance_id}/history", page_size=5)
    assert len(page["events"]) == 5 and page["next_page_token"]
    second = await _get(
        api,
        f"/api/v1/instances/{instance_id}/history",
        page_size=5,
        page_token=page["next_page_token"],
    )
    assert [e["sequence"] for e in second["events"]] == [6, 7, 8, 9, 10]

    # Runtime rows moved to history; the instance, its variables and tasks still answer.
    async with services.database.session() as session:
        counts = [
            (
                await session.execute(select(func.count()).select_from(t).where(c == instance_id))
            ).scalar_one()
            for t, c in (
                (TaskInstance, TaskInstance.process_instance_id),
                (ProcessVariable, ProcessVariable.process_instance_id),
                (HistoricTaskInstance, HistoricTaskInstance.process_instance_id),
                (HistoricVariableInstance, HistoricVariableInstance.process_instance_id),
            )
        ]
    assert counts[:2] == [0, 0] and counts[2] == 1 and counts[3] > 0
    instance = await _get(api, f"/api/v1/instances/{instance_id}")
    assert instance["variables"]["registration_id"] == "reg-u1"
    tasks = (await _get(api, "/api/v1/tasks", instance_id=instance_id))["items"]
    assert [(t["element_id"], t["state"]) for t in tasks] == [("validate_user_task", "completed")]
    task = await _get(api, f"/api/v1/tasks/{tasks[0]['id']}")
    assert task["state"] == "completed"

    # The ended instance in the historic list.
    historic = await _get(api, f"/api/v1/history/instances/{instance_id}")
    assert historic["status"] == "completed"
    assert historic["definition_key"] == "userRegistration"
    assert historic["start_node_id"] == "start_event"
    assert historic["end_node_id"] == "end_event"
    found = await _get(
        api, "/api/v1/history/instances", definition_key="userRegistration", status="completed"
    )
    assert [i["id"] for i in found["items"]] == [instance_id]
    none = await _get(api, "/api/v1/history/instances", min_duration_ms=historic["duration_ms"] + 1)
    assert none["items"] == []


async def test_history_errors_name_the_problem(e2e: tuple[httpx.AsyncClient, Services]) -> None:
    api, _ = e2e
    missing = await api.get("/api/v1/instances/nope/history")
    assert missing.status_code == 404
    assert error(missing)["code"] == "NOT_FOUND"
    assert (await api.get("/api/v1/instances/nope/steps/1")).status_code == 404
    assert (await api.get("/api/v1/history/instances/nope")).status_code == 404
    bad_status = await api.get("/api/v1/history/instances", params={"status": "done"})
    assert bad_status.status_code == 400 and "status" in error(bad_status)["message"]
    naive = await api.get("/api/v1/history/instances", params={"ended_after": "2026-01-01T00:00"})
    assert naive.status_code == 400 and "ended_after" in error(naive)["message"]
    bad_token = await api.get("/api/v1/history/instances", params={"page_token": "zzz"})
    assert bad_token.status_code == 400 and "page_token" in error(bad_token)["message"]
