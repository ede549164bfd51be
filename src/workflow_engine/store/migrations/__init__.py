"""Schema migrations (Alembic) driven from code: no ``alembic.ini`` needed at run time."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Connection

from workflow_engine.store.database import create_engine, normalize_url

#: The directory holding ``env.py`` and ``versions/``; shipped as package data.
__all__ = ["MIGRATIONS_DIR", "alembic_config", "head_revision", "migrate", "schema_revision"]

MIGRATIONS_DIR = Path(__file__).resolve().parent

# Arbitrary constant: concurrent `wfe migrate` runs (several replicas starting at once) queue
# on this PostgreSQL advisory lock instead of racing to create the same tables.
_MIGRATION_LOCK_ID = 7_114_562_301


def alembic_config(database_url: str | URL | None = None) -> Config:
    """Build the Alembic configuration for our migrations in memory.

    Args:
        database_url: Used only when Alembic runs without a shared connection (its CLI,
            offline SQL generation); :func:`migrate` passes its connection instead.

    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if database_url is not None:
        rendered = normalize_url(database_url).render_as_string(hide_password=False)
        # ConfigParser interpolation would choke on a '%' in a password.
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_ID})")
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def migrate(database_url: str | URL, *, revision: str = "head") -> None:
    """Bring the database schema up to ``revision`` (default: the newest).

    Works for SQLite and PostgreSQL URLs in any driver spelling. Safe to call when the
    schema is already current, and from several processes at once on PostgreSQL.

    Args:
        database_url: The database to migrate.
        revision: Alembic revision to upgrade to.

    """
    engine = create_engine(database_url, pool_size=1)
    try:
        # One transaction for the whole upgrade: on failure nothing is half-applied
        # (both PostgreSQL and SQLite have transactional DDL).
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade, revision)
    finally:
        await engine.dispose()


def head_revision() -> str:
    """The newest revision of our migrations (what `migrate` upgrades to)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the migrations directory has a revision"
    return head


async def schema_revision(database_url: str | URL, *, timeout_seconds: float = 10.0) -> str | None:
    """The revision the database's schema is at; None for a database never migrated.

    Raises:
        Exception: whatever the driver raises when the database cannot be reached (connection
            refused, unknown database, authentication), or TimeoutError.
    """
    engine = create_engine(database_url, pool_size=1)
    try:
        async with asyncio.timeout(timeout_seconds), engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await engine.dispose()
