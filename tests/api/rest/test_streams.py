"""The SSE endpoints over a real socket: 404 / 400 before any stream, the wire format,
Last-Event-ID (header and query), heartbeats, filters, and the subscription released when
the client goes away."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from temporalio.testing import ActivityEnvironment

from tests.api.rest.sse import SseMessage, read_sse, serving
from tests.services.support import eventually
from tests.store.test_runtime import _instance, event
from workflow_engine.api.rest.app import create_app
from workflow_engine.bus import EventBus
from workflow_engine.config import load_settings
from workflow_engine.engine.activities.runtime import RuntimeActivities
from workflow_engine.engine.contract import RuntimeBatch
from workflow_engine.services.container import Services, build_services


@pytest.fixture
async def services(db_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    settings = load_settings(database_url=db_url, data_dir=tmp_path, stream_heartbeat_seconds=0.3)
    built = await build_services(settings)
    try:
        yield built
    finally:
        await built.aclose()


@pytest.fixture
async def base_url(services: Services) -> AsyncIterator[str]:
    async with serving(create_app(services)) as url:
        yield url


async def _apply(services: Services, first: int, last: int, status: str = "running") -> None:
    batch = RuntimeBatch(
        instance_id="i-1",
        through_sequence=last,
        events=[event(n, "activity.completed" if n > 1 else "process.started", f"n{n}")
                for n in range(first, last + 1)],
        status=status,
        ended_at="2026-11-30T10:01:00+00:00" if status == "completed" else None,
    )  # fmt: skip
    acts = RuntimeActivities(services.database, bus=services.bus)
    await ActivityEnvironment().run(acts.apply_runtime_batch, batch)


async def _take(messages: AsyncIterator[SseMessage], count: int) -> list[SseMessage]:
    got: list[SseMessage] = []
    async with asyncio.timeout(10):
        async for message in messages:
            if message.comment is None:
                got.append(message)
                if len(got) == count:
                    break
    return got


async def test_refusals_are_json_errors_before_any_stream(
    services: Services, base_url: str
) -> None:
    await _instance(services.database)
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        missing = await client.get("/api/v1/instances/ghost/stream")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "NOT_FOUND"
        assert "ghost" in missing.json()["error"]["message"]
        bad_header = await client.get(
            "/api/v1/instances/i-1/stream", headers={"Last-Event-ID": "abc"}
        )
        assert bad_header.status_code == 400
        assert "Last-Event-ID" in bad_header.json()["error"]["message"]
        bad_query = await client.get("/api/v1/stream", params={"last_event_id": -1})
        assert bad_query.status_code == 400
        bad_status = await client.get("/api/v1/stream", params={"status": "running,sleepy"})
        assert bad_status.status_code == 400
        assert "sleepy" in bad_status.json()["error"]["message"]


async def test_instance_stream_format_resume_heartbeat_and_end(
    services: Services, base_url: str
) -> None:
    await _instance(services.database)
    await _apply(services, 1, 3)
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=10) as client,
        client.stream(
            "GET", "/api/v1/instances/i-1/stream", headers={"Last-Event-ID": "1"}
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        messages = read_sse(response)
        first = await _take(messages, 2)
        assert [m.id for m in first] == ["2", "3"]
        body = json.loads(first[0].data or "")
        assert body["sequence"] == 2 and body["instance_id"] == "i-1"
        assert body["type"] == "activity.completed" and body["activity_id"] == "n2"
        assert body["definition_key"] == "proc" and body["instance_status"] == "running"
        # Idle: a ping comment within the heartbeat.
        async with asyncio.timeout(5):
            async for message in messages:
                if message.comment == "ping":
                    break
        await _apply(services, 4, 5, status="completed")
        rest = await _take(messages, 3)
        assert [(m.event, m.id) for m in rest] == [
            ("message", "4"),
            ("message", "5"),
            ("end", None),
        ]
        assert rest[1].data and json.loads(rest[1].data)["instance_status"] == "completed"
    # The query parameter resumes too (and the ended instance's stream ends by itself).
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        replay = await client.get("/api/v1/instances/i-1/stream", params={"last_event_id": 3})
    blocks = [b for b in replay.text.split("\n\n") if b.startswith("id:") or "event:" in b]
    assert [b.splitlines()[0] for b in blocks] == ["id: 4", "id: 5", "event: end"]


async def test_global_stream_filters_and_row_id_cursor(services: Services, base_url: str) -> None:
    await _instance(services.database)
    await _apply(services, 1, 2)
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=10) as client,
        client.stream(
            "GET",
            "/api/v1/stream",
            params={"definition_key": "proc", "type": "activity.completed", "last_event_id": 0},
        ) as response,
    ):
        messages = read_sse(response)
        replayed = await _take(messages, 1)  # process.started is filtered out by type
        body = json.loads(replayed[0].data or "")
        assert body["sequence"] == 2 and replayed[0].id == str(body["id"])
        await _apply(services, 3, 3)
        live = await _take(messages, 1)
        assert json.loads(live[0].data or "")["sequence"] == 3
        assert int(live[0].id or 0) > int(replayed[0].id or 0)


async def test_global_cursor_carries_open_ids_and_resumes_from_them(
    services: Services, base_url: str
) -> None:
    await _instance(services.database)
    await _apply(services, 1, 3)
    ids = [int(m.id or 0) for m in await _replay(base_url, "0")]
    assert len(ids) == 3
    # A cursor that says the second row was still open when it was sent: resuming re-reads
    # it (and only it), then continues after the highest id.
    cursor = f"{ids[2]}~{ids[1]}"
    for name, value in (("header", cursor), ("query", cursor)):
        got = await _replay(base_url, value, via=name)
        assert [json.loads(m.data or "")["sequence"] for m in got] == [2], name
        assert got[0].id == str(ids[2])  # nothing open any more
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        bad = await client.get("/api/v1/stream", headers={"Last-Event-ID": "12~x"})
    assert bad.status_code == 400 and "last_event_id" in bad.json()["error"]["message"]


async def _replay(base_url: str, cursor: str, *, via: str = "header") -> list[SseMessage]:
    """The events a global stream sends from `cursor` until its first heartbeat."""
    headers = {"Last-Event-ID": cursor} if via == "header" else {}
    params = {"definition_key": "proc"} | ({"last_event_id": cursor} if via == "query" else {})
    got: list[SseMessage] = []
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=10) as client,
        client.stream("GET", "/api/v1/stream", params=params, headers=headers) as response,
    ):
        async with asyncio.timeout(10):
            async for message in read_sse(response):
                if message.comment == "ping":
                    break
                if message.comment is None:
                    got.append(message)
    return got


async def test_leaving_releases_the_subscription(services: Services, base_url: str) -> None:
    await _instance(services.database)
    bus = services.bus
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=10) as client,
        client.stream("GET", "/api/v1/stream") as response,
    ):
        assert response.status_code == 200
        await eventually(_count(bus), lambda n: n == 1)
    await eventually(_count(bus), lambda n: n == 0)


def _count(bus: EventBus) -> Callable[[], Awaitable[int]]:
    async def count() -> int:
        return bus.subscriber_count

    return count
