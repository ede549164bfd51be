"""Migrations: they build the schema of store/tables.py exactly, on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from workflow_engine.store.database import create_engine
from workflow_engine.store.migrations import alembic_config, migrate
from workflow_engine.store.tables import Base

SEED_TABLES = {
    "process_definition",
    "process_instance",
    "task_instance",
    "historic_process_instance",
    "process_variable",
    "process_event",
}

#: Every list filter of the API must be backed by an index whose first column it is.
FILTER_COLUMNS = {
    "process_definition": ["key", "category", "tenant_id", "suspended", "deploy_time"],
    "process_instance": [
        "process_definition_id",
        "definition_key",
        "status",
        "business_key",
        "start_time",
        "tenant_id",
    ],
    "task_instance": ["assignee", "process_instance_id", "state", "tenant_id"],
    "task_candidate": ["kind"],
    "historic_process_instance": [
        "process_definition_id",
        "status",
        "business_key",
        "start_time",
        "end_time",
        "duration",
    ],
    "process_event": ["process_instance_id", "event_type", "timestamp"],
    "process_variable": ["process_instance_id"],
    "audit_log": ["occurred_at", "tenant_id", "actor_id", "action", "resource_type", "outcome"],
}


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _leading_index_columns(connection: Connection) -> dict[str, set[str]]:
    inspector = inspect(connection)
    leading: dict[str, set[str]] = {}
    for table in inspector.get_table_names():
        cols: set[str] = set()
        for index in inspector.get_indexes(table):
            names = index["column_names"]
            if names and names[0]:
                cols.add(names[0])
        for unique in inspector.get_unique_constraints(table):
            if unique["column_names"]:
                cols.add(unique["column_names"][0])
        leading[table] = cols
    return leading


async def test_migrate_builds_every_table_and_is_idempotent(empty_db_url: str) -> None:
    await migrate(empty_db_url)
    await migrate(empty_db_url)  # already at head: nothing to do, no error
    engine = create_engine(empty_db_url)
    try:
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
    finally:
        await engine.dispose()
    assert tables >= SEED_TABLES
    assert "task_candidate" in tables
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert version == [(head,)]


async def test_migrations_match_tables_exactly(empty_db_url: str) -> None:
    engine = create_engine(empty_db_url)
    try:
        async with engine.connect() as conn:
            before = await conn.run_sync(_diff)
        assert before, "an empty database must differ from the metadata (the check can fail)"
        await migrate(empty_db_url)
        async with engine.connect() as conn:
            after = await conn.run_sync(_diff)
    finally:
        await engine.dispose()
    assert after == []


async def test_indexes_back_every_filter_column(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            leading = await conn.run_sync(_leading_index_columns)
    finally:
        await engine.dispose()
    missing = [
        f"{table}.{column}"
        for table, columns in FILTER_COLUMNS.items()
        for column in columns
        if column not in leading.get(table, set())
    ]
    assert missing == []


async def test_definition_lookup_indexes(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            indexes = await conn.run_sync(lambda c: inspect(c).get_indexes("process_definition"))
            uniques = await conn.run_sync(
                lambda c: inspect(c).get_unique_constraints("process_definition")
            )
    finally:
        await engine.dispose()
    assert ["tenant_id", "key", "content_hash"] in [i["column_names"] for i in indexes]
    assert ["tenant_id", "key", "version"] in [u["column_names"] for u in uniques]


async def test_downgrade_then_upgrade_round_trips(empty_db_url: str) -> None:
    from alembic import command

    await migrate(empty_db_url)
    engine = create_engine(empty_db_url)

    def downgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "base")

    try:
        async with engine.begin() as conn:
            await conn.run_sync(downgrade)
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        assert not (SEED_TABLES & tables)
    finally:
        await engine.dispose()
    await migrate(empty_db_url)
    engine = create_engine(empty_db_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await engine.dispose()


@pytest.mark.parametrize("url", ["mysql://x@y/z", "not a url"])
async def test_migrate_rejects_unsupported_urls(url: str) -> None:
    with pytest.raises(ValueError, match="database URL"):
        await migrate(url)
