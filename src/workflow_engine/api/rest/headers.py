"""Browser security of every HTTP response: security headers and (configurable) CORS.

`SecurityHeadersMiddleware` is plain ASGI (so SSE streams pass through unbuffered) and adds,
to every response, headers the route did not set itself:

* `Content-Security-Policy` (the portal's policy: only our own scripts, no inline script, no
  framing) -- except on the OpenAPI pages `/docs` and `/redoc`, which load Swagger UI / ReDoc
  from a CDN with an inline bootstrap script and would not render under it;
* `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`,
  `Cross-Origin-Opener-Policy: same-origin`;
* `Strict-Transport-Security` only when `hsts_enabled` (it makes browsers refuse plain HTTP
  for a year, so only deployments served over HTTPS may send it);
* `Cache-Control: no-store` on every `/api/v1` response that sets no cache policy of its own
  (API data is per user and must not stay in shared or browser caches); live streams keep
  their `no-cache`, which for an endless stream means the same.

CORS is Starlette's CORSMiddleware, installed only when `cors_allowed_origins` names origins:
with none, no CORS header is ever sent and browsers keep the same-origin rule (the built-in
portal is same-origin and needs none). Credentials (cookies) are never allowed: the API takes
bearer tokens, which a cross-origin page sends in the Authorization header.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "HSTS_VALUE",
    "SecurityHeadersMiddleware",
    "install_cors",
]

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
)
"""The portal's policy (docs/briefs/portal.md): scripts only from our origin, never inline."""

HSTS_VALUE = "max-age=31536000; includeSubDomains"
"""Strict-Transport-Security when `hsts_enabled`: one year, subdomains included."""

_ALWAYS: tuple[tuple[str, str], ...] = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)

#: Pages that cannot work under the CSP (CDN assets, inline bootstrap script).
_CSP_EXEMPT = ("/docs", "/redoc")

#: Request headers a cross-origin caller may send.
_CORS_HEADERS = ("Authorization", "Content-Type", "Accept", "Last-Event-ID")
#: Response headers a cross-origin page may read.
_CORS_EXPOSE = ("Retry-After", "Location", "Content-Disposition")


class SecurityHeadersMiddleware:
    """Add the security headers to every HTTP response.

    Args:
        app: The wrapped ASGI app.
        hsts: Also send Strict-Transport-Security (`Settings.hsts_enabled`).
    """

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers when the response starts."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        api = path == "/api/v1" or path.startswith("/api/v1/")
        csp = not any(path == p or path.startswith(p + "/") for p in _CSP_EXEMPT)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _ALWAYS:
                    headers.setdefault(name, value)
                if csp:
                    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                if self.hsts:
                    headers.setdefault("Strict-Transport-Security", HSTS_VALUE)
                if api:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_cors(app: FastAPI, origins: Sequence[str]) -> None:
    """Answer CORS requests from `origins` (`*`: any origin); no origins: install nothing.

    Args:
        app: The REST app; call after the inner middlewares so preflight requests are
            answered before authentication and rate limiting.
        origins: `Settings.cors_allowed_origins`.
    """
    if not origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=list(_CORS_HEADERS),
        expose_headers=list(_CORS_EXPOSE),
        allow_credentials=False,
        max_age=600,
    )
