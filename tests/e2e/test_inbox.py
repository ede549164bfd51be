"""Task inbox and task form in real Chromium against `wfe dev`.

Each test deploys its own small definition and acts as its own user, so tests sharing the
session's dev server never see each other's tasks in "My tasks".
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, expect

from tests.e2e.conftest import DESKTOP, ConsoleWatch, screenshot

pytestmark = pytest.mark.e2e

REVIEW_KEY = "e2eExpenseReview"

#: A user task with typed form fields; `amount` and `level` are declared integers, so the
#: API rejects a mistyped value too. Due in the past: the task is overdue at once.
REVIEW_DEFINITION: dict[str, Any] = {
    "process": {
        "id": "e2e-expense-review",
        "key": REVIEW_KEY,
        "name": "Expense review (e2e)",
        "variables": {
            "amount": {"type": "integer", "required": True},
            "approved": {"type": "boolean"},
            "decision": {"type": "string"},
            "note": {"type": "string"},
            "level": {"type": "integer"},
        },
    },
    "elements": [
        {"id": "start", "type": "startEvent", "outgoing": ["review"]},
        {
            "id": "review",
            "name": "Review expense",
            "type": "userTask",
            "config": {
                "candidate_groups": ["reviewers"],
                "priority": 70,
                "due_date": "2020-01-01T00:00:00Z",
                "form_fields": [
                    {"id": "amount", "label": "Amount", "type": "integer", "required": True},
                    {"id": "approved", "label": "Approved", "type": "boolean"},
                    {
                        "id": "decision",
                        "label": "Decision",
                        "type": "enum",
                        "options": ["accept", "reject"],
                        "required": True,
                    },
                    {"id": "note", "label": "Note", "type": "string"},
                ],
            },
            "outgoing": ["end"],
        },
        {"id": "end", "type": "endEvent"},
    ],
}


def _deploy(api: httpx.Client) -> int:
    response = api.post(
        "/api/v1/definitions",
        content=json.dumps(REVIEW_DEFINITION),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code in (200, 201), response.text
    definition_id: int = response.json()["id"]
    return definition_id


def _start(api: httpx.Client, *, amount: int, business_key: str) -> str:
    response = api.post(
        "/api/v1/instances",
        json={
            "definition_key": REVIEW_KEY,
            "variables": {"amount": amount},
            "business_key": business_key,
            "user_id": "starter",
        },
    )
    assert response.status_code == 201, response.text
    instance_id: str = response.json()["id"]
    return instance_id


def _task_of(api: httpx.Client, instance_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = api.get("/api/v1/tasks", params={"instance_id": instance_id}).json()["items"]
        if items:
            task: dict[str, Any] = items[0]
            return task
        time.sleep(0.2)
    pytest.fail(f"no task appeared for instance {instance_id} within {timeout}s")


def _wait_instance(api: httpx.Client, instance_id: str, status: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = api.get(f"/api/v1/instances/{instance_id}").json()["status"]
        if last == status:
            return
        time.sleep(0.2)
    pytest.fail(f"instance {instance_id} is {last}, not {status}, after {timeout}s")


def _act_as(page: Page, user: str, groups: str = "") -> None:
    page.locator("#acting-user").fill(user)
    page.locator("#acting-groups").fill(groups)
    page.get_by_role("button", name="Set", exact=True).click()
    expect(page.get_by_text(f"Acting as {user}")).to_be_visible()


def _row(page: Page, task_id: str) -> Any:
    return page.locator(f'tr[data-task-id="{task_id}"]')


def test_claim_then_complete_with_browser_and_api_validation(
    browser: Browser, base_url: str, api: httpx.Client
) -> None:
    # Not the `page` fixture: the API's 400 answer is part of this test, and Chromium logs
    # every 4xx response as a console error. That one line is allowed; nothing else is.
    context = browser.new_context(viewport=DESKTOP, base_url=base_url)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(20_000)
    watch = ConsoleWatch(page)
    try:
        _claim_and_complete(page, api)
    finally:
        context.close()
    unexpected = [
        p
        for p in watch.problems
        if not ("status of 400" in p and "/complete" in p and p.startswith("console error"))
    ]
    assert not unexpected, "the page logged problems:\n" + "\n".join(unexpected)
    assert len(watch.problems) == 1


def _claim_and_complete(page: Page, api: httpx.Client) -> None:
    _deploy(api)
    user = f"alice-{uuid.uuid4().hex[:6]}"
    instance_id = _start(api, amount=5, business_key=f"exp-{user}")
    task = _task_of(api, instance_id)

    page.goto("/#/tasks?tab=groups")
    _act_as(page, user, "reviewers")
    row = _row(page, task["id"])
    expect(row).to_be_visible()
    # Overdue: marked in words, not only by colour.
    expect(row.locator(".badge-overdue")).to_have_text("Overdue")
    expect(row).to_have_class("row-overdue")
    screenshot(page, "inbox-groups")

    row.get_by_role("button", name="Claim").click()
    expect(page.get_by_text("Claimed “Review expense”")).to_be_visible()
    # Claimed: no longer unassigned, so it leaves "My groups" ...
    expect(row).to_have_count(0)
    page.get_by_role("tab", name="My tasks").click()
    # ... and is in "My tasks".
    row = _row(page, task["id"])
    expect(row.locator(".cell-assignee")).to_have_text(user)
    screenshot(page, "inbox-mine")

    row.get_by_role("link", name="Review expense").click()
    expect(page.get_by_role("heading", name="Review expense", level=1)).to_be_visible()
    amount = page.get_by_label("Amount")
    # Pre-filled from the instance's variables.
    expect(amount).to_have_value("5")
    expect(page.locator("main")).not_to_contain_text("null")

    completes: list[Request] = []
    page.on(
        "request",
        lambda r: completes.append(r) if r.url.endswith("/complete") else None,
    )
    # Wrong types are stopped in the browser: nothing is sent.
    amount.fill("12.5")
    page.get_by_role("button", name="Complete").click()
    expect(page.get_by_text("Amount must be a whole number, got 12.5")).to_be_visible()
    expect(amount).to_have_attribute("aria-invalid", "true")
    described = amount.get_attribute("aria-describedby") or ""
    error_id = described.split()[-1]
    expect(page.locator(f"#{error_id}")).to_have_text("Amount must be a whole number, got 12.5")
    expect(page.get_by_text("Decision is required")).to_be_visible()
    expect(amount).to_be_focused()
    assert completes == []
    screenshot(page, "task-form-browser-errors")

    # A value the browser cannot judge (a declared integer set as JSON text) goes to the API,
    # which refuses it; its finding is shown against the JSON box.
    amount.fill("12")
    expect(amount).not_to_have_attribute("aria-invalid", "true")
    page.get_by_label("Decision").select_option(label="accept")
    page.get_by_label("Approved").check()
    page.get_by_text("More variables (JSON)").click()
    extra = page.get_by_label("More variables")
    extra.fill('{"level": "high"}')
    page.get_by_role("button", name="Complete").click()
    expect(extra.locator("xpath=..").locator(".field-error")).to_have_text(
        "variable 'level' must be an integer, got string"
    )
    expect(
        page.get_by_text("The server refused some values: see the marked fields.")
    ).to_be_visible()
    expect(extra).to_have_attribute("aria-invalid", "true")
    assert len(completes) == 1
    screenshot(page, "task-form-api-error")

    extra.fill('{"level": 3}')
    page.get_by_role("button", name="Complete").click()
    expect(page.get_by_text("Completed “Review expense”")).to_be_visible()
    expect(page.get_by_role("heading", name="Tasks", level=1)).to_be_visible()
    _wait_instance(api, instance_id, "completed")
    variables = api.get(f"/api/v1/instances/{instance_id}/variables").json()["variables"]
    assert variables["amount"] == 12
    assert variables["approved"] is True
    assert variables["decision"] == "accept"
    assert variables["level"] == 3
    assert "note" not in variables  # an empty optional field is left out


def test_unclaim_delegate_and_resolve(page: Page, api: httpx.Client) -> None:
    _deploy(api)
    user = f"bob-{uuid.uuid4().hex[:6]}"
    helper = f"carol-{uuid.uuid4().hex[:6]}"
    instance_id = _start(api, amount=7, business_key=f"exp-{user}")
    task = _task_of(api, instance_id)

    page.goto("/#/tasks?tab=groups")
    _act_as(page, user, "reviewers")
    _row(page, task["id"]).get_by_role("button", name="Claim").click()
    page.get_by_role("tab", name="My tasks").click()
    row = _row(page, task["id"])
    row.get_by_role("button", name="Unclaim").click()
    expect(page.get_by_text("Unclaimed “Review expense”")).to_be_visible()
    expect(row).to_have_count(0)
    assert api.get(f"/api/v1/tasks/{task['id']}").json()["assignee"] is None

    page.get_by_role("tab", name="My groups").click()
    _row(page, task["id"]).get_by_role("button", name="Claim").click()
    page.get_by_role("tab", name="My tasks").click()
    row = _row(page, task["id"])
    row.get_by_role("button", name="Delegate…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    # An empty user is refused in the dialog itself.
    dialog.get_by_role("button", name="Delegate").click()
    expect(dialog.get_by_text("Enter a user id")).to_be_visible()
    dialog.get_by_label("User id").fill(helper)
    screenshot(page, "inbox-delegate-dialog")
    dialog.get_by_role("button", name="Delegate").click()
    expect(page.get_by_text(f"Delegated to {helper}")).to_be_visible()
    stored = api.get(f"/api/v1/tasks/{task['id']}").json()
    assert (stored["assignee"], stored["owner"], stored["delegation"]) == (helper, user, "pending")

    # The delegate sees it in "My tasks", can only resolve it (not complete it).
    _act_as(page, helper)
    row = _row(page, task["id"])
    expect(row.locator(".cell-assignee")).to_contain_text(f"delegated by {user}")
    row.get_by_role("link", name="Review expense").click()
    expect(page.get_by_role("button", name="Complete")).to_be_disabled()
    expect(page.get_by_text(f"Delegated to you by {user}")).to_be_visible()
    screenshot(page, "task-delegated")
    page.get_by_role("button", name="Resolve").click()
    expect(page.get_by_text(f"Resolved: back to {user}")).to_be_visible()
    stored = api.get(f"/api/v1/tasks/{task['id']}").json()
    assert (stored["assignee"], stored["delegation"]) == (user, "resolved")


def test_inbox_updates_live_when_a_task_is_created(page: Page, api: httpx.Client) -> None:
    _deploy(api)
    user = f"dave-{uuid.uuid4().hex[:6]}"
    group = f"team-{uuid.uuid4().hex[:6]}"
    page.goto("/#/tasks?tab=groups")
    _act_as(page, user, group)
    expect(page.get_by_text("No unassigned tasks")).to_be_visible()
    screenshot(page, "inbox-empty")
    # A task for the default "reviewers" group does not show for this group; start one and
    # check it appears in "All open" without a reload.
    page.get_by_role("link", name="See all open tasks").click()
    expect(page.get_by_role("tab", name="All open")).to_have_attribute("aria-selected", "true")
    # The page is live once its event stream is open (it re-reads the list then, too).
    expect(page.locator('[data-live="on"]')).to_have_count(1)
    instance_id = _start(api, amount=1, business_key=f"live-{user}")
    task = _task_of(api, instance_id)
    expect(_row(page, task["id"])).to_be_visible(timeout=15_000)


def test_forms_module_types_in_the_browser(page: Page) -> None:
    """forms.js unit checks, run inside the page (no node test runner)."""
    page.goto("/#/tasks")
    result = page.evaluate(
        """async () => {
          const forms = await import('/static/js/forms.js');
          const { buildForm, normalizeType, fieldsFromDeclarations } = forms;
          const form = buildForm([
            { id: 'n', label: 'N', type: 'long', required: true },
            { id: 'x', label: 'X', type: 'double' },
            { id: 'b', label: 'B', type: 'bool' },
            { id: 'd', label: 'D', type: 'date' },
            { id: 't', label: 'T', type: 'datetime' },
            { id: 'e', label: 'E', type: 'enum',
              options: [{ value: 1, label: 'one' }, { value: 2, label: 'two' }] },
            { id: 'o', label: 'O', type: 'object' },
            { id: 'a', label: 'A', type: 'list' },
            { id: 's', label: 'S', type: 'string', default: 'hi' },
          ], { n: 3, t: '2026-03-01T12:30:00Z', e: 2, o: { k: 1 } });
          document.body.append(form.element);
          const q = (id) => form.element.querySelector(`[name="${id}"]`);
          const out = {};
          out.first = form.read();
          q('x').value = '2.5';
          q('a').value = '{"not": "a list"}';
          out.badArray = form.read();
          out.arrayError = form.element.querySelector('[data-field="a"] .field-error').textContent;
          q('a').value = '[1, 2]';
          q('o').value = '{bad json';
          out.badJson = form.read().ok;
          q('o').value = '{"k": 2}';
          q('d').value = '2026-02-03';
          q('b').checked = true;
          out.good = form.read();
          q('n').value = '';
          out.missing = form.read();
          out.missingText = form.element.querySelector('[data-field="n"] .field-error').textContent;
          out.unmatched = form.showErrors([
            { path: 'variables.x', message: 'x is wrong' },
            { path: 'variables.zzz', message: 'unknown' },
          ]);
          out.xInvalid = q('x').getAttribute('aria-invalid');
          out.types = ['int', 'Float', 'date-time', 'map', 'nonsense', undefined]
            .map(normalizeType);
          out.decl = fieldsFromDeclarations({ a: { type: 'integer', required: true, default: 1 } });
          form.element.remove();
          return out;
        }"""
    )
    assert result["first"]["ok"] is True
    first = result["first"]["values"]
    assert first["n"] == 3 and first["e"] == 2 and first["o"] == {"k": 1} and first["s"] == "hi"
    assert first["t"] == "2026-03-01T12:30:00.000Z"  # datetime-local round trip keeps the zone
    assert first["b"] is False and "x" not in first and "a" not in first
    assert result["badArray"]["ok"] is False
    assert result["arrayError"] == "A must be a JSON array, got an object"
    assert result["badJson"] is False
    good = result["good"]
    assert good["ok"] is True
    assert good["values"]["x"] == 2.5 and good["values"]["a"] == [1, 2]
    assert good["values"]["d"] == "2026-02-03" and good["values"]["b"] is True
    assert result["missing"]["ok"] is False and result["missingText"] == "N is required"
    assert result["unmatched"] == [{"path": "variables.zzz", "message": "unknown"}]
    assert result["xInvalid"] == "true"
    assert result["types"] == ["integer", "number", "datetime", "object", "string", "string"]
    assert result["decl"] == [
        {"id": "a", "label": "a", "type": "integer", "required": True, "default": 1}
    ]


def test_inbox_on_a_phone_and_by_keyboard(phone_page: Page, api: httpx.Client) -> None:
    _deploy(api)
    instance_id = _start(api, amount=2, business_key=f"phone-{uuid.uuid4().hex[:6]}")
    task = _task_of(api, instance_id)
    page = phone_page
    page.goto("/#/tasks?tab=all")
    expect(_row(page, task["id"])).to_be_attached()
    # The table scrolls inside its box; the page itself is no wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "inbox-phone")

    # Tabs follow the ARIA pattern: arrows move focus, Enter opens the tab.
    page.get_by_role("tab", name="All open").focus()
    page.keyboard.press("ArrowLeft")
    expect(page.get_by_role("tab", name="My groups")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("tab", name="My groups")).to_have_attribute("aria-selected", "true")
