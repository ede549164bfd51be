"""Engine setup: URL normalisation, SQLite pragmas, sessions, UTC timestamps, ping."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from workflow_engine.store.database import (
    SQLITE_BUSY_TIMEOUT_MS,
    Database,
    create_engine,
    normalize_url,
)
from workflow_engine.store.tables import ProcessDefinition

HASH = "a" * 64


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("sqlite+pysqlite:////abs/x.db", "sqlite+aiosqlite:////abs/x.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgresql://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+psycopg://u@h/db"),
    ],
)
def test_normalize_url(given: str, expected: str) -> None:
    assert normalize_url(given).render_as_string(hide_password=False) == expected


def test_normalize_url_rejects_other_databases_without_leaking_password() -> None:
    with pytest.raises(ValueError, match="unsupported scheme 'mysql'") as info:
        normalize_url("mysql://user:secret@h/db")
    assert "secret" not in str(info.value)
    with pytest.raises(ValueError, match="not a valid URL"):
        normalize_url("::nonsense::")


async def test_sqlite_pragmas_are_set_on_every_connection(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "app.db"
    engine = create_engine(f"sqlite:///{path}")
    try:
        for _ in range(2):  # a second pooled connection is configured too
            async with engine.connect() as conn:
                journal = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
                fks = (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one()
                busy = (await conn.execute(text("PRAGMA busy_timeout"))).scalar_one()
                sync = (await conn.execute(text("PRAGMA synchronous"))).scalar_one()
                # synchronous 1 = NORMAL
                assert (journal, fks, busy, sync) == ("wal", 1, SQLITE_BUSY_TIMEOUT_MS, 1)
    finally:
        await engine.dispose()
    assert path.parent.is_dir()


async def test_sqlite_in_memory_database_is_shared_across_sessions() -> None:
    db = Database.from_url("sqlite:///:memory:")
    try:
        async with db.session() as session:
            await session.execute(text("CREATE TABLE t (x INTEGER)"))
            await session.execute(text("INSERT INTO t VALUES (1)"))
        async with db.session() as session:
            assert (await session.execute(text("SELECT x FROM t"))).scalar_one() == 1
    finally:
        await db.dispose()


def _definition(
    key: str, version: int = 1, *, deploy_time: datetime | None = None
) -> ProcessDefinition:
    return ProcessDefinition(
        key=key,
        version=version,
        resource="{}",
        resource_type="json",
        model_json="{}",
        content_hash=HASH,
        **({"deploy_time": deploy_time} if deploy_time else {}),
    )


async def test_session_commits_on_success_and_rolls_back_on_error(database: Database) -> None:
    async with database.session() as session:
        session.add(_definition("kept"))
    with pytest.raises(RuntimeError, match="boom"):
        async with database.session() as session:
            session.add(_definition("dropped"))
            await session.flush()
            raise RuntimeError("boom")
    async with database.session() as session:
        keys = (await session.execute(select(ProcessDefinition.key))).scalars().all()
    assert keys == ["kept"]


async def test_timestamps_round_trip_as_aware_utc(database: Database) -> None:
    plus8 = timezone(timedelta(hours=8))
    moment = datetime(2024, 5, 1, 20, 30, 15, 123456, tzinfo=plus8)
    async with database.session() as session:
        session.add(_definition("tz", deploy_time=moment))
    async with database.session() as session:
        stored = (await session.execute(select(ProcessDefinition.deploy_time))).scalar_one()
    assert stored == moment
    assert stored.tzinfo is not None and stored.utcoffset() == timedelta(0)
    assert stored == datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)


async def test_naive_timestamps_are_refused(database: Database) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        async with database.session() as session:
            session.add(_definition("naive", deploy_time=datetime(2024, 1, 1)))
            await session.flush()


async def test_ping(database: Database) -> None:
    assert await database.ping() is True
    unreachable = Database.from_url("postgresql://postgres@127.0.0.1:1/nothing")
    try:
        assert await unreachable.ping(timeout_seconds=5) is False
    finally:
        await unreachable.dispose()


async def test_dialect_matches_url(database: Database, db_url: str) -> None:
    assert database.dialect == ("sqlite" if db_url.startswith("sqlite") else "postgresql")


#: A read that keeps SQLite busy for a moment (a few hundred ms), so a task can be cancelled
#: while its statement runs.
_SLOW_READ = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 600000) "
    "SELECT count(*) FROM c"
)


async def test_a_cancelled_statement_leaves_no_sqlite_lock(tmp_path: Path) -> None:
    """An SSE client leaving / a gRPC deadline cancels a task mid-statement: the database
    must stay writable (it used to stay locked until the garbage collector ran)."""
    path = tmp_path / "cancel.db"
    database = Database.from_url(f"sqlite:///{path}")
    try:
        async with database.session() as session:
            await session.execute(text("CREATE TABLE t (a INTEGER)"))

        async def slow_read() -> None:
            async with database.session() as session:
                await session.execute(text(_SLOW_READ))

        for _ in range(3):
            reader = asyncio.create_task(slow_read())
            await asyncio.sleep(0.05)
            reader.cancel()
            with pytest.raises(asyncio.CancelledError):
                await reader
            # Another process-level writer gets the write lock (waiting at most 20 s for the
            # cancelled statement to wind down), and so does the application's own pool.
            other = sqlite3.connect(path, timeout=20, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
            finally:
                other.close()
            async with database.session() as session:
                await session.execute(text("INSERT INTO t VALUES (1)"))
        async with database.session() as session:
            assert (await session.execute(text("SELECT count(*) FROM t"))).scalar_one() == 3
    finally:
        await database.dispose()
