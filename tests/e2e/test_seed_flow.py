"""The issue's "done when" flow in real Chromium against `wfe dev`.

Upload the seed example through the portal, start it from the generated form, complete
`validate_user_task` from the inbox, watch the instance diagram reach the signal wait live
(no reload), send the signal from the instance page and watch the instance complete.
"""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot
from tests.paths import SEED

pytestmark = pytest.mark.e2e

WAIT_NODE = "wait_verification_event"
TASK_NODE = "validate_user_task"


def _node(page: Page, node_id: str, state: str) -> str:
    return f'#instance-diagram g.node.node-{state}[data-element-id="{node_id}"]'


def test_seed_flow_from_upload_to_completion(page: Page, api: httpx.Client) -> None:
    # Upload → validate → deploy.
    page.goto("/#/definitions")
    expect(page.get_by_role("heading", name="Definitions", level=1)).to_be_visible()
    page.set_input_files("#definition-file", str(SEED))
    expect(page.locator(".validation-summary")).to_contain_text("user-registration.json is valid")
    screenshot(page, "definitions-upload-validated")
    page.get_by_role("button", name=re.compile(r"^Deploy")).click()
    page.wait_for_url(re.compile(r"#/definitions/\d+$"))
    expect(page.locator("#definition-diagram svg")).to_be_visible()
    expect(page.locator("pre.source")).to_contain_text('"key": "userRegistration"')
    screenshot(page, "definition-detail")

    # Start it from the form built from process.variables (acting user: demo).
    start = page.locator("form.start-form")
    start.get_by_role("textbox", name="user_id", exact=True).fill("u-42")
    start.get_by_role("textbox", name="email", exact=True).fill("ada@example.com")
    start.get_by_role("textbox", name="username", exact=True).fill("ada")
    page.get_by_label("Business key (optional)").fill("signup-ada")
    page.get_by_role("button", name="Start instance").click()
    page.wait_for_url(re.compile(r"#/instances/[^/?]+$"))
    instance_id = page.url.rsplit("/", 1)[1]
    expect(
        page.locator(_node(page, TASK_NODE, "waiting")).or_(
            page.locator(_node(page, TASK_NODE, "active"))
        )
    ).to_be_visible(timeout=30_000)
    screenshot(page, "instance-at-user-task")

    # A second tab keeps the instance page open: it must advance by itself, no reload.
    watcher = page.context.new_page()
    watcher.goto(f"/#/instances/{instance_id}")
    expect(watcher.locator("#instance-diagram svg")).to_be_visible()
    expect(watcher.locator(".live")).to_have_text("live")
    watcher.evaluate("window.__noReload = true")

    # Complete the user task from the inbox.
    # Other tests start seed instances for the same user: pick the task of THIS instance.
    page.goto("/#/tasks")
    task_link = page.locator(
        f'table.task-table tr:has(a[href="#/instances/{instance_id}"]) a[href^="#/tasks/"]'
    )
    expect(task_link).to_have_count(1, timeout=30_000)
    expect(task_link).to_have_text("验证用户信息")
    screenshot(page, "tasks-inbox")
    task_link.click()
    page.wait_for_url(re.compile(r"#/tasks/[^/?]+$"))
    page.get_by_label("More variables").fill('{"userValid": true}')
    screenshot(page, "task-complete-form")
    page.get_by_role("button", name="Complete").click()
    expect(page.get_by_text("Completed “验证用户信息”")).to_be_visible()

    # The watcher tab sees the diagram reach the signal wait live.
    expect(watcher.locator(_node(watcher, WAIT_NODE, "waiting"))).to_be_visible(timeout=30_000)
    expect(watcher.locator(_node(watcher, TASK_NODE, "done"))).to_be_visible()
    assert watcher.evaluate("window.__noReload") is True
    screenshot(watcher, "instance-waiting-for-signal")

    # Send the signal from the instance page; the instance completes, still without reload.
    watcher.get_by_label("Kind").select_option("signal")
    watcher.get_by_label("Name", exact=True).fill("email_verified")
    watcher.get_by_role("button", name="Send").click()
    expect(watcher.locator("#instance-status")).to_have_text("completed", timeout=30_000)
    expect(watcher.locator(_node(watcher, "end_event", "done"))).to_be_visible()
    assert watcher.evaluate("window.__noReload") is True
    expect(watcher.locator("#history-box")).to_contain_text("process.completed")
    screenshot(watcher, "instance-completed")

    # The API agrees.
    body = api.get(f"/api/v1/instances/{instance_id}").json()
    assert body["status"] == "completed"
    assert body["business_key"] == "signup-ada"
    assert body["variables"]["email"] == "ada@example.com"
    watcher.close()
