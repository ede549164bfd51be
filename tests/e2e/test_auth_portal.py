"""The portal with authentication on (issue 6): log in with a token, see only what one may.

A second `wfe dev` runs with `WFE_AUTH_ENABLED=true` and an HS256 secret. The module's set-up
deploys the same process key into tenants A and B (plus a key only B has) with admin tokens,
and starts instances as alice and bob (users of tenant A) and as a different alice of
tenant B. Each test logs in through the login page with its own token in a fresh browser
context; only the operator test starts an instance of its own to act on.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import AUTH_SECRET, DevServer, PageFactory, screenshot
from tests.paths import ROOT
from workflow_engine.crypto.envelope import is_envelope, open_value
from workflow_engine.crypto.keyring import KeyRing, load_or_create_dev_key
from workflow_engine.dev import DEV_KEY_FILE
from workflow_engine.security.tokens import mint_token

pytestmark = pytest.mark.e2e

TENANT_A = "tenant-a"
TENANT_B = "tenant-b"
KEY = "e2eAuthOrder"
B_ONLY_KEY = "e2eAuthSecretB"


def _definition(key: str, name: str, tenant: str) -> dict[str, Any]:
    """A user task assigned to whoever started the instance (`initiator`)."""
    return {
        "process": {
            "id": f"{key}-{tenant}",
            "key": key,
            "name": name,
            "tenant_id": tenant,
            "variables": {"item": {"type": "string"}},
        },
        "elements": [
            {
                "id": "start",
                "type": "startEvent",
                "config": {"initiator": "starter"},
                "outgoing": ["review"],
            },
            {
                "id": "review",
                "name": f"Review {name}",
                "type": "userTask",
                "config": {"assignee": "${starter}"},
                "outgoing": ["end"],
            },
            {"id": "end", "type": "endEvent"},
        ],
    }


def _token(user: str, *, roles: str, tenant: str | None, **extra: Any) -> str:
    return mint_token(
        secret=AUTH_SECRET,
        user_id=user,
        roles=roles.split(","),
        tenant_id=tenant,
        **extra,
    )


def _cli_token(user: str, *, roles: str, tenant: str) -> str:
    """A token from `wfe token`, as a developer would mint one for the portal."""
    env = {**os.environ, "WFE_AUTH_JWT_SECRET": AUTH_SECRET, "WFE_AUTH_ENABLED": "true"}
    done = subprocess.run(
        [sys.executable, "-m", "workflow_engine", "token", "--user", user, "--roles", roles,
         "--tenant", tenant],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip().splitlines()[-1]
    assert token.count(".") == 2, done.stdout
    return token


@dataclass
class World:
    """What the module's set-up created on the auth-on server."""

    base_url: str
    admin: str
    definition_a: int
    definition_b: int
    alice_instance: str
    bob_instance: str
    b_alice_instance: str


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _deploy(client: httpx.Client, admin: str, document: dict[str, Any]) -> int:
    response = client.post(
        "/api/v1/definitions",
        content=json.dumps(document),
        headers={**_as(admin), "Content-Type": "application/json"},
    )
    assert response.status_code in (200, 201), response.text
    definition_id: int = response.json()["id"]
    return definition_id


def _start(client: httpx.Client, token: str, definition_id: int, user: str) -> str:
    response = client.post(
        "/api/v1/instances",
        json={"definition_id": definition_id, "variables": {"item": user}, "user_id": user},
        headers=_as(token),
    )
    assert response.status_code == 201, response.text
    instance_id: str = response.json()["id"]
    return instance_id


def _wait_task(client: httpx.Client, admin: str, instance_id: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        items = client.get(
            "/api/v1/tasks", params={"instance_id": instance_id}, headers=_as(admin)
        ).json()["items"]
        if items:
            return
        time.sleep(0.2)
    pytest.fail(f"no task for instance {instance_id} within 30 s")


# Session scope, like the server: a module fixture would be built again each time a shuffled
# run comes back to this module, starting more instances for alice than the tests expect.
@pytest.fixture(scope="session")
def world(auth_server: DevServer) -> World:
    admin = _token("root", roles="admin", tenant=None)
    with httpx.Client(base_url=auth_server.base_url, timeout=30) as client:
        definition_a = _deploy(client, admin, _definition(KEY, "Order review A", TENANT_A))
        definition_b = _deploy(client, admin, _definition(KEY, "Order review B", TENANT_B))
        _deploy(client, admin, _definition(B_ONLY_KEY, "Secret of B", TENANT_B))
        alice = _token("alice", roles="user", tenant=TENANT_A)
        bob = _token("bob", roles="user", tenant=TENANT_A)
        b_alice = _token("alice", roles="user", tenant=TENANT_B)  # same name, other tenant
        world = World(
            base_url=auth_server.base_url,
            admin=admin,
            definition_a=definition_a,
            definition_b=definition_b,
            alice_instance=_start(client, alice, definition_a, "alice"),
            bob_instance=_start(client, bob, definition_a, "bob"),
            b_alice_instance=_start(client, b_alice, definition_b, "alice"),
        )
        for instance_id in (world.alice_instance, world.bob_instance, world.b_alice_instance):
            _wait_task(client, admin, instance_id)
    return world


def _login(page: Page, token: str, *, start: str = "/#/login") -> None:
    page.goto(start)
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Access token").fill(token)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#identity-user")).to_be_visible()


def _nav(page: Page) -> list[str]:
    return page.locator("nav.app-nav li:not([hidden]) a").all_inner_texts()


def test_without_a_token_the_portal_shows_the_login_page(
    new_page: PageFactory, world: World
) -> None:
    # No token: the portal goes to the login page without even asking the API (no 401).
    page = new_page(world.base_url)
    page.goto("/#/instances")
    expect(page).to_have_url(re.compile(r"#/login\?next=%2Finstances$"))
    expect(page.get_by_role("heading", name="Log in", level=1)).to_be_visible()
    expect(page.locator("#login-link")).to_be_visible()
    assert _nav(page) == []
    expect(page.locator("#auth-off-note")).to_have_count(0)
    screenshot(page, "auth-login")


def test_bad_and_expired_tokens_get_a_clear_error(new_page: PageFactory, world: World) -> None:
    page = new_page(world.base_url, allow=[(401, "/api/v1/me")])
    error = page.locator("#token-error")
    forged = mint_token(secret="another-secret-of-at-least-32-bytes!!", user_id="alice")
    expired = _token("alice", roles="user", tenant=TENANT_A, now=time.time() - 7200)
    cases = {
        "abc.def.ghi": "token is not a well-formed JWT",
        forged: "token signature does not verify",
        expired: "token has expired",
    }
    page.goto("/#/login")
    for token, reason in cases.items():
        page.get_by_label("Access token").fill(token)
        page.get_by_role("button", name="Log in").click()
        expect(error).to_contain_text(f"The server did not accept this token: {reason}")
        expect(page.get_by_label("Access token")).to_have_attribute("aria-invalid", "true")
        assert page.evaluate("localStorage.getItem('wfe.token')") is None
        expect(page).to_have_url(re.compile(r"#/login$"))
    screenshot(page, "auth-login-expired")

    # A token that stops working while stored (it expired): the next page load says why.
    page.evaluate(f"localStorage.setItem('wfe.token', {json.dumps(expired)})")
    page.goto("/#/definitions")
    expect(page).to_have_url(re.compile(r"#/login\?next=%2Fdefinitions$"))
    expect(error).to_have_text("You were logged out: token has expired (exp). Log in again.")
    assert page.evaluate("localStorage.getItem('wfe.token')") is None


def test_user_sees_only_their_tenant_instances_and_tasks(
    new_page: PageFactory, world: World
) -> None:
    # Reading bob's instance by its URL is a 404 for alice, exactly as if it did not exist.
    page = new_page(world.base_url, allow=[(404, f"/api/v1/instances/{world.bob_instance}")])
    _login(page, _cli_token("alice", roles="user", tenant=TENANT_A))
    # Users may not read statistics: the start page is the first page they may use.
    expect(page).to_have_url(re.compile(r"#/definitions$"))
    expect(page.locator("#identity-user")).to_have_text("Signed in as alice")
    expect(page.locator("#identity-roles")).to_have_text("user")
    expect(page.locator("#identity-tenant")).to_have_text(f"tenant {TENANT_A}")
    assert _nav(page) == ["Definitions", "Instances", "Tasks"]

    # Definitions: tenant A's version of the key, nothing of tenant B; no upload (no deploy).
    rows = page.locator("table.definitions-table tbody tr")
    expect(rows.filter(has_text="Order review A")).to_have_count(1)
    expect(page.locator("main")).not_to_contain_text("Order review B")
    expect(page.locator(f'tr[data-key="{B_ONLY_KEY}"]')).to_have_count(0)
    expect(page.locator("#definition-file")).to_have_count(0)
    screenshot(page, "auth-user-definitions")

    # Instances: only the one alice started in tenant A.
    page.goto("/#/instances")
    rows = page.locator("table.instances-table tbody tr")
    expect(page.locator(f'tr[data-id="{world.alice_instance}"]')).to_be_visible()
    expect(rows).to_have_count(1)
    screenshot(page, "auth-user-instances")

    # Her instance: readable, but no control, no variable edit, no signal / message form.
    page.get_by_role("link", name=world.alice_instance).click()
    expect(page.locator("#instance-diagram svg")).to_be_visible()
    expect(page.locator("#instance-status")).to_have_text("running")
    expect(page.locator("#instance-actions button")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("^Edit "))).to_have_count(0)
    expect(page.locator("form.send-form")).to_have_count(0)
    screenshot(page, "auth-user-instance")

    # Bob's instance in the same tenant: not found.
    page.goto(f"/#/instances/{world.bob_instance}")
    expect(page.locator(".state-error")).to_contain_text(
        f"instance {world.bob_instance} does not exist"
    )

    # Tasks: her own, in "My tasks" and in "All open"; never bob's or tenant B's alice's.
    for tab in ("mine", "all"):
        page.goto(f"/#/tasks?tab={tab}")
        task_rows = page.locator("table.task-table tbody tr")
        expect(task_rows).to_have_count(1)
        expect(task_rows.locator(f'a[href="#/instances/{world.alice_instance}"]')).to_have_count(1)
        expect(task_rows.locator('[data-action="assign"]')).to_have_count(0)  # task:manage
    screenshot(page, "auth-user-tasks")


def test_modeler_sees_definitions_but_no_instance_controls(
    new_page: PageFactory, world: World
) -> None:
    page = new_page(world.base_url)
    _login(page, _token("mia", roles="modeler", tenant=TENANT_A))
    expect(page).to_have_url(re.compile(r"#/definitions$"))
    assert _nav(page) == ["Definitions"]
    expect(page.locator("#definition-file")).to_be_visible()  # may deploy
    page.locator("table.definitions-table").get_by_role("link", name=KEY).click()
    expect(page.locator("#definition-diagram svg")).to_be_visible()
    expect(page.get_by_role("button", name="Suspend")).to_be_visible()
    expect(page.locator("form.start-form")).to_have_count(0)
    expect(page.get_by_role("link", name="Instances")).to_have_count(0)
    screenshot(page, "auth-modeler-definition")

    # An instance URL: the portal says which permission is missing and asks nothing.
    page.goto(f"/#/instances/{world.alice_instance}")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.locator(".state-error")).to_contain_text("instance:read")
    expect(page.locator("#instance-actions")).to_have_count(0)
    screenshot(page, "auth-modeler-not-allowed")


def test_operator_sees_the_tenant_and_uses_the_controls(
    new_page: PageFactory, world: World
) -> None:
    operator = _token("olga", roles="operator", tenant=TENANT_A)
    with httpx.Client(base_url=world.base_url, timeout=30) as client:
        own = _start(client, operator, world.definition_a, "olga")
    page = new_page(world.base_url)
    _login(page, operator)
    expect(page).to_have_url(re.compile(r"#/$"))  # operators read statistics
    assert _nav(page) == ["Dashboard", "Definitions", "Instances", "Tasks"]
    expect(page.locator(".stat-tiles")).to_be_visible()

    # Every instance of tenant A, none of tenant B.
    page.goto(f"/#/instances?definition_key={KEY}")
    for instance_id in (world.alice_instance, world.bob_instance, own):
        expect(page.locator(f'tr[data-id="{instance_id}"]')).to_be_visible()
    expect(page.locator(f'tr[data-id="{world.b_alice_instance}"]')).to_have_count(0)

    page.goto(f"/#/instances/{own}")
    actions = page.locator("#instance-actions")
    for label in ("Pause", "Cancel", "Terminate"):
        expect(actions.get_by_role("button", name=label)).to_be_visible()
    expect(page.get_by_role("button", name="Edit item")).to_be_visible()
    expect(page.locator("form.send-form")).to_be_visible()
    screenshot(page, "auth-operator-instance")
    actions.get_by_role("button", name="Pause").click()
    page.get_by_role("dialog").get_by_role("button", name="Pause").click()
    expect(page.locator("#instance-status")).to_have_text("paused", timeout=20_000)
    actions.get_by_role("button", name="Terminate").click()
    page.get_by_role("dialog").get_by_role("button", name="Terminate").click()
    expect(page.locator("#instance-status")).to_have_text("terminated", timeout=20_000)

    # The API recorded the operator, from the token, as the one who acted.
    with httpx.Client(base_url=world.base_url, timeout=30) as client:
        history = client.get(f"/api/v1/instances/{own}/history", headers=_as(world.admin))
    events = history.json()["events"]
    paused = [e for e in events if e["type"] == "process.paused"]
    assert paused and paused[0]["user_id"] == "olga", paused


CANDIDATE_KEY = "e2eAuthCandidate"
PIN = "9876-top-secret"


def _candidate_definition() -> dict[str, Any]:
    """A form task for candidate `dave` on instances others start; `pin` is sensitive."""
    return {
        "process": {
            "id": f"{CANDIDATE_KEY}-{TENANT_A}",
            "key": CANDIDATE_KEY,
            "name": "Candidate review",
            "tenant_id": TENANT_A,
            "variables": {
                "item": {"type": "string"},
                "amount": {"type": "integer"},
                "pin": {"type": "string", "sensitive": True},
            },
        },
        "elements": [
            {"id": "start", "type": "startEvent", "outgoing": ["review"]},
            {
                "id": "review",
                "name": "Check the order",
                "type": "userTask",
                "config": {
                    "candidate_users": ["dave"],
                    "form_fields": [
                        {"id": "item", "label": "Item", "type": "string"},
                        {"id": "amount", "label": "Amount", "type": "integer"},
                        {"id": "pin", "label": "PIN", "type": "string"},
                    ],
                },
                "outgoing": ["end"],
            },
            {"id": "end", "type": "endEvent"},
        ],
    }


def _stored_pin(server_data: Path, instance_id: str) -> Any:
    """The value the engine keeps (the API only ever shows it masked)."""
    # Running instances keep it in process_variable, ended ones in the history table.
    query = (
        "SELECT value FROM process_variable WHERE process_instance_id = ? AND name = 'pin' "
        "UNION ALL SELECT value FROM historic_variable_instance "
        "WHERE process_instance_id = ? AND name = 'pin'"
    )
    db = sqlite3.connect(f"file:{server_data / 'wfe.db'}?mode=ro", uri=True)
    try:
        row = db.execute(query, (instance_id, instance_id)).fetchone()
    finally:
        db.close()
    assert row is not None, f"no pin variable for {instance_id}"
    return json.loads(row[0])


def test_a_candidate_works_on_another_users_instance(
    new_page: PageFactory, world: World, auth_server: DevServer
) -> None:
    # Bob starts; dave is only the task's candidate: he may not read bob's instance, yet the
    # task form comes pre-filled from the task's variables, with no 404 (no console error).
    bob = _token("bob", roles="user", tenant=TENANT_A)
    with httpx.Client(base_url=world.base_url, timeout=30) as client:
        definition_id = _deploy(client, world.admin, _candidate_definition())
        response = client.post(
            "/api/v1/instances",
            json={
                "definition_id": definition_id,
                "variables": {"item": "bob's order", "amount": 42, "pin": PIN},
            },
            headers=_as(bob),
        )
        assert response.status_code == 201, response.text
        instance_id: str = response.json()["id"]
        _wait_task(client, world.admin, instance_id)

    page = new_page(world.base_url)
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/v1/" in r.url else None)
    _login(page, _token("dave", roles="user", tenant=TENANT_A), start="/#/login?next=/tasks")
    page.goto("/#/tasks?tab=groups")
    row = page.locator("table.task-table tbody tr").filter(has_text="Check the order")
    expect(row).to_have_count(1)
    # The process column names the process, never the task's element id, from the first
    # drawing on (read at once, no waiting: rows are drawn once their labels are known).
    assert "Candidate review v1" in row.locator("td").first.inner_text()
    row.get_by_role("link", name="Check the order").click()

    expect(page.get_by_role("heading", name="Check the order", level=1)).to_be_visible()
    expect(page.get_by_label("Item")).to_have_value("bob's order")
    expect(page.get_by_label("Amount")).to_have_value("42")
    # The sensitive variable reads "***": not pre-filled, so completing cannot overwrite it.
    expect(page.get_by_label("PIN")).to_have_value("")
    expect(page.locator("main")).not_to_contain_text(PIN)
    # The instance link stays (bob's instance itself is not dave's to read).
    facts = page.locator(".task-facts")
    expect(facts.locator(f'a[href="#/instances/{instance_id}"]')).to_be_visible()
    screenshot(page, "auth-candidate-task-form")
    assert any(u.endswith("/variables") and "/api/v1/tasks/" in u for u in asked), asked
    assert not any(f"/api/v1/instances/{instance_id}" in u for u in asked), asked

    page.locator(".task-facts").get_by_role("button", name="Claim").click()
    expect(page.get_by_role("button", name="Complete")).to_be_enabled()
    expect(page.get_by_label("Amount")).to_have_value("42")
    page.get_by_label("Amount").fill("43")
    page.get_by_role("button", name="Complete").click()
    expect(page.get_by_text("Completed “Check the order”")).to_be_visible()

    with httpx.Client(base_url=world.base_url, timeout=30) as client:
        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline:
            body = client.get(f"/api/v1/instances/{instance_id}", headers=_as(world.admin)).json()
            status = body["status"]
            if status == "completed":
                break
            time.sleep(0.2)
        assert status == "completed", status
    # At rest the PIN is sealed with wfe dev's key (AES-GCM), and only that key opens it.
    stored = _stored_pin(auth_server.data_dir, instance_id)
    assert is_envelope(stored) and PIN not in json.dumps(stored)
    keys, active, _ = load_or_create_dev_key(auth_server.data_dir / DEV_KEY_FILE)
    ring = KeyRing.from_texts(keys, active)
    assert ring is not None
    assert open_value(ring, stored, instance_id=instance_id, name="pin") == PIN


def test_inbox_labels_tasks_of_definitions_beyond_the_first_500(
    new_page: PageFactory, world: World
) -> None:
    # A tenant of its own with more definition versions than one page of the definitions list
    # (500, oldest first): the newest one's task is still labelled with its process name.
    tenant = "tenant-many"
    many = 501
    with httpx.Client(base_url=world.base_url, timeout=60) as client:
        for n in range(many):
            document = _definition(f"e2eMany{n:03d}", f"Filler {n}", tenant)
            _deploy(client, world.admin, document)
        newest = _deploy(client, world.admin, _definition("e2eManyLast", "Newest process", tenant))
        erin = _token("erin", roles="user", tenant=tenant)
        instance_id = _start(client, erin, newest, "erin")
        _wait_task(client, world.admin, instance_id)
    page = new_page(world.base_url)
    _login(page, erin, start="/#/login?next=/tasks")
    row = page.locator("table.task-table tbody tr")
    expect(row).to_have_count(1)
    cell = row.locator("td").first
    assert "Newest process v1" in cell.inner_text(), cell.inner_text()
    expect(cell.locator(f'a[href="#/instances/{instance_id}"]')).to_be_visible()


def test_logout_forgets_the_token(new_page: PageFactory, world: World) -> None:
    page = new_page(world.base_url)
    _login(page, _token("alice", roles="user", tenant=TENANT_A), start="/#/login?next=/tasks")
    expect(page).to_have_url(re.compile(r"#/tasks$"))
    assert page.evaluate("localStorage.getItem('wfe.token')")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"#/login$"))
    expect(page.locator("#login-link")).to_be_visible()
    assert page.evaluate("localStorage.getItem('wfe.token')") is None
    assert _nav(page) == []
    # Without the token every page leads back to the login page.
    page.goto("/#/definitions")
    expect(page).to_have_url(re.compile(r"#/login\?next=%2Fdefinitions$"))
    screenshot(page, "auth-logged-out")
