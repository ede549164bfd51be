"""The portal is served by the REST app: the page, its assets, its configuration."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from workflow_engine import __version__
from workflow_engine.api.rest.app import create_app
from workflow_engine.api.web import STATIC_DIR
from workflow_engine.config import load_settings
from workflow_engine.services.container import Services, build_services


@pytest.fixture
async def services(db_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    settings = load_settings(
        database_url=db_url, data_dir=tmp_path, temporal_port=7411, temporal_namespace="ops"
    )
    built = await build_services(settings)
    try:
        yield built
    finally:
        await built.aclose()


@pytest.fixture
def app(services: Services) -> FastAPI:
    return create_app(services)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as c:
        yield c


async def test_root_serves_the_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    assert '<script type="module" src="/static/js/app.js"></script>' in response.text


async def test_the_page_has_no_inline_script_or_handler(client: httpx.AsyncClient) -> None:
    # The Content-Security-Policy forbids them (script-src 'self').
    page = (await client.get("/")).text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    assert not re.search(r"\son[a-z]+\s*=", page)


async def test_every_asset_the_page_names_is_served(client: httpx.AsyncClient) -> None:
    page = (await client.get("/")).text
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert "/static/css/app.css" in assets and "/static/js/app.js" in assets
    for asset in assets:
        response = await client.get(asset)
        assert response.status_code == 200, asset
    script = await client.get("/static/js/app.js")
    assert "javascript" in script.headers["content-type"]


async def test_every_module_import_resolves_to_a_shipped_file() -> None:
    # A typo in an import path breaks a page only in the browser: catch it here.
    for module in STATIC_DIR.rglob("*.js"):
        text = module.read_text(encoding="utf-8")
        for target in re.findall(r'^\s*import\s[^;]*?from\s+"(\.[^"]+)"', text, flags=re.M):
            resolved = (module.parent / target).resolve()
            assert resolved.is_file(), f"{module.relative_to(STATIC_DIR)} imports {target}"


async def test_no_static_file_uses_inner_html_or_eval() -> None:
    for module in STATIC_DIR.rglob("*.js"):
        text = module.read_text(encoding="utf-8")
        for banned in ("innerHTML", "outerHTML", "eval(", "new Function", "document.write"):
            assert banned not in text, f"{module.name} uses {banned}"


async def test_unknown_static_file_is_a_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/static/js/nope.js")
    assert response.status_code == 404


async def test_static_cannot_escape_its_directory(client: httpx.AsyncClient) -> None:
    response = await client.get("/static/../__init__.py")
    assert response.status_code == 404
    response = await client.get("/static/%2e%2e/portal.py")
    assert response.status_code == 404


async def test_portal_config_points_at_the_temporal_ui_on_the_request_host(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v1/portal/config")
    assert response.status_code == 200
    assert response.json() == {
        "temporal_ui_url": "http://portal.test:8411",
        "namespace": "ops",
        "version": __version__,
        "auth_enabled": False,
    }


async def test_portal_config_brackets_an_ipv6_host(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/portal/config", headers={"host": "[::1]:8080"})
    assert response.json()["temporal_ui_url"] == "http://[::1]:8411"


async def test_the_api_is_unchanged_beside_the_portal(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/definitions")
    assert response.status_code == 200
    missing = await client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NOT_FOUND"


async def test_portal_config_says_auth_is_on_and_answers_without_a_token(
    db_url: str, tmp_path: Path
) -> None:
    # The page reads it before anyone logged in: public, and it must say a token is needed.
    settings = load_settings(
        database_url=db_url,
        data_dir=tmp_path,
        auth_enabled=True,
        auth_jwt_secret="portal-test-secret-of-at-least-32-bytes!",
    )
    built = await build_services(settings)
    try:
        transport = httpx.ASGITransport(app=create_app(built))
        async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as c:
            config = await c.get("/api/v1/portal/config")
            me = await c.get("/api/v1/me")
            page = await c.get("/")
    finally:
        await built.aclose()
    assert config.status_code == 200
    assert config.json()["auth_enabled"] is True
    assert me.status_code == 401
    assert page.status_code == 200


async def test_the_page_links_both_stylesheets(client: httpx.AsyncClient) -> None:
    page = (await client.get("/")).text
    assert '<link rel="stylesheet" href="/static/css/app.css">' in page
    assert '<link rel="stylesheet" href="/static/css/pages.css">' in page
