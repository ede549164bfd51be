"""`/api/v1/tasks` against real databases and Temporal (with the workflow double)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.rest.runtime_client import api, deploy_seed, error
from tests.services.support import SEED_VARIABLES, eventually
from tests.services.workflow_double import engine_services

__all__ = ["api", "engine_services"]


async def _task(api: httpx.AsyncClient, user_id: str | None = None) -> dict[str, Any]:
    await deploy_seed(api)
    body: dict[str, Any] = {"definition_key": "userRegistration", "variables": SEED_VARIABLES}
    if user_id:
        body["user_id"] = user_id
    started = (await api.post("/api/v1/instances", json=body)).json()

    async def tasks() -> list[dict[str, Any]]:
        response = await api.get("/api/v1/tasks", params={"instance_id": started["id"]})
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    return (await eventually(tasks, bool))[0]


async def test_inbox_and_transitions(api: httpx.AsyncClient) -> None:
    task = await _task(api)
    base = f"/api/v1/tasks/{task['id']}"
    assert task["state"] == "created"
    assert task["element_id"] == "review"
    assert task["candidate_groups"] == ["staff"]
    group = await api.get("/api/v1/tasks", params={"candidate_group": "staff"})
    assert [t["id"] for t in group.json()["items"]] == [task["id"]]
    assert (await api.get(base)).json()["id"] == task["id"]
    assert (await api.get("/api/v1/tasks/nope")).status_code == 404
    no_user = await api.post(f"{base}/claim", json={})
    assert no_user.status_code == 400
    claimed = await api.post(f"{base}/claim", json={"user_id": "bob"})
    assert claimed.status_code == 200
    assert (claimed.json()["assignee"], claimed.json()["state"]) == ("bob", "claimed")
    taken = await api.post(f"{base}/claim", json={"user_id": "carol"})
    assert taken.status_code == 409
    assert "already claimed by bob" in error(taken)["message"]
    mine = await api.get("/api/v1/tasks", params={"assignee": "bob", "state": "claimed"})
    assert len(mine.json()["items"]) == 1
    delegated = await api.post(f"{base}/delegate", json={"user_id": "helper"})
    assert delegated.json()["owner"] == "bob"
    assert delegated.json()["delegation"] == "pending"
    resolved = await api.post(f"{base}/resolve")
    assert resolved.json()["assignee"] == "bob"
    unclaimed = await api.post(f"{base}/unclaim")
    assert unclaimed.json()["assignee"] is None
    assigned = await api.post(f"{base}/assign", json={"user_id": "dave"})
    assert assigned.json()["assignee"] == "dave"
    bad_state = await api.get("/api/v1/tasks", params={"state": "open"})
    assert bad_state.status_code == 400


async def test_complete(api: httpx.AsyncClient) -> None:
    task = await _task(api, user_id="alice")
    base = f"/api/v1/tasks/{task['id']}"
    rejected = await api.post(f"{base}/complete", json={"variables": {"bad": 1}})
    assert rejected.status_code == 400
    assert "'bad' is not allowed" in error(rejected)["message"]
    wrong_type = await api.post(f"{base}/complete", json={"variables": {"email": 3}})
    assert wrong_type.status_code == 400
    done = await api.post(
        f"{base}/complete", json={"variables": {"userValid": True}, "user_id": "alice"}
    )
    assert done.status_code == 200, done.text
    assert done.json() == {"task_id": task["id"], "node_id": "review", "instance_status": "running"}
    assert (await api.get(base)).json()["state"] == "completed"
    twice = await api.post(f"{base}/complete")
    assert twice.status_code == 409


async def test_task_variables_are_the_instances(api: httpx.AsyncClient) -> None:
    task = await _task(api, user_id="alice")
    url = f"/api/v1/tasks/{task['id']}/variables"
    got = await api.get(url)
    assert got.status_code == 200, got.text
    instance = await api.get(f"/api/v1/instances/{task['instance_id']}/variables")
    assert got.json() == {"task_id": task["id"], **instance.json()}
    assert got.json()["variables"].items() >= SEED_VARIABLES.items()
    missing = await api.get("/api/v1/tasks/nope/variables")
    assert missing.status_code == 404
    assert error(missing)["message"] == "task nope does not exist"
