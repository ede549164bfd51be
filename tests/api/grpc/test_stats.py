"""`workflow_engine.v1.StatsService` over a real server and real services (both databases):
the same report as REST `GET /api/v1/stats`, the same parameter errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import grpc
import httpx
from google.protobuf.timestamp_pb2 import Timestamp

from tests.api.grpc.support import refused
from tests.services.test_stats import _seed
from workflow_engine.api.grpc.generated import stats_pb2 as pb
from workflow_engine.api.grpc.generated.stats_pb2_grpc import StatsServiceStub
from workflow_engine.api.rest.app import create_app
from workflow_engine.services.container import Services


def _stamp(text: str) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(datetime.fromisoformat(text).astimezone(UTC))
    return stamp


def _iso(stamp: Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)


def _optional(message: Any, field: str) -> float | None:
    return getattr(message, field) if message.HasField(field) else None


def _figures(stats: pb.DefinitionStats) -> dict[str, Any]:
    """Everything of one DefinitionStats that does not depend on the clock, as REST spells it."""
    return {
        "definition_key": stats.definition_key if stats.HasField("definition_key") else None,
        "counts": dict(stats.counts),
        "started": stats.started,
        "ended": stats.ended,
        "failed": stats.failed,
        "failure_rate": _optional(stats, "failure_rate"),
        "duration_ms": {
            "count": stats.duration_ms.count,
            **{f: _optional(stats.duration_ms, f) for f in ("average", "p50", "p95", "p99", "max")},
        },
        "incidents": {
            "open": stats.incidents.open,
            "created": stats.incidents.created,
            "rate": _optional(stats.incidents, "rate"),
        },
        "open_tasks_count": stats.open_tasks.count,
        "throughput": [(_iso(b.start), b.started, b.completed, b.failed) for b in stats.throughput],
    }


def _rest_figures(body: dict[str, Any]) -> dict[str, Any]:
    figures = {k: v for k, v in body.items() if k not in ("open_tasks", "throughput")}
    figures["open_tasks_count"] = body["open_tasks"]["count"]
    figures["throughput"] = [
        (datetime.fromisoformat(b["start"]), b["started"], b["completed"], b["failed"])
        for b in body["throughput"]
    ]
    return figures


async def test_report_equals_rest(services: Services, channel: grpc.aio.Channel) -> None:
    await _seed(services.database)
    stub = StatsServiceStub(channel)
    report = await stub.GetStats(
        pb.GetStatsRequest(
            start=_stamp("2026-03-01T11:40:00+00:00"),
            end=_stamp("2026-03-01T12:40:00+00:00"),
            bucket="PT10M",
        )
    )
    assert _iso(report.start) == datetime(2026, 3, 1, 11, 40, tzinfo=UTC)
    assert _iso(report.end) == datetime(2026, 3, 1, 12, 40, tzinfo=UTC)
    assert report.bucket_seconds == 600
    assert not report.HasField("definition_key") and not report.HasField("tenant_id")
    assert [d.definition_key for d in report.definitions] == ["a", "b"]
    overall = report.overall
    assert not overall.HasField("definition_key")
    assert overall.counts["completed"] == 7
    assert (overall.duration_ms.count, overall.duration_ms.average) == (7, 314.286)
    assert (overall.duration_ms.p50, overall.duration_ms.p99) == (200.0, 964.0)
    assert len(overall.throughput) == 6
    assert overall.open_tasks.count == 3
    assert (overall.incidents.open, overall.incidents.created) == (1, 1)
    assert overall.incidents.rate == round(1 / 13, 6)

    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get(
            "/api/v1/stats",
            params={
                "from": "2026-03-01T11:40:00Z",
                "to": "2026-03-01T12:40:00Z",
                "bucket": "PT10M",
            },
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert _figures(overall) == _rest_figures(body["overall"])
    assert [_figures(d) for d in report.definitions] == [
        _rest_figures(d) for d in body["definitions"]
    ]

    only_a = await stub.GetStats(
        pb.GetStatsRequest(
            definition_key="a", start=_stamp("2026-03-01T11:40:00+00:00"), bucket="PT10M"
        )
    )
    assert only_a.definition_key == "a"
    assert [d.definition_key for d in only_a.definitions] == ["a"]
    assert only_a.overall.counts["completed"] == 5


async def test_defaults_and_unset_figures(channel: grpc.aio.Channel) -> None:
    report = await StatsServiceStub(channel).GetStats(pb.GetStatsRequest())
    # Defaults as REST: the last hour in one-minute buckets.
    assert report.bucket_seconds == 60
    assert len(report.overall.throughput) == 60
    assert list(report.definitions) == []
    # REST's nulls are unset fields.
    assert not report.overall.duration_ms.HasField("p99")
    assert not report.overall.HasField("failure_rate")
    assert not report.overall.open_tasks.HasField("oldest_age_seconds")
    assert report.overall.counts["running"] == 0


async def test_parameter_errors(channel: grpc.aio.Channel) -> None:
    stub = StatsServiceStub(channel)
    bad_window = await refused(stub.GetStats(pb.GetStatsRequest(window="an hour")))
    assert bad_window.code == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_window.reason == "INVALID_ARGUMENT"
    assert "window" in bad_window.message
    fraction = await refused(stub.GetStats(pb.GetStatsRequest(bucket="PT0.5S")))
    assert fraction.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "bucket must be whole seconds" in fraction.message
    backwards = await refused(
        stub.GetStats(
            pb.GetStatsRequest(
                start=_stamp("2026-03-01T12:00:00+00:00"), end=_stamp("2026-03-01T11:00:00+00:00")
            )
        )
    )
    assert backwards.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "to must be later than from" in backwards.message
    too_many = await refused(stub.GetStats(pb.GetStatsRequest(window="P7D", bucket="PT1S")))
    assert too_many.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "at most 1440" in too_many.message
    blank = await refused(stub.GetStats(pb.GetStatsRequest(definition_key="  ")))
    assert blank.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "definition_key" in blank.message
