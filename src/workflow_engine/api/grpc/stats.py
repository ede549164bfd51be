"""`workflow_engine.v1.StatsService`: thin gRPC over `StatsService` (REST `GET /api/v1/stats`).

The report is the service's `StatsReport` serialized exactly as REST serializes it (pydantic's
JSON mode), then read into the message with protobuf's JSON mapping: the message's field names
are the REST JSON names, so both transports give the same figures, and a report field the
message lacks fails loudly in the tests instead of silently going missing. Errors leave
through `rpc`.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import json_format
from pydantic import TypeAdapter

from workflow_engine.api.grpc.errors import rpc
from workflow_engine.api.grpc.generated import stats_pb2 as pb
from workflow_engine.api.grpc.generated.stats_pb2_grpc import StatsServiceServicer
from workflow_engine.api.grpc.runtime_messages import datetime_of, optional
from workflow_engine.services.stats import (
    DEFAULT_BUCKET,
    DEFAULT_WINDOW,
    StatsReport,
    StatsService,
)

#: The REST body of a report (FastAPI serializes `response_model=StatsReport` the same way).
_REPORT_JSON: TypeAdapter[StatsReport] = TypeAdapter(StatsReport)


def report_message(report: StatsReport) -> pb.StatsReport:
    """The message of a report: the REST JSON body read through protobuf's JSON mapping.

    Figures that REST answers with `null` are left unset.
    """
    body: dict[str, Any] = _REPORT_JSON.dump_python(report, mode="json")
    return json_format.ParseDict(body, pb.StatsReport())


class StatsServicer(StatsServiceServicer):
    """Implements `workflow_engine.v1.StatsService`.

    Args:
        stats: The statistics service (`Services.stats`; stateless, so one serves every call).
    """

    def __init__(self, stats: StatsService) -> None:
        self._stats = stats

    @rpc
    async def GetStats(  # noqa: N802 - gRPC method names are CamelCase
        self, request: pb.GetStatsRequest, context: grpc.aio.ServicerContext
    ) -> pb.StatsReport:
        """The report over the requested range (defaults as REST: last hour, 1-minute buckets)."""
        report = await self._stats.report(
            window=request.window or DEFAULT_WINDOW,
            bucket=request.bucket or DEFAULT_BUCKET,
            start=datetime_of(request, "start"),
            end=datetime_of(request, "end"),
            definition_key=optional(request, "definition_key"),
            tenant_id=optional(request, "tenant_id"),
        )
        return report_message(report)
