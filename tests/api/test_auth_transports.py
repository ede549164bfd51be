"""Authentication on both transports: bad tokens are 401 / UNAUTHENTICATED, good ones act.

Real apps over real services (SQLite and PostgreSQL): the REST app through httpx's ASGI
transport, the gRPC server on a free port with a real channel.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest

from tests.api.grpc.conftest import free_port
from tests.security.support import (
    AUDIENCE,
    DEFAULT_JWKS,
    ISSUER,
    SECRET,
    bad_tokens,
    es256,
    good_claims,
    hs256,
    rs256,
)
from workflow_engine.api.grpc.generated import (
    definitions_pb2,
    definitions_pb2_grpc,
    execution_pb2,
    execution_pb2_grpc,
)
from workflow_engine.api.grpc.server import start_grpc_server
from workflow_engine.api.rest.app import create_app
from workflow_engine.config import load_settings
from workflow_engine.security.permissions import Permission
from workflow_engine.services.container import Services, build_services

BAD = bad_tokens()


@pytest.fixture
async def auth_services(db_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(DEFAULT_JWKS))
    settings = load_settings(
        database_url=db_url,
        data_dir=tmp_path,
        auth_enabled=True,
        auth_jwt_secret=SECRET,
        auth_jwks_url=str(jwks_file),
        auth_issuer=ISSUER,
        auth_audience=AUDIENCE,
        # The token verifier's own refusal of huge tokens is under test, not the header limit.
        max_header_bytes=65_536,
    )
    built = await build_services(settings)
    try:
        yield built
    finally:
        await built.aclose()


@pytest.fixture
async def api(auth_services: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(auth_services))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture
async def channel(auth_services: Services) -> AsyncIterator[grpc.aio.Channel]:
    port = free_port()
    server = await start_grpc_server(auth_services, host="127.0.0.1", port=port)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as chan:
            yield chan
    finally:
        await server.stop(None)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def assert_401(response: httpx.Response, token: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    body: dict[str, Any] = response.json()
    assert body["error"]["code"] == "UNAUTHENTICATED"
    assert body["error"]["message"]
    if len(token) > 8:
        assert token not in response.text


@pytest.mark.parametrize(("why", "token"), BAD, ids=[why for why, _ in BAD])
async def test_rest_refuses_bad_tokens(api: httpx.AsyncClient, why: str, token: str) -> None:
    for path in ("/api/v1/definitions", "/api/v1/me", "/api/v1/stream", "/api/v1/stats"):
        assert_401(await api.get(path, headers=bearer(token)), token)
    assert_401(await api.post("/api/v1/signals", json={"name": "x"}, headers=bearer(token)), token)


async def test_rest_without_or_with_a_foreign_scheme_is_401(api: httpx.AsyncClient) -> None:
    missing = await api.get("/api/v1/definitions")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="workflow-engine"'
    basic = await api.get("/api/v1/definitions", headers={"authorization": "Basic YTpi"})
    assert basic.status_code == 401
    assert 'error="invalid_token"' in basic.headers["www-authenticate"]


@pytest.mark.parametrize("path", ["/healthz", "/api/v1/portal/config", "/", "/docs", "/redoc"])
async def test_public_paths_need_no_token(api: httpx.AsyncClient, path: str) -> None:
    assert (await api.get(path)).status_code == 200


async def test_metrics_need_a_token_with_metrics_read(api: httpx.AsyncClient) -> None:
    # Issue 15, finding 11: /metrics lists every tenant's definition keys.
    assert (await api.get("/metrics")).status_code == 401
    user = hs256(good_claims("alice", roles=("user",), tenant="acme"))
    operator = hs256(good_claims("olga", roles=("operator",), tenant="acme"))
    for token in (user, operator):
        refused = await api.get("/metrics", headers=bearer(token))
        assert refused.status_code == 403, refused.text
        assert {"path": "permission", "message": "metrics:read"} in refused.json()["error"][
            "details"
        ]
    for role in ("admin", "monitor"):
        token = hs256(good_claims("scraper", roles=(role,), tenant="acme"))
        scraped = await api.get("/metrics", headers=bearer(token))
        assert scraped.status_code == 200, (role, scraped.text)
        assert "wfe_" in scraped.text


@pytest.mark.parametrize("sign", [hs256, rs256, es256], ids=["HS256", "RS256", "ES256"])
async def test_rest_me_reports_the_token_holder(api: httpx.AsyncClient, sign: Any) -> None:
    token = sign(good_claims("alice", roles=("user",), groups=("sales",), tenant="acme"))
    response = await api.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "auth_enabled": True,
        "user_id": "alice",
        "groups": ["sales"],
        "roles": ["user"],
        "tenant_id": "acme",
        "permissions": sorted(
            str(p)
            for p in (
                Permission.DEFINITION_READ,
                Permission.INSTANCE_START,
                Permission.INSTANCE_READ_OWN,
                Permission.TASK_WORK,
            )
        ),
    }


async def test_rest_forbidden_names_the_permission(api: httpx.AsyncClient) -> None:
    token = hs256(good_claims("alice", roles=("user",)))
    response = await api.get("/api/v1/stats", headers=bearer(token))
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "PERMISSION_DENIED"
    assert {"path": "permission", "message": "stats:read"} in error["details"]


async def test_me_with_auth_off_is_the_system(db_url: str, tmp_path: Path) -> None:
    services = await build_services(load_settings(database_url=db_url, data_dir=tmp_path))
    try:
        transport = httpx.ASGITransport(app=create_app(services))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            body = (await client.get("/api/v1/me")).json()
    finally:
        await services.aclose()
    assert body["auth_enabled"] is False
    assert body["user_id"] is None
    assert body["roles"] == ["admin"]
    assert set(body["permissions"]) == {str(p) for p in Permission}


@pytest.mark.parametrize(("why", "token"), BAD, ids=[why for why, _ in BAD])
async def test_grpc_refuses_bad_tokens(channel: grpc.aio.Channel, why: str, token: str) -> None:
    definitions = definitions_pb2_grpc.DefinitionServiceStub(channel)
    execution = execution_pb2_grpc.ExecutionServiceStub(channel)
    metadata = (("authorization", f"Bearer {token}"),)
    calls = [
        definitions.ListDefinitions(definitions_pb2.ListDefinitionsRequest(), metadata=metadata),
        execution.ListExecutions(execution_pb2.ListExecutionsRequest(), metadata=metadata),
        execution.SendSignal(execution_pb2.SendSignalRequest(name="x"), metadata=metadata),
    ]
    for call in calls:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
        expected = {grpc.StatusCode.UNAUTHENTICATED}
        if len(token) > 16_000:
            # grpc core refuses metadata over its 16 KiB hard limit before any handler runs.
            expected.add(grpc.StatusCode.RESOURCE_EXHAUSTED)
        assert caught.value.code() in expected, caught.value.details()
        if len(token) > 8:
            assert token not in (caught.value.details() or "")


async def test_grpc_without_token_is_unauthenticated_and_health_is_public(
    channel: grpc.aio.Channel,
) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc  # type: ignore[import-untyped]

    stub = definitions_pb2_grpc.DefinitionServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ListDefinitions(definitions_pb2.ListDefinitionsRequest())
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "missing bearer token" in (caught.value.details() or "")
    health = health_pb2_grpc.HealthStub(channel)
    answer = await health.Check(health_pb2.HealthCheckRequest(service=""))
    assert answer.status in (
        health_pb2.HealthCheckResponse.SERVING,
        health_pb2.HealthCheckResponse.NOT_SERVING,
    )


@pytest.mark.parametrize("sign", [hs256, rs256, es256], ids=["HS256", "RS256", "ES256"])
async def test_grpc_good_tokens_act_with_their_permissions(
    channel: grpc.aio.Channel, sign: Any
) -> None:
    stub = definitions_pb2_grpc.DefinitionServiceStub(channel)
    user = (("authorization", f"Bearer {sign(good_claims('alice', roles=('user',)))}"),)
    listed = await stub.ListDefinitions(definitions_pb2.ListDefinitionsRequest(), metadata=user)
    assert list(listed.items) == []
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.DeleteDefinition(definitions_pb2.DeleteDefinitionRequest(id=1), metadata=user)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "definition:delete" in (caught.value.details() or "")
