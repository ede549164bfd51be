"""The seed example end to end: REST → services → the real interpreter on Temporal → database.

Start `user-registration.json` with user_id / email / username, complete
`validate_user_task`, signal `email_verified`, and read `completed` back from the API. The
seed's service-task activities are test activities registered on the test worker by name, as
any user's worker would.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.api.live_engine import CALLS
from tests.api.rest.runtime_client import deploy_seed
from tests.paths import SEED
from tests.services.support import SEED_VARIABLES, eventually
from workflow_engine.api.rest.app import create_app
from workflow_engine.services.container import Services
from workflow_engine.store.tables import HistoricProcessInstance


@pytest.fixture
async def e2e(live_services: Services) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    transport = httpx.ASGITransport(app=create_app(live_services))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client, live_services


async def _instance(api: httpx.AsyncClient, instance_id: str) -> dict[str, Any]:
    response = await api.get(f"/api/v1/instances/{instance_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _start_and_complete_review(api: httpx.AsyncClient, *, valid: bool) -> str:
    await deploy_seed(api)
    started = await api.post(
        "/api/v1/instances",
        json={"definition_key": "userRegistration", "variables": SEED_VARIABLES, "user_id": "u1"},
    )
    assert started.status_code == 201, started.text
    instance_id = str(started.json()["id"])

    async def open_tasks() -> list[dict[str, Any]]:
        response = await api.get("/api/v1/tasks", params={"instance_id": instance_id})
        items: list[dict[str, Any]] = response.json()["items"]
        return [t for t in items if t["state"] != "completed"]

    tasks = await eventually(open_tasks, bool, within=30)
    task = tasks[0]
    assert task["element_id"] == "validate_user_task"
    assert task["assignee"] == "u1"  # ${initiator}
    assert task["form_key"] == "validate-user-form"
    done = await api.post(
        f"/api/v1/tasks/{task['id']}/complete",
        json={"variables": {"userValid": valid}, "user_id": "u1"},
    )
    assert done.status_code == 200, done.text
    assert done.json()["node_id"] == "validate_user_task"
    return instance_id


async def test_seed_example_valid_user_completes(e2e: tuple[httpx.AsyncClient, Services]) -> None:
    api, services = e2e
    instance_id = await _start_and_complete_review(api, valid=True)
    waiting = await eventually(
        lambda: _instance(api, instance_id),
        lambda b: b["active_element_ids"] == ["wait_verification_event"],
        within=30,
    )
    assert waiting["variables"]["verification_code"] == "C-42"
    assert waiting["variables"]["email_sent"] is True
    signal = await api.post("/api/v1/signals", json={"name": "email_verified"})
    assert signal.json() == {"delivered": 1, "started": 0, "started_instance_ids": []}
    final = await eventually(
        lambda: _instance(api, instance_id), lambda b: b["status"] == "completed", within=30
    )
    assert final["variables"]["registration_id"] == "reg-u1"
    assert final["end_time"] is not None
    assert final["active_element_ids"] == []
    names = [name for name, _ in CALLS]
    assert names == ["SendEmailActivity", "CompleteRegistrationActivity"]
    assert CALLS[0][1] == {
        "email": "u1@example.com",
        "template": "verification_email",
        "user_id": "u1",
    }
    async with services.database.session() as session:
        history = (await session.execute(select(HistoricProcessInstance))).scalars().all()
    assert [(h.process_instance_id, h.status) for h in history] == [(instance_id, "completed")]
    again = await api.post("/api/v1/signals", json={"name": "email_verified"})
    assert again.json() == {"delivered": 0, "started": 0, "started_instance_ids": []}


async def test_seed_example_invalid_user_is_rejected(
    e2e: tuple[httpx.AsyncClient, Services],
) -> None:
    api, _ = e2e
    instance_id = await _start_and_complete_review(api, valid=False)
    await eventually(
        lambda: _instance(api, instance_id), lambda b: b["status"] == "completed", within=30
    )
    assert [name for name, _ in CALLS] == ["RejectRegistrationActivity"]


async def test_seed_example_left_alone_times_out(e2e: tuple[httpx.AsyncClient, Services]) -> None:
    """The seed's `process.timeout` (PT5M) ends an instance nobody works on as `timed_out`.

    The copy differs from the seed only in that timeout (PT3S), so the test takes seconds.
    """
    api, _ = e2e
    document = json.loads(SEED.read_text(encoding="utf-8"))
    assert document["process"]["timeout"] == "PT5M"
    document["process"]["timeout"] = "PT3S"
    deployed = await api.post(
        "/api/v1/definitions",
        content=json.dumps(document).encode(),
        headers={"content-type": "application/json"},
    )
    assert deployed.status_code == 201, deployed.text
    started = await api.post(
        "/api/v1/instances",
        json={"definition_id": deployed.json()["id"], "variables": SEED_VARIABLES, "user_id": "u1"},
    )
    assert started.status_code == 201, started.text
    instance_id = str(started.json()["id"])
    final = await eventually(
        lambda: _instance(api, instance_id), lambda b: b["status"] == "timed_out", within=30
    )
    assert final["end_time"] is not None
    tasks = (await api.get("/api/v1/tasks", params={"instance_id": instance_id})).json()["items"]
    assert [t["state"] for t in tasks] == ["cancelled"]
    assert CALLS == []
