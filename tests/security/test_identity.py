"""`security.identity`: what REST `/api/v1/me` and gRPC `WhoAmI` tell a caller about itself."""

from __future__ import annotations

from workflow_engine.security import Permission, Principal, acting_as
from workflow_engine.security.identity import current_identity, identity_of


def test_a_user_sees_their_sorted_identity_and_the_permissions_of_their_roles() -> None:
    principal = Principal(
        user_id="alice",
        groups=frozenset({"sales", "hr"}),
        roles=frozenset({"user", "modeler", "no-such-role"}),
        tenant_id="acme",
    )
    identity = identity_of(principal, auth_enabled=True)
    assert (identity.user_id, identity.tenant_id, identity.auth_enabled) == ("alice", "acme", True)
    assert identity.groups == ("hr", "sales")
    assert identity.roles == ("modeler", "no-such-role", "user")
    assert "definition:deploy" in identity.permissions
    assert "instance:read_own" in identity.permissions
    assert "audit:read" not in identity.permissions
    assert list(identity.permissions) == sorted(identity.permissions)
    assert identity.as_json() == {
        "auth_enabled": True,
        "user_id": "alice",
        "groups": ["hr", "sales"],
        "roles": ["modeler", "no-such-role", "user"],
        "tenant_id": "acme",
        "permissions": list(identity.permissions),
    }


def test_the_default_tenant_is_reported_as_a_tenant() -> None:
    identity = identity_of(Principal(user_id="bob"), auth_enabled=True)
    assert (identity.tenant_id, identity.roles, identity.permissions) == ("", (), ())


def test_outside_a_request_it_is_the_system() -> None:
    identity = current_identity(auth_enabled=False)
    assert (identity.user_id, identity.tenant_id, identity.roles) == (None, None, ("admin",))
    assert identity.permissions == tuple(sorted(str(p) for p in Permission))


def test_current_identity_follows_the_acting_principal() -> None:
    with acting_as(Principal(user_id="olga", roles=frozenset({"operator"}), tenant_id="t")):
        identity = current_identity(auth_enabled=True)
    assert (identity.user_id, identity.tenant_id) == ("olga", "t")
    assert "instance:control" in identity.permissions
