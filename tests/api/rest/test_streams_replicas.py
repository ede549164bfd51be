"""Done-when of live status: two API processes (`wfe serve`) share Redis and PostgreSQL with a
real worker; a client streams an instance from replica 1, disconnects mid-run, reconnects to
replica 2 with Last-Event-ID, and receives every event of the instance exactly once, in order."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio import activity
from temporalio.client import Client

from tests.api.rest.sse import read_sse
from tests.services.support import deploy_document, eventually
from tests.temporal_fixtures import free_port
from workflow_engine.config import load_settings
from workflow_engine.engine.devserver import TemporalDevServer
from workflow_engine.engine.worker import build_worker
from workflow_engine.services.container import Services, build_services
from workflow_engine.store.live_events import LiveEventReader
from workflow_engine.store.tasks import TaskFilters

KEY = "liveSteps"


@activity.defn(name="LiveStep")
async def live_step(data: dict[str, Any]) -> dict[str, Any]:
    return {"done": True}


def _definition() -> dict[str, Any]:
    def el(element_id: str, kind: str, after: str | None, **config: Any) -> dict[str, Any]:
        item: dict[str, Any] = {"id": element_id, "type": kind}
        if after is not None:
            item["outgoing"] = [after]
        if config:
            item["config"] = config
        return item

    step = {"activity_name": "LiveStep", "timeout": "PT10S"}
    return {
        "process": {"id": KEY, "key": KEY, "name": "Live steps", "executable": True},
        "elements": [
            el("start", "startEvent", "step1"),
            el("step1", "serviceTask", "review1", **step),
            el("review1", "userTask", "step2"),
            el("step2", "serviceTask", "count", **step),
            el("count", "scriptTask", "review2", script={"counted": "${1 + 1}"}),
            el("review2", "userTask", "step3"),
            el("step3", "serviceTask", "end", **step),
            el("end", "endEvent", None),
        ],
    }


@asynccontextmanager
async def api_replica(
    name: str, *, db_url: str, redis_url: str, data_dir: Path, temporal_address: str
) -> AsyncIterator[str]:
    """`wfe serve` as a subprocess on free ports; yields its base URL once it is ready."""
    port = free_port()
    env = {
        **os.environ,
        "WFE_DATABASE_URL": db_url,
        "WFE_REDIS_URL": redis_url,
        "WFE_TEMPORAL_ADDRESS": temporal_address,
        "WFE_HTTP_PORT": str(port),
        "WFE_GRPC_PORT": str(free_port()),
        "WFE_DATA_DIR": str(data_dir / name),
        # Longer than the test's waits: live events must come through Redis, not through the
        # heartbeat's re-read of the log.
        "WFE_STREAM_HEARTBEAT_SECONDS": "120",
        "WFE_LOG_LEVEL": "WARNING",
    }
    env.pop("WFE_CONFIG", None)
    log = (data_dir / f"{name}.log").open("w")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "workflow_engine", "serve",
        cwd=data_dir, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=2) as client:
            for _ in range(300):
                if proc.returncode is not None:
                    break
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
            else:
                pytest.fail(f"{name} not ready: {(data_dir / f'{name}.log').read_text()}")
        if proc.returncode is not None:
            pytest.fail(f"{name} exited: {(data_dir / f'{name}.log').read_text()}")
        yield base
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                async with asyncio.timeout(20):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()
        log.close()


@asynccontextmanager
async def worker_services(
    db_url: str, redis_url: str, data_dir: Path, temporal_client: Client
) -> AsyncIterator[Services]:
    """Services publishing on Redis, with a running worker (the engine's process)."""
    queue = f"live-{uuid.uuid4().hex}"
    settings = load_settings(
        database_url=db_url, redis_url=redis_url, data_dir=data_dir, task_queue=queue
    )
    services = await build_services(settings, temporal_client=temporal_client)
    worker = build_worker(
        temporal_client,
        task_queue=queue,
        activities=[*services.engine_activities(), live_step],
    )
    try:
        async with worker:
            yield services
    finally:
        await services.aclose()


async def _open_task(services: Services, instance_id: str, node: str) -> str:
    async def probe() -> list[str]:
        page = await services.tasks.list(TaskFilters(instance_id=instance_id, state="created"))
        return [t.id for t in page.items if t.task_definition_key == node]

    found = await eventually(probe, lambda ids: len(ids) == 1, within=30)
    return found[0]


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_reconnect_to_another_replica_gets_every_event_exactly_once(
    db_url: str,
    redis_url: str,
    tmp_path: Path,
    temporal_client: Client,
    temporal_server: TemporalDevServer,
) -> None:
    replica = {
        "db_url": db_url,
        "redis_url": redis_url,
        "data_dir": tmp_path,
        "temporal_address": temporal_server.address,
    }
    async with (
        api_replica("api1", **replica) as api1,
        api_replica("api2", **replica) as api2,
        worker_services(db_url, redis_url, tmp_path, temporal_client) as services,
        httpx.AsyncClient(timeout=httpx.Timeout(30)) as client,
    ):
        await deploy_document(services, _definition())
        instance_id = (await services.instances.start(definition_key=KEY)).id
        path = f"/api/v1/instances/{instance_id}/stream"
        received: list[dict[str, Any]] = []

        # Replica 1: follow the run until the first user task, then go away mid-run.
        async with client.stream("GET", f"{api1}{path}") as response:
            assert response.status_code == 200
            async with asyncio.timeout(60):
                async for message in read_sse(response):
                    if message.comment is not None:
                        continue
                    assert message.event == "message", message
                    body = json.loads(message.data or "")
                    assert message.id == str(body["sequence"])
                    received.append(body)
                    if body["type"] == "task.created":
                        break
        first_part = len(received)
        cursor = received[-1]["sequence"]

        # While nobody listens, the run moves on to the second user task.
        await services.tasks.complete(await _open_task(services, instance_id, "review1"))
        review2 = await _open_task(services, instance_id, "review2")

        # Replica 2: resume from the cursor, catch up from the database, then follow live
        # events that cross from the worker's process through Redis.
        live_after_resume = False
        async with client.stream(
            "GET", f"{api2}{path}", headers={"Last-Event-ID": str(cursor)}
        ) as response:
            assert response.status_code == 200
            async with asyncio.timeout(60):
                messages = read_sse(response)
                async for message in messages:
                    if message.comment is not None:
                        continue
                    if message.event == "end":
                        break
                    body = json.loads(message.data or "")
                    assert message.id == str(body["sequence"])
                    received.append(body)
                    if body["type"] == "task.created" and body["activity_id"] == "review2":
                        await services.tasks.complete(review2)
                        live_after_resume = True
                else:
                    pytest.fail("replica 2's stream closed without `event: end`")

        async with services.database.session() as session:
            log = await LiveEventReader(session).of_instance(
                instance_id, after_sequence=0, limit=10_000
            )
        sequences = [body["sequence"] for body in received]
        assert sequences == list(range(1, len(log) + 1)), sequences  # exactly once, in order
        assert [(b["sequence"], b["type"], b["activity_id"]) for b in received] == [
            (e.sequence, e.type, e.activity_id) for e in log
        ]
        assert log[-1].instance_status == "completed"
        assert 0 < first_part < len(received) and live_after_resume
        # Both parts carried real steps: replica 1 saw step1 run, replica 2 saw step3.
        assert any(b["activity_id"] == "step1" for b in received[:first_part])
        assert any(b["activity_id"] == "step3" for b in received[first_part:])
