"""History query latency for an instance with 1,000 events, on PostgreSQL.

    python bench/history_benchmark.py [--events 1000] [--calls 300] [--background 200] [--keep]

Creates a fresh database on 127.0.0.1:5432 (dropped afterwards unless ``--keep``), migrates
it, and writes one ended instance of ``--events`` events through the store's own runtime
projection (batches of 50 events, the way the engine writes them: service tasks with
activity.started / scheduled / result / completed, variable updates), plus ``--background``
other ended instances of the same shape so the event table is not trivially small. Then calls
the history service repeatedly and prints latency p50 / p99 (ms) for:

* the first page of the event log (100 events);
* a page in the middle (page token), and the last page;
* a type-filtered page (``activity.*``);
* all steps of the instance (reads and groups the whole log);
* one step's detail.

Not a test: CI does not run it. See bench/README.md for measured figures.
"""

from __future__ import annotations

import argparse
import asyncio
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

from workflow_engine.engine.contract import EngineEvent, RuntimeBatch  # noqa: E402
from workflow_engine.services.history import HistoryService  # noqa: E402
from workflow_engine.store.database import Database, create_engine  # noqa: E402
from workflow_engine.store.definitions import DefinitionRepository  # noqa: E402
from workflow_engine.store.instances import InstanceRepository  # noqa: E402
from workflow_engine.store.migrations import migrate  # noqa: E402
from workflow_engine.store.runtime import RuntimeProjection  # noqa: E402

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
START = datetime(2026, 1, 1, tzinfo=UTC)


def _events(count: int) -> list[EngineEvent]:
    """A log of `count` events: start, then service tasks of 6 events each, then the end."""
    out: list[EngineEvent] = []

    def add(kind: str, node: str | None, **data: Any) -> None:
        seq = len(out) + 1
        out.append(
            EngineEvent(
                sequence=seq,
                type=kind,
                timestamp=(START + timedelta(milliseconds=10 * seq)).isoformat(),
                activity_id=node,
                name=node,
                data=data,
            )
        )

    add("process.started", None, variables={"n": 0})
    add("event.passed", "start", node_type="startEvent")
    step = 0
    while len(out) < count - 2:
        node = f"task_{step}"
        token = f"tok-{step % 3}"
        add("activity.started", node, execution_id=token, node_type="serviceTask")
        add("activity.scheduled", node, execution_id=token, activity="Work", input={"i": step})
        add("activity.result", node, execution_id=token, result={"ok": True, "i": step})
        add("variable.updated", node, variables={"ok": True, "i": step}, source="output")
        add("activity.completed", node, execution_id=token)
        add("gateway.taken", f"gw_{step}", flows=["f"], node_type="exclusiveGateway")
        step += 1
    out = out[: count - 2]
    add("event.passed", "end", node_type="endEvent")
    add("process.completed", None, reason=None)
    return out


async def _write_instance(database: Database, definition_id: int, events: int) -> str:
    instance_id = str(uuid.uuid4())
    async with database.session() as session:
        await InstanceRepository(session).create(
            instance_id=instance_id,
            workflow_id=f"pi-{instance_id}",
            definition_id=definition_id,
            definition_key="bench",
            definition_version=1,
            start_time=START,
        )
    log = _events(events)
    for offset in range(0, len(log), 50):
        chunk = log[offset : offset + 50]
        last = offset + 50 >= len(log)
        async with database.session() as session:
            await RuntimeProjection(session).apply(
                RuntimeBatch(
                    instance_id=instance_id,
                    through_sequence=chunk[-1].sequence,
                    events=chunk,
                    status="completed" if last else "running",
                    variables={"i": offset},
                    ended_at=chunk[-1].timestamp if last else None,
                )
            )
    return instance_id


async def _measure(calls: int, action: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    for _ in range(10):  # warm the pool and the statement caches
        await action()
    times: list[float] = []
    for _ in range(calls):
        began = time.perf_counter()
        await action()
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    return statistics.median(times), p99


async def run(args: argparse.Namespace) -> None:
    """Fill a fresh database, measure every query, drop the database."""
    name = f"wfe_bench_history_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        await migrate(url)
        database = Database(create_engine(url))
        async with database.session() as session:
            definition = await DefinitionRepository(session).create_next_version(
                tenant_id="",
                key="bench",
                name="Bench",
                content_hash="c" * 64,
                resource="{}",
                resource_type="json",
                model_json="{}",
            )
        began = time.perf_counter()
        target = await _write_instance(database, definition.id, args.events)
        for _ in range(args.background):
            await _write_instance(database, definition.id, args.events // 10)
        print(
            f"wrote 1 x {args.events} + {args.background} x {args.events // 10} events "
            f"in {time.perf_counter() - began:.1f} s"
        )
        history = HistoryService(database=database)
        first = await history.history(target, page_size=100)
        middle_token = first.next_page_token
        for _ in range(4):
            middle_token = (await history.history(target, page_token=middle_token)).next_page_token
        last_token = middle_token
        while True:
            page = await history.history(target, page_token=last_token)
            if page.next_page_token is None:
                break
            last_token = page.next_page_token
        steps = await history.steps(target)
        one = steps[len(steps) // 2].step_id
        cases: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
            ("history, first page (100)", lambda: history.history(target, page_size=100)),
            ("history, page 6 (token)", lambda: history.history(target, page_token=middle_token)),
            ("history, last page (token)", lambda: history.history(target, page_token=last_token)),
            ("history, ?type=activity.*", lambda: history.history(target, types=["activity.*"])),
            ("history, all 1,000 (one page)", lambda: history.history(target, page_size=1000)),
            (f"steps, all {len(steps)}", lambda: history.steps(target)),
            ("step detail", lambda: history.step(target, one)),
        ]
        print(f"{'query':<34}{'p50 ms':>9}{'p99 ms':>9}")
        for label, action in cases:
            p50, p99 = await _measure(args.calls, action)
            print(f"{label:<34}{p50:>9.2f}{p99:>9.2f}")
        await database.dispose()
    finally:
        if not args.keep:
            with psycopg.connect(ADMIN, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


def main() -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--background", type=int, default=200)
    parser.add_argument("--keep", action="store_true")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
