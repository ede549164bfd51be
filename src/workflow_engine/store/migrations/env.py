"""Alembic environment: runs on a connection handed over by ``store.migrate`` or on its own."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from workflow_engine.store.database import create_engine, normalize_url
from workflow_engine.store.tables import Base

config = context.config
target_metadata = Base.metadata


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite can alter almost nothing in place: batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_configure_and_run)
    finally:
        await engine.dispose()


def _run_offline(url: str) -> None:
    normalized = normalize_url(url)
    context.configure(
        url=normalized,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=normalized.get_backend_name() == "sqlite",
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


shared_connection = config.attributes.get("connection")
if context.is_offline_mode():
    _run_offline(config.get_main_option("sqlalchemy.url") or "")
elif shared_connection is not None:
    _configure_and_run(shared_connection)
else:
    asyncio.run(_run_with_own_engine(config.get_main_option("sqlalchemy.url") or ""))
