"""`POST /api/v1/signals` reports the instances its signal start events started."""

from __future__ import annotations

import json

import httpx

from tests.api.rest.runtime_client import JSON, api
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
