"""`/api/v1/signals` and `/api/v1/messages` against real databases and Temporal."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.rest.runtime_client import api, deploy_seed, error
from tests.services.support import SEED_VARIABLES, eventually
from tests.services.workflow_double import engine_services

__all__ = ["api", "engine_services"]


async def _waiting(api: httpx.AsyncClient, **extra: Any) -> str:
    body = {"definition_key": "userRegistration", "variables": SEED_VARIABLES, **extra}
    started = (await api.post("/api/v1/instances", json=body)).json()

    async def active() -> list[str]:
        got = await api.get(f"/api/v1/instances/{started['id']}")
        ids: list[str] = got.json()["active_element_ids"]
        return ids

    await eventually(active, bool)
    return str(started["id"])


async def test_signal_broadcast(api: httpx.AsyncClient) -> None:
    await deploy_seed(api)
    await _waiting(api)
    await _waiting(api)
    response = await api.post("/api/v1/signals", json={"name": "go", "variables": {"a": 1}})
    assert response.status_code == 200
    assert response.json() == {"delivered": 2, "started": 0, "started_instance_ids": []}
    nobody = await api.post("/api/v1/signals", json={"name": "unknown"})
    assert nobody.json() == {"delivered": 0, "started": 0, "started_instance_ids": []}
    empty = await api.post("/api/v1/signals", json={"name": ""})
    assert empty.status_code == 400
    assert error(empty)["code"] == "INVALID_ARGUMENT"


async def test_message_correlation(api: httpx.AsyncClient) -> None:
    await deploy_seed(api)
    target = await _waiting(api, business_key="bk-1")
    await _waiting(api, business_key="bk-2")
    ok = await api.post("/api/v1/messages", json={"name": "paid", "business_key": "bk-1"})
    assert ok.status_code == 200
    assert ok.json() == {"instance_id": target, "started": False}
    none = await api.post("/api/v1/messages", json={"name": "paid", "business_key": "bk-9"})
    assert none.status_code == 404
    assert error(none)["code"] == "NOT_FOUND"
    await _waiting(api, business_key="bk-3")  # bk-2 and bk-3 wait, whatever bk-1 did since
    several = await api.post("/api/v1/messages", json={"name": "paid"})
    assert several.status_code == 409
