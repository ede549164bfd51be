"""`GET /metrics` (Prometheus text format) and the API latency middleware."""

from __future__ import annotations

import time

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workflow_engine.api.rest.deps import ServicesDep
from workflow_engine.logging import get_logger
from workflow_engine.observability.metrics import API_LATENCY, refresh_database_gauges
from workflow_engine.security.permissions import Permission, require

router = APIRouter(tags=["health"])
_log = get_logger(__name__)

#: Route label of a request that matched no route (raw paths would explode the label set).
UNMATCHED = "<unmatched>"


@router.get("/metrics", include_in_schema=False)
async def metrics(services: ServicesDep) -> Response:
    """Every metric of this process; database gauges are refreshed first.

    With auth on this needs a token holding `metrics:read` (admin, monitor): the metrics name
    every tenant's definitions.
    """
    require(Permission.METRICS_READ)
    try:
        await refresh_database_gauges(services.database)
    except Exception as exc:
        # A scrape still answers (with the last gauge values) when the database does not.
        _log.warning("metrics_gauges_failed", error=f"{type(exc).__name__}: {exc}")
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


class ApiMetricsMiddleware:
    """Observes each HTTP request's latency labelled by its route *template*.

    The template (``/api/v1/instances/{instance_id}``) comes from the route FastAPI matched,
    which it records in the ASGI scope; raw URLs would make one time series per instance id.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time the request and record it under its route template."""
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self._app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path_format", None) or getattr(route, "path", None)
            API_LATENCY.labels(scope.get("method", ""), template or UNMATCHED, str(status)).observe(
                time.perf_counter() - began
            )
