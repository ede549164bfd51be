"""Prometheus metrics after a real instance run (the seed example over REST)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import REGISTRY

from tests.api.rest.test_history import _run_seed
from workflow_engine.api.rest.app import create_app
from workflow_engine.observability.metrics import sample
from workflow_engine.services.container import Services

KEY = "userRegistration"


@pytest.fixture
async def e2e(live_services: Services) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    transport = httpx.ASGITransport(app=create_app(live_services))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client, live_services


def _api_routes() -> set[str]:
    routes = set()
    for metric in REGISTRY.collect():
        if metric.name == "wfe_api_request_duration_seconds":
            routes |= {s.labels["route"] for s in metric.samples if "route" in s.labels}
    return routes


async def test_metrics_move_after_a_run(e2e: tuple[httpx.AsyncClient, Services]) -> None:
    api, _ = e2e
    before = {
        "started": sample("wfe_instances_started_total", {"definition": KEY}),
        "completed": sample("wfe_instances_completed_total", {"definition": KEY}),
        "ended": sample("wfe_instances_ended_total", {"definition": KEY, "status": "completed"}),
        "service_steps": sample("wfe_step_duration_seconds_count", {"node_type": "serviceTask"}),
        "user_steps": sample("wfe_step_duration_seconds_count", {"node_type": "userTask"}),
        "lag": sample("wfe_event_log_write_lag_seconds_count"),
    }
    instance_id = await _run_seed(api)

    assert sample("wfe_instances_started_total", {"definition": KEY}) == before["started"] + 1
    assert sample("wfe_instances_completed_total", {"definition": KEY}) == before["completed"] + 1
    assert (
        sample("wfe_instances_ended_total", {"definition": KEY, "status": "completed"})
        == before["ended"] + 1
    )
    # The seed example has two service tasks and one user task.
    service_steps = sample("wfe_step_duration_seconds_count", {"node_type": "serviceTask"})
    assert service_steps == before["service_steps"] + 2
    user_steps = sample("wfe_step_duration_seconds_count", {"node_type": "userTask"})
    assert user_steps == before["user_steps"] + 1
    assert sample("wfe_step_duration_seconds_sum", {"node_type": "userTask"}) > 0
    assert sample("wfe_event_log_write_lag_seconds_count") > before["lag"] + 10

    # Route templates, never raw paths with ids.
    routes = _api_routes()
    assert "/api/v1/instances/{instance_id}" in routes
    assert "/api/v1/tasks/{task_id}/complete" in routes
    assert not any(instance_id in r for r in routes)

    response = await api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for family in (
        "wfe_instances_started_total",
        "wfe_instances_completed_total",
        "wfe_instances_failed_total",
        "wfe_incidents_total",
        "wfe_step_duration_seconds_bucket",
        "wfe_api_request_duration_seconds_bucket",
        "wfe_event_log_write_lag_seconds_bucket",
        "wfe_open_tasks",
        "wfe_live_instances",
        "wfe_open_incidents",
    ):
        assert family in text, family
    assert sample("wfe_open_tasks") == 0.0
    assert sample("wfe_live_instances", {"status": "running"}) == 0.0


async def test_unmatched_paths_share_one_label(e2e: tuple[httpx.AsyncClient, Services]) -> None:
    api, _ = e2e
    before = sample(
        "wfe_api_request_duration_seconds_count",
        {"method": "GET", "route": "<unmatched>", "status": "404"},
    )
    for n in range(3):
        assert (await api.get(f"/no/such/path/{n}")).status_code == 404
    after = sample(
        "wfe_api_request_duration_seconds_count",
        {"method": "GET", "route": "<unmatched>", "status": "404"},
    )
    assert after == before + 3
