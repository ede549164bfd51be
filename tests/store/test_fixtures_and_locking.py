"""The shared fixtures themselves, optimistic locking, and Alembic's standalone entry point."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from alembic import command
from sqlalchemy import inspect, select
from sqlalchemy.orm.exc import StaleDataError

from workflow_engine.store.database import Database, create_engine
from workflow_engine.store.migrations import alembic_config
from workflow_engine.store.tables import (
    ProcessDefinition,
    ProcessInstance,
    TaskCandidate,
    TaskInstance,
)


async def test_redis_url_is_the_test_database_and_flushed(redis_url: str) -> None:
    # Database 15 unless WFE_TEST_REDIS_URL names another (parallel runs on one machine).
    assert redis_url == os.environ.get("WFE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    client = aioredis.Redis.from_url(redis_url)
    try:
        assert await client.dbsize() == 0
        await client.set("left-over", "1")  # the next test's fixture must flush it
    finally:
        await client.aclose()


async def test_redis_url_flushes_between_tests(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        assert await client.get("left-over") is None
    finally:
        await client.aclose()


async def test_each_test_starts_with_empty_tables(database: Database) -> None:
    async with database.session() as session:
        assert (await session.execute(select(ProcessDefinition))).first() is None
        session.add(
            ProcessDefinition(
                key="leak",
                version=1,
                resource="",
                resource_type="json",
                model_json="{}",
                content_hash="0" * 64,
            )
        )


async def test_each_test_starts_with_empty_tables_again(database: Database) -> None:
    async with database.session() as session:
        assert (await session.execute(select(ProcessDefinition))).first() is None
        # Identities restart too, so ids are predictable per test.
        row = ProcessDefinition(
            key="again",
            version=1,
            resource="",
            resource_type="json",
            model_json="{}",
            content_hash="0" * 64,
        )
        session.add(row)
        await session.flush()
        assert row.id == 1


async def _task(database: Database) -> TaskInstance:
    async with database.session() as session:
        definition = ProcessDefinition(
            key="t",
            version=1,
            resource="",
            resource_type="json",
            model_json="{}",
            content_hash="0" * 64,
        )
        session.add(definition)
        await session.flush()
        instance_id = str(uuid.uuid4())
        session.add(
            ProcessInstance(
                id=instance_id,
                process_definition_id=definition.id,
                definition_key="t",
                definition_version=1,
                workflow_id=f"pi-{instance_id}",
            )
        )
        await session.flush()
        task = TaskInstance(
            id=str(uuid.uuid4()), process_instance_id=instance_id, task_definition_key="approve"
        )
        session.add(task)
        await session.flush()  # no ORM relationships: the unit of work does not order tables
        session.add(TaskCandidate(task_id=task.id, kind="group", value="managers"))
    return task


async def test_task_updates_use_optimistic_locking(database: Database) -> None:
    task = await _task(database)
    async with database.session() as session:
        stale = await session.get(TaskInstance, task.id)
    assert stale is not None and stale.version_counter == 1

    async with database.session() as session:
        winner = await session.get(TaskInstance, task.id)
        assert winner is not None
        winner.state, winner.assignee = "claimed", "alice"

    with pytest.raises(StaleDataError):
        async with database.session() as session:
            loser = await session.merge(stale, load=False)
            loser.state, loser.assignee = "claimed", "bob"
            await session.flush()

    async with database.session() as session:
        row = await session.get(TaskInstance, task.id)
        assert row is not None and (row.assignee, row.version_counter) == ("alice", 2)


async def test_candidate_filter_uses_the_candidate_table(database: Database) -> None:
    task = await _task(database)
    async with database.session() as session:
        stmt = (
            select(TaskInstance.id)
            .join(TaskCandidate, TaskCandidate.task_id == TaskInstance.id)
            .where(TaskCandidate.kind == "group", TaskCandidate.value == "managers")
        )
        assert (await session.execute(stmt)).scalars().all() == [task.id]


async def test_check_constraints_guard_vocabularies(database: Database) -> None:
    from sqlalchemy.exc import IntegrityError

    task = await _task(database)
    with pytest.raises(IntegrityError):
        async with database.session() as session:
            row = await session.get(TaskInstance, task.id)
            assert row is not None
            row.state = "bogus"


def test_alembic_runs_standalone_without_a_shared_connection(tmp_path: Path) -> None:
    """The path the `alembic` CLI would take: env.py builds its own engine from the URL."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    command.upgrade(alembic_config(url), "head")

    async def tables() -> list[str]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(lambda c: inspect(c).get_table_names())
        finally:
            await engine.dispose()

    assert "process_definition" in asyncio.run(tables())


def test_alembic_offline_sql_generation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    command.upgrade(alembic_config("postgresql://u@h/db"), "head", sql=True)
    out = capsys.readouterr().out
    assert "CREATE TABLE process_definition" in out
    assert "GENERATED ALWAYS AS" in out
