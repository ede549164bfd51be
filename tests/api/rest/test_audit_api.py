"""`GET /api/v1/audit`: REST actions appear with who / what / from where; filters, pages, errors.

Authentication off (the shared `client` fixture) and on (real HS256 tokens): with auth on the
actor is the token's user, only `audit:read` (admins) may read, and refusals are recorded.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.api.rest.conftest import EXAMPLE
from workflow_engine.api.rest.app import create_app
from workflow_engine.config import load_settings
from workflow_engine.security.tokens import mint_token
from workflow_engine.services.container import build_services

JSON = {"content-type": "application/json"}
SECRET = "h4-audit-test-secret-0123456789abcdef"


def _seed_without_tenant() -> bytes:
    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    del document["process"]["tenant_id"]
    return json.dumps(document).encode()


def _bearer(user: str, roles: list[str], tenant: str | None = None) -> dict[str, str]:
    token = mint_token(secret=SECRET, user_id=user, roles=roles, tenant_id=tenant)
    return {"authorization": f"Bearer {token}"}


@asynccontextmanager
async def _auth_client(db_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = load_settings(
        database_url=db_url, data_dir=tmp_path, auth_enabled=True, auth_jwt_secret=SECRET
    )
    services = await build_services(settings)
    transport = httpx.ASGITransport(app=create_app(services), client=("192.0.2.10", 40000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client
    finally:
        await services.aclose()


async def _audit(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/v1/audit", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_rest_actions_are_listed_with_their_origin(
    client: httpx.AsyncClient, seed_bytes: bytes
) -> None:
    headers = {**JSON, "user-agent": "ops-console/2.1", "x-request-id": "req-42"}
    deployed = await client.post("/api/v1/definitions", content=seed_bytes, headers=headers)
    assert deployed.status_code == 201, deployed.text
    definition_id = deployed.json()["id"]
    assert (await client.post(f"/api/v1/definitions/{definition_id}/suspend")).status_code == 200
    assert (await client.post(f"/api/v1/definitions/{definition_id}/activate")).status_code == 200
    # Reads are not audited.
    assert (await client.get(f"/api/v1/definitions/{definition_id}")).status_code == 200

    body = await _audit(client)
    assert body["next_page_token"] is None
    assert [e["action"] for e in body["items"]] == [
        "definition.activate",
        "definition.suspend",
        "definition.deploy",
    ]
    deploy = body["items"][-1]
    assert deploy["actor"] == {"user_id": None, "kind": "system", "roles": ["admin"]}
    assert deploy["tenant_id"] == "default"
    assert (deploy["resource_type"], deploy["resource_id"]) == ("definition", str(definition_id))
    assert deploy["outcome"] == "success"
    assert deploy["details"]["key"] == "userRegistration"
    assert deploy["origin"] == {
        "transport": "rest",
        "client": "127.0.0.1",
        "user_agent": "ops-console/2.1",
        "request_id": "req-42",
    }
    assert deploy["occurred_at"].endswith(("Z", "+00:00"))


async def test_filters_and_page_tokens(client: httpx.AsyncClient, seed_bytes: bytes) -> None:
    deployed = await client.post("/api/v1/definitions", content=seed_bytes, headers=JSON)
    definition_id = deployed.json()["id"]
    for _ in range(2):
        await client.post(f"/api/v1/definitions/{definition_id}/suspend")
        await client.post(f"/api/v1/definitions/{definition_id}/activate")

    suspends = await _audit(client, action="definition.suspend")
    assert [e["action"] for e in suspends["items"]] == ["definition.suspend"] * 2
    by_resource = await _audit(client, resource_type="definition", resource_id=definition_id)
    assert len(by_resource["items"]) == 5
    assert (await _audit(client, resource_id="nope"))["items"] == []
    assert len((await _audit(client, tenant_id="default"))["items"]) == 5
    assert (await _audit(client, outcome="denied"))["items"] == []
    newest = by_resource["items"][0]["occurred_at"]
    assert [e["occurred_at"] for e in (await _audit(client, occurred_after=newest))["items"]] == [
        newest
    ]

    seen: list[int] = []
    page = await _audit(client, page_size=2)
    while True:
        seen += [e["id"] for e in page["items"]]
        if page["next_page_token"] is None:
            break
        page = await _audit(client, page_size=2, page_token=page["next_page_token"])
    assert seen == sorted(seen, reverse=True) and len(seen) == 5


async def test_bad_queries_are_400_naming_the_field(client: httpx.AsyncClient) -> None:
    cases = {
        "outcome=maybe": "outcome must be one of success, denied",
        "page_size=0": "page_size",
        "page_token=garbage!": "page_token",
        "occurred_after=2026-01-01T00:00:00": "occurred_after must carry a time zone",
        "occurred_after=yesterday": "occurred_after",
    }
    for query, fragment in cases.items():
        response = await client.get(f"/api/v1/audit?{query}")
        assert response.status_code == 400, (query, response.text)
        error = response.json()["error"]
        assert error["code"] == "INVALID_ARGUMENT"
        assert fragment in error["message"], (query, error["message"])


async def test_with_auth_the_token_user_acts_and_only_admins_read(
    db_url: str, tmp_path: Path
) -> None:
    async with _auth_client(db_url, tmp_path) as client:
        modeler = _bearer("mia", ["modeler"], "acme")
        deployed = await client.post(
            "/api/v1/definitions",
            content=_seed_without_tenant(),
            headers={**JSON, **modeler, "user-agent": "cli-test"},
        )
        assert deployed.status_code == 201, deployed.text
        definition_id = deployed.json()["id"]
        user = _bearer("ursula", ["user"], "acme")
        refused = await client.delete(f"/api/v1/definitions/{definition_id}", headers=user)
        assert refused.status_code == 403

        for who in (modeler, user, _bearer("olga", ["operator"], "acme")):
            forbidden = await client.get("/api/v1/audit", headers=who)
            assert forbidden.status_code == 403
            assert "audit:read" in forbidden.json()["error"]["message"]
        assert (await client.get("/api/v1/audit")).status_code == 401

        admin = _bearer("root", ["admin"], "hq")
        response = await client.get("/api/v1/audit", headers=admin)
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        assert [(e["action"], e["outcome"], e["actor"]["user_id"]) for e in items] == [
            ("definition.delete", "denied", "ursula"),
            ("definition.deploy", "success", "mia"),
        ]
        denied, deploy = items
        assert deploy["actor"] == {"user_id": "mia", "kind": "user", "roles": ["modeler"]}
        assert deploy["tenant_id"] == "acme"
        assert deploy["origin"]["client"] == "192.0.2.10"
        assert deploy["origin"]["user_agent"] == "cli-test"
        assert denied["details"]["permission"] == "definition:delete"
        # An admin of another tenant sees every tenant, or the one it names.
        other = await client.get("/api/v1/audit", params={"tenant_id": "globex"}, headers=admin)
        assert other.json()["items"] == []
