"""Helpers of the gRPC tests: decoding a refused call the way clients do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status


@dataclass
class Refusal:
    """What a client learns from a failed call: status, message and the rich details."""

    code: grpc.StatusCode
    message: str
    reason: str | None
    violations: list[tuple[str, str, str]]


async def refused(call: Any) -> Refusal:
    """Await a call that must fail; decode its google.rpc.Status the way clients do."""
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    error = info.value
    status = await rpc_status.aio.from_call(call)
    reason = None
    violations: list[tuple[str, str, str]] = []
    if status is not None:
        # from_call already checked that the trailer agrees with the call's code and message.
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info_msg = error_details_pb2.ErrorInfo()
                detail.Unpack(info_msg)
                assert info_msg.domain == "workflow-engine"
                reason = info_msg.reason
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                violations += [(v.field, v.description, v.reason) for v in bad.field_violations]
    return Refusal(error.code(), error.details() or "", reason, violations)
