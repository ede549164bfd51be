"""`/healthz` (the process lives) and `/readyz` (every dependency answers)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from workflow_engine.api.rest.deps import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: answers as long as the process serves requests."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(services: ServicesDep) -> JSONResponse:
    """Readiness: 200 only when every registered dependency check passes, else 503."""
    results = await services.health.run()
    ready = all(r.ok for r in results)
    body = {
        "status": "ready" if ready else "not_ready",
        "checks": {r.name: {"ok": r.ok, "detail": r.detail} for r in results},
    }
    return JSONResponse(body, status_code=200 if ready else 503)
