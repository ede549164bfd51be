"""`GET /api/v1/stats` over HTTP: the report's shape, filters and parameter errors."""

from __future__ import annotations

import httpx

from tests.services.test_stats import _seed
from workflow_engine.services.container import Services


async def test_stats_report(client: httpx.AsyncClient, services: Services) -> None:
    await _seed(services.database)
    response = await client.get(
        "/api/v1/stats",
        params={"from": "2026-03-01T11:40:00Z", "to": "2026-03-01T12:40:00Z", "bucket": "PT10M"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["start"].startswith("2026-03-01T11:40:00")
    assert body["bucket_seconds"] == 600
    assert [d["definition_key"] for d in body["definitions"]] == ["a", "b"]
    overall = body["overall"]
    assert overall["counts"]["completed"] == 7
    assert overall["duration_ms"] == {
        "count": 7,
        "average": 314.286,
        "p50": 200.0,
        "p95": 820.0,
        "p99": 964.0,
        "max": 1000.0,
    }
    assert len(overall["throughput"]) == 6
    assert set(overall["throughput"][0]) == {"start", "started", "completed", "failed"}
    assert overall["open_tasks"]["count"] == 3
    assert overall["incidents"] == {"open": 1, "created": 1, "rate": round(1 / 13, 6)}

    only_a = await client.get(
        "/api/v1/stats",
        params={"definition_key": "a", "from": "2026-03-01T11:40:00Z", "bucket": "PT10M"},
    )
    assert [d["definition_key"] for d in only_a.json()["definitions"]] == ["a"]


async def test_stats_defaults_and_errors(client: httpx.AsyncClient) -> None:
    empty = await client.get("/api/v1/stats")
    assert empty.status_code == 200
    body = empty.json()
    assert body["definitions"] == []
    assert len(body["overall"]["throughput"]) == 60
    assert body["overall"]["duration_ms"]["p99"] is None

    bad = await client.get("/api/v1/stats", params={"window": "an hour"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "INVALID_ARGUMENT"
    assert "window" in bad.json()["error"]["message"]
    naive = await client.get("/api/v1/stats", params={"from": "2026-03-01T11:40:00"})
    assert naive.status_code == 400
    assert "from needs a time zone" in naive.json()["error"]["message"]
