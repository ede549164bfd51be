"""What a caller may learn about themselves (REST `GET /api/v1/me`, gRPC `WhoAmI`).

One answer for both transports: the acting principal's user, groups, roles and tenant, and
every permission its roles grant. The portal shows and hides pages and actions by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workflow_engine.security.context import current_principal
from workflow_engine.security.permissions import permissions_of
from workflow_engine.security.principal import Principal


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the caller is and what they may do.

    Attributes:
        auth_enabled: Whether the server checks tokens at all.
        user_id: The user; None for the system principal (authentication off).
        groups: The user's groups, sorted.
        roles: The role names, sorted.
        tenant_id: The user's tenant; None for the system principal (it has every tenant).
        permissions: Every permission the roles grant (`instance:read`, ...), sorted.
    """

    auth_enabled: bool
    user_id: str | None
    groups: tuple[str, ...]
    roles: tuple[str, ...]
    tenant_id: str | None
    permissions: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        """The REST body: the attributes by name, sequences as lists."""
        return {
            "auth_enabled": self.auth_enabled,
            "user_id": self.user_id,
            "groups": list(self.groups),
            "roles": list(self.roles),
            "tenant_id": self.tenant_id,
            "permissions": list(self.permissions),
        }


def identity_of(principal: Principal, *, auth_enabled: bool) -> Identity:
    """Describe `principal`.

    Args:
        principal: The caller.
        auth_enabled: The server's `auth_enabled` setting (reported as is).
    """
    return Identity(
        auth_enabled=auth_enabled,
        user_id=principal.user_id,
        groups=tuple(sorted(principal.groups)),
        roles=tuple(sorted(principal.roles)),
        tenant_id=None if principal.is_system else principal.tenant_id,
        permissions=tuple(sorted(str(p) for p in permissions_of(principal))),
    )


def current_identity(*, auth_enabled: bool) -> Identity:
    """Describe the principal the running request acts as (`current_principal()`)."""
    return identity_of(current_principal(), auth_enabled=auth_enabled)


__all__ = ["Identity", "current_identity", "identity_of"]
