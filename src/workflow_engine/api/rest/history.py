"""History endpoints: thin HTTP over `HistoryService` (DESIGN §5, seed HistoryService).

`GET /api/v1/instances/{id}/history`, `/steps`, `/steps/{step_id}`, and the ended instances
under `/api/v1/history/instances`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from workflow_engine.api.rest.deps import ServicesDep
from workflow_engine.api.rest.history_schemas import (
    EventOut,
    HistoricInstanceListOut,
    HistoricInstanceOut,
    HistoryOut,
    StepOut,
    StepsOut,
)
from workflow_engine.api.rest.params import (
    DatabaseId,
    OptionalDatabaseIdQuery,
    OptionalMoment,
    OptionalNonNegativeQuery,
)
from workflow_engine.store.history import HistoricInstanceFilters
from workflow_engine.store.pagination import MAX_PAGE_SIZE

router = APIRouter(tags=["history"])


@router.get("/api/v1/instances/{instance_id}/history", response_model=HistoryOut)
async def get_history(
    instance_id: str,
    services: ServicesDep,
    types: Annotated[list[str] | None, Query(alias="type")] = None,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
    page_token: str | None = None,
) -> HistoryOut:
    """The instance's event log in order; `?type=` repeatable or comma list, `activity.*`."""
    page = await services.history.history(
        instance_id, types=types or (), page_size=page_size, page_token=page_token
    )
    return HistoryOut(
        instance_id=page.instance_id,
        events=[EventOut.of(e) for e in page.events],
        next_page_token=page.next_page_token,
    )


@router.get("/api/v1/instances/{instance_id}/steps", response_model=StepsOut)
async def list_steps(instance_id: str, services: ServicesDep) -> StepsOut:
    """Every step (node run) of the instance, in order of its first event."""
    steps = await services.history.steps(instance_id)
    return StepsOut(instance_id=instance_id, steps=[StepOut.of(s) for s in steps])


@router.get("/api/v1/instances/{instance_id}/steps/{step_id}", response_model=StepOut)
async def get_step(instance_id: str, step_id: DatabaseId, services: ServicesDep) -> StepOut:
    """One step: input, output, attempts with their errors, who, start / end / duration."""
    return StepOut.of(await services.history.step(instance_id, step_id))


@router.get("/api/v1/history/instances", response_model=HistoricInstanceListOut)
async def list_historic_instances(
    services: ServicesDep,
    definition_key: str | None = None,
    definition_id: OptionalDatabaseIdQuery = None,
    status: str | None = None,
    business_key: str | None = None,
    tenant_id: str | None = None,
    started_after: OptionalMoment = None,
    started_before: OptionalMoment = None,
    ended_after: OptionalMoment = None,
    ended_before: OptionalMoment = None,
    min_duration_ms: OptionalNonNegativeQuery = None,
    max_duration_ms: OptionalNonNegativeQuery = None,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    page_token: str | None = None,
) -> HistoricInstanceListOut:
    """Ended instances with filters and page tokens, most recently ended first."""
    filters = HistoricInstanceFilters(
        definition_key=definition_key,
        definition_id=definition_id,
        status=status,
        business_key=business_key,
        tenant_id=tenant_id,
        started_after=started_after,
        started_before=started_before,
        ended_after=ended_after,
        ended_before=ended_before,
        min_duration=min_duration_ms,
        max_duration=max_duration_ms,
    )
    page = await services.history.historic_instances(
        filters, page_size=page_size, page_token=page_token
    )
    return HistoricInstanceListOut(
        items=[HistoricInstanceOut.of(r) for r in page.items],
        next_page_token=page.next_page_token,
    )


@router.get("/api/v1/history/instances/{instance_id}", response_model=HistoricInstanceOut)
async def get_historic_instance(instance_id: str, services: ServicesDep) -> HistoricInstanceOut:
    """The history record of one ended instance."""
    return HistoricInstanceOut.of(await services.history.historic_instance(instance_id))
