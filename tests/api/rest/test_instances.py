"""`/api/v1/instances` against real databases and Temporal (with the workflow double)."""

from __future__ import annotations

import uuid

import httpx

from tests.api.rest.runtime_client import api, deploy_seed, error
from tests.services.support import SEED_VARIABLES, eventually
from tests.services.workflow_double import engine_services

__all__ = ["api", "engine_services"]


async def _start(api: httpx.AsyncClient, **extra: object) -> dict[str, object]:
    body = {"definition_key": "userRegistration", "variables": SEED_VARIABLES, **extra}
    response = await api.post("/api/v1/instances", json=body)
    assert response.status_code == 201, response.text
    started: dict[str, object] = response.json()
    return started


async def test_start_get_and_list(api: httpx.AsyncClient) -> None:
    await deploy_seed(api)
    response = await api.post(
        "/api/v1/instances",
        json={
            "definition_key": "userRegistration",
            "variables": SEED_VARIABLES,
            "business_key": "bk-1",
            "user_id": "alice",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"/api/v1/instances/{body['id']}"
    assert body["status"] == "running"
    assert body["definition_key"] == "userRegistration"
    assert body["definition_version"] == 1
    assert body["business_key"] == "bk-1"
    assert body["start_user_id"] == "alice"
    assert body["variables"] == SEED_VARIABLES
    assert body["incidents"] == []

    async def fetch() -> dict[str, object]:
        got = await api.get(f"/api/v1/instances/{body['id']}")
        assert got.status_code == 200
        result: dict[str, object] = got.json()
        return result

    got = await eventually(fetch, lambda b: bool(b["active_element_ids"]))
    assert got["active_element_ids"] == ["review", "wait_go"]
    listed = await api.get("/api/v1/instances", params={"business_key": "bk-1"})
    assert [i["id"] for i in listed.json()["items"]] == [body["id"]]
    assert listed.json()["next_page_token"] is None
    none = await api.get("/api/v1/instances", params={"status": "completed"})
    assert none.json()["items"] == []
    bad = await api.get("/api/v1/instances", params={"status": "weird"})
    assert bad.status_code == 400
    assert "status must be one of" in error(bad)["message"]
    naive = await api.get("/api/v1/instances", params={"started_after": "2026-01-01T00:00:00"})
    assert naive.status_code == 400
    aware = await api.get("/api/v1/instances", params={"started_after": "2000-01-01T00:00:00Z"})
    assert len(aware.json()["items"]) == 1
    missing = await api.get("/api/v1/instances/nope")
    assert missing.status_code == 404
    assert error(missing)["code"] == "NOT_FOUND"


async def test_start_errors(api: httpx.AsyncClient) -> None:
    deployed = await deploy_seed(api)
    no_email = {k: v for k, v in SEED_VARIABLES.items() if k != "email"}
    response = await api.post(
        "/api/v1/instances", json={"definition_key": "userRegistration", "variables": no_email}
    )
    assert response.status_code == 400
    err = error(response)
    assert err["code"] == "VALIDATION_FAILED"
    assert "email" in err["message"]
    assert err["details"][0]["path"] == "variables.email"
    typo = await api.post("/api/v1/instances", json={"definition_kee": "userRegistration"})
    assert typo.status_code == 400
    assert error(typo)["code"] == "INVALID_ARGUMENT"
    unknown = await api.post("/api/v1/instances", json={"definition_key": "nope"})
    assert unknown.status_code == 404
    await api.post(f"/api/v1/definitions/{deployed['id']}/suspend")
    suspended = await api.post(
        "/api/v1/instances", json={"definition_id": deployed["id"], "variables": SEED_VARIABLES}
    )
    assert suspended.status_code == 409
    assert error(suspended)["code"] == "CONFLICT"


async def test_control_endpoints(api: httpx.AsyncClient) -> None:
    await deploy_seed(api)
    started = await _start(api)
    base = f"/api/v1/instances/{started['id']}"
    assert (await api.post(f"{base}/resume")).status_code == 409
    assert (await api.post(f"{base}/retry")).status_code == 409
    paused = await api.post(f"{base}/pause", json={"reason": "wait"})
    assert paused.status_code == 200
    assert paused.json() == {
        "instance_id": started["id"],
        "action": "pause",
        "accepted": True,
        "status": "paused",
    }

    async def status() -> str:
        return str((await api.get(base)).json()["status"])

    await eventually(status, lambda s: s == "paused")
    assert (await api.post(f"{base}/resume")).status_code == 200
    await eventually(status, lambda s: s == "running")
    # Terminate answers once the instance has ended, with the status it ended with.
    terminated = await api.post(f"{base}/terminate", json={"reason": "done"})
    assert terminated.status_code == 200
    assert terminated.json()["status"] == "terminated"
    assert await status() == "terminated"
    ended = (await api.get(base)).json()
    assert ended["end_reason"] == "done"
    assert ended["duration_ms"] is not None
    again = await api.post(f"{base}/cancel", json={"reason": "x"})
    assert again.status_code == 409
    assert "has ended" in error(again)["message"]
    assert (await api.post("/api/v1/instances/nope/pause")).status_code == 404


async def test_variables_get_and_put(api: httpx.AsyncClient) -> None:
    await deploy_seed(api)
    started = await _start(api)
    base = f"/api/v1/instances/{started['id']}/variables"
    got = await api.get(base)
    assert got.json() == {"instance_id": started["id"], "variables": SEED_VARIABLES}
    wrong = await api.put(base, json={"variables": {"email": False}})
    assert wrong.status_code == 400
    assert error(wrong)["details"][0]["path"] == "variables.email"
    put = await api.put(base, json={"variables": {"note": "hello"}})
    assert put.status_code == 200
    assert put.json()["variables"]["note"] == "hello"
    assert (await api.get(base)).json()["variables"]["note"] == "hello"
    assert (await api.get("/api/v1/instances/nope/variables")).status_code == 404


async def test_a_start_with_a_request_id_may_be_retried(api: httpx.AsyncClient) -> None:
    await deploy_seed(api)
    body = {
        "definition_key": "userRegistration",
        "variables": SEED_VARIABLES,
        "request_id": f"rest-{uuid.uuid4().hex}",
    }
    first = await api.post("/api/v1/instances", json=body)
    again = await api.post("/api/v1/instances", json=body)
    assert first.status_code == again.status_code == 201, again.text
    assert first.json()["id"] == again.json()["id"]
    listed = await api.get("/api/v1/instances")
    assert len(listed.json()["items"]) == 1
    too_long = await api.post("/api/v1/instances", json={**body, "request_id": "x" * 256})
    assert too_long.status_code in (400, 422)
    assert "request_id" in too_long.text
