"""Permissions and the roles that grant them (issue 6: admin, modeler, operator, user).

Object-level rules (own tasks, candidate starters, tenants) live with the services that know
the objects; this module answers only "does the role set grant this action at all".
"""

from __future__ import annotations

from enum import StrEnum

from workflow_engine.security.context import current_principal
from workflow_engine.security.principal import Principal
from workflow_engine.services.errors import PermissionDeniedError


class Permission(StrEnum):
    """An action on a kind of resource."""

    DEFINITION_READ = "definition:read"
    DEFINITION_DEPLOY = "definition:deploy"
    DEFINITION_DELETE = "definition:delete"
    DEFINITION_SUSPEND = "definition:suspend"
    INSTANCE_START = "instance:start"
    #: Read any instance of the tenant (users read only instances they started).
    INSTANCE_READ = "instance:read"
    INSTANCE_READ_OWN = "instance:read_own"
    INSTANCE_CONTROL = "instance:control"
    INSTANCE_VARIABLES = "instance:variables"
    #: Read every task of the tenant (users see only their own and candidate tasks).
    TASK_READ = "task:read"
    TASK_WORK = "task:work"
    #: Assign / complete any task of the tenant, not only one's own.
    TASK_MANAGE = "task:manage"
    SIGNAL_SEND = "signal:send"
    MESSAGE_SEND = "message:send"
    STATS_READ = "stats:read"
    AUDIT_READ = "audit:read"
    HISTORY_DELETE = "history:delete"
    #: Compare open instances with Temporal and write the end of ghosts (admins only).
    INSTANCE_RECONCILE = "instance:reconcile"
    #: Scrape `/metrics` while auth is on: it spans every tenant (definition keys), so only
    #: admins and the `monitor` role hold it.
    METRICS_READ = "metrics:read"


class Role(StrEnum):
    """The built-in roles."""

    ADMIN = "admin"
    MODELER = "modeler"
    OPERATOR = "operator"
    USER = "user"
    #: A scraper (Prometheus): may read `/metrics` and nothing else.
    MONITOR = "monitor"


_ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.MODELER: frozenset(
        {
            Permission.DEFINITION_READ,
            Permission.DEFINITION_DEPLOY,
            Permission.DEFINITION_DELETE,
            Permission.DEFINITION_SUSPEND,
        }
    ),
    Role.OPERATOR: frozenset(
        {
            Permission.DEFINITION_READ,
            Permission.INSTANCE_START,
            Permission.INSTANCE_READ,
            Permission.INSTANCE_READ_OWN,
            Permission.INSTANCE_CONTROL,
            Permission.INSTANCE_VARIABLES,
            Permission.TASK_READ,
            Permission.TASK_WORK,
            Permission.TASK_MANAGE,
            Permission.SIGNAL_SEND,
            Permission.MESSAGE_SEND,
            Permission.STATS_READ,
        }
    ),
    Role.USER: frozenset(
        {
            Permission.DEFINITION_READ,
            Permission.INSTANCE_START,
            Permission.INSTANCE_READ_OWN,
            Permission.TASK_WORK,
        }
    ),
    Role.MONITOR: frozenset({Permission.METRICS_READ}),
}


def permissions_of(principal: Principal) -> frozenset[Permission]:
    """Everything the principal's roles grant (the system principal: everything)."""
    if principal.is_admin:
        return frozenset(Permission)
    granted: set[Permission] = set()
    for name in principal.roles:
        try:
            granted |= _ROLE_PERMISSIONS[Role(name)]
        except ValueError:
            continue  # an unknown role grants nothing; it is not an error in the token
    return frozenset(granted)


def require(permission: Permission, principal: Principal | None = None) -> Principal:
    """Fail unless the (current) principal holds `permission`; returns the principal.

    Raises:
        PermissionDeniedError: naming the missing permission.
    """
    who = principal if principal is not None else current_principal()
    if permission not in permissions_of(who):
        raise PermissionDeniedError(
            f"missing permission '{permission}' (roles: {', '.join(sorted(who.roles)) or 'none'})",
            permission=str(permission),
        )
    return who
