"""Object rules of authorization shared by the services: instance visibility and the actor.

`security.permissions.require` answers "may this role do X at all"; this module answers "may
this principal see THIS instance", "which instances may a list show" and "who is acting".
Everything invisible answers exactly like a missing object (NotFoundError), so a caller learns
nothing about another tenant's or another user's data.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflow_engine.security import Permission, Principal, current_principal, permissions_of
from workflow_engine.services.errors import PermissionDeniedError

__all__ = [
    "InstanceScope",
    "acting_user",
    "instance_scope",
    "object_scope",
    "require_instance_read",
]

#: The `started_by` of a read-own principal without a user id: matches no instance.
_NOBODY = "\u2205 nobody"


@dataclass(frozen=True, slots=True)
class InstanceScope:
    """Which instances a principal may read.

    Attributes:
        principal: The principal the scope belongs to.
        tenant_id: Only instances of this tenant; None: every tenant (admins, the system).
        started_by: Only instances this user started (principals with `instance:read_own`
            only); None: any starter.
    """

    principal: Principal
    tenant_id: str | None
    started_by: str | None

    def sees(self, *, tenant_id: str, start_user_id: str | None) -> bool:
        """Whether an instance of `tenant_id` started by `start_user_id` is in the scope."""
        if self.tenant_id is not None and tenant_id != self.tenant_id:
            return False
        return self.started_by is None or start_user_id == self.started_by


def require_instance_read(principal: Principal | None = None) -> Principal:
    """Fail unless the principal may read instances at all (`instance:read` or `read_own`).

    Raises:
        PermissionDeniedError: naming `instance:read`.
    """
    who = principal if principal is not None else current_principal()
    granted = permissions_of(who)
    if Permission.INSTANCE_READ in granted or Permission.INSTANCE_READ_OWN in granted:
        return who
    raise PermissionDeniedError(
        f"missing permission '{Permission.INSTANCE_READ}' or '{Permission.INSTANCE_READ_OWN}' "
        f"(roles: {', '.join(sorted(who.roles)) or 'none'})",
        permission=str(Permission.INSTANCE_READ),
    )


def instance_scope(requested_tenant: str | None = None) -> InstanceScope:
    """Require instance reading and return what the current principal may read.

    Args:
        requested_tenant: The tenant a list / stream asked for (None: the caller's own, or
            every tenant for admins).

    Raises:
        PermissionDeniedError: no instance read permission, or a non-admin named another
            tenant.
    """
    who = require_instance_read()
    tenant = who.tenant_filter(requested_tenant)
    if who.is_admin or Permission.INSTANCE_READ in permissions_of(who):
        return InstanceScope(who, tenant, None)
    # `instance:read_own` only: a principal without a user id owns nothing.
    return InstanceScope(who, tenant, who.user_id or _NOBODY)


def object_scope(principal: Principal) -> InstanceScope:
    """The scope single-object reads and control actions check (the principal's own tenant).

    Unlike `instance_scope` it never fails: the caller has required its permission already,
    and an object outside the scope answers NotFoundError.
    """
    tenant = None if principal.is_admin else principal.tenant_id
    if principal.is_admin or Permission.INSTANCE_READ in permissions_of(principal):
        return InstanceScope(principal, tenant, None)
    return InstanceScope(principal, tenant, principal.user_id or _NOBODY)


def acting_user(
    given: str | None,
    *,
    field: str = "user_id",
    action: str = "this request",
    principal: Principal | None = None,
) -> str | None:
    """The user id recorded as the actor of a request.

    With authentication off (the system principal) the body's value is taken as it is. With
    a token the actor is the token's user: a body value naming someone else is refused.

    Args:
        given: The `user_id` of the request body (None or "": not given).
        field: The field's name for the error message.
        action: What is being done, for the error message (e.g. "claim").
        principal: The caller (default: the current principal).

    Raises:
        PermissionDeniedError: `given` names another user than the caller.
    """
    who = principal if principal is not None else current_principal()
    if who.is_system:
        return given
    named = given.strip() if given is not None else ""
    if named and named != who.user_id:
        raise PermissionDeniedError(
            f"{field} '{named}' is not you: {action} acts as the authenticated user "
            f"'{who.user_id}' (leave {field} out or give your own)",
            permission="user:impersonate",
        )
    return who.user_id
