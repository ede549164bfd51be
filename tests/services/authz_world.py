"""Real data in two tenants for the authorization tests, and the principals that act on it.

Tenant `acme`: definition `orders` (seed example) with instances started by alice (running and
completed) and bob (running); tenant `globex`: the same key with an instance of carol's. Rows
are written by the real repositories and the engine's projection activity, so every read goes
through the same queries production uses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from temporalio.testing import ActivityEnvironment

from tests.services.support import SEED
from tests.store.test_runtime import event
from workflow_engine.engine.activities.runtime import RuntimeActivities
from workflow_engine.engine.contract import RuntimeBatch, workflow_id
from workflow_engine.security import Principal
from workflow_engine.services.container import Services
from workflow_engine.services.definition_source import DefinitionFormat
from workflow_engine.store.instances import InstanceRepository

ACME = "acme"
GLOBEX = "globex"


def principal(user: str, role: str, tenant: str, *groups: str) -> Principal:
    """A token holder with one role."""
    return Principal(
        user_id=user, roles=frozenset({role}), tenant_id=tenant, groups=frozenset(groups)
    )


ADMIN = principal("root", "admin", ACME)
OPERATOR = principal("olga", "operator", ACME)
MODELER = principal("mona", "modeler", ACME)
ALICE = principal("alice", "user", ACME, "sales")
BOB = principal("bob", "user", ACME)
GLOBEX_OPERATOR = principal("gus", "operator", GLOBEX)
GLOBEX_USER = principal("carol", "user", GLOBEX)
NOBODY = Principal(user_id="nemo", roles=frozenset(), tenant_id=ACME)


def seed_document(*, key: str = "orders", tenant: str = "", **process: Any) -> dict[str, Any]:
    """The seed example under another key (and optional header fields such as starters)."""
    document: dict[str, Any] = json.loads(SEED.read_text())
    document["process"].update({"id": key, "key": key, "name": key, **process})
    # The example names tenant 'default'; a document without a tenant goes to the deployer's.
    document["process"].pop("tenant_id", None)
    if tenant:
        document["process"]["tenant_id"] = tenant
    return document


def body(document: dict[str, Any]) -> bytes:
    """A JSON upload."""
    return json.dumps(document).encode()


@dataclass(frozen=True, slots=True)
class World:
    """Ids of what `build_world` wrote."""

    acme_definition: int
    globex_definition: int
    alice_running: str
    alice_done: str
    bob_running: str
    carol_running: str

    @property
    def acme_instances(self) -> set[str]:
        """Every instance of tenant acme."""
        return {self.alice_running, self.alice_done, self.bob_running}


async def _instance(
    services: Services, instance_id: str, definition_id: int, tenant: str, user: str
) -> None:
    async with services.database.session() as session:
        await InstanceRepository(session).create(
            instance_id=instance_id,
            workflow_id=workflow_id(instance_id),
            definition_id=definition_id,
            definition_key="orders",
            definition_version=1,
            tenant_id=tenant,
            start_user_id=user,
        )


async def apply(services: Services, batch: RuntimeBatch, *, publish: bool = True) -> None:
    """Apply a runtime batch as the engine does (and publish its events on the bus)."""
    acts = RuntimeActivities(services.database, bus=services.bus if publish else None)
    await ActivityEnvironment().run(acts.apply_runtime_batch, batch)


def batch(instance_id: str, first: int, last: int, *, status: str = "running") -> RuntimeBatch:
    """Events `first..last` of an instance (`activity.completed` at node `review`)."""
    return RuntimeBatch(
        instance_id=instance_id,
        through_sequence=last,
        events=[event(n, "activity.completed", "review") for n in range(first, last + 1)],
        status=status,
        variables={"secret_of": instance_id} if first == 1 else {},
        ended_at="2026-11-30T10:01:00+00:00" if status == "completed" else None,
    )


async def build_world(services: Services) -> World:
    """Deploy `orders` in both tenants and write four instances with events (as the system)."""
    defs = services.definitions
    acme = await defs.deploy(body(seed_document()), fmt=DefinitionFormat.JSON, tenant_id=ACME)
    globex = await defs.deploy(body(seed_document()), fmt=DefinitionFormat.JSON, tenant_id=GLOBEX)
    world = World(
        acme_definition=acme.definition.id,
        globex_definition=globex.definition.id,
        alice_running="i-acme-alice",
        alice_done="i-acme-alice-done",
        bob_running="i-acme-bob",
        carol_running="i-globex-carol",
    )
    owners = [
        (world.alice_running, world.acme_definition, ACME, "alice"),
        (world.alice_done, world.acme_definition, ACME, "alice"),
        (world.bob_running, world.acme_definition, ACME, "bob"),
        (world.carol_running, world.globex_definition, GLOBEX, "carol"),
    ]
    for instance_id, definition_id, tenant, user in owners:
        await _instance(services, instance_id, definition_id, tenant, user)
        await apply(services, batch(instance_id, 1, 2), publish=False)
    await apply(services, batch(world.alice_done, 3, 3, status="completed"), publish=False)
    return world
