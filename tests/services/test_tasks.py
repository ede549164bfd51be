"""TaskService: inbox queries, optimistic-lock transitions, completion through the update."""

from __future__ import annotations

import pytest

from tests.services.support import SEED_VARIABLES, deploy_seed, eventually
from tests.services.workflow_double import engine_services
from workflow_engine.services.container import Services
from workflow_engine.services.errors import (
    ConflictError,
    InvalidArgumentError,
    NotFoundError,
    ValidationFailedError,
)
from workflow_engine.store.tasks import StoredTask, TaskFilters, TaskRepository

__all__ = ["engine_services"]


async def _task(services: Services, *, user_id: str | None = "alice") -> StoredTask:
    await deploy_seed(services)
    record = await services.instances.start(
        definition_key="userRegistration", variables=SEED_VARIABLES, user_id=user_id
    )
    page = await eventually(
        lambda: services.tasks.list(TaskFilters(instance_id=record.id)), lambda p: bool(p.items)
    )
    return page.items[0]


async def test_inbox_queries(engine_services: Services) -> None:
    services = engine_services
    task = await _task(services, user_id="alice")
    assert task.state == "created" and task.assignee == "alice"
    assert (await services.tasks.get(task.id)).name == "Review"
    for filters in (
        TaskFilters(assignee="alice"),
        TaskFilters(candidate_group="staff"),
        TaskFilters(state="created"),
    ):
        assert [t.id for t in (await services.tasks.list(filters)).items] == [task.id]
    assert not (await services.tasks.list(TaskFilters(assignee="bob"))).items
    assert not (await services.tasks.list(TaskFilters(candidate_group="other"))).items
    with pytest.raises(InvalidArgumentError, match="state must be one of"):
        await services.tasks.list(TaskFilters(state="open"))
    with pytest.raises(NotFoundError):
        await services.tasks.get("missing")


async def test_claim_rules(engine_services: Services) -> None:
    services = engine_services
    task = await _task(services, user_id=None)
    assert task.assignee is None
    with pytest.raises(InvalidArgumentError, match="user_id"):
        await services.tasks.claim(task.id, user_id=" ")
    claimed = await services.tasks.claim(task.id, user_id="bob")
    assert (claimed.assignee, claimed.state) == ("bob", "claimed")
    assert claimed.claim_time is not None
    assert (await services.tasks.claim(task.id, user_id="bob")).version == claimed.version
    with pytest.raises(ConflictError, match="already claimed by bob"):
        await services.tasks.claim(task.id, user_id="carol")
    with pytest.raises(ConflictError, match="claimed by bob, not carol"):
        await services.tasks.unclaim(task.id, user_id="carol")
    back = await services.tasks.unclaim(task.id, user_id="bob")
    assert (back.assignee, back.state) == (None, "created")
    assigned = await services.tasks.assign(task.id, user_id="dave")
    assert assigned.assignee == "dave"


async def test_delegate_and_resolve(engine_services: Services) -> None:
    services = engine_services
    task = await _task(services, user_id=None)
    with pytest.raises(ConflictError, match="no assignee"):
        await services.tasks.delegate(task.id, user_id="helper")
    await services.tasks.claim(task.id, user_id="bob")
    with pytest.raises(ConflictError, match="not delegated"):
        await services.tasks.resolve(task.id)
    delegated = await services.tasks.delegate(task.id, user_id="helper")
    assert (delegated.owner, delegated.assignee, delegated.delegation, delegated.state) == (
        "bob",
        "helper",
        "pending",
        "delegated",
    )
    with pytest.raises(ConflictError, match="resolve it"):
        await services.tasks.claim(task.id, user_id="bob")
    with pytest.raises(ConflictError, match="resolve it before completing"):
        await services.tasks.complete(task.id)
    resolved = await services.tasks.resolve(task.id)
    assert (resolved.assignee, resolved.delegation, resolved.state) == (
        "bob",
        "resolved",
        "claimed",
    )


async def test_a_lost_race_is_a_conflict(engine_services: Services) -> None:
    services = engine_services
    task = await _task(services, user_id=None)
    # Someone else changes the row between our read and our write.
    async with services.database.session() as session:
        assert await TaskRepository(session).update_if_version(
            task.id, task.version, assignee="eve", state="claimed"
        )
    with pytest.raises(ConflictError, match="changed by someone else"):
        await services.tasks._change(task, assignee="bob", state="claimed")
    assert (await services.tasks.get(task.id)).assignee == "eve"


async def test_complete_goes_through_the_update(engine_services: Services) -> None:
    services = engine_services
    task = await _task(services)
    with pytest.raises(ValidationFailedError, match=r"variables\.email"):
        await services.tasks.complete(task.id, variables={"email": 1})
    with pytest.raises(ValidationFailedError, match="'bad' is not allowed"):
        await services.tasks.complete(task.id, variables={"bad": 1})
    result = await services.tasks.complete(task.id, variables={"userValid": True}, user_id="alice")
    assert (result.task_id, result.node_id, result.instance_status) == (
        task.id,
        "review",
        "running",
    )
    closed = await services.tasks.get(task.id)
    assert closed.state == "completed" and closed.end_time is not None
    with pytest.raises(ConflictError, match="completed"):
        await services.tasks.complete(task.id)
    with pytest.raises(ConflictError, match="completed"):
        await services.tasks.claim(task.id, user_id="alice")
    detail = await eventually(
        lambda: services.instances.get(task.process_instance_id),
        lambda d: "userValid" in d.variables,
    )
    assert detail.variables["userValid"] is True


async def test_complete_when_the_workflow_rejects_the_task(engine_services: Services) -> None:
    services = engine_services
    task = await _task(services)
    # The row says open but the workflow knows it is closed: its validator has the last word.
    await services.tasks.complete(task.id)
    # Wait for the workflow's own report of the completion (sequence 3) before reopening.
    await eventually(
        lambda: services.instances.get(task.process_instance_id),
        lambda d: d.instance.last_sequence >= 3,
    )
    async with services.database.session() as session:
        fresh = await TaskRepository(session).get(task.id)
        assert fresh is not None
        await TaskRepository(session).update_if_version(task.id, fresh.version, state="created")
    with pytest.raises(ConflictError, match="is not open"):
        await services.tasks.complete(task.id)
