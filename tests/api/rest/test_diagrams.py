"""`GET /definitions/{id}/diagram` (SVG by default) and `GET /instances/{id}/diagram` (SVG with
the run-time state), the latter against the seed example on the real interpreter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from lxml import etree

from tests.api.rest.runtime_client import deploy_seed
from tests.model.svg.geometry import classes, drawn_bounds, flow_groups, node_groups, parse
from tests.paths import CONFORMANCE
from tests.services.support import SEED_VARIABLES, eventually
from workflow_engine.api.rest.app import create_app
from workflow_engine.model.bpmn import Bounds
from workflow_engine.model.bpmn.namespaces import BPMNDI, DC
from workflow_engine.services.container import Services

XML = {"content-type": "application/xml"}
STATES = {"node-active", "node-done", "node-failed", "node-waiting"}


def _states(svg: str) -> dict[str, set[str]]:
    return {k: classes(g) & STATES for k, g in node_groups(parse(svg)).items()}


def _taken(svg: str) -> set[str]:
    return {k for k, g in flow_groups(parse(svg)).items() if "flow-taken" in classes(g)}


async def test_definition_diagram_is_svg_by_default(client: httpx.AsyncClient) -> None:
    deployed = await deploy_seed(client)
    response = await client.get(f"/api/v1/definitions/{deployed['id']}/diagram")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("image/svg+xml")
    root = parse(response.text)
    assert set(node_groups(root)) >= {"start_event", "validate_user_task", "end_event"}
    assert all(not states for states in _states(response.text).values())
    bpmn = await client.get(
        f"/api/v1/definitions/{deployed['id']}/diagram", params={"format": "bpmn"}
    )
    assert bpmn.headers["content-type"].startswith("application/xml")
    assert b"bpmndi:BPMNDiagram" in bpmn.content


async def test_imported_bpmn_keeps_the_modelers_coordinates(client: httpx.AsyncClient) -> None:
    xml = (CONFORMANCE / "lib-bpmn-engine" / "fork-controlled-parallel-join.bpmn").read_bytes()
    response = await client.post("/api/v1/definitions", content=xml, headers=XML)
    assert response.status_code == 201, response.text
    svg = (await client.get(f"/api/v1/definitions/{response.json()['id']}/diagram")).text
    drawn = {k: drawn_bounds(g) for k, g in node_groups(parse(svg)).items()}
    given: dict[str, Bounds] = {}
    for shape in etree.fromstring(xml).iter(f"{{{BPMNDI}}}BPMNShape"):
        bounds = shape.find(f"{{{DC}}}Bounds")
        assert bounds is not None
        values = (float(bounds.get(k, "nan")) for k in ("x", "y", "width", "height"))
        given[str(shape.get("bpmnElement"))] = Bounds(*values)
    assert drawn and set(drawn) <= set(given)
    for node_id, box in drawn.items():
        assert box == given[node_id], node_id


async def test_diagram_errors(client: httpx.AsyncClient) -> None:
    deployed = await deploy_seed(client)
    bad = await client.get(f"/api/v1/definitions/{deployed['id']}/diagram?format=png")
    assert bad.status_code == 400
    assert "png" in bad.json()["error"]["message"]
    missing = await client.get("/api/v1/definitions/999999/diagram")
    assert missing.status_code == 404
    no_instance = await client.get("/api/v1/instances/no-such-instance/diagram")
    assert no_instance.status_code == 404
    assert "no-such-instance" in no_instance.json()["error"]["message"]


@pytest.fixture
async def live(live_services: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(live_services))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
        yield api


async def _diagram(api: httpx.AsyncClient, instance_id: str) -> str:
    response = await api.get(f"/api/v1/instances/{instance_id}/diagram")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.headers["cache-control"] == "no-store"
    return response.text


async def _instance(api: httpx.AsyncClient, instance_id: str) -> dict[str, Any]:
    body: dict[str, Any] = (await api.get(f"/api/v1/instances/{instance_id}")).json()
    return body


async def test_instance_diagram_follows_the_seed_example(live: httpx.AsyncClient) -> None:
    api = live
    await deploy_seed(api)
    started = await api.post(
        "/api/v1/instances",
        json={"definition_key": "userRegistration", "variables": SEED_VARIABLES, "user_id": "u1"},
    )
    assert started.status_code == 201, started.text
    instance_id = str(started.json()["id"])

    async def open_tasks() -> list[dict[str, Any]]:
        response = await api.get("/api/v1/tasks", params={"instance_id": instance_id})
        return [t for t in response.json()["items"] if t["state"] != "completed"]

    (task,) = await eventually(open_tasks, bool, within=30)
    svg = await eventually(
        lambda: _diagram(api, instance_id),
        lambda s: _states(s)["validate_user_task"] == {"node-waiting"},
        within=30,
    )
    states = _states(svg)
    assert states["start_event"] == {"node-done"}
    marked = {k for k, v in states.items() if v}
    assert marked == {"start_event", "validate_user_task"}
    assert _taken(svg) == {"start_event->validate_user_task"}

    done = await api.post(
        f"/api/v1/tasks/{task['id']}/complete",
        json={"variables": {"userValid": True}, "user_id": "u1"},
    )
    assert done.status_code == 200, done.text
    svg = await eventually(
        lambda: _diagram(api, instance_id),
        lambda s: _states(s)["wait_verification_event"] == {"node-waiting"},
        within=30,
    )
    states = _states(svg)
    for node_id in ("start_event", "validate_user_task", "email_gateway", "send_email_task"):
        assert states[node_id] == {"node-done"}, node_id
    for node_id in ("reject_registration_task", "complete_registration_task", "end_event"):
        assert states[node_id] == set(), node_id
    assert _taken(svg) == {
        "start_event->validate_user_task",
        "validate_user_task->email_gateway",
        "email_valid_path",
        "send_email_task->wait_verification_event",
    }

    signal = await api.post("/api/v1/signals", json={"name": "email_verified"})
    assert signal.json() == {"delivered": 1, "started": 0, "started_instance_ids": []}
    await eventually(
        lambda: _instance(api, instance_id), lambda b: b["status"] == "completed", within=30
    )
    svg = await _diagram(api, instance_id)
    states = _states(svg)
    path = [
        "start_event",
        "validate_user_task",
        "email_gateway",
        "send_email_task",
        "wait_verification_event",
        "complete_registration_task",
        "end_event",
    ]
    for node_id in path:
        assert states[node_id] == {"node-done"}, node_id
    assert states["reject_registration_task"] == set()
    taken = _taken(svg)
    assert "reject_path" not in taken
    assert "reject_registration_task->end_event" not in taken
    assert {"wait_verification_event->complete_registration_task",
            "complete_registration_task->end_event"} <= taken  # fmt: skip
