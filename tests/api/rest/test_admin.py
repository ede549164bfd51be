"""`POST /api/v1/admin/reconcile`: ghosts found and repaired over REST; admins only."""

from __future__ import annotations

from pathlib import Path

import httpx
from temporalio.client import Client

from tests.api.rest.runtime_client import api, deploy_seed
from tests.services.support import SEED_VARIABLES, eventually
from tests.services.workflow_double import engine_services
from workflow_engine.api.rest.app import create_app
from workflow_engine.config import load_settings
from workflow_engine.engine.contract import workflow_id
from workflow_engine.security.tokens import mint_token
from workflow_engine.services.container import build_services

__all__ = ["api", "engine_services"]

SECRET = "issue-15-reconcile-secret-0123456789abcdef"


async def test_reconcile_reports_and_repairs_a_ghost(
    api: httpx.AsyncClient, temporal_client: Client
) -> None:
    await deploy_seed(api)
    started = await api.post(
        "/api/v1/instances",
        json={"definition_key": "userRegistration", "variables": SEED_VARIABLES},
    )
    instance_id = started.json()["id"]
    base = f"/api/v1/instances/{instance_id}"

    async def status() -> str:
        return str((await api.get(base)).json()["status"])

    await eventually(status, lambda s: s == "running")
    await temporal_client.get_workflow_handle(workflow_id(instance_id)).terminate(reason="ops")

    dry = await api.post("/api/v1/admin/reconcile", params={"dry_run": "true"})
    assert dry.status_code == 200, dry.text
    body = dry.json()
    assert body["dry_run"] is True and body["repaired"] == 0
    assert [(r["instance_id"], r["temporal_status"], r["repaired"]) for r in body["repairs"]] == [
        (instance_id, "TERMINATED", False)
    ]
    assert await status() == "running"

    done = (await api.post("/api/v1/admin/reconcile")).json()
    assert done["repaired"] == 1 and done["checked"] == 1
    assert await status() == "terminated"
    cancel = await api.post(f"{base}/cancel")
    assert cancel.status_code == 409
    audit = (await api.get("/api/v1/audit", params={"action": "instance.reconcile"})).json()
    assert [e["action"] for e in audit["items"]] == ["instance.reconcile", "instance.reconcile"]


async def test_only_admins_may_reconcile(
    db_url: str, tmp_path: Path, temporal_client: Client
) -> None:
    settings = load_settings(
        database_url=db_url, data_dir=tmp_path, auth_enabled=True, auth_jwt_secret=SECRET
    )
    services = await build_services(settings, temporal_client=temporal_client)
    transport = httpx.ASGITransport(app=create_app(services))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            for roles, expected in ((["operator"], 403), (["admin"], 200)):
                token = mint_token(secret=SECRET, user_id="u", roles=roles)
                answer = await client.post(
                    "/api/v1/admin/reconcile", headers={"authorization": f"Bearer {token}"}
                )
                assert answer.status_code == expected, answer.text
    finally:
        await services.aclose()
