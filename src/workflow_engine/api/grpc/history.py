"""`workflow_engine.v1.HistoryService`: thin gRPC over the history service.

Same operations and rules as the REST history endpoints. The messages' field names are the
REST JSON names, so each answer is built from the REST body (`api/rest/history_schemas.py`)
with protobuf's JSON mapping: one shape, two transports. Errors leave through `rpc`.
"""

from __future__ import annotations

from typing import Any, TypeVar

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message
from pydantic import BaseModel

from workflow_engine.api.grpc.errors import rpc
from workflow_engine.api.grpc.generated import history_pb2 as pb
from workflow_engine.api.grpc.generated.history_pb2_grpc import HistoryServiceServicer
from workflow_engine.api.grpc.runtime_messages import datetime_of, optional, required
from workflow_engine.api.rest.history_schemas import (
    EventOut,
    HistoricInstanceOut,
    StepOut,
)
from workflow_engine.services.history import HistoryService
from workflow_engine.store.history import HistoricInstanceFilters

_M = TypeVar("_M", bound=Message)


def _message(body: BaseModel | dict[str, Any], into: _M) -> _M:
    """Fill a message from a REST body (JSON names; nulls leave fields unset)."""
    data = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
    return json_format.ParseDict(data, into)


def _optional_int(request: Message, field: str) -> int | None:
    if not request.HasField(field):
        return None
    value: int = getattr(request, field)
    return value


class HistoryServicer(HistoryServiceServicer):
    """Implements `workflow_engine.v1.HistoryService`.

    Args:
        history: The shared history service (`Services.history`).
    """

    def __init__(self, history: HistoryService) -> None:
        self._history = history

    @rpc
    async def GetExecutionHistory(  # noqa: N802 - gRPC method names are CamelCase
        self, request: pb.GetExecutionHistoryRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetExecutionHistoryResponse:
        """One page of the event log, ascending by sequence."""
        instance_id = required(request.instance_id, "instance_id", "the instance")
        page = await self._history.history(
            instance_id,
            types=list(request.types),
            page_size=request.page_size or 100,
            page_token=request.page_token or None,
        )
        return pb.GetExecutionHistoryResponse(
            instance_id=page.instance_id,
            events=[_message(EventOut.of(e), pb.HistoryEvent()) for e in page.events],
            next_page_token=page.next_page_token or "",
        )

    @rpc
    async def ListSteps(  # noqa: N802 - gRPC method names are CamelCase
        self, request: pb.ListStepsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListStepsResponse:
        """Every step of the instance."""
        instance_id = required(request.instance_id, "instance_id", "the instance")
        steps = await self._history.steps(instance_id)
        return pb.ListStepsResponse(
            instance_id=instance_id, steps=[_message(StepOut.of(s), pb.Step()) for s in steps]
        )

    @rpc
    async def GetStepDetail(  # noqa: N802 - gRPC method names are CamelCase
        self, request: pb.GetStepDetailRequest, context: grpc.aio.ServicerContext
    ) -> pb.Step:
        """One step with its attempts, incidents and times."""
        instance_id = required(request.instance_id, "instance_id", "the instance")
        step = await self._history.step(instance_id, request.step_id)
        return _message(StepOut.of(step), pb.Step())

    @rpc
    async def ListHistoricInstances(  # noqa: N802 - gRPC method names are CamelCase
        self, request: pb.ListHistoricInstancesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListHistoricInstancesResponse:
        """Ended instances with filters, most recently ended first."""
        filters = HistoricInstanceFilters(
            definition_key=optional(request, "definition_key"),
            definition_id=_optional_int(request, "definition_id"),
            status=optional(request, "status"),
            business_key=optional(request, "business_key"),
            tenant_id=optional(request, "tenant_id"),
            started_after=datetime_of(request, "started_after"),
            started_before=datetime_of(request, "started_before"),
            ended_after=datetime_of(request, "ended_after"),
            ended_before=datetime_of(request, "ended_before"),
            min_duration=_optional_int(request, "min_duration_ms"),
            max_duration=_optional_int(request, "max_duration_ms"),
        )
        page = await self._history.historic_instances(
            filters, page_size=request.page_size or 50, page_token=request.page_token or None
        )
        return pb.ListHistoricInstancesResponse(
            items=[_message(HistoricInstanceOut.of(r), pb.HistoricInstance()) for r in page.items],
            next_page_token=page.next_page_token or "",
        )

    @rpc
    async def GetHistoricInstance(  # noqa: N802 - gRPC method names are CamelCase
        self, request: pb.GetHistoricInstanceRequest, context: grpc.aio.ServicerContext
    ) -> pb.HistoricInstance:
        """The history record of one ended instance."""
        instance_id = required(request.instance_id, "instance_id", "the instance")
        record = await self._history.historic_instance(instance_id)
        return _message(HistoricInstanceOut.of(record), pb.HistoricInstance())
