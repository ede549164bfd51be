"""`POST /api/v1/signals` reports the instances its signal start events started; `request_id`
makes signals and messages idempotent."""

from __future__ import annotations

import json
import uuid

import httpx

from tests.api.rest.runtime_client import JSON, api
from tests.services.support import message_start_definition
from tests.services.test_signal_starts import started_by_signal
from tests.services.workflow_double import engine_services, received
from workflow_engine.services.container import Services

__all__ = ["api", "engine_services"]


async def test_signal_answer_counts_started_instances(
    api: httpx.AsyncClient, engine_services: Services
) -> None:
    for key in ("orders", "audit"):
        body = json.dumps(started_by_signal(key)).encode()
        deployed = await api.post("/api/v1/definitions", content=body, headers=JSON)
        assert deployed.status_code in (200, 201), deployed.text

    response = await api.post(
        "/api/v1/signals", json={"name": "Order placed", "variables": {"order": "o-1"}}
    )

    assert response.status_code == 200
    answer = response.json()
    assert answer["delivered"] == 0
    assert answer["started"] == 2
    ids = answer["started_instance_ids"]
    assert len(set(ids)) == 2
    keys = set()
    for instance_id in ids:
        got = (await api.get(f"/api/v1/instances/{instance_id}")).json()
        keys.add(got["definition_key"])
        assert engine_services.temporal is not None
        start = (await received(engine_services.temporal, instance_id)).start
        assert (start["start_node_id"], start["variables"]) == ("by_signal", {"order": "o-1"})
    assert keys == {"orders", "audit"}
    nothing = await api.post("/api/v1/signals", json={"name": "Order shipped"})
    assert nothing.json() == {"delivered": 0, "started": 0, "started_instance_ids": []}


async def test_request_id_repeats_answer_the_same_and_start_nothing_twice(
    api: httpx.AsyncClient, engine_services: Services
) -> None:
    body = json.dumps(started_by_signal("orders")).encode()
    deployed = await api.post("/api/v1/definitions", content=body, headers=JSON)
    assert deployed.status_code in (200, 201), deployed.text
    request_id = f"client-{uuid.uuid4()}"
    signal = {"name": "Order placed", "variables": {"order": "o-1"}, "request_id": request_id}

    first = await api.post("/api/v1/signals", json=signal)
    again = await api.post("/api/v1/signals", json=signal)

    assert first.status_code == again.status_code == 200
    assert first.json()["started"] == 1
    assert again.json() == first.json()
    listed = (await api.get("/api/v1/instances", params={"definition_key": "orders"})).json()
    assert [i["id"] for i in listed["items"]] == first.json()["started_instance_ids"]
    other = await api.post("/api/v1/signals", json={**signal, "variables": {"order": "o-2"}})
    assert other.status_code == 409, other.text
    assert other.json()["error"]["code"] == "CONFLICT"
    assert request_id in other.json()["error"]["message"]
    too_long = await api.post("/api/v1/signals", json={**signal, "request_id": "x" * 256})
    assert too_long.status_code in (400, 422), too_long.text
    assert "request_id" in too_long.text


async def test_message_request_id_answers_the_started_instance_again(
    api: httpx.AsyncClient, engine_services: Services
) -> None:
    body = json.dumps(message_start_definition("payments", "paid")).encode()
    deployed = await api.post("/api/v1/definitions", content=body, headers=JSON)
    assert deployed.status_code in (200, 201), deployed.text
    message = {"name": "paid", "business_key": "b-1", "request_id": f"client-{uuid.uuid4()}"}

    first = await api.post("/api/v1/messages", json=message)
    again = await api.post("/api/v1/messages", json=message)

    assert first.status_code == again.status_code == 200, first.text
    assert first.json()["started"] is True
    assert again.json() == first.json()
    listed = (await api.get("/api/v1/instances", params={"definition_key": "payments"})).json()
    assert [i["id"] for i in listed["items"]] == [first.json()["instance_id"]]
    # Without a request id the same message is a new one (b-2: not the started instance's key).
    without = await api.post("/api/v1/messages", json={"name": "paid", "business_key": "b-2"})
    assert without.json()["started"] is True
    assert without.json()["instance_id"] != first.json()["instance_id"]
