"""`workflow_engine.v1.IdentityService.WhoAmI`: the same answer as REST `GET /api/v1/me`, with
authentication off (the system principal) and on (real tokens; none is UNAUTHENTICATED)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import httpx

from tests.api.grpc.auth_support import auth_server, bearer
from tests.api.grpc.support import refused
from workflow_engine.api.grpc.generated import identity_pb2 as pb
from workflow_engine.api.grpc.generated.identity_pb2_grpc import IdentityServiceStub
from workflow_engine.api.rest.app import create_app
from workflow_engine.security import Permission
from workflow_engine.services.container import Services


def _as_rest(identity: pb.Identity) -> dict[str, Any]:
    """The message in REST's spelling (unset optional fields are REST's nulls)."""
    return {
        "auth_enabled": identity.auth_enabled,
        "user_id": identity.user_id if identity.HasField("user_id") else None,
        "groups": list(identity.groups),
        "roles": list(identity.roles),
        "tenant_id": identity.tenant_id if identity.HasField("tenant_id") else None,
        "permissions": list(identity.permissions),
    }


async def _rest_me(services: Services, headers: dict[str, str] | None = None) -> dict[str, Any]:
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/api/v1/me", headers=headers or {})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_auth_off_answers_for_the_system(
    services: Services, channel: grpc.aio.Channel
) -> None:
    identity = await IdentityServiceStub(channel).WhoAmI(pb.WhoAmIRequest())
    assert identity.auth_enabled is False
    assert not identity.HasField("user_id") and not identity.HasField("tenant_id")
    assert list(identity.roles) == ["admin"]
    assert list(identity.permissions) == sorted(str(p) for p in Permission)
    assert _as_rest(identity) == await _rest_me(services)


async def test_auth_on_answers_for_the_token(db_url: str, tmp_path: Path) -> None:
    async with auth_server(db_url, tmp_path) as running:
        stub = IdentityServiceStub(running.channel)
        metadata = bearer("alice", ["user", "operator"], "acme", groups=["sales", "hr"])
        identity = await stub.WhoAmI(pb.WhoAmIRequest(), metadata=metadata)
        assert identity.auth_enabled is True
        assert (identity.user_id, identity.tenant_id) == ("alice", "acme")
        assert list(identity.groups) == ["hr", "sales"]
        assert list(identity.roles) == ["operator", "user"]
        assert "instance:control" in identity.permissions
        assert "audit:read" not in identity.permissions
        assert list(identity.permissions) == sorted(identity.permissions)
        assert _as_rest(identity) == await _rest_me(running.services, dict(metadata))

        # No role: still an identity, with no permission at all.
        nobody = await stub.WhoAmI(pb.WhoAmIRequest(), metadata=bearer("nora", [], "acme"))
        assert (nobody.user_id, list(nobody.roles), list(nobody.permissions)) == ("nora", [], [])

        missing = await refused(stub.WhoAmI(pb.WhoAmIRequest()))
        assert missing.code == grpc.StatusCode.UNAUTHENTICATED
        assert missing.reason == "UNAUTHENTICATED"
        forged = await refused(
            stub.WhoAmI(pb.WhoAmIRequest(), metadata=(("authorization", "Bearer not.a.jwt"),))
        )
        assert forged.code == grpc.StatusCode.UNAUTHENTICATED
