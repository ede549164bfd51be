"""`TaskService.variables`: a task's viewer reads its instance's variables, masked (both DBs).

The instance is alice's; its tasks name other users as candidates / assignee, who may not
read alice's instance (`instance:read_own`) but see the task, and with it the variables.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from tests.services.support import deploy_document
from workflow_engine.engine.contract import RuntimeBatch, TaskRecord
from workflow_engine.security import Principal, acting_as
from workflow_engine.services.container import Services
from workflow_engine.services.errors import NotFoundError, PermissionDeniedError
from workflow_engine.services.masking import MASK
from workflow_engine.store.instances import InstanceRepository
from workflow_engine.store.runtime import RuntimeProjection

ACME, GLOBEX = "acme", "globex"
SECRET = "s3cret-pw-value"
SHOWN = {"password": MASK, "user": "alice", "copy": f"x{MASK}x", "amount": 12}


def user(name: str, *groups: str, tenant: str = ACME) -> Principal:
    """A token holder of role `user`."""
    return Principal(name, groups=frozenset(groups), roles=frozenset({"user"}), tenant_id=tenant)


BOB = user("bob")  # candidate by name
GINA = user("gina", "reviewers")  # candidate through her group
CAROL = user("carol")  # assignee of `assigned`
OLGA = user("olga", "sales")  # same tenant, no candidate
ALICE = user("alice")  # started the instance, but is no candidate of its tasks
GLOBEX_BOB = user("bob", "reviewers", tenant=GLOBEX)  # same name and group, other tenant
OPERATOR = Principal("op", roles=frozenset({"operator"}), tenant_id=ACME)
GLOBEX_OPERATOR = Principal("gop", roles=frozenset({"operator"}), tenant_id=GLOBEX)
ADMIN = Principal("root", roles=frozenset({"admin"}), tenant_id=GLOBEX)
MODELER = Principal("mo", roles=frozenset({"modeler"}), tenant_id=ACME)


def _definition(tenant: str) -> dict[str, Any]:
    return {
        "process": {
            "id": f"vars-{tenant}",
            "key": "vars",
            "name": "Variables",
            "executable": True,
            "tenant_id": tenant,
            "variables": {
                "password": {"type": "string", "sensitive": True},
                "user": {"type": "string"},
            },
        },
        "elements": [
            {"id": "start", "type": "startEvent", "outgoing": ["review"]},
            {"id": "review", "type": "userTask", "incoming": ["start"], "outgoing": ["end"]},
            {"id": "end", "type": "endEvent", "incoming": ["review"]},
        ],
    }


def _task(task_id: str, *, assignee: str | None = None, users: tuple[str, ...] = ()) -> TaskRecord:
    return TaskRecord(
        task_id=task_id,
        node_id="review",
        name=task_id,
        state="created",
        created_at="2026-11-30T10:00:00+00:00",
        assignee=assignee,
        candidate_users=list(users),
        candidate_groups=["reviewers"] if assignee is None else [],
    )


async def _instance(services: Services, tenant: str, tasks: list[TaskRecord]) -> str:
    document = _definition(tenant)
    definition_id = await deploy_document(services, document)
    instance_id = str(uuid.uuid4())
    async with services.database.session() as session:
        await InstanceRepository(session).create(
            instance_id=instance_id,
            workflow_id=f"pi-{instance_id}",
            definition_id=definition_id,
            definition_key="vars",
            definition_version=1,
            tenant_id=tenant,
            start_user_id="alice",
        )
    async with services.database.session() as session:
        await RuntimeProjection(session).apply(
            RuntimeBatch(
                instance_id=instance_id,
                through_sequence=1,
                active_node_ids=["review"],
                variables={
                    "password": SECRET,
                    "user": "alice",
                    "copy": f"x{SECRET}x",
                    "amount": 12,
                },
                tasks=tasks,
            )
        )
    return instance_id


@pytest.fixture
async def world(services: Services) -> dict[str, str]:
    """acme: alice's instance with `open` (candidate bob, group reviewers) and `assigned`
    (carol); globex: an instance with `g-open` (candidate bob, group reviewers)."""
    acme = await _instance(
        services, ACME, [_task("open", users=("bob",)), _task("assigned", assignee="carol")]
    )
    globex = await _instance(services, GLOBEX, [_task("g-open", users=("bob",))])
    return {"acme": acme, "globex": globex}


async def test_candidates_and_the_assignee_read_masked_variables(
    services: Services, world: dict[str, str]
) -> None:
    for who, task_id in ((BOB, "open"), (GINA, "open"), (CAROL, "assigned")):
        with acting_as(who):
            found = await services.tasks.variables(task_id)
            assert (found.task_id, found.instance_id) == (task_id, world["acme"])
            assert found.variables == SHOWN, who.user_id
            assert SECRET not in repr(found)
            # The instance itself stays alice's: its variables API is still a 404 for them.
            with pytest.raises(NotFoundError):
                await services.instances.variables(world["acme"])
    # Exactly what the variables API shows to one who may read the instance.
    with acting_as(OPERATOR):
        assert await services.instances.variables(world["acme"]) == SHOWN
    # The engine keeps the real value.
    async with services.database.session() as session:
        stored = await InstanceRepository(session).variables(world["acme"])
    assert stored["password"] == SECRET


async def test_managers_read_their_tenant_and_admins_every_tenant(
    services: Services, world: dict[str, str]
) -> None:
    with acting_as(OPERATOR):
        assert (await services.tasks.variables("assigned")).variables == SHOWN
    with acting_as(GLOBEX_OPERATOR):
        assert (await services.tasks.variables("g-open")).instance_id == world["globex"]
    with acting_as(ADMIN):
        assert (await services.tasks.variables("open")).variables == SHOWN
    # Auth off (the system principal) reads every task's variables, masked as well.
    assert (await services.tasks.variables("open")).variables == SHOWN


async def test_an_invisible_task_is_not_found_like_a_missing_one(
    services: Services, world: dict[str, str]
) -> None:
    with acting_as(OLGA):
        with pytest.raises(NotFoundError) as missing:
            await services.tasks.variables("no-such-task")
        assert str(missing.value) == "task no-such-task does not exist"
    cells = (
        (OLGA, "open"),  # same tenant, no candidate
        (ALICE, "open"),  # started the instance, but the task is not hers
        (BOB, "assigned"),  # carol's
        (GINA, "assigned"),
        (GLOBEX_BOB, "open"),  # same name and group, other tenant
        (BOB, "g-open"),  # acme's bob on globex's task
        (GLOBEX_OPERATOR, "open"),
        (OPERATOR, "g-open"),
    )
    for who, task_id in cells:
        with acting_as(who), pytest.raises(NotFoundError) as hidden:
            await services.tasks.variables(task_id)
        # Word for word the missing task's answer: nothing confirms it exists.
        assert str(hidden.value) == f"task {task_id} does not exist", (who, task_id)


async def test_no_task_permission_is_a_403(services: Services, world: dict[str, str]) -> None:
    for who in (MODELER, Principal("nobody", tenant_id=ACME)):
        with acting_as(who), pytest.raises(PermissionDeniedError) as denied:
            await services.tasks.variables("open")
        assert "task:" in str(denied.value)


async def test_a_claimed_task_is_still_read_by_its_assignee_only(
    services: Services, world: dict[str, str]
) -> None:
    with acting_as(BOB):
        await services.tasks.claim("open", user_id=None)
        assert (await services.tasks.variables("open")).variables == SHOWN
    # Gina was a candidate while it was unclaimed; now it is bob's.
    with acting_as(GINA), pytest.raises(NotFoundError):
        await services.tasks.variables("open")


@contextmanager
def _statements(services: Services) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    sync_engine = services.database.engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(sync_engine, "before_cursor_execute", record)


async def test_two_queries_whatever_the_number_of_variables(
    services: Services, world: dict[str, str]
) -> None:
    with acting_as(BOB):
        await services.tasks.variables("open")  # the definition's model is cached now
        with _statements(services) as seen:
            found = await services.tasks.variables("open")
    assert found.variables == SHOWN
    assert len(seen) == 2, seen
