"""TaskService authorization and tenant isolation (issue 6), on SQLite and PostgreSQL.

Tasks are written through the runtime projection (as the engine writes them) into two tenants;
the service is then called under `acting_as(Principal(...))`. Completions that must succeed go
through the real Temporal update (the workflow double), so they run on `engine_services`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.services.support import SEED, SEED_VARIABLES, eventually
from tests.services.workflow_double import engine_services
from workflow_engine.config import load_settings
from workflow_engine.engine.contract import RuntimeBatch, TaskRecord
from workflow_engine.security import Principal, acting_as
from workflow_engine.services.container import Services, build_services
from workflow_engine.services.definition_source import DefinitionFormat
from workflow_engine.services.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)
from workflow_engine.store.database import Database
from workflow_engine.store.definitions import DefinitionRepository
from workflow_engine.store.instances import InstanceRepository
from workflow_engine.store.runtime import RuntimeProjection
from workflow_engine.store.tasks import StoredTask, TaskFilters

__all__ = ["engine_services"]

ACME, GLOBEX = "acme", "globex"


def user(name: str, *groups: str, tenant: str = ACME) -> Principal:
    """A token holder of role `user`."""
    return Principal(name, groups=frozenset(groups), roles=frozenset({"user"}), tenant_id=tenant)


OPERATOR = Principal("olga", roles=frozenset({"operator"}), tenant_id=ACME)
ADMIN = Principal("root", roles=frozenset({"admin"}), tenant_id=ACME)
MODELER = Principal("mo", roles=frozenset({"modeler"}), tenant_id=ACME)


def _task(
    task_id: str,
    *,
    minute: int,
    assignee: str | None = None,
    users: tuple[str, ...] = (),
    groups: tuple[str, ...] = (),
) -> TaskRecord:
    return TaskRecord(
        task_id=task_id,
        node_id="review",
        name=task_id,
        state="created",
        created_at=f"2026-11-30T10:{minute:02d}:00+00:00",
        assignee=assignee,
        candidate_users=list(users),
        candidate_groups=list(groups),
    )


async def _instance_with_tasks(
    database: Database, instance_id: str, tenant: str, tasks: list[TaskRecord]
) -> None:
    async with database.session() as session:
        definition = await DefinitionRepository(session).create_next_version(
            tenant_id=tenant,
            key="proc",
            name="Process",
            content_hash=("a" if tenant == ACME else "b") * 64,
            resource="{}",
            resource_type="json",
            model_json="{}",
        )
        await InstanceRepository(session).create(
            instance_id=instance_id,
            workflow_id=f"pi-{instance_id}",
            definition_id=definition.id,
            definition_key="proc",
            definition_version=1,
            tenant_id=tenant,
            business_key=None,
            start_user_id="alice",
        )
    async with database.session() as session:
        await RuntimeProjection(session).apply(
            RuntimeBatch(instance_id=instance_id, through_sequence=1, tasks=tasks)
        )


@pytest.fixture
async def services(db_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    """Services without Temporal over tasks in two tenants.

    acme: `open` (candidates bob, group staff), `alice` (assigned to alice, group staff),
    `managers` (group managers), `bare` (no candidates at all).
    globex: `g-open` (candidates bob, group staff).
    """
    settings = load_settings(database_url=db_url, data_dir=tmp_path)
    built = await build_services(settings)
    try:
        await _instance_with_tasks(
            built.database,
            "i-acme",
            ACME,
            [
                _task("open", minute=1, users=("bob",), groups=("staff",)),
                _task("alice", minute=2, assignee="alice", groups=("staff",)),
                _task("managers", minute=3, groups=("managers",)),
                _task("bare", minute=4),
            ],
        )
        await _instance_with_tasks(
            built.database,
            "i-globex",
            GLOBEX,
            [_task("g-open", minute=5, users=("bob",), groups=("staff",))],
        )
        yield built
    finally:
        await built.aclose()


async def _ids(services: Services, filters: TaskFilters | None = None) -> list[str]:
    page = await services.tasks.list(filters or TaskFilters(), page_size=500)
    return [t.id for t in page.items]


async def test_the_system_principal_sees_everything(services: Services) -> None:
    assert await _ids(services) == ["open", "alice", "managers", "bare", "g-open"]
    assert await _ids(services, TaskFilters(tenant_id=GLOBEX)) == ["g-open"]


async def test_users_list_only_their_own_and_candidate_tasks(services: Services) -> None:
    with acting_as(user("bob")):
        assert await _ids(services) == ["open"]  # never globex's g-open
    with acting_as(user("carol", "staff")):
        # `alice` is claimed: its candidates no longer see it in their inbox.
        assert await _ids(services) == ["open"]
    with acting_as(user("alice")):
        assert await _ids(services) == ["alice"]
    with acting_as(user("mia", "managers", "staff")):
        assert await _ids(services) == ["open", "managers"]
    with acting_as(user("dave")):
        assert await _ids(services) == []
    with acting_as(user("bob", tenant=GLOBEX)):
        assert await _ids(services) == ["g-open"]
    # The user filter is ANDed with the caller's own filters, in one query.
    with acting_as(user("mia", "managers", "staff")):
        assert await _ids(services, TaskFilters(candidate_group="managers")) == ["managers"]
        assert await _ids(services, TaskFilters(assignee="alice")) == []


async def test_a_users_inbox_pages_through_the_visibility_filter(services: Services) -> None:
    with acting_as(user("mia", "managers", "staff")):
        first = await services.tasks.list(TaskFilters(), page_size=1)
        assert [t.id for t in first.items] == ["open"] and first.next_page_token is not None
        second = await services.tasks.list(
            TaskFilters(), page_size=1, page_token=first.next_page_token
        )
        assert [t.id for t in second.items] == ["managers"]
        assert second.next_page_token is None


async def test_operators_see_their_tenant_and_admins_cross_tenants(services: Services) -> None:
    with acting_as(OPERATOR):
        assert await _ids(services) == ["open", "alice", "managers", "bare"]
        assert await _ids(services, TaskFilters(tenant_id=ACME)) == [
            "open",
            "alice",
            "managers",
            "bare",
        ]
        with pytest.raises(PermissionDeniedError, match="tenant 'globex' is not yours"):
            await _ids(services, TaskFilters(tenant_id=GLOBEX))
    with acting_as(user("bob")), pytest.raises(PermissionDeniedError) as denied:
        await _ids(services, TaskFilters(tenant_id=GLOBEX))
    assert denied.value.permission == "tenant:cross"
    with acting_as(ADMIN):
        assert await _ids(services) == ["open", "alice", "managers", "bare", "g-open"]
        assert await _ids(services, TaskFilters(tenant_id=GLOBEX)) == ["g-open"]


async def test_no_task_permission_at_all_is_a_403(services: Services) -> None:
    with acting_as(MODELER):
        with pytest.raises(PermissionDeniedError, match="task:work") as denied:
            await _ids(services)
        assert denied.value.permission == "task:work"
        with pytest.raises(PermissionDeniedError, match="task:work"):
            await services.tasks.get("open")


async def test_a_task_one_may_not_see_is_not_found(services: Services) -> None:
    with acting_as(user("bob")):
        assert (await services.tasks.get("open")).id == "open"
        for hidden in ("g-open", "alice", "managers", "bare", "missing"):
            with pytest.raises(NotFoundError, match=f"task {hidden} does not exist"):
                await services.tasks.get(hidden)
    with acting_as(OPERATOR):
        assert (await services.tasks.get("bare")).id == "bare"
        with pytest.raises(NotFoundError, match="task g-open does not exist"):
            await services.tasks.get("g-open")
        # Another tenant's task is as absent for every action (no 403 that confirms it).
        with pytest.raises(NotFoundError):
            await services.tasks.assign("g-open", user_id="olga")
        with pytest.raises(NotFoundError):
            await services.tasks.claim("g-open", user_id=None)
    with acting_as(ADMIN):
        assert (await services.tasks.get("g-open")).tenant_id == GLOBEX


async def test_claim_by_a_candidate_only(services: Services) -> None:
    with acting_as(user("dave")), pytest.raises(NotFoundError):
        await services.tasks.claim("open", user_id=None)
    with acting_as(user("carol", "staff")):
        with pytest.raises(PermissionDeniedError, match="not you") as denied:
            await services.tasks.claim("open", user_id="bob")
        assert denied.value.permission == "user:impersonate"
        claimed = await services.tasks.claim("open", user_id=None)
    assert (claimed.assignee, claimed.state) == ("carol", "claimed")
    with acting_as(user("bob")):
        # bob is a candidate too: losing the race is a 409 naming the winner, not a 404.
        with pytest.raises(ConflictError, match="already claimed by carol"):
            await services.tasks.claim("open", user_id="bob")
        # ... but the claimed task has left his inbox.
        assert await _ids(services) == []
    with acting_as(user("carol", "staff")):
        again = await services.tasks.claim("open", user_id="carol")
    assert again.version == claimed.version  # one's own claim again is a no-op


async def test_a_manager_claims_any_task_of_the_tenant(services: Services) -> None:
    with acting_as(OPERATOR):
        claimed = await services.tasks.claim("bare", user_id=None)
    assert claimed.assignee == "olga"


async def test_unclaim_by_the_assignee_or_a_manager(services: Services) -> None:
    with acting_as(user("bob")):
        with pytest.raises(PermissionDeniedError, match="task:unclaim requires being the assignee"):
            await services.tasks.unclaim("open")
        await services.tasks.claim("open", user_id=None)
        back = await services.tasks.unclaim("open")
    assert (back.assignee, back.state) == (None, "created")
    with acting_as(OPERATOR):
        released = await services.tasks.unclaim("alice")
    assert released.assignee is None


async def test_assign_needs_task_manage(services: Services) -> None:
    with acting_as(user("alice")), pytest.raises(PermissionDeniedError) as denied:
        await services.tasks.assign("alice", user_id="bob")
    assert denied.value.permission == "task:manage"
    with acting_as(OPERATOR):
        assigned = await services.tasks.assign("alice", user_id="bob")
    assert assigned.assignee == "bob"
    with acting_as(user("alice")), pytest.raises(NotFoundError):
        await services.tasks.get("alice")  # no longer hers
    with acting_as(user("bob")):
        assert "alice" in await _ids(services)


async def test_delegation_owner_and_delegate(services: Services) -> None:
    # Not hers to delegate: a candidate of an unclaimed task cannot hand it on.
    with acting_as(user("carol", "staff")), pytest.raises(ConflictError, match="no assignee"):
        await services.tasks.delegate("open", user_id="helper")
    with acting_as(user("alice")):
        delegated = await services.tasks.delegate("alice", user_id="helper")
    assert (delegated.owner, delegated.assignee, delegated.state) == (
        "alice",
        "helper",
        "delegated",
    )
    with acting_as(user("alice")):
        # The owner still sees the task but may not resolve, claim or complete it meanwhile.
        assert await _ids(services) == ["alice"]
        with pytest.raises(PermissionDeniedError, match="task:resolve requires being the delegate"):
            await services.tasks.resolve("alice")
        with pytest.raises(ConflictError, match="resolve it before completing"):
            await services.tasks.complete("alice")
    with acting_as(user("helper")):
        assert await _ids(services) == ["alice"]
        with pytest.raises(ConflictError, match="resolve it before completing"):
            await services.tasks.complete("alice")
        with pytest.raises(PermissionDeniedError, match="not you"):
            await services.tasks.resolve("alice", user_id="alice")
        resolved = await services.tasks.resolve("alice")
    assert (resolved.assignee, resolved.owner, resolved.delegation) == (
        "alice",
        "alice",
        "resolved",
    )
    with acting_as(user("helper")), pytest.raises(NotFoundError):
        await services.tasks.get("alice")  # handed back: no longer the helper's


async def test_delegate_is_the_assignees_or_a_managers(services: Services) -> None:
    with acting_as(user("carol", "staff")):
        await services.tasks.claim("open", user_id=None)
    with acting_as(user("bob")), pytest.raises(NotFoundError):
        await services.tasks.delegate("open", user_id="bob")  # claimed by carol: not visible
    with acting_as(OPERATOR):
        delegated = await services.tasks.delegate("open", user_id="helper")
    assert (delegated.owner, delegated.assignee) == ("carol", "helper")


async def test_complete_refusals_before_the_workflow_is_asked(services: Services) -> None:
    # services has no Temporal: every refusal below happens before the update is sent.
    with acting_as(user("carol", "staff")):
        with pytest.raises(PermissionDeniedError, match="not you"):
            await services.tasks.complete("open", user_id="bob")
        with pytest.raises(NotFoundError):
            await services.tasks.complete("alice")  # claimed by alice
        with pytest.raises(NotFoundError):
            await services.tasks.complete("g-open")  # another tenant
    with acting_as(user("alice")):
        await services.tasks.delegate("alice", user_id="helper")
    with acting_as(user("helper")), pytest.raises(ConflictError, match="resolve it"):
        await services.tasks.complete("alice")


async def _live_task(services: Services, definition_id: int, starter: str | None) -> StoredTask:
    record = await services.instances.start(
        definition_id=definition_id, variables=SEED_VARIABLES, user_id=starter
    )
    page = await eventually(
        lambda: services.tasks.list(TaskFilters(instance_id=record.id)), lambda p: bool(p.items)
    )
    return page.items[0]


async def _tenant_seed(services: Services, tenant: str) -> int:
    result = await services.definitions.deploy(
        SEED.read_bytes(), fmt=DefinitionFormat.JSON, tenant_id=tenant
    )
    return result.definition.id


async def test_who_may_complete(engine_services: Services) -> None:
    services = engine_services
    acme = await _tenant_seed(services, ACME)
    globex = await _tenant_seed(services, GLOBEX)
    unclaimed = await _live_task(services, acme, None)
    owned = await _live_task(services, acme, "alice")
    foreign = await _live_task(services, globex, None)
    assert (unclaimed.tenant_id, foreign.tenant_id) == (ACME, GLOBEX)
    assert owned.assignee == "alice" and unclaimed.candidate_groups == ("staff",)

    # A candidate completes an unclaimed task (and becomes its assignee).
    with acting_as(user("dave")), pytest.raises(NotFoundError):
        await services.tasks.complete(unclaimed.id)
    with acting_as(user("carol", "staff")):
        result = await services.tasks.complete(unclaimed.id, variables={"userValid": True})
        assert result.task_id == unclaimed.id
        done = await services.tasks.get(unclaimed.id)
    assert (done.state, done.assignee) == ("completed", "carol")

    # Only the assignee completes a claimed task; the owner completes after resolve.
    with acting_as(user("alice")):
        await services.tasks.delegate(owned.id, user_id="helper")
    with acting_as(user("helper")):
        await services.tasks.resolve(owned.id)
    with acting_as(user("helper")), pytest.raises(NotFoundError):
        await services.tasks.complete(owned.id)
    with acting_as(user("alice")):
        assert (await services.tasks.complete(owned.id)).task_id == owned.id

    # Another tenant's user never reaches acme's tasks; their own works.
    with acting_as(user("bob", "staff", tenant=GLOBEX)):
        with pytest.raises(NotFoundError):
            await services.tasks.complete(owned.id)
        assert (await services.tasks.complete(foreign.id)).task_id == foreign.id


async def test_a_manager_completes_anyones_task(engine_services: Services) -> None:
    services = engine_services
    task = await _live_task(services, await _tenant_seed(services, ACME), "alice")
    with acting_as(user("carol", "staff")), pytest.raises(NotFoundError):
        await services.tasks.complete(task.id)
    with acting_as(OPERATOR):
        assert (await services.tasks.complete(task.id)).task_id == task.id
    assert (await services.tasks.get(task.id)).assignee == "alice"
