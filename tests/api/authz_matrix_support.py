"""The authorization matrix's shared parts: callers, the world they act on, expectations.

Callers all belong to tenant `acme`; "own" cells act on acme's objects, "other" cells on
tenant `globex`'s (whose data carries markers, so any leak into a response is found).
Expectations follow docs/briefs/security.md: a missing permission is 403; another tenant's
single object is 404; naming another tenant on a list / count / stream / signal is 403;
admins cross tenants.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from tests.paths import SEED
from tests.services.support import SEED_VARIABLES, eventually
from workflow_engine.security import Permission, Principal, acting_as, permissions_of
from workflow_engine.security.tokens import mint_token
from workflow_engine.services.container import Services
from workflow_engine.services.definition_source import DefinitionFormat
from workflow_engine.services.errors import NotFoundError
from workflow_engine.store.tasks import TaskFilters

ACME = "acme"
GLOBEX = "globex"
SECRET = "matrix-secret-0123456789abcdef01"
#: Strings only globex data contains: finding one in an acme caller's answer is a leak.
GLOBEX_NAME = "GLOBEX-ONLY-NAME"
GLOBEX_BUSINESS_KEY = "GLOBEX-BK"
GLOBEX_USER = "carol"
ACME_USER = "alice"

RoleName = Literal["admin", "modeler", "operator", "user", "none"]
ROLES: tuple[RoleName, ...] = ("admin", "modeler", "operator", "user", "none")
TenantSide = Literal["own", "other"]
Kind = Literal["object", "list", "create", "identity"]


def caller(role: RoleName) -> Principal:
    """The acme principal of a role (role `user` is alice, who starts acme's instances)."""
    if role == "user":
        return Principal(
            user_id=ACME_USER,
            roles=frozenset({"user"}),
            groups=frozenset({"sales"}),
            tenant_id=ACME,
        )
    roles = frozenset() if role == "none" else frozenset({role})
    return Principal(user_id=f"{role}-1", roles=roles, tenant_id=ACME)


def token_of(principal: Principal) -> str:
    """A real HS256 token for the principal."""
    return mint_token(
        secret=SECRET,
        user_id=principal.user_id or "nobody",
        groups=principal.groups,
        roles=principal.roles,
        tenant_id=principal.tenant_id,
    )


@dataclass(frozen=True, slots=True)
class Rule:
    """What one endpoint needs.

    Attributes:
        any_of: Permissions of which one suffices (empty: any authenticated caller).
        kind: `object` (one addressed object: another tenant's is 404), `list` / `create`
            (another tenant is named explicitly: 403), `identity` (about the caller only).
        ok: Statuses of an allowed call (a 409 means the state refused, not the caller).
        mutates: The call changes its target, so each cell gets fresh objects.
        tenant_param: `other` cells can name the other tenant (lists); without one, an
            `other` cell is the same call and must simply leak nothing.
    """

    any_of: tuple[Permission, ...]
    kind: Kind
    ok: frozenset[int] = frozenset({200})
    mutates: bool = False
    tenant_param: bool = True
    #: Cells whose answer the target's own state fixes (role, side) -> statuses.
    overrides: dict[tuple[str, str], frozenset[int]] = field(default_factory=dict)


def expected(rule: Rule, role: RoleName, side: TenantSide) -> frozenset[int]:
    """The statuses a cell may answer with."""
    principal = caller(role)
    if (role, side) in rule.overrides:
        return rule.overrides[(role, side)]
    granted = permissions_of(principal)
    if rule.any_of and not any(p in granted for p in rule.any_of):
        return frozenset({403})
    if side == "other" and not principal.is_admin:
        if rule.kind == "object":
            return frozenset({404})
        if rule.kind in ("list", "create") and rule.tenant_param:
            return frozenset({403})
    return rule.ok


@dataclass
class Target:
    """The objects one cell acts on (in the cell's tenant)."""

    tenant: str
    definition_id: int
    definition_key: str
    instance_id: str
    task_id: str | None = None
    step_id: int | None = None
    #: A terminated instance (history of ended instances).
    ended_instance_id: str = ""


@dataclass
class World:
    """Long-lived objects of both tenants, and every globex id handed out (leak markers)."""

    services: Services
    targets: dict[str, Target] = field(default_factory=dict)
    globex_ids: set[str] = field(default_factory=set)
    counter: int = 0

    def markers(self) -> set[str]:
        """Strings that must never reach a non-admin acme caller."""
        return {GLOBEX_NAME, GLOBEX_BUSINESS_KEY, GLOBEX_USER, *self.globex_ids}

    async def deploy(self, tenant: str, *, key: str | None = None) -> tuple[int, str]:
        """Deploy the seed under a (fresh) key into `tenant`, as the system."""
        document: dict[str, Any] = json.loads(SEED.read_text())
        self.counter += 1
        key = key or f"m{self.counter}"
        document["process"].update({"id": key, "key": key, "tenant_id": tenant})
        document["process"]["name"] = GLOBEX_NAME if tenant == GLOBEX else "acme process"
        result = await self.services.definitions.deploy(
            json.dumps(document).encode(), fmt=DefinitionFormat.JSON, tenant_id=tenant
        )
        return result.definition.id, key

    async def start(self, tenant: str, key: str) -> str:
        """Start an instance as the tenant's user (alice / carol) and wait for its task."""
        user = ACME_USER if tenant == ACME else GLOBEX_USER
        with acting_as(Principal.system()):
            record = await self.services.instances.start(
                definition_key=key,
                tenant_id=tenant,
                variables={**SEED_VARIABLES, "user_id": user},
                user_id=user,
                business_key=GLOBEX_BUSINESS_KEY if tenant == GLOBEX else "acme-bk",
            )
        if tenant == GLOBEX:
            self.globex_ids.add(record.id)
        return record.id

    async def task_of(self, instance_id: str, tenant: str) -> str:
        """The open user task of an instance, once the engine has created it."""

        async def open_tasks() -> list[Any]:
            with acting_as(Principal.system()):
                page = await self.services.tasks.list(TaskFilters(instance_id=instance_id))
            return [t for t in page.items if t.state != "completed"]

        tasks = await eventually(open_tasks, bool, within=30)
        task_id = str(tasks[0].id)
        if tenant == GLOBEX:
            self.globex_ids.add(task_id)
        return task_id

    async def fresh(self, tenant: str, *, with_task: bool) -> Target:
        """New objects for a mutating cell."""
        definition_id, key = await self.deploy(tenant)
        instance_id = await self.start(tenant, key)
        task_id = await self.task_of(instance_id, tenant) if with_task else None
        return Target(tenant, definition_id, key, instance_id, task_id)


async def build_world(services: Services) -> World:
    """Both tenants with a definition and an instance waiting at its user task."""
    world = World(services)
    for tenant in (ACME, GLOBEX):
        target = await world.fresh(tenant, with_task=True)
        ended = await world.start(tenant, target.definition_key)
        with acting_as(Principal.system()):
            await services.instances.terminate(ended, reason="matrix: an ended instance")

        async def history_of(instance_id: str = ended) -> Any:
            with acting_as(Principal.system()):
                try:
                    return await services.history.historic_instance(instance_id)
                except NotFoundError:
                    return None

        await eventually(history_of, lambda found: found is not None, within=30)
        target.ended_instance_id = ended
        world.targets[tenant] = target
    return world
