"""The FastAPI application: routers over the shared services."""

from __future__ import annotations

from fastapi import FastAPI

from workflow_engine import __version__
from workflow_engine.api.rest import (
    admin,
    audit,
    auth,
    codec,
    definitions,
    health,
    history,
    instances,
    signals,
    stats,
    streams,
    tasks,
)
from workflow_engine.api.rest.errors import UnexpectedErrorMiddleware, install_error_handlers
from workflow_engine.api.rest.headers import SecurityHeadersMiddleware, install_cors
from workflow_engine.api.rest.input_guard import InputGuardMiddleware
from workflow_engine.api.rest.limits import (
    BodyLimitMiddleware,
    HeaderLimitMiddleware,
    RateLimitMiddleware,
)
from workflow_engine.api.rest.metrics import ApiMetricsMiddleware
from workflow_engine.api.rest.metrics import router as metrics_router
from workflow_engine.api.rest.origin import RequestOriginMiddleware
from workflow_engine.api.web import mount_portal
from workflow_engine.crypto.codec import EncryptionCodec
from workflow_engine.observability.tracing import asgi_middleware
from workflow_engine.security.tokens import TokenVerifier
from workflow_engine.services.container import Services


def create_app(services: Services) -> FastAPI:
    """Build the REST app over already-connected services (the caller owns their lifetime)."""
    app = FastAPI(
        title="workflow-engine",
        version=__version__,
        description="BPMN 2.0 process engine on Temporal: definitions, instances, tasks.",
    )
    app.state.services = services
    ring = services.settings.encryption_key_ring()
    app.state.payload_codec = None if ring is None else EncryptionCodec(ring)
    settings = services.settings
    # Innermost: only authenticated, admitted requests get their input read and checked.
    app.add_middleware(InputGuardMiddleware)
    # Inside authentication (added before it): the bucket is the verified user's.
    app.add_middleware(RateLimitMiddleware, limiter=services.rate_limiter)
    # Innermost of the middlewares (added first): metrics and traces also count refused calls.
    verifier = (
        TokenVerifier.from_settings(services.settings) if services.settings.auth_enabled else None
    )
    app.add_middleware(auth.AuthMiddleware, verifier=verifier)
    app.add_middleware(ApiMetricsMiddleware)
    app.add_middleware(asgi_middleware())
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_request_bytes,
        max_definition_bytes=settings.max_definition_bytes,
    )
    app.add_middleware(HeaderLimitMiddleware, max_bytes=settings.max_header_bytes)
    # CORS outside the limits and auth: preflights carry no token, and refusals (401 / 413 /
    # 429) must carry the CORS headers for a cross-origin page to read them.
    install_cors(app, settings.cors_allowed_origins)
    # The Temporal Web UI's origin may call the payload codec (and only that).
    app.add_middleware(codec.CodecCorsMiddleware, origins=list(settings.codec_cors_origins))
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.hsts_enabled)
    # Outermost: every request (refused ones too) carries where it came from (audit log).
    app.add_middleware(RequestOriginMiddleware)
    # Outside everything: an unexpected error becomes the contract's 500 without the
    # exception reaching the server, which would close the keep-alive connection.
    app.add_middleware(UnexpectedErrorMiddleware)
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(metrics_router)
    app.include_router(auth.router)
    app.include_router(definitions.router)
    app.include_router(instances.router)
    app.include_router(history.router)
    app.include_router(tasks.router)
    app.include_router(signals.router)
    app.include_router(streams.router)
    app.include_router(stats.router)
    app.include_router(audit.router)
    app.include_router(admin.router)
    app.include_router(codec.router)
    mount_portal(app)
    return app
