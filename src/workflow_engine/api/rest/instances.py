"""`/api/v1/instances`: thin HTTP over `InstanceService` (DESIGN §5)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse, Response

from workflow_engine.api.rest.deps import ServicesDep
from workflow_engine.api.rest.params import OptionalDatabaseIdQuery, OptionalMoment
from workflow_engine.api.rest.runtime_schemas import (
    AcceptedOut,
    InstanceDetailOut,
    InstanceListOut,
    InstanceOut,
    ReasonIn,
    RetryIn,
    StartInstanceIn,
    VariablesIn,
    VariablesOut,
)
from workflow_engine.services.errors import InvalidArgumentError
from workflow_engine.services.instances import MAX_PAGE_SIZE
from workflow_engine.store.instances import InstanceFilters

router = APIRouter(prefix="/api/v1/instances", tags=["instances"])

SVG = "image/svg+xml"

OptionalReason = Annotated[ReasonIn | None, Body()]


@router.post("", status_code=201, response_model=InstanceDetailOut)
async def start_instance(body: StartInstanceIn, services: ServicesDep) -> JSONResponse:
    """Start an instance: 201 with the instance; 400 naming a missing / mistyped variable."""
    record = await services.instances.start(
        definition_key=body.definition_key,
        definition_id=body.definition_id,
        version=body.version,
        business_key=body.business_key,
        variables=body.variables,
        user_id=body.user_id,
        tenant_id=body.tenant_id,
        request_id=body.request_id,
    )
    detail = await services.instances.get(record.id)
    out = InstanceDetailOut.of_detail(detail)
    return JSONResponse(
        out.model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"/api/v1/instances/{record.id}"},
    )


@router.get("", response_model=InstanceListOut)
async def list_instances(
    services: ServicesDep,
    definition_key: str | None = None,
    definition_id: OptionalDatabaseIdQuery = None,
    status: str | None = None,
    business_key: str | None = None,
    started_after: OptionalMoment = None,
    started_before: OptionalMoment = None,
    tenant_id: str | None = None,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    page_token: str | None = None,
) -> InstanceListOut:
    """List instances with filters and page tokens, oldest start first."""
    for name, moment in (("started_after", started_after), ("started_before", started_before)):
        if moment is not None and moment.tzinfo is None:
            raise InvalidArgumentError(f"{name} needs a time zone, e.g. 2026-01-01T00:00:00Z")
    filters = InstanceFilters(
        definition_key=definition_key,
        definition_id=definition_id,
        status=status,
        business_key=business_key,
        started_after=started_after,
        started_before=started_before,
        tenant_id=tenant_id,
    )
    page = await services.instances.list(filters, page_size=page_size, page_token=page_token)
    return InstanceListOut(
        items=[InstanceOut.of(r) for r in page.items], next_page_token=page.next_page_token
    )


@router.get("/{instance_id}", response_model=InstanceDetailOut)
async def get_instance(instance_id: str, services: ServicesDep) -> InstanceDetailOut:
    """One instance: status, active elements, variables, times, open incidents."""
    return InstanceDetailOut.of_detail(await services.instances.get(instance_id))


@router.get(
    "/{instance_id}/diagram",
    responses={200: {"description": "The diagram with run-time state", "content": {SVG: {}}}},
)
async def diagram(instance_id: str, services: ServicesDep) -> Response:
    """The instance's diagram as SVG: active, done, failed and waiting nodes, flows taken."""
    svg = await services.diagrams.instance_svg(instance_id)
    # The state changes as the instance runs: never serve a stale copy from a cache.
    return Response(svg, media_type=SVG, headers={"Cache-Control": "no-store"})


@router.post("/{instance_id}/pause", status_code=200, response_model=AcceptedOut)
async def pause(
    instance_id: str, services: ServicesDep, body: OptionalReason = None
) -> AcceptedOut:
    """Pause: no new step starts until resume (arriving events are kept)."""
    req = body or ReasonIn()
    done = await services.instances.pause(instance_id, reason=req.reason, user_id=req.user_id)
    return AcceptedOut(instance_id=instance_id, action="pause", status=done.status)


@router.post("/{instance_id}/resume", status_code=200, response_model=AcceptedOut)
async def resume(
    instance_id: str, services: ServicesDep, body: OptionalReason = None
) -> AcceptedOut:
    """Resume a paused instance."""
    req = body or ReasonIn()
    done = await services.instances.resume(instance_id, reason=req.reason, user_id=req.user_id)
    return AcceptedOut(instance_id=instance_id, action="resume", status=done.status)


@router.post("/{instance_id}/terminate", status_code=200, response_model=AcceptedOut)
async def terminate(
    instance_id: str, services: ServicesDep, body: OptionalReason = None
) -> AcceptedOut:
    """End at once with a reason (status terminated); answers once it has ended.

    409 when the instance had ended, or its end (the completion of its last step, another
    terminate / cancel) was under way first: the instance's workflow orders them.
    """
    req = body or ReasonIn()
    done = await services.instances.terminate(instance_id, reason=req.reason, user_id=req.user_id)
    return AcceptedOut(instance_id=instance_id, action="terminate", status=done.status)


@router.post("/{instance_id}/cancel", status_code=200, response_model=AcceptedOut)
async def cancel(
    instance_id: str, services: ServicesDep, body: OptionalReason = None
) -> AcceptedOut:
    """Run down cleanly (status cancelled); answers once it has ended (409 as terminate)."""
    req = body or ReasonIn()
    done = await services.instances.cancel(instance_id, reason=req.reason, user_id=req.user_id)
    return AcceptedOut(instance_id=instance_id, action="cancel", status=done.status)


@router.post("/{instance_id}/retry", status_code=202, response_model=AcceptedOut)
async def retry(
    instance_id: str, services: ServicesDep, body: Annotated[RetryIn | None, Body()] = None
) -> AcceptedOut:
    """Retry the failed step of an incident (409 when there is none)."""
    req = body or RetryIn()
    await services.instances.retry(instance_id, node_id=req.node_id, user_id=req.user_id)
    return AcceptedOut(instance_id=instance_id, action="retry")


@router.get("/{instance_id}/variables", response_model=VariablesOut)
async def get_variables(instance_id: str, services: ServicesDep) -> VariablesOut:
    """The instance's variables."""
    variables = await services.instances.variables(instance_id)
    return VariablesOut(instance_id=instance_id, variables=variables)


@router.put("/{instance_id}/variables", response_model=VariablesOut)
async def set_variables(instance_id: str, body: VariablesIn, services: ServicesDep) -> VariablesOut:
    """Set variables (declared types are checked); answers with all variables."""
    variables = await services.instances.set_variables(
        instance_id, body.variables, user_id=body.user_id
    )
    return VariablesOut(instance_id=instance_id, variables=variables)
