"""The definitions REST API against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import insert

from tests.paths import CONFORMANCE
from workflow_engine.services.container import Services
from workflow_engine.store.tables import ProcessInstance

JSON = {"content-type": "application/json"}
XML = {"content-type": "application/xml"}


def _seed(seed_bytes: bytes) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(seed_bytes)
    return loaded


def _bytes(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()


async def _deploy(
    client: httpx.AsyncClient, body: bytes, headers: dict[str, str] = JSON
) -> dict[str, Any]:
    response = await client.post("/api/v1/definitions", content=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    result: dict[str, Any] = response.json()
    return result


async def test_deploy_seed_example_then_identical_then_changed(
    client: httpx.AsyncClient, seed_bytes: bytes
) -> None:
    first = await client.post("/api/v1/definitions", content=seed_bytes, headers=JSON)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["key"] == "userRegistration"
    assert body["version"] == 1
    assert body["created"] is True
    assert body["name"] == "用户注册流程"
    assert body["category"] == "user-management"
    assert body["has_start_form"] is True
    assert first.headers["location"] == f"/api/v1/definitions/{body['id']}"

    # Same content, other whitespace: the existing version answers with 200.
    again = await client.post(
        "/api/v1/definitions", content=_bytes(_seed(seed_bytes)), headers=JSON
    )
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    assert again.json()["created"] is False

    changed = _seed(seed_bytes)
    changed["process"]["name"] = "Registration v2"
    second = await _deploy(client, _bytes(changed))
    assert second["version"] == 2
    assert second["created"] is True

    latest = await client.get("/api/v1/definitions/key/userRegistration")
    assert latest.json()["version"] == 2
    v1 = await client.get("/api/v1/definitions/key/userRegistration", params={"version": 1})
    assert v1.json()["id"] == body["id"]
    missing = await client.get("/api/v1/definitions/key/userRegistration", params={"version": 9})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NOT_FOUND"
    assert "version 9" in missing.json()["error"]["message"]


async def test_resource_is_returned_as_uploaded(
    client: httpx.AsyncClient, seed_bytes: bytes
) -> None:
    deployed = await _deploy(client, seed_bytes)
    response = await client.get(f"/api/v1/definitions/{deployed['id']}/resource")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.content == seed_bytes


@pytest.mark.parametrize(
    ("mutate", "path", "fragment"),
    [
        (
            lambda d: d["elements"][0]["outgoing"].__setitem__(0, "nowhere"),
            "elements[0].outgoing[0]",
            "nowhere",
        ),
        (
            lambda d: d["elements"][2]["config"].__setitem__("default_flow", "send_email_task"),
            "elements[2].config.default_flow",
            "send_email_task",
        ),
        (
            lambda d: d["elements"][5]["config"].__setitem__("timeout", "PT2X"),
            "elements[5].config.timeout",
            "PT2X",
        ),
        (
            lambda d: d["elements"][3]["config"].__setitem__("condition", "${a >}"),
            "elements[3].config.condition",
            "a >",
        ),
        (
            lambda d: d["elements"][4].__setitem__("id", "validate_user_task"),
            "elements[4].id",
            "validate_user_task",
        ),
        (
            lambda d: d["elements"][1].__setitem__("type", "foobarTask"),
            "elements[1].type",
            "foobarTask",
        ),
    ],
    ids=[
        "dangling",
        "default-not-outgoing",
        "bad-duration",
        "bad-condition",
        "duplicate-id",
        "unknown-type",
    ],
)
async def test_broken_copies_are_rejected_with_path(
    client: httpx.AsyncClient, seed_bytes: bytes, mutate: Any, path: str, fragment: str
) -> None:
    doc = _seed(seed_bytes)
    mutate(doc)
    validated = await client.post("/api/v1/definitions/validate", content=_bytes(doc), headers=JSON)
    assert validated.status_code == 200
    report = validated.json()
    assert report["valid"] is False
    matching = [e for e in report["errors"] if e["path"] == path]
    assert matching, report["errors"]
    assert fragment in matching[0]["message"]

    deployed = await client.post("/api/v1/definitions", content=_bytes(doc), headers=JSON)
    assert deployed.status_code == 400
    error = deployed.json()["error"]
    assert error["code"] == "VALIDATION_FAILED"
    assert any(d["path"] == path for d in error["details"])
    listed = await client.get("/api/v1/definitions")
    assert listed.json()["items"] == []  # nothing was stored


async def test_validate_seed_is_valid(client: httpx.AsyncClient, seed_bytes: bytes) -> None:
    response = await client.post("/api/v1/definitions/validate", content=seed_bytes, headers=JSON)
    assert response.status_code == 200
    assert response.json()["valid"] is True
    assert response.json()["errors"] == []


@pytest.mark.parametrize(
    ("body", "fragment"),
    [(b"{not json", "invalid JSON at line 1"), (b"\xff\xfe\x00", "not UTF-8"), (b"[1, 2]", "")],
)
async def test_garbage_bodies_get_clear_errors(
    client: httpx.AsyncClient, body: bytes, fragment: str
) -> None:
    response = await client.post("/api/v1/definitions", content=body, headers=JSON)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_FAILED"
    assert fragment in error["details"][0]["message"]


async def test_unsupported_media_type_and_too_large(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/definitions", content=b"hello", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"

    big = b'{"process": {"id": "p", "key": "p", "description": "' + b"x" * 300_000 + b'"}}'
    response = await client.post("/api/v1/definitions", content=big, headers=JSON)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"

    empty = await client.post("/api/v1/definitions", content=b"  ", headers=JSON)
    assert empty.status_code == 400


async def test_bpmn_xml_deploys_and_exports(client: httpx.AsyncClient) -> None:
    xml = (CONFORMANCE / "camunda7" / "ParallelGatewayTest.testForkJoin.bpmn20.xml").read_bytes()
    deployed = await _deploy(client, xml, XML)
    assert deployed["resource_type"] == "bpmn"
    resource = await client.get(f"/api/v1/definitions/{deployed['id']}/resource")
    assert resource.headers["content-type"].startswith("application/xml")
    assert resource.content == xml
    exported = await client.get(
        f"/api/v1/definitions/{deployed['id']}/diagram", params={"format": "bpmn"}
    )
    assert exported.status_code == 200
    assert b"bpmndi:BPMNDiagram" in exported.content
    # The export imports again as the same definition content (identical → same version).
    again = await _deploy(client, exported.content, XML)
    assert again["key"] == deployed["key"]


async def test_invalid_bpmn_gets_a_precise_reason(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/definitions", content=b"<definitions", headers=XML)
    assert response.status_code == 400
    assert response.json()["error"]["details"]


async def test_list_filters_and_page_tokens(client: httpx.AsyncClient, seed_bytes: bytes) -> None:
    for i in range(5):
        doc = _seed(seed_bytes)
        doc["process"]["name"] = f"reg {i}"
        await _deploy(client, _bytes(doc))
    other = _seed(seed_bytes)
    other["process"]["key"] = "otherKey"
    other["process"]["category"] = "other"
    await _deploy(client, _bytes(other))

    seen: list[int] = []
    token = None
    while True:
        params: dict[str, Any] = {"page_size": 2}
        if token:
            params["page_token"] = token
        page = (await client.get("/api/v1/definitions", params=params)).json()
        seen += [d["id"] for d in page["items"]]
        token = page["next_page_token"]
        if not token:
            break
    assert len(seen) == 6 and len(set(seen)) == 6

    by_key = (await client.get("/api/v1/definitions", params={"key": "userRegistration"})).json()
    assert [d["version"] for d in by_key["items"]] == [1, 2, 3, 4, 5]
    latest = (await client.get("/api/v1/definitions", params={"latest": "true"})).json()
    assert sorted((d["key"], d["version"]) for d in latest["items"]) == [
        ("otherKey", 1),
        ("userRegistration", 5),
    ]
    category = (await client.get("/api/v1/definitions", params={"category": "other"})).json()
    assert [d["key"] for d in category["items"]] == ["otherKey"]

    bad = await client.get("/api/v1/definitions", params={"page_token": "garbage!"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "INVALID_ARGUMENT"
    too_big = await client.get("/api/v1/definitions", params={"page_size": 100000})
    assert too_big.status_code == 400
    assert "page_size" in too_big.json()["error"]["message"]


async def test_update_suspend_activate_delete(
    client: httpx.AsyncClient, services: Services, seed_bytes: bytes
) -> None:
    v1 = await _deploy(client, seed_bytes)
    doc = _seed(seed_bytes)
    doc["process"]["description"] = "changed"
    updated = await client.put(f"/api/v1/definitions/{v1['id']}", content=_bytes(doc), headers=JSON)
    assert updated.status_code == 201
    assert updated.json()["version"] == 2

    doc["process"]["key"] = "somethingElse"
    wrong_key = await client.put(
        f"/api/v1/definitions/{v1['id']}", content=_bytes(doc), headers=JSON
    )
    assert wrong_key.status_code == 400
    assert "somethingElse" in wrong_key.json()["error"]["message"]

    suspended = await client.post(f"/api/v1/definitions/{v1['id']}/suspend")
    assert suspended.json()["suspended"] is True
    filtered = (await client.get("/api/v1/definitions", params={"suspended": "true"})).json()
    assert [d["id"] for d in filtered["items"]] == [v1["id"]]
    activated = await client.post(f"/api/v1/definitions/{v1['id']}/activate")
    assert activated.json()["suspended"] is False

    # A running instance blocks deletion unless cascade.
    async with services.database.session() as session:
        await session.execute(
            insert(ProcessInstance).values(
                id="00000000-0000-0000-0000-000000000001",
                process_definition_id=v1["id"],
                definition_key=v1["key"],
                definition_version=v1["version"],
                workflow_id="pi-00000000-0000-0000-0000-000000000001",
                status="running",
            )
        )
    blocked = await client.delete(f"/api/v1/definitions/{v1['id']}")
    assert blocked.status_code == 409
    assert "cascade" in blocked.json()["error"]["message"]
    deleted = await client.delete(f"/api/v1/definitions/{v1['id']}", params={"cascade": "true"})
    assert deleted.status_code == 204
    gone = await client.get(f"/api/v1/definitions/{v1['id']}")
    assert gone.status_code == 404
    assert (await client.delete(f"/api/v1/definitions/{v1['id']}")).status_code == 404


async def test_not_found_and_bad_ids(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/definitions/999999")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "NOT_FOUND", "message": "definition 999999 does not exist", "details": []}
    }
    bad = await client.get("/api/v1/definitions/abc")
    assert bad.status_code == 400
    assert bad.json()["error"]["details"][0]["path"] == "path.definition_id"


async def test_health_endpoints(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"]["ok"] is True
