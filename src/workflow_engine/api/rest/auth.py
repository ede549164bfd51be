"""REST authentication: who a request acts as, and `GET /api/v1/me`.

`AuthMiddleware` is plain ASGI (not Starlette's BaseHTTPMiddleware) so the principal context
variable it sets is seen by the whole request: route handlers, dependencies, and the body
generators of streaming (SSE) responses, which keep running after the handler has returned.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Request
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from workflow_engine.api.rest.errors import error_body
from workflow_engine.security import Principal, acting_as
from workflow_engine.security.identity import current_identity
from workflow_engine.security.tokens import TokenVerifier
from workflow_engine.services.errors import ServiceError, UnauthenticatedError

_log = structlog.get_logger(__name__)

#: Paths under /api/ that answer without a token (everything outside /api/ does too).
PUBLIC_API_PATHS = frozenset({"/api/v1/portal/config"})

#: Paths outside /api/ that still need a token while auth is on: `/metrics` lists every
#: tenant's definition keys (the route requires `metrics:read`).
PROTECTED_PATHS = frozenset({"/metrics"})

#: Who requests to public paths act as while auth is on: nobody, with no permission.
ANONYMOUS = Principal(user_id=None)

router = APIRouter(prefix="/api/v1", tags=["auth"])


def is_public(path: str) -> bool:
    """Whether `path` is served without a token while auth is on.

    Health, readiness, the portal's page and static files, its config and the OpenAPI
    documents are public; `/metrics`, every other `/api/...` path and the payload codec
    (`/codec/...`) need a bearer token.
    """
    if path in PUBLIC_API_PATHS:
        return True
    if path in PROTECTED_PATHS:
        return False
    # The payload codec (`/codec/*`) decrypts Temporal payloads: never public.
    return not (path in ("/api", "/codec") or path.startswith(("/api/", "/codec/")))


class AuthMiddleware:
    """Run each HTTP request as the principal of its bearer token (or the system when off).

    Args:
        app: The wrapped ASGI app.
        verifier: The token verifier; None means authentication is off and every request acts
            as `Principal.system()`.
    """

    def __init__(self, app: ASGIApp, *, verifier: TokenVerifier | None) -> None:
        self.app = app
        self.verifier = verifier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Authenticate, then serve the request as the principal (or refuse it with 401)."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if self.verifier is None:
            with acting_as(Principal.system()):
                await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if is_public(path):
            with acting_as(ANONYMOUS):
                await self.app(scope, receive, send)
            return
        try:
            principal = await self.verifier.verify_header(Headers(scope=scope).get("authorization"))
        except ServiceError as exc:
            await self._refuse(exc, scope, receive, send)
            return
        with acting_as(principal):
            await self.app(scope, receive, send)

    async def _refuse(self, exc: ServiceError, scope: Scope, receive: Receive, send: Send) -> None:
        headers: dict[str, str] = {}
        if isinstance(exc, UnauthenticatedError):
            # RFC 6750 §3: a missing token gets the bare challenge, a bad one `invalid_token`.
            description = exc.message.replace('"', "'")
            headers["WWW-Authenticate"] = (
                'Bearer realm="workflow-engine"'
                if exc.message.startswith("missing bearer token")
                else f'Bearer realm="workflow-engine", error="invalid_token", '
                f'error_description="{description}"'
            )
        _log.info(
            "request_unauthenticated",
            path=scope.get("path"),
            method=scope.get("method"),
            reason=exc.message,
        )
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": exc.message[:120]})
            return
        response = JSONResponse(
            error_body(exc.code, exc.message), status_code=exc.status, headers=headers
        )
        await response(scope, receive, send)


@router.get("/me")
async def me(request: Request) -> dict[str, Any]:
    """Who the caller is and what they may do (the portal shows and hides by this).

    With authentication off this answers for the system principal: `auth_enabled` false, no
    user, role `admin`, every permission.
    """
    enabled: bool = request.app.state.services.settings.auth_enabled
    return current_identity(auth_enabled=enabled).as_json()
