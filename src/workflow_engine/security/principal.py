"""The authenticated caller: user, groups, roles and tenant, taken from a token's claims."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from workflow_engine.services.errors import PermissionDeniedError

PrincipalKind = Literal["user", "system"]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who acts.

    Attributes:
        user_id: The user (token claim `sub` by default); None for the system principal.
        groups: Groups the user belongs to (candidate groups of tasks, starter groups).
        roles: Role names (`admin`, `modeler`, `operator`, `user`); unknown names grant nothing.
        tenant_id: The user's tenant ('' is the default tenant).
        kind: `user` for a token holder; `system` for the engine itself and for every request
            while authentication is off (it may do everything, in every tenant).
    """

    user_id: str | None
    groups: frozenset[str] = field(default_factory=frozenset)
    roles: frozenset[str] = field(default_factory=frozenset)
    tenant_id: str = ""
    kind: PrincipalKind = "user"

    @classmethod
    def system(cls) -> Principal:
        """The all-powerful principal of internal callers and of auth-off deployments."""
        return cls(user_id=None, roles=frozenset({"admin"}), kind="system")

    @property
    def is_system(self) -> bool:
        """True for the internal / auth-off principal."""
        return self.kind == "system"

    @property
    def is_admin(self) -> bool:
        """Admins (and the system principal) may do everything, across tenants."""
        return self.is_system or "admin" in self.roles

    def sees_tenant(self, tenant_id: str) -> bool:
        """Whether this principal may see data of `tenant_id`."""
        return self.is_admin or tenant_id == self.tenant_id

    def tenant_filter(self, requested: str | None) -> str | None:
        """The tenant a list / count / stream must be limited to.

        Args:
            requested: The tenant the caller asked for (query parameter), or None.

        Returns:
            None (every tenant) only for admins that asked for no tenant; otherwise the one
            tenant to filter by.

        Raises:
            PermissionDeniedError: a non-admin asked for another tenant.
        """
        if self.is_admin:
            return requested
        if requested is not None and requested != self.tenant_id:
            raise PermissionDeniedError(
                f"tenant '{requested}' is not yours (you belong to tenant '{self.tenant_id}')",
                permission="tenant:cross",
            )
        return self.tenant_id

    def tenant_for_write(self, requested: str | None) -> str | None:
        """The tenant new data goes to: a non-admin's own, an admin's choice (None: default).

        Raises:
            PermissionDeniedError: a non-admin asked to write into another tenant.
        """
        if self.is_admin:
            return requested
        return self.tenant_filter(requested)

    def is_user(self, user_id: str | None) -> bool:
        """Whether `user_id` names this principal (the system principal is nobody)."""
        return user_id is not None and not self.is_system and user_id == self.user_id
