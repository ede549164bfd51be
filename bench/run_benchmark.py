"""Engine vs. native Temporal throughput, and the Camunda 8 "typical" process.

    python bench/run_benchmark.py [--instances 200] [--concurrency 50] [--db sqlite|postgres]
                                  [--rounds 3]

One run starts its own in-memory Temporal dev server and one worker (in this process) that
serves both the engine's `ProcessInstanceWorkflow` (with the real projection activity writing
the event log to SQLite or PostgreSQL) and the hand-written `NativeThreeSteps` workflow, then:

(a) runs the same process — three sequential service tasks calling `bench.step1..3` — N times
    as an engine definition (started through the instance service, like the API does) and N
    times as the native workflow, and prints completed instances per second and their ratio;
(b) runs the Camunda 8 benchmark's "typical" 10-task process (its two 1-minute timers
    shortened to `--timer`, `var2 = true`) and prints completed instances per second.

Not a test: CI does not run it. See bench/README.md for measured figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_workflows import (  # noqa: E402 - the bench directory is not a package
    STEP_ACTIVITIES,
    STEPS,
    NativeThreeSteps,
    typical_activities,
)
from temporalio.client import Client  # noqa: E402

from workflow_engine.config import load_settings  # noqa: E402
from workflow_engine.engine.contract import InstanceResult, workflow_id  # noqa: E402
from workflow_engine.engine.devserver import TemporalDevServer  # noqa: E402
from workflow_engine.engine.worker import build_worker, engine_workflows  # noqa: E402
from workflow_engine.services.container import Services, build_services  # noqa: E402
from workflow_engine.services.definition_source import DefinitionFormat  # noqa: E402

TYPICAL = ROOT.parent / "shared" / "conformance" / "camunda-8-benchmark" / "typical_process.bpmn"
STARTER_ID = "bench"
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_URL_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432"

THREE_STEPS: dict[str, Any] = {
    "process": {"id": "three_steps", "key": "three_steps", "name": "three steps"},
    "elements": [
        {"id": "start", "type": "startEvent", "outgoing": ["s1"]},
        *(
            {
                "id": f"s{i}",
                "type": "serviceTask",
                "outgoing": [f"s{i + 1}" if i < 3 else "end"],
                "config": {"activity_name": name},
            }
            for i, name in enumerate(STEPS, start=1)
        ),
        {"id": "end", "type": "endEvent"},
    ],
}


@dataclass
class Figure:
    """One measured phase."""

    name: str
    instances: int
    seconds: float
    #: CPU seconds of this process (worker + starter + database client) during the phase.
    cpu: float = 0.0
    #: CPU seconds of the Temporal dev server during the phase.
    server_cpu: float = 0.0

    @property
    def per_second(self) -> float:
        """Completed instances per second."""
        return self.instances / self.seconds


async def bounded(count: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> float:
    """Run `one(i)` for i < count, at most `concurrency` at a time; return the wall time."""
    gate = asyncio.Semaphore(concurrency)

    async def guarded(i: int) -> None:
        async with gate:
            await one(i)

    began = time.perf_counter()
    await asyncio.gather(*(guarded(i) for i in range(count)))
    return time.perf_counter() - began


async def run_engine(
    services: Services, client: Client, key: str, variables: dict[str, Any], count: int, conc: int
) -> float:
    """Start `count` instances of `key` through the instance service and wait for each."""

    async def one(i: int) -> None:
        record = await services.instances.start(definition_key=key, variables=dict(variables))
        handle = client.get_workflow_handle(workflow_id(record.id), result_type=InstanceResult)
        result = await handle.result()
        if result.status != "completed":
            raise RuntimeError(f"instance {record.id} ended {result.status}: {result.reason}")

    return await bounded(count, conc, one)


async def run_native(client: Client, queue: str, count: int, conc: int) -> float:
    """Start `count` native workflows and wait for each."""

    async def one(i: int) -> None:
        await client.execute_workflow(
            NativeThreeSteps.run,
            {"n": i},
            id=f"native-{uuid.uuid4()}",
            task_queue=queue,
        )

    return await bounded(count, conc, one)


def cpu_seconds(pid: int | None) -> float:
    """CPU time (user + system) of process `pid` so far; this process's when None.

    Wall time moves with whatever else the machine runs; CPU per instance much less so.
    """
    if pid is None:
        return time.process_time()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measured(
    name: str, count: int, server_pid: int | None, phase: Callable[[], Awaitable[float]]
) -> Figure:
    """Run `phase` (returns its wall time) and note the CPU both processes spent on it."""
    cpu, server = cpu_seconds(None), cpu_seconds(server_pid)
    seconds = await phase()
    return Figure(
        name,
        count,
        seconds,
        cpu=cpu_seconds(None) - cpu,
        server_cpu=cpu_seconds(server_pid) - server if server_pid is not None else 0.0,
    )


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def create_postgres() -> tuple[str, Callable[[], None]]:
    """A fresh PostgreSQL database; returns its URL and how to drop it."""
    import psycopg
    from psycopg import sql

    name = f"wfe_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def drop() -> None:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    return f"{PG_URL_BASE}/{name}", drop


async def bench(args: argparse.Namespace) -> list[Figure]:
    """The whole run; returns the figures."""
    figures: list[Figure] = []
    tmp = Path(tempfile.mkdtemp(prefix="wfe-bench-"))
    drop: Callable[[], None] | None = None
    if args.db == "postgres":
        url, drop = create_postgres()
    else:
        url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    server = TemporalDevServer(port=free_port(), headless=True, db_file=None)
    await server.start(timeout=120)
    services: Services | None = None
    try:
        client = await Client.connect(server.address, namespace=server.namespace)
        queue = f"bench-{uuid.uuid4().hex[:8]}"
        settings = load_settings(
            database_url=url, data_dir=tmp, task_queue=queue, redis_url=None, log_level="WARNING"
        )
        services = await build_services(settings, run_migrations=True, temporal_client=client)
        await services.definitions.deploy(
            json.dumps(THREE_STEPS).encode(), fmt=DefinitionFormat.JSON
        )
        typical = TYPICAL.read_text().replace("PT1M", args.timer)
        await services.definitions.deploy(typical.encode(), fmt=DefinitionFormat.BPMN)
        worker = build_worker(
            client,
            task_queue=queue,
            activities=[
                *services.engine_activities(),
                *STEP_ACTIVITIES,
                *typical_activities(STARTER_ID),
            ],
            workflows=[*engine_workflows(), NativeThreeSteps],
            max_concurrent_activities=args.worker_slots,
            max_concurrent_workflow_tasks=args.worker_slots,
            extra_passthrough=("bench_workflows",),
        )
        async with worker:
            # Warm up both paths (sandbox imports, model cache, connections).
            await run_engine(services, client, "three_steps", {"n": 0}, 10, 10)
            await run_native(client, queue, 10, 10)
            n, conc = args.instances, args.concurrency
            # Rounds alternate the two variants (native first, then engine first), so load
            # from outside the benchmark affects both alike; each round has its own ratio.
            for round_ in range(args.rounds):
                order = ("native", "engine") if round_ % 2 == 0 else ("engine", "native")
                for name in order:
                    if args.only is not None and name != args.only:
                        continue
                    if name == "native":
                        figures.append(
                            await measured(
                                name, n, server.pid, lambda: run_native(client, queue, n, conc)
                            )
                        )
                    else:
                        figures.append(
                            await measured(
                                name,
                                n,
                                server.pid,
                                lambda: run_engine(
                                    services, client, "three_steps", {"n": 0}, n, conc
                                ),
                            )
                        )
            if args.typical > 0:
                variables = {"var2": True, "benchmark_starter_id": STARTER_ID}
                figures.append(
                    await measured(
                        "typical",
                        args.typical,
                        server.pid,
                        lambda: run_engine(
                            services,
                            client,
                            "benchmark",
                            variables,
                            args.typical,
                            args.typical_concurrency,
                        ),
                    )
                )
    finally:
        if services is not None:
            await services.aclose()
        await server.stop()
        if drop is not None:
            drop()
    return figures


def main() -> None:
    """Parse arguments, run, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=200, help="instances per variant")
    parser.add_argument("--concurrency", type=int, default=50, help="instances in flight")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--typical", type=int, default=100, help="typical-process instances")
    parser.add_argument("--typical-concurrency", type=int, default=100)
    parser.add_argument("--timer", default="PT1S", help="replaces the typical process's PT1M")
    parser.add_argument("--worker-slots", type=int, default=100, help="worker concurrency")
    parser.add_argument("--rounds", type=int, default=1, help="alternating native/engine rounds")
    parser.add_argument(
        "--only",
        choices=("engine", "native"),
        default=None,
        help="run one variant (e.g. to profile it); no ratio is printed",
    )
    args = parser.parse_args()
    figures = asyncio.run(bench(args))
    print(f"database: {args.db}, concurrency {args.concurrency}")
    for figure in figures:
        print(
            f"{figure.name:8s} {figure.instances:5d} instances in {figure.seconds:7.2f} s = "
            f"{figure.per_second:8.1f} completed/s; CPU per instance: "
            f"{1000 * figure.cpu / figure.instances:5.1f} ms here, "
            f"{1000 * figure.server_cpu / figure.instances:5.1f} ms dev server"
        )
    native = [f.per_second for f in figures if f.name == "native"]
    engine = [f.per_second for f in figures if f.name == "engine"]
    if not native or not engine:
        return
    ratios = [e / n for e, n in zip(engine, native, strict=True)]
    print("ratio engine/native = " + ", ".join(f"{r:.2f}" for r in ratios), end="")
    print(f" (median {statistics.median(ratios):.2f})" if len(ratios) > 1 else "")


if __name__ == "__main__":
    main()
