"""Instance controls in real Chromium against `wfe dev` (auth off): pause / resume / terminate
with confirmation, an incident in the banner and its retry, the message form.

Each test deploys its own small definition (keys prefixed `e2eCtl`) and starts its own
instance, so nothing here depends on another test or on the order tests run in.
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

from tests.e2e.conftest import PageFactory, screenshot

pytestmark = pytest.mark.e2e

#: Waits at a user task: long enough for pause, resume and terminate.
WAITING: dict[str, Any] = {
    "process": {"id": "e2e-ctl-wait", "key": "e2eCtlWait", "name": "Waits for a person (e2e)"},
    "elements": [
        {"id": "start", "type": "startEvent", "outgoing": ["work"]},
        {"id": "work", "name": "Do the work", "type": "userTask", "outgoing": ["end"]},
        {"id": "end", "type": "endEvent"},
    ],
}

#: `amount / divisor` fails while divisor is 0: an incident at once (one attempt, no retries).
DIVIDE: dict[str, Any] = {
    "process": {
        "id": "e2e-ctl-divide",
        "key": "e2eCtlDivide",
        "name": "Divides (e2e)",
        "variables": {"amount": {"type": "integer"}, "divisor": {"type": "integer"}},
    },
    "elements": [
        {"id": "start", "type": "startEvent", "outgoing": ["divide"]},
        {
            "id": "divide",
            "name": "Divide",
            "type": "scriptTask",
            "config": {
                "script_format": "cel",
                "script": "${amount / divisor}",
                "result_variable": "share",
                "retry_policy": {"max_attempts": 1},
            },
            "outgoing": ["end"],
        },
        {"id": "end", "type": "endEvent"},
    ],
}

#: Waits for message `payment_received` correlated by `order_id`.
PAYMENT: dict[str, Any] = {
    "process": {
        "id": "e2e-ctl-payment",
        "key": "e2eCtlPayment",
        "name": "Waits for a payment (e2e)",
        "variables": {"order_id": {"type": "string", "required": True}},
    },
    "message_definitions": [{"id": "payment_received", "name": "Payment received"}],
    "elements": [
        {"id": "start", "type": "startEvent", "outgoing": ["paid"]},
        {
            "id": "paid",
            "name": "Payment received",
            "type": "intermediateCatchEvent",
            "config": {"message_ref": "payment_received", "correlation_key": "${order_id}"},
            "outgoing": ["end"],
        },
        {"id": "end", "type": "endEvent"},
    ],
}


def _deploy(api: httpx.Client, document: dict[str, Any]) -> int:
    response = api.post(
        "/api/v1/definitions",
        content=json.dumps(document),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code in (200, 201), response.text
    definition_id: int = response.json()["id"]
    return definition_id


def _start(api: httpx.Client, document: dict[str, Any], variables: dict[str, Any]) -> str:
    definition_id = _deploy(api, document)
    response = api.post(
        "/api/v1/instances",
        json={"definition_id": definition_id, "variables": variables, "user_id": "demo"},
    )
    assert response.status_code == 201, response.text
    instance_id: str = response.json()["id"]
    return instance_id


def _wait_status(api: httpx.Client, instance_id: str, status: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = api.get(f"/api/v1/instances/{instance_id}").json()["status"]
        if last == status:
            return
        time.sleep(0.2)
    pytest.fail(f"instance {instance_id} is {last}, not {status}, after {timeout}s")


def _confirm(page: Page, label: str, reason: str | None = None) -> None:
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    if reason is not None:
        dialog.get_by_label("Reason (optional)").fill(reason)
    dialog.get_by_role("button", name=label, exact=True).click()
    expect(page.get_by_role("dialog")).to_have_count(0)


def test_pause_resume_terminate_with_confirmation_update_live(
    page: Page, api: httpx.Client
) -> None:
    instance_id = _start(api, WAITING, {})
    page.goto(f"/#/instances/{instance_id}")
    status = page.locator("#instance-status")
    actions = page.locator("#instance-actions")
    expect(status).to_have_text("running")
    expect(page.locator(".live")).to_have_text("live")
    page.evaluate("window.__noReload = true")

    # Pause: a dialog first; Cancel in it changes nothing.
    actions.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("dialog")).to_contain_text("No new step starts")
    page.get_by_role("dialog").get_by_role("button", name="Cancel", exact=True).first.click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(status).to_have_text("running")
    actions.get_by_role("button", name="Pause").click()
    _confirm(page, "Pause", reason="e2e pause")
    expect(status).to_have_text("paused", timeout=20_000)
    expect(actions.get_by_role("button", name="Resume")).to_be_visible()
    expect(actions.get_by_role("button", name="Pause")).to_have_count(0)
    screenshot(page, "instance-paused")

    actions.get_by_role("button", name="Resume").click()
    _confirm(page, "Resume")
    expect(status).to_have_text("running", timeout=20_000)
    expect(actions.get_by_role("button", name="Pause")).to_be_visible()

    actions.get_by_role("button", name="Terminate").click()
    expect(page.get_by_role("dialog")).to_contain_text("cannot be undone")
    _confirm(page, "Terminate", reason="e2e terminate")
    expect(status).to_have_text("terminated", timeout=20_000)
    expect(actions.get_by_role("button")).to_have_count(0)
    expect(page.locator("#history-box")).to_contain_text("process.terminated")
    assert page.evaluate("window.__noReload") is True  # every change arrived live
    screenshot(page, "instance-terminated")

    body = api.get(f"/api/v1/instances/{instance_id}").json()
    assert body["status"] == "terminated"
    history = api.get(f"/api/v1/instances/{instance_id}/history").json()["events"]
    types = [event["type"] for event in history]
    assert types.index("process.paused") < types.index("process.resumed"), types


def test_incident_banner_retry_reopens_then_succeeds_after_a_fix(
    page: Page, api: httpx.Client
) -> None:
    instance_id = _start(api, DIVIDE, {"amount": 84, "divisor": 0})
    _wait_status(api, instance_id, "incident")
    page.goto(f"/#/instances/{instance_id}")
    banner = page.locator("#incident-banner .banner-incident")
    expect(banner).to_contain_text("1 open incident")
    expect(banner.locator("code")).to_have_text("divide")
    expect(page.locator("#instance-status")).to_have_text("incident")
    expect(
        page.locator('#instance-diagram g.node.node-failed[data-element-id="divide"]')
    ).to_be_visible()
    screenshot(page, "instance-incident")
    first_message = banner.locator("li").inner_text()

    # Retry without fixing anything: the step runs again, fails again, the incident re-opens.
    banner.get_by_role("button", name="Retry").click()
    _confirm(page, "Retry")
    expect(page.get_by_text("Retry requested")).to_be_visible()
    history = page.locator("#history-box")
    expect(history.locator('li[data-type="incident.resolved"]')).to_have_count(1, timeout=20_000)
    expect(history.locator('li[data-type="incident.created"]')).to_have_count(2, timeout=20_000)
    expect(banner).to_contain_text("1 open incident")
    expect(banner.locator("li")).to_have_text(first_message)
    expect(page.locator("#instance-status")).to_have_text("incident")

    # Fix the cause in the variables editor, retry: the instance completes.
    page.get_by_role("button", name="Edit divisor").click()
    page.get_by_label("New value of divisor (JSON)").fill("2")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("dialog").get_by_role("button", name="Change").click()
    expect(page.locator('tr[data-name="divisor"] td.value')).to_have_text("2")
    banner.get_by_role("button", name="Retry").click()
    _confirm(page, "Retry")
    expect(page.locator("#instance-status")).to_have_text("completed", timeout=20_000)
    expect(page.locator("#incident-banner .banner-incident")).to_have_count(0)
    expect(page.locator('tr[data-name="share"] td.value')).to_have_text("42")
    screenshot(page, "instance-incident-retried")
    assert api.get(f"/api/v1/instances/{instance_id}").json()["variables"]["share"] == 42


def test_message_form_correlates_to_the_waiting_instance(page: Page, api: httpx.Client) -> None:
    order = f"order-{uuid.uuid4().hex[:8]}"
    instance_id = _start(api, PAYMENT, {"order_id": order})
    page.goto(f"/#/instances/{instance_id}")
    expect(
        page.locator('#instance-diagram g.node.node-waiting[data-element-id="paid"]')
    ).to_be_visible(timeout=20_000)

    form = page.locator("form.send-form")
    form.get_by_label("Kind").select_option("message")
    expect(form.get_by_label("Correlation key")).to_be_visible()
    # The definition's message is offered as a suggestion.
    expect(form.locator('#send-names option[value="payment_received"]')).to_have_count(1)
    form.get_by_label("Name", exact=True).fill("payment_received")
    form.get_by_label("Correlation key").fill(order)
    form.get_by_label("Variables (JSON object, optional)").fill("[1, 2]")
    form.get_by_role("button", name="Send").click()
    expect(form.locator(".field-error")).to_contain_text("Variables: enter a JSON object")
    form.get_by_label("Variables (JSON object, optional)").fill('{"paid": true}')
    screenshot(page, "instance-message-form")
    form.get_by_role("button", name="Send").click()
    expect(page.get_by_text(f"Message delivered to {instance_id}")).to_be_visible()
    expect(page.locator("#instance-status")).to_have_text("completed", timeout=20_000)
    expect(page.locator('tr[data-name="paid"] td.value')).to_have_text("true")
    assert api.get(f"/api/v1/instances/{instance_id}").json()["variables"]["paid"] is True


def test_message_nobody_waits_for_is_refused_in_the_form(
    new_page: PageFactory, base_url: str, api: httpx.Client
) -> None:
    # The API's refusal is the point of this test: Chromium logs it as a console error.
    page = new_page(base_url, allow=[(404, "/api/v1/messages")])
    instance_id = _start(api, PAYMENT, {"order_id": f"order-{uuid.uuid4().hex[:8]}"})
    page.goto(f"/#/instances/{instance_id}")
    form = page.locator("form.send-form")
    form.get_by_label("Kind").select_option("message")
    form.get_by_label("Name", exact=True).fill("payment_received")
    form.get_by_label("Correlation key").fill("no-such-order")
    form.get_by_role("button", name="Send").click()
    expect(form.locator(".field-error")).not_to_be_empty()
    expect(page.locator("#instance-status")).to_have_text(re.compile("running"))
