"""Security headers on every response, HSTS on demand, no-store on the API, CORS by setting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from workflow_engine.api.rest.app import create_app
from workflow_engine.api.rest.headers import CONTENT_SECURITY_POLICY
from workflow_engine.config import ConfigError, load_settings
from workflow_engine.services.container import build_services

PORTAL_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
)


@asynccontextmanager
async def app_client(
    db_url: str, tmp_path: Path, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    services = await build_services(
        load_settings(database_url=db_url, data_dir=tmp_path, **overrides)
    )
    transport = httpx.ASGITransport(app=create_app(services))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client
    finally:
        await services.aclose()


def test_policy_is_the_portal_brief_s() -> None:
    assert CONTENT_SECURITY_POLICY == PORTAL_CSP


async def test_every_response_carries_the_security_headers(db_url: str, tmp_path: Path) -> None:
    async with app_client(db_url, tmp_path) as client:
        for path, status in [
            ("/", 200),
            ("/healthz", 200),
            ("/api/v1/definitions", 200),
            ("/api/v1/instances/nope", 404),
            ("/no/such/page", 404),
        ]:
            response = await client.get(path)
            assert response.status_code == status, path
            headers = response.headers
            assert headers["content-security-policy"] == PORTAL_CSP, path
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["x-frame-options"] == "DENY"
            assert headers["referrer-policy"] == "no-referrer"
            assert headers["cross-origin-opener-policy"] == "same-origin"
            assert "strict-transport-security" not in headers
        # Refusals by the limits carry them too.
        big = await client.post(
            "/api/v1/signals",
            content=b"x" * 2_000_000,
            headers={"content-type": "application/json"},
        )
        assert big.status_code == 413
        assert big.headers["x-frame-options"] == "DENY"
        assert big.headers["cache-control"] == "no-store"


async def test_api_responses_are_never_cached(db_url: str, tmp_path: Path) -> None:
    async with app_client(db_url, tmp_path) as client:
        for path in ("/api/v1/definitions", "/api/v1/instances/nope", "/api/v1/portal/config"):
            assert (await client.get(path)).headers["cache-control"] == "no-store", path
        # The portal page keeps its own policy (revalidate, not forbid).
        assert (await client.get("/")).headers["cache-control"] == "no-cache"
        assert "cache-control" not in (await client.get("/healthz")).headers


async def test_docs_pages_work_without_the_csp(db_url: str, tmp_path: Path) -> None:
    async with app_client(db_url, tmp_path) as client:
        docs = await client.get("/docs")
        assert docs.status_code == 200
        assert "content-security-policy" not in docs.headers
        assert docs.headers["x-frame-options"] == "DENY"


async def test_hsts_only_when_enabled(db_url: str, tmp_path: Path) -> None:
    async with app_client(db_url, tmp_path, hsts_enabled=True) as client:
        response = await client.get("/healthz")
        assert (
            response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
        )


async def test_no_cors_headers_without_configured_origins(db_url: str, tmp_path: Path) -> None:
    async with app_client(db_url, tmp_path) as client:
        response = await client.get(
            "/api/v1/definitions", headers={"origin": "https://evil.example"}
        )
        assert response.status_code == 200
        assert "access-control-allow-origin" not in response.headers
        preflight = await client.options(
            "/api/v1/definitions",
            headers={
                "origin": "https://evil.example",
                "access-control-request-method": "POST",
            },
        )
        assert "access-control-allow-origin" not in preflight.headers


async def test_cors_for_configured_origins(db_url: str, tmp_path: Path) -> None:
    allowed = "https://portal.example.com"
    async with app_client(
        db_url,
        tmp_path,
        cors_allowed_origins=[allowed],
        auth_enabled=True,
        auth_jwt_secret="h5-headers-test-secret-0123456789abcdef",
        rate_limit_per_minute=60,
        rate_limit_burst=1,
    ) as client:
        preflight = await client.options(
            "/api/v1/definitions",
            headers={
                "origin": allowed,
                "access-control-request-method": "POST",
                "access-control-request-headers": "authorization, content-type",
            },
        )
        # Answered before authentication (a preflight carries no token).
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == allowed
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
        assert "access-control-allow-credentials" not in preflight.headers

        # A refusal (401 here) is readable by the allowed page.
        refused = await client.get("/api/v1/definitions", headers={"origin": allowed})
        assert refused.status_code == 401
        assert refused.headers["access-control-allow-origin"] == allowed

        other = await client.options(
            "/api/v1/definitions",
            headers={"origin": "https://evil.example", "access-control-request-method": "GET"},
        )
        assert other.status_code == 400
        assert "access-control-allow-origin" not in other.headers


async def test_cors_origins_from_the_environment(monkeypatch: Any) -> None:
    monkeypatch.setenv("WFE_CORS_ALLOWED_ORIGINS", "https://a.example, http://b.example:8080")
    assert load_settings().cors_allowed_origins == ["https://a.example", "http://b.example:8080"]


def test_a_malformed_origin_is_a_clear_settings_error() -> None:
    with pytest.raises(ConfigError, match=r"cors_allowed_origins.*'portal\.example\.com'"):
        load_settings(cors_allowed_origins=["portal.example.com"])
