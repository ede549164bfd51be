"""Engine and session setup for PostgreSQL (production) and SQLite (the embedded default)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool
from sqlalchemy.util import await_only
from sqlalchemy.util.concurrency import in_greenlet

if TYPE_CHECKING:
    from workflow_engine.store.sealing import Sealing

_log = structlog.get_logger(__name__)

#: Sync or unspecified drivers we accept and the async driver each becomes.
_SQLITE_DRIVERS = {"sqlite", "sqlite+pysqlite", "sqlite+aiosqlite"}
_POSTGRES_DRIVERS = {
    "postgres",
    "postgresql",
    "postgresql+psycopg",
    "postgresql+psycopg2",
    "postgresql+psycopg_async",
    "postgresql+asyncpg",
}

#: SQLite waits this long (ms) for a competing writer before failing with "database is locked".
#: Writers queue one at a time (BEGIN IMMEDIATE); with the embedded worker applying batches of
#: many concurrent instances, 5 s was seen to run out under load, so wait longer.
SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalize_url(url: str | URL) -> URL:
    """Turn a user-supplied database URL into one for an async driver we ship.

    ``sqlite:///x.db`` becomes ``sqlite+aiosqlite:///x.db``; ``postgresql://`` (also
    ``postgres://``, ``+psycopg2``, ``+asyncpg``) becomes ``postgresql+psycopg://``.

    Args:
        url: The database URL, as configured.

    Returns:
        The URL with the async driver.

    Raises:
        ValueError: The URL cannot be parsed or names a database we do not support.

    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ValueError(f"database URL {url!r} is not a valid URL: {exc}") from exc
    scheme = parsed.drivername
    if scheme in _SQLITE_DRIVERS:
        return parsed.set(drivername="sqlite+aiosqlite")
    if scheme in _POSTGRES_DRIVERS:
        return parsed.set(drivername="postgresql+psycopg")
    raise ValueError(
        f"database URL {parsed.render_as_string(hide_password=True)!r}: unsupported scheme "
        f"{scheme!r}; use sqlite:///path/to/file.db or postgresql://user@host/dbname"
    )


def _is_sqlite_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or "mode=memory" in str(url.query)


def create_engine(url: str | URL, *, echo: bool = False, pool_size: int = 10) -> AsyncEngine:
    """Create an async engine, configured for the database behind ``url``.

    SQLite: the file's parent directory is created; every connection gets WAL journaling,
    ``foreign_keys=ON``, ``busy_timeout`` and ``synchronous=NORMAL``, and transactions start
    with ``BEGIN IMMEDIATE`` so that concurrent writers queue on ``busy_timeout`` instead of
    failing when a reader tries to upgrade to a writer. PostgreSQL: a pre-pinged pool.

    Args:
        url: ``sqlite:///file.db`` / ``postgresql://...`` (any driver spelling, see
            :func:`normalize_url`).
        echo: Log every SQL statement.
        pool_size: PostgreSQL connections kept open (plus as many again on bursts).

    Returns:
        The engine. Dispose of it when done.

    """
    normalized = normalize_url(url)
    if normalized.get_backend_name() == "sqlite":
        return _create_sqlite_engine(normalized, echo=echo)
    return create_async_engine(
        normalized,
        echo=echo,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        # Fail fast instead of hanging when the server is unreachable.
        connect_args={"connect_timeout": 10},
    )


def _create_sqlite_engine(url: URL, *, echo: bool) -> AsyncEngine:
    memory = _is_sqlite_memory(url)
    kwargs: dict[str, Any] = {}
    if memory:
        # One shared connection, else every pooled connection sees its own empty database.
        kwargs["poolclass"] = StaticPool
    elif url.database:
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, echo=echo, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Take transaction control away from the sqlite3 module (it would start transactions
        # lazily and never for DDL); the "begin" hook below issues BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    event.listen(engine.sync_engine.pool, "invalidate", _end_transaction_of_invalidated)
    return engine


def _end_transaction_of_invalidated(
    _dbapi_connection: Any, record: ConnectionPoolEntry, _exception: BaseException | None
) -> None:
    """Roll back the transaction of a connection SQLAlchemy drops (e.g. on task cancellation).

    A task cancelled while a statement runs (an SSE client leaving, a gRPC deadline) makes
    SQLAlchemy invalidate the connection and close it. SQLite cannot really close a connection
    whose statement is still unfinalized: it lingers as a "zombie" that keeps its transaction,
    and with ``BEGIN IMMEDIATE`` that is the database's write lock, so every other writer then
    waits out ``busy_timeout`` and fails with "database is locked" until the garbage collector
    happens to finalize the statement. Rolling back first ends the transaction (SQLite aborts
    pending statements), so the lock goes with it, whatever happens to the handle afterwards.
    The rollback is shielded: the cancellation that caused the invalidation must not stop it.
    """
    driver = record.driver_connection
    if driver is None or not in_greenlet():
        return  # not inside an async call (garbage collection): nothing can be awaited here
    try:
        await_only(asyncio.shield(driver.rollback()))
    except asyncio.CancelledError:
        # Cancelled again while waiting: the shielded rollback still runs, queued before the
        # close SQLAlchemy issues next; raising here would skip that close.
        pass
    except Exception as exc:  # a broken handle: closing it is all that is left to do
        _log.debug("rollback_of_invalidated_connection_failed", error=str(exc))


class Database:
    """The application's database: one engine and a session factory.

    Args:
        engine: The engine, from :func:`create_engine` (or :meth:`from_url`).
        sealing: A `store.sealing.Sealing` that encrypts sensitive variables; None: none.

    """

    def __init__(self, engine: AsyncEngine, *, sealing: Sealing | None = None) -> None:
        self.engine: AsyncEngine = engine
        #: Encryption of sensitive variables (`store.sealing.Sealing`), None: stored as given.
        self.sealing = sealing
        # expire_on_commit=False: values read in a unit of work stay readable after it commits.
        # Every session carries the sealing in its `info`: the repositories that write and read
        # variable values find it there without every constructor taking it.
        self.sessionmaker: async_sessionmaker[AsyncSession] = async_sessionmaker(
            engine,
            expire_on_commit=False,
            info={} if sealing is None else {"wfe_sealing": sealing},
        )

    @classmethod
    def from_url(cls, url: str | URL, *, echo: bool = False) -> Database:
        """Create the engine for ``url`` (see :func:`create_engine`) and wrap it."""
        return cls(create_engine(url, echo=echo))

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits when the block ends, rolls back if it raises.

        Example::

            async with database.session() as session:
                repo = DefinitionRepository(session)
                record = await repo.get(definition_id)
        """
        async with self.sessionmaker() as session:
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
            await session.commit()

    async def ping(self, *, timeout_seconds: float = 5.0) -> bool:
        """Check that the database answers a trivial query within ``timeout_seconds``.

        For readiness probes: never raises for an unreachable or broken database.
        """
        try:
            async with asyncio.timeout(timeout_seconds), self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError, TimeoutError):
            return False
        return True

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
