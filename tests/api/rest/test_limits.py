"""REST limits: body size (413), definition limits (413 / 422), variable payloads (413 / 422),
and per-client rate limiting (429 + Retry-After) in-process and shared through Redis."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.rest.conftest import EXAMPLE
from workflow_engine.api.rest.app import create_app
from workflow_engine.config import load_settings
from workflow_engine.security.tokens import mint_token
from workflow_engine.services.container import Services, build_services

JSON = {"content-type": "application/json"}
SECRET = "h5-limits-test-secret-0123456789abcdef"


@asynccontextmanager
async def app_client(
    db_url: str, tmp_path: Path, *, client_ip: str = "127.0.0.1", **overrides: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    settings = load_settings(database_url=db_url, data_dir=tmp_path, **overrides)
    services = await build_services(settings)
    transport = httpx.ASGITransport(app=create_app(services), client=(client_ip, 40000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client, services
    finally:
        await services.aclose()


def assert_error(response: httpx.Response, status: int, code: str, *fragments: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    for fragment in fragments:
        assert fragment in error["message"], error["message"]


# -- body size -----------------------------------------------------------------------------


async def test_content_length_over_the_limit_is_refused_before_reading(
    db_url: str, tmp_path: Path
) -> None:
    async with app_client(db_url, tmp_path, max_request_bytes=1000) as (client, _):
        body = json.dumps({"definition_key": "x", "variables": {"v": "a" * 2000}})
        response = await client.post("/api/v1/instances", content=body, headers=JSON)
        assert_error(response, 413, "PAYLOAD_TOO_LARGE", f"{len(body)} bytes", "at most 1000")
        # Small bodies pass the middleware (and fail later for their own reason).
        small = await client.post("/api/v1/instances", json={"definition_key": "nope"})
        assert small.status_code == 404


async def test_chunked_body_is_counted_while_streaming(db_url: str, tmp_path: Path) -> None:
    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"definition_key": "x", "variables": {"v": "'
        for _ in range(50):
            sent.append(1)
            yield b"a" * 100
        yield b'"}}'

    async with app_client(db_url, tmp_path, max_request_bytes=1000) as (client, _):
        response = await client.post("/api/v1/instances", content=chunks(), headers=JSON)
        assert "content-length" not in response.request.headers
        assert_error(response, 413, "PAYLOAD_TOO_LARGE", "limit of 1000 bytes")


async def test_definition_uploads_keep_their_own_limits(db_url: str, tmp_path: Path) -> None:
    seed = EXAMPLE.read_bytes()
    async with app_client(
        db_url,
        tmp_path,
        max_request_bytes=1000,
        max_definition_bytes=len(seed) + 10,
    ) as (client, _):
        # Larger than max_request_bytes but within max_definition_bytes: deployed.
        ok = await client.post("/api/v1/definitions", content=seed, headers=JSON)
        assert ok.status_code == 201, ok.text
        big = seed[:-1] + b" " * 20 + seed[-1:]
        too_big = await client.post("/api/v1/definitions", content=big, headers=JSON)
        assert_error(too_big, 413, "PAYLOAD_TOO_LARGE", f"at most {len(seed) + 10}")
        # Other endpoints stay at max_request_bytes.
        body = json.dumps({"name": "s", "variables": {"v": "a" * 1200}})
        other = await client.post("/api/v1/signals", content=body, headers=JSON)
        assert_error(other, 413, "PAYLOAD_TOO_LARGE", "at most 1000")


async def test_too_many_definition_elements_is_422(db_url: str, tmp_path: Path) -> None:
    async with app_client(db_url, tmp_path, max_definition_elements=3) as (client, _):
        response = await client.post(
            "/api/v1/definitions", content=EXAMPLE.read_bytes(), headers=JSON
        )
        assert_error(response, 422, "LIMIT_EXCEEDED", "elements", "max_definition_elements")
        codes = {d["code"] for d in response.json()["error"]["details"] if "code" in d}
        assert "TOO_MANY_ELEMENTS" in codes or any(
            "at most 3" in d["message"] for d in response.json()["error"]["details"]
        )


# -- variable payloads ---------------------------------------------------------------------


def _deep(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels):
        value = {"x": value}
    return value


PAYLOAD_CALLS: list[tuple[str, str, Callable[[dict[str, Any]], dict[str, Any]]]] = [
    ("post", "/api/v1/instances", lambda v: {"definition_key": "k", "variables": v}),
    (
        "put",
        "/api/v1/instances/00000000-0000-0000-0000-000000000000/variables",
        lambda v: {"variables": v},
    ),
    ("post", "/api/v1/tasks/no-such-task/complete", lambda v: {"variables": v}),
    ("post", "/api/v1/signals", lambda v: {"name": "s", "variables": v}),
    ("post", "/api/v1/messages", lambda v: {"name": "m", "variables": v}),
]


@pytest.mark.parametrize(("method", "path", "body"), PAYLOAD_CALLS)
async def test_variable_payload_limits_on_every_entry_point(
    db_url: str,
    tmp_path: Path,
    method: str,
    path: str,
    body: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    async with app_client(
        db_url,
        tmp_path,
        max_variables_bytes=3000,
        max_variable_value_bytes=1000,
        max_variable_depth=5,
    ) as (client, _):
        call = getattr(client, method)
        one_big = await call(path, json=body({"small": 1, "photo": "x" * 1500}))
        assert_error(one_big, 413, "PAYLOAD_TOO_LARGE", "variables.photo", "at most 1000")
        assert one_big.json()["error"]["details"][0]["path"] == "variables.photo"

        many = {f"v{i}": "y" * 900 for i in range(4)}
        too_much = await call(path, json=body(many))
        assert_error(too_much, 413, "PAYLOAD_TOO_LARGE", "at most 3000")

        deep = await call(path, json=body({"tree": _deep(6)}))
        assert_error(deep, 422, "LIMIT_EXCEEDED", "variables.tree", "5 levels")

        # Within the limits the request gets past them (and fails for its own reason).
        fine = await call(path, json=body({"tree": _deep(5), "photo": "x" * 900}))
        assert fine.status_code not in (413, 422), fine.text


# -- rate limiting -------------------------------------------------------------------------


def _ip() -> str:
    # Every test its own client address: buckets in Redis outlive an app.
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"


async def test_rate_limit_in_process(db_url: str, tmp_path: Path) -> None:
    async with app_client(
        db_url, tmp_path, rate_limit_per_minute=60, rate_limit_burst=3, client_ip=_ip()
    ) as (client, services):
        assert type(services.rate_limiter).__name__ == "InProcessRateLimiter"
        for _ in range(3):
            assert (await client.get("/api/v1/definitions")).status_code == 200
        refused = await client.get("/api/v1/definitions")
        assert_error(refused, 429, "RATE_LIMITED", "60 per minute")
        assert 1 <= int(refused.headers["retry-after"]) <= 2
        # Health, readiness, metrics and the portal are never limited.
        for path in ("/healthz", "/readyz", "/metrics", "/"):
            assert (await client.get(path)).status_code == 200, path


async def test_rate_limit_can_be_turned_off(db_url: str, tmp_path: Path) -> None:
    async with app_client(db_url, tmp_path, rate_limit_per_minute=0) as (client, services):
        assert services.rate_limiter is None
        for _ in range(30):
            assert (await client.get("/api/v1/definitions")).status_code == 200


def test_rate_limit_is_on_by_default() -> None:
    # Issue 15, finding 11 (tests/conftest.py turns it off for the suite through the
    # environment; the declared default is what a deployment gets).
    from workflow_engine.config import Settings

    assert Settings.model_fields["rate_limit_per_minute"].default == 600
    assert Settings.model_fields["rate_limit_burst"].default == 100


# -- header size ---------------------------------------------------------------------------


async def test_headers_over_the_limit_are_refused_with_431(db_url: str, tmp_path: Path) -> None:
    async with app_client(db_url, tmp_path) as (client, _):
        big = {"x-padding": "a" * 17_000}
        refused = await client.get("/api/v1/definitions", headers=big)
        assert_error(refused, 431, "REQUEST_HEADERS_TOO_LARGE", "at most 16384 bytes")
        huge = await client.get("/healthz", headers={"x-padding": "a" * 1_048_576})
        assert huge.status_code == 431
        fine = await client.get("/api/v1/definitions", headers={"x-padding": "a" * 15_000})
        assert fine.status_code == 200


async def test_two_replicas_share_the_bucket_through_redis(
    db_url: str, tmp_path: Path, redis_url: str
) -> None:
    ip = _ip()
    limits = {"rate_limit_per_minute": 6, "rate_limit_burst": 4, "redis_url": redis_url}
    async with (
        app_client(db_url, tmp_path / "a", client_ip=ip, **limits) as (first, services),
        app_client(db_url, tmp_path / "b", client_ip=ip, **limits) as (second, _),
    ):
        assert type(services.rate_limiter).__name__ == "RedisRateLimiter"
        statuses = []
        for client in (first, second, first, second, first, second):
            statuses.append((await client.get("/api/v1/definitions")).status_code)
        assert statuses == [200, 200, 200, 200, 429, 429]
        refused = await second.get("/api/v1/definitions")
        # One token every 10 s: the wait is said in whole seconds.
        assert 1 <= int(refused.headers["retry-after"]) <= 10
        # Another client has its own bucket.
        transport = httpx.ASGITransport(app=create_app(services), client=(_ip(), 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as other:
            assert (await other.get("/api/v1/definitions")).status_code == 200


async def test_authenticated_users_have_their_own_buckets(db_url: str, tmp_path: Path) -> None:
    def bearer(user: str) -> dict[str, str]:
        token = mint_token(secret=SECRET, user_id=user, roles=["operator"])
        return {"authorization": f"Bearer {token}"}

    async with app_client(
        db_url,
        tmp_path,
        client_ip=_ip(),
        auth_enabled=True,
        auth_jwt_secret=SECRET,
        rate_limit_per_minute=60,
        rate_limit_burst=2,
    ) as (client, _):
        alice, bob = bearer("alice"), bearer("bob")
        assert (await client.get("/api/v1/definitions", headers=alice)).status_code == 200
        assert (await client.get("/api/v1/definitions", headers=alice)).status_code == 200
        assert (await client.get("/api/v1/definitions", headers=alice)).status_code == 429
        # Same address, another user: a budget of its own.
        assert (await client.get("/api/v1/definitions", headers=bob)).status_code == 200
