"""The dashboard in real Chromium against `wfe dev`: charts from /api/v1/stats, live refresh,
the empty state (a definition key with no instances: the shared dev server always has some).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.e2e


def _quick_definition(key: str) -> dict[str, Any]:
    return {
        "process": {"id": key, "key": key, "name": f"Quick {key}"},
        "elements": [
            {"id": "start", "type": "startEvent", "outgoing": ["work"]},
            {
                "id": "work",
                "type": "scriptTask",
                "config": {"script_format": "cel", "script": {"done": "${true}"}},
                "outgoing": ["end"],
            },
            {"id": "end", "type": "endEvent"},
        ],
    }


def _deploy(api: httpx.Client, definition: dict[str, Any]) -> None:
    response = api.post(
        "/api/v1/definitions",
        content=json.dumps(definition),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code in (200, 201), response.text


def _run(api: httpx.Client, key: str) -> str:
    response = api.post("/api/v1/instances", json={"definition_key": key, "user_id": "dash"})
    assert response.status_code == 201, response.text
    instance_id: str = response.json()["id"]
    return instance_id


def _wait_completed(api: httpx.Client, ids: list[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    pending = set(ids)
    while pending and time.monotonic() < deadline:
        for instance_id in list(pending):
            if api.get(f"/api/v1/instances/{instance_id}").json()["status"] == "completed":
                pending.discard(instance_id)
        time.sleep(0.2)
    assert not pending, f"instances not completed within {timeout}s: {pending}"


def _bar_value(page: Page, label: str) -> Any:
    figure = page.locator('figure:has(figcaption:text-is("Instances by status"))')
    return figure.locator(f'g.bar[data-label="{label}"] .bar-value')


def test_dashboard_charts_after_instances_ran_and_live_refresh(
    page: Page, api: httpx.Client
) -> None:
    key = f"e2eDash{uuid.uuid4().hex[:6]}"
    _deploy(api, _quick_definition(key))
    ids = [_run(api, key) for _ in range(3)]
    _wait_completed(api, ids)

    page.goto(f"/#/?range=1h&definition={key}")
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    expect(page.get_by_label("Definition")).to_have_value(key)
    expect(page.get_by_label("Time range")).to_have_value("1h")

    # Summary tiles.
    started = page.locator(".stat-tile:has(.stat-label:text-is('Started')) .stat-value")
    expect(started).to_have_text("3")
    # Throughput: an SVG line chart with title/desc, axes, three series and a table fallback.
    throughput = page.locator("figure:has(figcaption:text-matches('^Throughput'))")
    expect(throughput).to_be_visible()
    chart = throughput.locator("svg[role='img']")
    expect(chart.locator(":scope > title")).to_have_text("Throughput per minute (last hour)")
    expect(chart.locator(":scope > desc")).to_contain_text("3 started, 3 completed, 0 failed")
    expect(chart.locator("g.chart-series")).to_have_count(3)
    expect(chart.locator("g.chart-axis text.x-label").first).to_be_visible()
    throughput.get_by_text("Show the data as a table").click()
    table = throughput.locator("table")
    expect(table.locator("thead th")).to_have_text(["", "Started", "Completed", "Failed"])
    started_cells = table.locator("tbody tr td:nth-child(2)").all_inner_texts()
    assert sum(int(v) for v in started_cells) == 3
    # Status counts and durations.
    expect(_bar_value(page, "completed")).to_have_text("3")
    durations = page.locator(
        "section:has(h2:text-is('Durations per definition')) > .table-wrap table"
    )
    expect(durations.locator("tbody tr")).to_have_count(1)
    expect(durations.locator("tbody th")).to_have_text(key)
    expect(durations.locator("tbody td").first).to_have_text("3")
    expect(page.get_by_text("No instance is in incident.")).to_be_visible()
    screenshot(page, "dashboard-definition")

    # Live: one more instance completes; the dashboard follows without a reload.
    _wait_completed(api, [_run(api, key)])
    expect(_bar_value(page, "completed")).to_have_text("4", timeout=15_000)
    expect(started).to_have_text("4")

    # The time range selector changes the query (and so the bucket width).
    page.get_by_label("Time range").select_option("24h")
    expect(page).to_have_url(re.compile(rf"#/\?range=24h&definition={key}$"))
    expect(
        page.locator("figure:has(figcaption:text-matches('^Throughput')) svg > title")
    ).to_have_text("Throughput per 30 minutes (last 24 hours)")

    # Over every definition: the seeded instances are running.
    page.goto("/#/")
    expect(
        page.locator(".stat-tile:has(.stat-label:text-is('Running now')) .stat-value")
    ).not_to_have_text("0")
    expect(page.locator("figure")).not_to_have_count(0)
    screenshot(page, "dashboard")


def test_dashboard_empty_state_for_a_definition_without_instances(page: Page) -> None:
    key = f"e2eNothing{uuid.uuid4().hex[:6]}"
    page.goto(f"/#/?definition={key}")
    expect(
        page.get_by_text(f"No instances of {key} in the last hour, and none running.")
    ).to_be_visible()
    expect(page.locator("figure")).to_have_count(0)
    expect(page.get_by_role("link", name="Go to definitions")).to_be_visible()
    screenshot(page, "dashboard-empty")


def test_dashboard_on_a_phone(phone_page: Page) -> None:
    phone_page.goto("/#/?range=24h")
    expect(phone_page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    expect(phone_page.locator("figure").first).to_be_visible()
    # Nothing wider than the screen: charts scale, tables scroll inside their box.
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375
    screenshot(phone_page, "dashboard-phone")
