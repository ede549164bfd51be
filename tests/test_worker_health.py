"""`wfe worker` takes no work it cannot do (issue 15, finding 9): checks, readiness, lost DB."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from tests.conftest import PG_HOST_URL, create_postgres_database, drop_postgres_database
from tests.temporal_fixtures import free_port
from tests.worker_process import activity_pollers, read_until, start_worker, stop, worker_env
from workflow_engine.engine.devserver import TemporalDevServer
from workflow_engine.store.migrations import migrate
from workflow_engine.worker_health import WorkerHealth

pytestmark = pytest.mark.temporal


async def test_a_worker_with_a_wrong_database_port_refuses_to_start_and_never_polls(
    temporal_server: TemporalDevServer, temporal_client: Client, tmp_path: Path
) -> None:
    # Before: it started, polled, took tasks whose activities could only fail, and instances
    # hung without an incident.
    port = free_port()
    queue = f"wrong-db-{uuid.uuid4()}"
    env = worker_env(
        temporal_address=temporal_server.address,
        namespace=temporal_server.namespace,
        data_dir=tmp_path,
        task_queue=queue,
        database_url=f"postgresql+psycopg://postgres:hunter2@127.0.0.1:{port}/wfe",
    )
    process = start_worker(env)
    try:
        output, _ = await asyncio.to_thread(process.communicate, timeout=90)
    finally:
        stop(process)
    assert process.returncode == 1, output
    assert "cannot start the worker" in output
    assert f"database postgresql+psycopg://postgres:***@127.0.0.1:{port}/wfe" in output
    assert "hunter2" not in output
    assert "worker_starting" not in output
    assert await activity_pollers(temporal_client, queue) == []


async def test_every_failed_check_is_named(
    temporal_server: TemporalDevServer, tmp_path: Path
) -> None:
    env = worker_env(
        temporal_address=temporal_server.address,
        namespace=f"no-such-namespace-{uuid.uuid4().hex[:8]}",
        data_dir=tmp_path,  # an empty SQLite file: never migrated
        task_queue=f"q-{uuid.uuid4()}",
    )
    process = start_worker(env, "-m", "no_such_activity_module")
    try:
        output, _ = await asyncio.to_thread(process.communicate, timeout=90)
    finally:
        stop(process)
    assert process.returncode == 1, output
    text = " ".join(output.split())  # the console wraps long lines
    assert "activity modules: " in text and "no_such_activity_module" in text
    assert "schema is at revision none (never migrated)" in text
    assert "run `wfe migrate`" in text
    assert "no-such-namespace" in text and "Temporal" in text


def _get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return None


def _wait_status(url: str, status: int, timeout: float = 60) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        response = _get(url)
        if response is not None and response.status_code == status:
            body: dict[str, object] = response.json()
            return body
        last = None if response is None else (response.status_code, response.text)
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer {status} within {timeout}s (last: {last})")


@pytest.mark.postgres
async def test_readiness_and_a_lost_database_stop_polling_and_exit_non_zero(
    temporal_server: TemporalDevServer, tmp_path: Path
) -> None:
    name = create_postgres_database("wfe_test_worker_health")
    url = f"{PG_HOST_URL}/{name}"
    try:
        await migrate(url)
        health_port = free_port()
        env = worker_env(
            temporal_address=temporal_server.address,
            namespace=temporal_server.namespace,
            data_dir=tmp_path,
            task_queue=f"q-{uuid.uuid4()}",
            database_url=url,
            worker_database_check_seconds="0.3",
            worker_database_outage_seconds="1",
        )
        process = start_worker(env, "--health-port", str(health_port))
        try:
            await asyncio.to_thread(read_until, process, "worker_starting")
            base = f"http://127.0.0.1:{health_port}"
            ready = await asyncio.to_thread(_wait_status, f"{base}/readyz", 200)
            assert ready == {"status": "ready", "checks": {"polling": "ok", "database": "ok"}}
            live = await asyncio.to_thread(_get, f"{base}/livez")
            assert live is not None and live.status_code == 200
            missing = await asyncio.to_thread(_get, f"{base}/nope")
            assert missing is not None and missing.status_code == 404

            await asyncio.to_thread(drop_postgres_database, name)
            output, _ = await asyncio.to_thread(process.communicate, timeout=60)
        finally:
            stop(process)
    finally:
        drop_postgres_database(name)
    assert process.returncode == 1, output
    assert "worker_database_unreachable" in output
    text = " ".join(output.split())
    assert f"worker stopped: database {url} unreachable" in text
    assert "stopped polling" in text
    assert "worker_stopped" in output  # an orderly stop, not a crash


def test_readiness_body_says_what_is_missing() -> None:
    health = WorkerHealth()
    assert not health.ready
    assert health.readiness()["checks"] == {"polling": "not polling", "database": "ok"}
    health.polling = True
    assert health.ready
    health.database_error = "OperationalError: connection refused"
    assert not health.ready
    assert json.loads(json.dumps(health.readiness()))["status"] == "not ready"


async def test_health_endpoint_answers_503_until_the_worker_polls() -> None:
    health = WorkerHealth()
    port = free_port()
    server = await health.serve("127.0.0.1", port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            assert (await client.get("/readyz")).status_code == 503
            assert (await client.get("/livez")).status_code == 200
            health.polling = True
            answer = await client.get("/readyz")
            assert answer.status_code == 200
            assert answer.json()["status"] == "ready"
    finally:
        server.close()
        await server.wait_closed()
