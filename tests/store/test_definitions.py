"""DefinitionRepository on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from workflow_engine.store.database import Database
from workflow_engine.store.definitions import DefinitionRecord, DefinitionRepository
from workflow_engine.store.errors import DefinitionInUseError
from workflow_engine.store.pagination import InvalidPageTokenError
from workflow_engine.store.tables import (
    Base,
    HistoricProcessInstance,
    ProcessDefinition,
    ProcessEvent,
    ProcessInstance,
    ProcessVariable,
    TaskCandidate,
    TaskInstance,
)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def deploy(
    database: Database,
    key: str,
    content: str,
    *,
    tenant_id: str = "",
    name: str | None = None,
    category: str = "",
) -> DefinitionRecord:
    async with database.session() as session:
        return await DefinitionRepository(session).create_next_version(
            tenant_id=tenant_id,
            key=key,
            name=name if name is not None else key.title(),
            category=category,
            description=f"about {key}",
            content_hash=sha(content),
            resource=content,
            resource_type="json",
            model_json=content,
            has_start_form=True,
            warnings=[{"path": "$", "message": "careful", "code": "W1"}],
            element_count=7,
        )


async def test_create_get_and_find_by_hash(database: Database) -> None:
    first = await deploy(database, "order", '{"v": 1}')
    second = await deploy(database, "order", '{"v": 2}')
    other_tenant = await deploy(database, "order", '{"v": 1}', tenant_id="acme")
    assert (first.version, second.version, other_tenant.version) == (1, 2, 1)
    assert first.warnings == ({"path": "$", "message": "careful", "code": "W1"},)
    assert first.has_start_form and first.element_count == 7 and not first.suspended
    assert first.deploy_time.tzinfo is not None
    assert abs((datetime.now(UTC) - first.deploy_time).total_seconds()) < 60

    async with database.session() as session:
        repo = DefinitionRepository(session)
        assert await repo.get(first.id) == first
        assert await repo.get(999_999) is None
        assert await repo.find_by_hash("", "order", sha('{"v": 2}')) == second
        assert await repo.find_by_hash("acme", "order", sha('{"v": 1}')) == other_tenant
        assert await repo.find_by_hash("", "order", sha("nope")) is None
        assert await repo.find_by_hash("", "other", sha('{"v": 1}')) is None
        assert await repo.get_by_key("", "order", None) == second
        assert await repo.get_by_key("", "order", 1) == first
        assert await repo.get_by_key("", "order", 3) is None
        assert await repo.get_by_key("acme", "order", None) == other_tenant
        assert await repo.get_by_key("nobody", "order", None) is None


async def test_records_are_frozen_values(database: Database) -> None:
    record = await deploy(database, "frozen", "{}")
    with pytest.raises(AttributeError):
        record.name = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("key", "", "key must not be empty"),
        ("key", "k" * 256, "key is 256 characters long"),
        ("resource_type", "yaml", "resource_type must be one of"),
        ("content_hash", "ABC", "content_hash must be a sha256"),
        ("element_count", -1, "element_count must not be negative"),
        ("warnings", [{"path": 1}], r"warnings\[0\]"),
    ],
)
async def test_create_rejects_bad_fields(
    database: Database, field: str, value: object, message: str
) -> None:
    fields: dict[str, object] = {
        "tenant_id": "",
        "key": "k",
        "name": "n",
        "content_hash": sha("x"),
        "resource": "x",
        "resource_type": "json",
        "model_json": "{}",
    }
    fields[field] = value
    async with database.session() as session:
        with pytest.raises(ValueError, match=message):
            await DefinitionRepository(session).create_next_version(**fields)  # type: ignore[arg-type]


async def test_find_or_create_version_reuses_identical_content(database: Database) -> None:
    kwargs: dict[str, Any] = {
        "tenant_id": "",
        "key": "dedupe",
        "name": "Dedupe",
        "resource": "{}",
        "resource_type": "bpmn",
        "model_json": "{}",
    }
    async with database.session() as session:
        repo = DefinitionRepository(session)
        one, created_one = await repo.find_or_create_version(content_hash=sha("a"), **kwargs)
        again, created_again = await repo.find_or_create_version(content_hash=sha("a"), **kwargs)
        two, created_two = await repo.find_or_create_version(content_hash=sha("b"), **kwargs)
    assert (created_one, created_again, created_two) == (True, False, True)
    assert again == one and one.resource_type == "bpmn"
    assert two.version == 2


async def test_list_filters(database: Database) -> None:
    await deploy(database, "alpha", "a1", category="sales", name="Alpha Order")
    await deploy(database, "alpha", "a2", category="sales", name="Alpha Order")
    beta = await deploy(database, "beta", "b1", category="hr", name="Beta 100%_done")
    await deploy(database, "alpha", "a1", tenant_id="acme", category="sales")

    async with database.session() as session:
        repo = DefinitionRepository(session)
        everything, token = await repo.list()
        assert token is None
        assert [(r.tenant_id, r.key, r.version) for r in everything] == [
            ("", "alpha", 1),
            ("", "alpha", 2),
            ("", "beta", 1),
            ("acme", "alpha", 1),
        ]
        newest_first, _ = await repo.list(descending=True)
        assert newest_first == everything[::-1]
        by_key, _ = await repo.list(key="alpha", tenant_id="")
        assert [r.version for r in by_key] == [1, 2]
        by_tenant, _ = await repo.list(tenant_id="acme")
        assert [(r.key, r.version) for r in by_tenant] == [("alpha", 1)]
        by_category, _ = await repo.list(category="hr")
        assert by_category == [beta]
        by_name, _ = await repo.list(name_like="ALPHA")
        assert [(r.tenant_id, r.key) for r in by_name] == [("", "alpha")] * 2 + [("acme", "alpha")]
        literal_wildcards, _ = await repo.list(name_like="100%_d")
        assert literal_wildcards == [beta]
        no_wildcard_match, _ = await repo.list(name_like="%")
        assert no_wildcard_match == [beta]

        await repo.set_suspended(beta.id, True)
        suspended, _ = await repo.list(suspended=True)
        assert [r.id for r in suspended] == [beta.id]
        active, _ = await repo.list(suspended=False)
        assert beta.id not in {r.id for r in active} and len(active) == 3


async def test_list_latest_only_in_sql(database: Database) -> None:
    await deploy(database, "alpha", "a1", category="old")
    await deploy(database, "alpha", "a2", category="new")
    await deploy(database, "alpha", "a3", category="new")
    await deploy(database, "beta", "b1", category="old")
    await deploy(database, "alpha", "x1", tenant_id="acme")
    await deploy(database, "alpha", "x2", tenant_id="acme")

    async with database.session() as session:
        repo = DefinitionRepository(session)
        latest, _ = await repo.list(latest_only=True)
        assert sorted((r.tenant_id, r.key, r.version) for r in latest) == [
            ("", "alpha", 3),
            ("", "beta", 1),
            ("acme", "alpha", 2),
        ]
        latest_default_tenant, _ = await repo.list(latest_only=True, tenant_id="")
        assert sorted((r.key, r.version) for r in latest_default_tenant) == [
            ("alpha", 3),
            ("beta", 1),
        ]
        # Latest is chosen over all versions of the key, then other filters apply.
        latest_old, _ = await repo.list(latest_only=True, category="old")
        assert [(r.key, r.version) for r in latest_old] == [("beta", 1)]
        latest_alpha, _ = await repo.list(latest_only=True, key="alpha", tenant_id="")
        assert [r.version for r in latest_alpha] == [3]


@pytest.mark.parametrize("descending", [False, True])
async def test_list_pagination(database: Database, descending: bool) -> None:
    for i in range(7):
        await deploy(database, f"k{i % 3}", f"content {i}")
    async with database.session() as session:
        repo = DefinitionRepository(session)
        full, _ = await repo.list(page_size=100, descending=descending)
        pages: list[list[int]] = []
        token: str | None = None
        while True:
            items, token = await repo.list(page_size=3, page_token=token, descending=descending)
            pages.append([r.id for r in items])
            if token is None:
                break
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [i for page in pages for i in page] == [r.id for r in full]


async def test_list_pagination_exact_multiple_has_no_empty_last_page(database: Database) -> None:
    for i in range(4):
        await deploy(database, "k", f"c{i}")
    async with database.session() as session:
        repo = DefinitionRepository(session)
        first, token = await repo.list(page_size=2)
        assert token is not None
        second, token = await repo.list(page_size=2, page_token=token)
        assert token is None and len(first) == len(second) == 2


async def test_list_pagination_with_filters_and_token_mismatch(database: Database) -> None:
    for i in range(5):
        await deploy(database, "keep", f"keep {i}")
        await deploy(database, "skip", f"skip {i}")
    async with database.session() as session:
        repo = DefinitionRepository(session)
        first, token = await repo.list(key="keep", page_size=2)
        assert token is not None
        second, _ = await repo.list(key="keep", page_size=2, page_token=token)
        assert [r.version for r in first + second] == [1, 2, 3, 4]
        with pytest.raises(InvalidPageTokenError, match="different filters"):
            await repo.list(key="skip", page_size=2, page_token=token)
        with pytest.raises(ValueError, match="different filters"):
            await repo.list(page_size=2, page_token=token)
        with pytest.raises(ValueError, match="different filters"):
            await repo.list(key="keep", descending=True, page_size=2, page_token=token)
        with pytest.raises(ValueError, match="malformed"):
            await repo.list(key="keep", page_token="garbage!")
        with pytest.raises(ValueError, match="page_size"):
            await repo.list(page_size=0)


async def test_set_suspended(database: Database) -> None:
    record = await deploy(database, "s", "s")
    async with database.session() as session:
        repo = DefinitionRepository(session)
        suspended = await repo.set_suspended(record.id, True)
        assert suspended is not None and suspended.suspended
        assert suspended.updated_at >= record.updated_at
        assert await repo.set_suspended(123_456, True) is None
    async with database.session() as session:
        repo = DefinitionRepository(session)
        reread = await repo.get(record.id)
        assert reread is not None and reread.suspended
        activated = await repo.set_suspended(record.id, False)
        assert activated is not None and not activated.suspended


def _instance(definition: DefinitionRecord, status: str, **extra: object) -> ProcessInstance:
    instance_id = str(uuid.uuid4())
    return ProcessInstance(
        id=instance_id,
        process_definition_id=definition.id,
        definition_key=definition.key,
        definition_version=definition.version,
        workflow_id=f"pi-{instance_id}",
        status=status,
        **extra,
    )


async def _populate(database: Database, definition: DefinitionRecord, status: str) -> str:
    """An instance of `definition` with a task, candidate, variables, events and history."""
    async with database.session() as session:
        instance = _instance(definition, status, business_key="bk-1")
        session.add(instance)
        await session.flush()
        task = TaskInstance(
            id=str(uuid.uuid4()),
            process_instance_id=instance.id,
            process_definition_id=definition.id,
            task_definition_key="approve",
            candidate_groups=["managers"],
        )
        session.add(task)
        await session.flush()
        sub_task = TaskInstance(
            id=str(uuid.uuid4()),
            process_instance_id=instance.id,
            task_definition_key="approve",
            parent_task_id=task.id,
        )
        session.add_all(
            [
                sub_task,
                TaskCandidate(task_id=task.id, kind="group", value="managers"),
                ProcessVariable(
                    process_instance_id=instance.id, name="amount", type="number", value=5
                ),
                ProcessVariable(
                    process_instance_id=instance.id,
                    task_id=task.id,
                    scope_id=task.id,
                    scope="local",
                    name="amount",
                    type="object",
                    value={"nested": [1, None]},
                ),
                ProcessEvent(process_instance_id=instance.id, sequence=1, event_type="a"),
                ProcessEvent(process_instance_id=instance.id, sequence=2, event_type="b"),
                HistoricProcessInstance(
                    process_instance_id=instance.id,
                    process_definition_id=definition.id,
                    process_definition_key=definition.key,
                    process_definition_version=definition.version,
                    status=status,
                ),
            ]
        )
        return instance.id


async def _count(database: Database, table: type[Base]) -> int:
    async with database.session() as session:
        stmt = select(func.count()).select_from(table)
        return int((await session.execute(stmt)).scalar_one())


async def test_count_running_instances(database: Database) -> None:
    definition = await deploy(database, "run", "run")
    other = await deploy(database, "run", "run 2")
    async with database.session() as session:
        for status in ("running", "paused", "incident", "completed", "terminated"):
            session.add(_instance(definition, status))
        session.add(_instance(other, "running"))
    async with database.session() as session:
        repo = DefinitionRepository(session)
        assert await repo.count_running_instances(definition.id) == 3
        assert await repo.count_running_instances(other.id) == 1
        assert await repo.count_running_instances(424_242) == 0


async def test_instance_flags_follow_status(database: Database) -> None:
    definition = await deploy(database, "flags", "flags")
    async with database.session() as session:
        instance = _instance(definition, "paused")
        session.add(instance)
    async with database.session() as session:
        row = await session.get(ProcessInstance, instance.id)
        assert row is not None
        assert (row.is_active, row.is_suspended, row.is_ended) == (True, True, False)
        row.status = "completed"
    async with database.session() as session:
        row = await session.get(ProcessInstance, instance.id)
        assert row is not None
        assert (row.is_active, row.is_suspended, row.is_ended) == (False, False, True)
        assert row.version_counter == 2


async def test_delete_cascade_removes_everything_of_that_version(database: Database) -> None:
    doomed = await deploy(database, "cascade", "v1")
    kept = await deploy(database, "cascade", "v2")
    await _populate(database, doomed, "running")
    await _populate(database, doomed, "completed")
    survivor = await _populate(database, kept, "running")
    async with database.session() as session:
        assert await DefinitionRepository(session).delete(doomed.id, cascade=True) is True

    async with database.session() as session:
        repo = DefinitionRepository(session)
        assert await repo.get(doomed.id) is None
        assert await repo.get(kept.id) is not None
        assert await repo.delete(doomed.id, cascade=True) is False
        instances = (await session.execute(select(ProcessInstance.id))).scalars().all()
        assert instances == [survivor]
        for table in (TaskInstance, ProcessVariable, ProcessEvent):
            owners = (await session.execute(select(table.process_instance_id))).scalars().all()
            assert set(owners) == {survivor}, table.__name__
        history = (
            (await session.execute(select(HistoricProcessInstance.process_instance_id)))
            .scalars()
            .all()
        )
        assert history == [survivor]
    assert await _count(database, TaskCandidate) == 1


async def test_delete_without_cascade(database: Database) -> None:
    definition = await deploy(database, "plain", "v1")
    running = await _populate(database, definition, "running")
    async with database.session() as session:
        with pytest.raises(DefinitionInUseError, match="1 running instance"):
            await DefinitionRepository(session).delete(definition.id, cascade=False)

    async with database.session() as session:
        row = await session.get(ProcessInstance, running)
        assert row is not None
        row.status = "completed"
    async with database.session() as session:
        assert await DefinitionRepository(session).delete(definition.id, cascade=False)

    # Ended instances and their history stay, detached from the deleted version.
    async with database.session() as session:
        row = await session.get(ProcessInstance, running)
        assert row is not None
        assert row.process_definition_id is None
        assert (row.definition_key, row.definition_version) == ("plain", 1)
        history = (await session.execute(select(HistoricProcessInstance))).scalars().one()
        assert history.process_definition_id is None
    assert await _count(database, ProcessEvent) == 2


async def test_foreign_keys_are_enforced(database: Database) -> None:
    with pytest.raises(IntegrityError):
        async with database.session() as session:
            session.add(
                ProcessEvent(process_instance_id="no-such-instance", sequence=1, event_type="x")
            )


async def test_event_sequence_is_unique_per_instance(database: Database) -> None:
    definition = await deploy(database, "ev", "ev")
    instance_id = await _populate(database, definition, "running")
    with pytest.raises(IntegrityError):
        async with database.session() as session:
            session.add(ProcessEvent(process_instance_id=instance_id, sequence=1, event_type="x"))


async def test_concurrent_deploys_get_distinct_versions(database: Database) -> None:
    results = await asyncio.gather(*(deploy(database, "hot", f"content {i}") for i in range(10)))
    assert sorted(r.version for r in results) == list(range(1, 11))
    async with database.session() as session:
        versions = (
            (
                await session.execute(
                    select(ProcessDefinition.version).where(ProcessDefinition.key == "hot")
                )
            )
            .scalars()
            .all()
        )
    assert sorted(versions) == list(range(1, 11))


async def test_concurrent_identical_deploys_create_one_version(database: Database) -> None:
    async def deploy_same() -> tuple[DefinitionRecord, bool]:
        async with database.session() as session:
            return await DefinitionRepository(session).find_or_create_version(
                tenant_id="",
                key="same",
                name="Same",
                content_hash=sha("same"),
                resource="same",
                resource_type="json",
                model_json="{}",
            )

    results = await asyncio.gather(*(deploy_same() for _ in range(8)))
    assert sum(created for _, created in results) == 1
    assert {r.id for r, _ in results} == {results[0][0].id}
    assert {r.version for r, _ in results} == {1}


async def test_losing_writer_retries_with_the_next_version(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writer B reads the same highest version as uncommitted writer A, then must retry."""
    conflicts = 0
    original = DefinitionRepository._version_exists

    async def counting(self: DefinitionRepository, tenant_id: str, key: str, version: int) -> bool:
        nonlocal conflicts
        conflicts += 1
        return await original(self, tenant_id, key, version)

    monkeypatch.setattr(DefinitionRepository, "_version_exists", counting)
    async with database.session() as session_a:
        a = await DefinitionRepository(session_a).create_next_version(
            tenant_id="",
            key="race",
            name="A",
            content_hash=sha("A"),
            resource="A",
            resource_type="json",
            model_json="{}",
        )
        writer_b = asyncio.create_task(deploy(database, "race", "B"))
        await asyncio.sleep(0.3)  # B is now blocked (PG: on the unique index; SQLite: BEGIN)
        assert not writer_b.done()
    b = await writer_b
    assert (a.version, b.version) == (1, 2)
    if database.dialect == "postgresql":
        assert conflicts == 1  # B inserted version 1 too, lost, re-read and took 2
