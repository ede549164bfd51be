"""`auth_default_tenant`: the tenant of a token without a tenant claim.

The seed example declares `"tenant_id": "default"` while a claim-less token lands in tenant ''
by default, so a modeler of an identity provider without tenant claims cannot deploy it into
"their" tenant. Setting `auth_default_tenant: default` closes that gap.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from tests.paths import SEED
from tests.security.support import SECRET, claims, hs256
from workflow_engine.api.rest.app import create_app
from workflow_engine.config import load_settings
from workflow_engine.security.tokens import TokenVerifier
from workflow_engine.services.container import build_services


async def test_an_absent_tenant_claim_takes_the_configured_default() -> None:
    verifier = TokenVerifier(secret=SECRET, default_tenant="default")
    assert (await verifier.verify(hs256(claims(tenant=None)))).tenant_id == "default"
    # A claim that is there wins, even an explicit '' (that names tenant '', it is not absent).
    assert (await verifier.verify(hs256(claims(tenant="acme")))).tenant_id == "acme"
    assert (await verifier.verify(hs256(claims(tenant="")))).tenant_id == ""
    plain = TokenVerifier(secret=SECRET)
    assert (await plain.verify(hs256(claims(tenant=None)))).tenant_id == ""


async def test_setting_default_and_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in list(os.environ):
        if name.startswith("WFE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    assert load_settings().auth_default_tenant == ""
    monkeypatch.setenv("WFE_AUTH_DEFAULT_TENANT", "default")
    settings = load_settings(auth_jwt_secret=SECRET)
    assert settings.auth_default_tenant == "default"
    principal = await TokenVerifier.from_settings(settings).verify(hs256(claims(tenant=None)))
    assert principal.tenant_id == "default"


@asynccontextmanager
async def _api(
    db_url: str, tmp_path: Path, default_tenant: str
) -> AsyncIterator[httpx.AsyncClient]:
    services = await build_services(
        load_settings(
            database_url=db_url,
            data_dir=tmp_path,
            auth_enabled=True,
            auth_jwt_secret=SECRET,
            auth_default_tenant=default_tenant,
        )
    )
    try:
        transport = httpx.ASGITransport(app=create_app(services))
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            yield client
    finally:
        await services.aclose()


def _modeler() -> dict[str, str]:
    token = hs256(claims("mo", roles=("modeler",), tenant=None))
    return {"authorization": f"Bearer {token}", "content-type": "application/json"}


async def test_seed_deploys_into_default_with_the_setting(db_url: str, tmp_path: Path) -> None:
    async with _api(db_url, tmp_path, "default") as api:
        me = await api.get("/api/v1/me", headers=_modeler())
        assert me.status_code == 200 and me.json()["tenant_id"] == "default", me.text
        deployed = await api.post(
            "/api/v1/definitions", content=SEED.read_bytes(), headers=_modeler()
        )
        assert deployed.status_code in (200, 201), deployed.text
        listed = await api.get("/api/v1/definitions", headers=_modeler())
        assert [d["tenant_id"] for d in listed.json()["items"]] == ["default"], listed.text


async def test_without_the_setting_the_seed_is_another_tenant(db_url: str, tmp_path: Path) -> None:
    async with _api(db_url, tmp_path, "") as api:
        deployed = await api.post(
            "/api/v1/definitions", content=SEED.read_bytes(), headers=_modeler()
        )
        assert deployed.status_code == 403, deployed.text
        assert "tenant 'default' is not yours" in deployed.json()["error"]["message"]
