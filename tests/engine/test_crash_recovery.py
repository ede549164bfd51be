"""Crash recovery: SIGKILL the worker while 50 instances run, start another, lose nothing.

The worker is a real `wfe worker` subprocess (PostgreSQL, the session's dev server, its own
task queue) serving `tests/engine/crash_activities.py`. Each instance runs five service tasks,
two of them in parallel branches. When some instances have progressed and none has finished,
the worker is killed with SIGKILL (no graceful shutdown, activities and batches cut off
mid-way); a fresh worker takes over. Every instance must complete with the right variables and
an event log that is exactly 1..N — Temporal may retry a step or a batch, the log must not show
it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from sqlalchemy import func, select
from temporalio.client import Client

from workflow_engine.config import load_settings
from workflow_engine.engine.devserver import TemporalDevServer
from workflow_engine.services.container import Services, build_services
from workflow_engine.services.definition_source import DefinitionFormat
from workflow_engine.store.tables import ProcessEvent, ProcessInstance

ACTIVITIES = str(Path(__file__).resolve().parent / "crash_activities.py")
INSTANCES = 50
SERVICE_TASKS = ("a", "b1", "b2", "c", "d")


def _step(element_id: str, target: str, value: str, add: int, output: str) -> dict[str, Any]:
    return {
        "id": element_id,
        "type": "serviceTask",
        "outgoing": [target],
        "config": {
            "activity_name": "crash.Add",
            "input_mapping": {"value": value, "add": add},
            "output_mapping": {output: "${result.value}"},
            # A step cut off by the kill is retried after this, not after the default 5 min.
            "timeout": "PT3S",
            "retry_policy": {"max_attempts": 0, "initial_interval": "PT0.2S"},
        },
    }


DEFINITION: dict[str, Any] = {
    "process": {"id": "crash", "key": "crash", "name": "crash recovery", "executable": True},
    "elements": [
        {"id": "start", "type": "startEvent", "outgoing": ["a"]},
        _step("a", "fork", "${seed}", 1, "counter"),
        {"id": "fork", "type": "parallelGateway", "outgoing": ["b1", "b2"]},
        _step("b1", "join", "${counter}", 10, "left"),
        _step("b2", "join", "${counter}", 100, "right"),
        {"id": "join", "type": "parallelGateway", "outgoing": ["c"]},
        _step("c", "d", "${left + right}", 1000, "total"),
        _step("d", "end", "${total}", 1, "final"),
        {"id": "end", "type": "endEvent"},
    ],
}


def expected_variables(seed: int) -> dict[str, int]:
    """What an instance started with `seed` ends with."""
    counter = seed + 1
    left, right = counter + 10, counter + 100
    total = left + right + 1000
    return {
        "seed": seed,
        "counter": counter,
        "left": left,
        "right": right,
        "total": total,
        "final": total + 1,
    }


class WorkerProcess:
    """A `wfe worker` subprocess whose output goes to a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out: IO[str] = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "workflow_engine", "worker"],
            env=env,
            cwd=log.parent,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def output(self) -> str:
        return self.log.read_text()

    async def wait_started(self, within: float = 30) -> None:
        deadline = time.monotonic() + within
        while "worker_starting" not in self.output():
            assert self.process.poll() is None, f"worker exited:\n{self.output()}"
            assert time.monotonic() < deadline, f"worker did not start:\n{self.output()}"
            await asyncio.sleep(0.1)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._out.close()


@pytest.fixture
def worker_env(temporal_server: TemporalDevServer, db_url: str, tmp_path: Path) -> dict[str, str]:
    """Environment of the worker subprocesses: this test's database and task queue."""
    return {
        **os.environ,
        "WFE_TEMPORAL_ADDRESS": temporal_server.address,
        "WFE_TEMPORAL_NAMESPACE": temporal_server.namespace,
        "WFE_DATABASE_URL": db_url,
        "WFE_REDIS_URL": "",
        "WFE_DATA_DIR": str(tmp_path),
        "WFE_TASK_QUEUE": f"crash-{uuid.uuid4().hex}",
        "WFE_ACTIVITY_MODULES": ACTIVITIES,
        "WFE_LOG_FORMAT": "json",
    }


@pytest.fixture
async def services(
    worker_env: dict[str, str], tmp_path: Path, temporal_client: Client
) -> AsyncIterator[Services]:
    """Services on the same database and task queue as the worker subprocesses."""
    settings = load_settings(
        database_url=worker_env["WFE_DATABASE_URL"],
        data_dir=tmp_path,
        task_queue=worker_env["WFE_TASK_QUEUE"],
    )
    built = await build_services(settings, temporal_client=temporal_client)
    try:
        yield built
    finally:
        await built.aclose()


@pytest.fixture
def workers(worker_env: dict[str, str], tmp_path: Path) -> Iterator[list[WorkerProcess]]:
    """Worker subprocesses started by the test; none is left running afterwards."""
    started: list[WorkerProcess] = []
    try:
        yield started
    finally:
        for worker in started:
            worker.close()
    for worker in started:
        assert worker.process.poll() is not None


async def _progress(services: Services, ids: list[str]) -> tuple[int, int]:
    """(instances with at least one finished step, instances completed)."""
    async with services.database.session() as session:
        progressed = (
            await session.execute(
                select(func.count(func.distinct(ProcessEvent.process_instance_id))).where(
                    ProcessEvent.process_instance_id.in_(ids),
                    ProcessEvent.event_type == "activity.result",
                )
            )
        ).scalar_one()
        completed = (
            await session.execute(
                select(func.count()).where(
                    ProcessInstance.id.in_(ids), ProcessInstance.status == "completed"
                )
            )
        ).scalar_one()
    return int(progressed), int(completed)


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_sigkill_mid_flight_loses_and_duplicates_nothing(
    services: Services,
    worker_env: dict[str, str],
    workers: list[WorkerProcess],
    tmp_path: Path,
) -> None:
    await services.definitions.deploy(json.dumps(DEFINITION).encode(), fmt=DefinitionFormat.JSON)
    first = WorkerProcess(worker_env, tmp_path / "worker-1.log")
    workers.append(first)
    await first.wait_started()

    seeds: dict[str, int] = {}
    for seed in range(INSTANCES):
        record = await services.instances.start(definition_key="crash", variables={"seed": seed})
        seeds[record.id] = seed
    ids = list(seeds)

    # Kill once some instances are past a step. On a loaded machine this loop can be starved
    # for a second or two and a few instances finish first; the kill must still land while
    # most of them are mid-flight, or the test proves nothing.
    deadline = time.monotonic() + 30
    while True:
        progressed, completed = await _progress(services, ids)
        if progressed >= 5 or completed > 0:
            break
        assert time.monotonic() < deadline, (progressed, completed)
        await asyncio.sleep(0.05)
    first.kill()
    assert completed <= INSTANCES - 10, f"{completed} instances finished before the kill"
    assert first.process.returncode == -signal.SIGKILL

    second = WorkerProcess(worker_env, tmp_path / "worker-2.log")
    workers.append(second)
    await second.wait_started()
    # Generous: on a starved machine Temporal's deadlock detector may fail a workflow task,
    # which then retries after its timeout; the property is "all complete", not how fast.
    deadline = time.monotonic() + 180
    while completed < INSTANCES:
        assert time.monotonic() < deadline, f"only {completed}/{INSTANCES} completed"
        assert second.process.poll() is None, second.output()
        await asyncio.sleep(0.25)
        _, completed = await _progress(services, ids)

    for instance_id, seed in seeds.items():
        detail = await services.instances.get(instance_id)
        assert detail.instance.status == "completed", instance_id
        assert detail.variables == expected_variables(seed), instance_id

    async with services.database.session() as session:
        rows = (
            await session.execute(
                select(
                    ProcessEvent.process_instance_id,
                    ProcessEvent.sequence,
                    ProcessEvent.event_type,
                    ProcessEvent.activity_id,
                ).order_by(ProcessEvent.process_instance_id, ProcessEvent.sequence)
            )
        ).all()
    by_instance: dict[str, list[tuple[int, str, str | None]]] = {i: [] for i in ids}
    for instance_id, sequence, event_type, activity_id in rows:
        by_instance[instance_id].append((sequence, event_type, activity_id))
    for instance_id, events in by_instance.items():
        sequences = [s for s, _, _ in events]
        assert sequences == list(range(1, len(events) + 1)), (instance_id, sequences)
        types = Counter(t for _, t, _ in events)
        assert types["process.started"] == 1 and types["process.completed"] == 1, instance_id
        assert events[-1][1] == "process.completed", instance_id
        for kind in ("activity.scheduled", "activity.result"):
            per_node = Counter(node for _, t, node in events if t == kind)
            assert per_node == dict.fromkeys(SERVICE_TASKS, 1), (instance_id, kind, per_node)
        assert types["activity.failed"] == 0, instance_id
