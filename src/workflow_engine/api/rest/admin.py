"""Admin endpoints: `POST /api/v1/admin/reconcile` (thin HTTP over `ReconcilerService`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from workflow_engine.api.rest.deps import ServicesDep

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


class RepairOut(BaseModel):
    """One ghost: an open row whose workflow had ended in Temporal."""

    instance_id: str
    previous_status: str
    temporal_status: str
    status: str
    reason: str | None
    repaired: bool


class ReconcileOut(BaseModel):
    """What a reconciliation found and did."""

    checked: int
    dry_run: bool
    repaired: int
    repairs: list[RepairOut]
    errors: list[str]


@router.post("/reconcile", response_model=ReconcileOut)
async def reconcile(
    services: ServicesDep,
    dry_run: Annotated[bool, Query(description="Report the ghosts, change nothing.")] = False,
) -> ReconcileOut:
    """Compare open instances with Temporal and write the end of each ghost (admin only)."""
    report = await services.reconciler.reconcile(dry_run=dry_run)
    return ReconcileOut(
        checked=report.checked,
        dry_run=report.dry_run,
        repaired=report.repaired,
        repairs=[
            RepairOut(
                instance_id=r.instance_id,
                previous_status=r.previous_status,
                temporal_status=r.temporal_status,
                status=r.status,
                reason=r.reason,
                repaired=r.repaired,
            )
            for r in report.repairs
        ],
        errors=report.errors,
    )
