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
    identity_endpoint: bool
    """Whether `GET /api/v1/me` exists: without it the portal runs as with auth off and does
    not ask (a 404 would show as an error in the browser console)."""


@router.get("/", include_in_schema=False)
async def index() -> FileResponse:
    """The portal's single page; routing happens in the browser (`/#/definitions/12`)."""
    # no-cache: a new release's page (and the module URLs it names) is picked up at once.
    return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/api/v1/portal/config", response_model=PortalConfigOut)
async def portal_config(request: Request, services: ServicesDep) -> PortalConfigOut:
    """Where the Temporal Web UI is (host of this request, the UI port), namespace, version."""
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
        identity_endpoint=any(
            getattr(route, "path", None) == "/api/v1/me" for route in request.app.routes
        ),
    )


def mount_portal(app: FastAPI) -> None:
    """Serve the portal from `app`: `GET /`, `/static/...` and `GET /api/v1/portal/config`.

    Args:
        app: The REST app (its `state.services` answers the config endpoint).
    """
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="portal-static")
