"""Shared fixtures: real databases (SQLite and PostgreSQL) and Redis.

PostgreSQL (127.0.0.1:5432, user postgres, trust auth) and Redis (127.0.0.1:6379) must be
running: tests that need them fail, loudly, when they are not. Each test session works in its
own freshly created PostgreSQL database (dropped at the end) and in Redis database 15.

Cost per test stays small: the schema is migrated once per session per database; SQLite
tests get a copy of a migrated template file, PostgreSQL tests get the session database with
every table truncated.
"""

from __future__ import annotations

import inspect
import os
import shutil
import types
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import redis
from psycopg import sql

from workflow_engine.store.database import Database
from workflow_engine.store.migrations import migrate
from workflow_engine.store.tables import TABLES_CHILDREN_FIRST

pytest_plugins = ["tests.temporal_fixtures"]

# Rate limiting is on by default (Settings.rate_limit_per_minute); tests that hammer one app
# from one address would be throttled, so it is off unless a test sets it explicitly.
os.environ.setdefault("WFE_RATE_LIMIT_PER_MINUTE", "0")

#: Maintenance database used to create and drop the per-session test databases.
PG_ADMIN_DSN = os.environ.get(
    "WFE_TEST_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
PG_HOST_URL = os.environ.get("WFE_TEST_PG_URL_BASE", "postgresql+psycopg://postgres@127.0.0.1:5432")
REDIS_TEST_URL = os.environ.get("WFE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

DB_KINDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def _admin_connect() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is required for these tests and is not reachable at {PG_ADMIN_DSN}: {exc}",
            pytrace=False,
        )


def create_postgres_database(prefix: str = "wfe_test") -> str:
    """Create an empty, uniquely named database; return its name."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with _admin_connect() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def drop_postgres_database(name: str) -> None:
    """Drop a database, closing whatever connections are still open to it."""
    with _admin_connect() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def sqlite_url(path: Path) -> str:
    """The async SQLite URL of a database file."""
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test session (dropped at the end)."""
    name = create_postgres_database()
    try:
        yield f"{PG_HOST_URL}/{name}"
    finally:
        drop_postgres_database(name)


@pytest.fixture(scope="session")
async def _migrated_postgres_url(postgres_url: str) -> str:
    await migrate(postgres_url)
    return postgres_url


@pytest.fixture(scope="session")
async def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    await migrate(sqlite_url(path))
    # migrate() disposes of its engine: closing the last connection checkpoints the WAL into
    # the main file, so copying the main file alone copies the whole database.
    return path


def _truncate_all(url: str) -> None:
    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
    tables = sql.SQL(", ").join(sql.Identifier(t.name) for t in TABLES_CHILDREN_FIRST)
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        # A connection leaked by an earlier test (a Database never disposed, a transaction left
        # open) would make TRUNCATE wait forever; fail loudly instead.
        conn.execute("SET lock_timeout = '10s'")
        conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(tables))


@pytest.fixture(params=DB_KINDS)
def db_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> str:
    """URL of a migrated, empty database; the test runs once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("_sqlite_template")
        path = tmp_path / "wfe.db"
        shutil.copyfile(template, path)
        return sqlite_url(path)
    url: str = request.getfixturevalue("_migrated_postgres_url")
    _truncate_all(url)
    return url


@pytest.fixture(params=DB_KINDS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a brand-new database with no schema at all (for migration tests)."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "empty.db")
        return
    name = create_postgres_database("wfe_test_empty")
    try:
        yield f"{PG_HOST_URL}/{name}"
    finally:
        drop_postgres_database(name)


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    """A `Database` on the (migrated, empty) database of `db_url`."""
    db = Database.from_url(db_url)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
def redis_url() -> str:
    """URL of Redis database 15, flushed before the test."""
    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=5)
    try:
        client.flushdb()
    except redis.ConnectionError as exc:
        pytest.fail(
            f"Redis is required for this test and is not reachable at {REDIS_TEST_URL}: {exc}",
            pytrace=False,
        )
    finally:
        client.close()
    return REDIS_TEST_URL


_CORPUS_NAMES = ("CONFORMANCE", "ALL_FILES", "MUST_IMPORT", "ROUND_TRIP", "SHARED")
_skipped_for_corpus: list[str] = []


def _uses_conformance_corpus(item: pytest.Item) -> bool:
    """Whether a test reads ../shared/conformance (marked, under tests/conformance, naming the
    corpus in its body, or parametrized with one of its files)."""
    from tests.paths import SHARED

    if item.get_closest_marker("conformance") is not None:
        return True
    if "tests/conformance/" in item.nodeid:
        return True
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        for value in callspec.params.values():
            if isinstance(value, Path) and value.is_relative_to(SHARED):
                return True
    function = getattr(item, "function", None)
    if function is not None:
        # A module-level constant that is a corpus path (B20 = CONFORMANCE / ...), named in
        # the function or in a comprehension / lambda inside it (nested code objects).
        codes = [getattr(function, "__code__", None)]
        while codes:
            code = codes.pop()
            if code is None:
                continue
            for name in code.co_names:
                value = function.__globals__.get(name)
                if isinstance(value, Path) and value.is_relative_to(SHARED):
                    return True
            codes.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
        try:
            source = inspect.getsource(function)
        except (OSError, TypeError):
            return False
        return any(name in source for name in _CORPUS_NAMES)
    return False


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock-ahead-years",
        type=int,
        default=int(os.environ.get("WFE_TEST_CLOCK_AHEAD_YEARS", "0")),
        help="run the store and service tests with the process clock moved this many years "
        "ahead (time-machine), so a test or code path that hard-codes 'now' shows up today",
    )


@pytest.fixture(autouse=True)
def _clock_ahead(request: pytest.FixtureRequest) -> Iterator[None]:
    """Moves the clock ahead for tests/store and tests/services when --clock-ahead-years is set."""
    years: int = request.config.getoption("--clock-ahead-years")
    path = str(request.node.path)
    if (
        not years
        or not any(f"/tests/{part}/" in path for part in ("store", "services"))
        or request.node.get_closest_marker("temporal_clock") is not None
    ):
        yield
        return
    import time_machine

    moved = datetime.now(UTC) + timedelta(days=round(365.25 * years))
    with time_machine.travel(moved, tick=True):
        yield


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "conformance: reads the external corpus in ../shared/conformance"
    )
    config.addinivalue_line(
        "markers",
        "temporal_clock: compares times from this process with times Temporal's server wrote "
        "(timer starts, workflow end times); not moved by --clock-ahead-years, since the "
        "server's clock cannot move with it",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without ../shared beside the checkout, skip exactly the tests that read its corpus."""
    from tests.paths import CONFORMANCE

    if (CONFORMANCE / "CASES.md").is_file():
        return
    skip = pytest.mark.skip(reason=f"conformance corpus absent at {CONFORMANCE}")
    for item in items:
        if _uses_conformance_corpus(item):
            item.add_marker(skip)
            _skipped_for_corpus.append(item.nodeid)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _skipped_for_corpus:
        from tests.paths import CONFORMANCE

        terminalreporter.write_line(
            f"conformance corpus absent at {CONFORMANCE} (set WFE_SHARED_DIR or check out "
            f"../shared): {len(_skipped_for_corpus)} tests that read it were skipped"
        )
