"""Stats latency over 100k instances on PostgreSQL.

    python bench/stats_benchmark.py [--instances 100000] [--calls 200] [--keep]

Creates a fresh database on 127.0.0.1:5432 (dropped afterwards unless ``--keep``), migrates
it, and fills it with COPY: ``--instances`` instances over the last 7 days across 5
definitions (95 % ended with a history row, 5 % live), 4 events each (+ an
``incident.created`` for 1 %), and one user task per live instance. Then calls
`StatsService.report` repeatedly and prints latency p50 / p99 for:

* the default report (last hour, 1-minute buckets);
* one definition, last 24 hours, 15-minute buckets;
* the widest report: all 7 days (every instance), 1-hour buckets.

Not a test: CI does not run it. See bench/README.md for measured figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from workflow_engine.services.stats import StatsService  # noqa: E402
from workflow_engine.store.database import Database  # noqa: E402
from workflow_engine.store.migrations import migrate  # noqa: E402

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
HOST_URL = "postgresql+psycopg://postgres@127.0.0.1:5432"
KEYS = ("orders", "onboarding", "claims", "invoices", "support")
ENDED = ("completed",) * 90 + ("terminated",) * 4 + ("cancelled",) * 3 + ("timed_out",) * 3
LIVE = ("running",) * 80 + ("paused",) * 5 + ("incident",) * 15


def _fill(dsn: str, instances: int, now: datetime, seed: int) -> None:
    rng = random.Random(seed)
    span = timedelta(days=7).total_seconds()
    with psycopg.connect(dsn, autocommit=False) as conn, conn.cursor() as cur:
        ids = []
        for n, key in enumerate(KEYS, start=1):
            cur.execute(
                "INSERT INTO process_definition (id, key, name, category, version, description,"
                " deploy_time, resource, resource_type, model_json, content_hash,"
                " has_start_form, suspended, tenant_id, element_count, warnings, created_at,"
                " updated_at) VALUES (%s, %s, %s, '', 1, '', %s, '{}', 'json', '{}', %s,"
                " false, false, '', 3, '[]', %s, %s)",
                (n, key, key, now, f"{n:064d}", now, now),
            )
            ids.append(n)
        rows_pi: list[tuple[Any, ...]] = []
        rows_hist: list[tuple[Any, ...]] = []
        rows_ev: list[tuple[Any, ...]] = []
        rows_task: list[tuple[Any, ...]] = []
        for _ in range(instances):
            iid = str(uuid.uuid4())
            k = rng.randrange(len(KEYS))
            key = KEYS[k]
            start = now - timedelta(seconds=rng.random() * span)
            live = rng.random() < 0.05
            status = rng.choice(LIVE if live else ENDED)
            duration = int(rng.lognormvariate(7, 1.2))  # ms, median ~1.1 s, long tail
            end = None if live else start + timedelta(milliseconds=duration)
            if end is not None and end > now:
                end = now
            rows_pi.append(
                (
                    iid,
                    ids[k],
                    key,
                    1,
                    status,
                    start,
                    end,
                    None if live else duration,
                    "[]",
                    "",
                    f"pi-{iid}",
                    1,
                    4,
                    start,
                    end or start,
                )
            )
            if not live:
                rows_hist.append(
                    (iid, ids[k], key, key, 1, status, start, end, duration, "", start, end)
                )
            else:
                rows_task.append(
                    (
                        str(uuid.uuid4()),
                        iid,
                        ids[k],
                        "Review",
                        "review",
                        "created",
                        50,
                        start + timedelta(milliseconds=5),
                        "[]",
                        "[]",
                        "",
                        1,
                        1,
                        False,
                        start,
                        start,
                    )
                )
            types = ["process.started", "activity.started", "activity.completed"]
            types.append("process.completed" if not live else "task.created")
            if rng.random() < 0.01:
                types.append("incident.created")
            for seq, etype in enumerate(types, start=1):
                moment = start + timedelta(milliseconds=seq)
                rows_ev.append((iid, seq, etype, "{}", moment, "engine", moment))
        copies = [
            (
                "process_instance",
                "id, process_definition_id, definition_key, definition_version, status,"
                " start_time, end_time, duration, active_activity_ids, tenant_id, workflow_id,"
                " version_counter, last_sequence, created_at, updated_at",
                rows_pi,
            ),
            (
                "historic_process_instance",
                "process_instance_id, process_definition_id, process_definition_key,"
                " process_definition_name, process_definition_version, status, start_time,"
                " end_time, duration, tenant_id, created_at, updated_at",
                rows_hist,
            ),
            (
                "process_event",
                "process_instance_id, sequence, event_type, event_data, timestamp, source,"
                " created_at",
                rows_ev,
            ),
            (
                "task_instance",
                "id, process_instance_id, process_definition_id, name, task_definition_key,"
                " state, priority, create_time, candidate_users, candidate_groups, tenant_id,"
                " suspension_state, version_counter, is_suspended, created_at, updated_at",
                rows_task,
            ),
        ]
        for table, columns, rows in copies:
            statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(table), sql.SQL(columns)
            )
            with cur.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


async def _measure(
    label: str, call: Callable[[], Awaitable[Any]], calls: int
) -> tuple[str, float, float]:
    for _ in range(5):  # warm-up: connections, statement caches
        await call()
    samples = []
    for _ in range(calls):
        began = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    p50 = statistics.median(samples)
    p99 = samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))]
    return label, p50, p99


async def main() -> None:
    """Create, fill, measure, drop."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--explain", action="store_true", help="print the report's plans")
    args = parser.parse_args()

    name = f"wfe_stats_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = f"{HOST_URL}/{name}"
    dsn = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        await migrate(url)
        now = datetime.now(UTC)
        began = time.perf_counter()
        _fill(dsn, args.instances, now, args.seed)
        print(f"filled {args.instances} instances in {time.perf_counter() - began:.1f} s")
        database = Database.from_url(url)
        if args.explain:
            from sqlalchemy import event

            statements: list[tuple[str, Any]] = []

            def _capture(conn: Any, cursor: Any, stmt: str, params: Any, *_: Any) -> None:
                statements.append((stmt, params))

            event.listen(database.engine.sync_engine, "before_cursor_execute", _capture)
        service = StatsService(database=database)
        try:
            report = await service.report()
            print(json.dumps({"overall_counts": report.overall.counts}, indent=None))
            if args.explain:
                _explain(dsn, statements)
                return
            results = [
                await _measure("default: last hour, PT1M buckets", service.report, args.calls),
                await _measure(
                    "one definition, P1D window, PT15M buckets",
                    lambda: service.report(definition_key="orders", window="P1D", bucket="PT15M"),
                    args.calls,
                ),
                await _measure(
                    "all 7 days (every instance), PT1H buckets",
                    lambda: service.report(window="P8D", bucket="PT1H"),
                    max(20, args.calls // 10),
                ),
            ]
        finally:
            await database.dispose()
        print(f"{'report':48} {'p50 ms':>8} {'p99 ms':>8}")
        for label, p50, p99 in results:
            print(f"{label:48} {p50:8.1f} {p99:8.1f}")
    finally:
        if not args.keep:
            with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
        else:
            print(f"kept database {name}")


def _explain(dsn: str, statements: list[tuple[str, Any]]) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET max_parallel_workers_per_gather = 0")
        for stmt, params in statements:
            if not stmt.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            plan = conn.execute("EXPLAIN ANALYZE " + stmt, params).fetchall()
            print("\n".join(row[0] for row in plan))
            print("-" * 80)


if __name__ == "__main__":
    asyncio.run(main())
