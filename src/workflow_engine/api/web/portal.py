"""Routes of the portal: the page, its static files and its configuration."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from workflow_engine import __version__
from workflow_engine.api.rest.deps import ServicesDep

STATIC_DIR = Path(__file__).resolve().parent / "static"
"""Where the portal's files live inside the installed package."""

router = APIRouter(tags=["portal"])


class PortalConfigOut(BaseModel):
    """What the portal needs to know about the deployment it runs in."""

    temporal_ui_url: str
    namespace: str
    version: str
    auth_enabled: bool
    """Whether requests need a bearer token: the portal then goes to its login page before
    asking `GET /api/v1/me` without one (which would answer 401). This endpoint itself is
    public, so the page can learn it before anyone logs in."""


@router.get("/", include_in_schema=False)
async def index() -> FileResponse:
    """The portal's single page; routing happens in the browser (`/#/definitions/12`)."""
    # no-cache: a new release's page (and the module URLs it names) is picked up at once.
    return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/api/v1/portal/config", response_model=PortalConfigOut)
async def portal_config(request: Request, services: ServicesDep) -> PortalConfigOut:
    """The Temporal Web UI (request host, UI port), namespace, version, whether auth is on."""
    settings = services.settings
    # The browser reaches the UI on the host it reached us on, not on our bind address
    # (0.0.0.0 or a container name mean nothing to it).
    host = request.url.hostname or settings.http_host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal in a URL needs brackets
    return PortalConfigOut(
        temporal_ui_url=f"{request.url.scheme}://{host}:{settings.effective_temporal_ui_port}",
        namespace=settings.temporal_namespace,
        version=__version__,
        auth_enabled=settings.auth_enabled,
    )


def mount_portal(app: FastAPI) -> None:
    """Serve the portal from `app`: `GET /`, `/static/...` and `GET /api/v1/portal/config`.

    Args:
        app: The REST app (its `state.services` answers the config endpoint).
    """
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="portal-static")
