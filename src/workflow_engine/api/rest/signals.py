"""`/api/v1/signals` and `/api/v1/messages`: thin HTTP over the signal / message services."""

from __future__ import annotations

from fastapi import APIRouter

from workflow_engine.api.rest.deps import ServicesDep
from workflow_engine.api.rest.runtime_schemas import MessageIn, MessageOut, SignalIn, SignalOut

router = APIRouter(prefix="/api/v1", tags=["signals"])


@router.post("/signals", response_model=SignalOut)
async def broadcast_signal(body: SignalIn, services: ServicesDep) -> SignalOut:
    """Broadcast a signal to every waiting instance and start its signal start events.

    Answers `{delivered: n, started: m, started_instance_ids: [...]}`. With `request_id`, a
    repeat of the same request acts nothing twice and answers the same.
    """
    outcome = await services.signals.send(
        body.name, variables=body.variables, tenant_id=body.tenant_id, request_id=body.request_id
    )
    return SignalOut(
        delivered=outcome.delivered,
        started=outcome.started,
        started_instance_ids=list(outcome.started_instance_ids),
    )


@router.post("/messages", response_model=MessageOut)
async def correlate_message(body: MessageIn, services: ServicesDep) -> MessageOut:
    """Deliver a message to the one waiting instance, or start one (404 if none, 409 if many).

    With `request_id`, a repeat of the same request answers the same instance, acting once.
    """
    result = await services.messages.correlate(
        body.name,
        correlation_key=body.correlation_key,
        business_key=body.business_key,
        variables=body.variables,
        tenant_id=body.tenant_id,
        user_id=body.user_id,
        request_id=body.request_id,
    )
    return MessageOut(instance_id=result.instance_id, started=result.started)
