"""The remote payload codec for the Temporal Web UI: `POST /codec/decode` and `/codec/encode`.

Temporal's remote codec protocol: the body is `{"payloads": [{"metadata": {...}, "data": ...}]}`
(protobuf JSON, bytes as base64) and the answer has the same shape. The UI shows payloads
decrypted only through this endpoint, so it answers only admins when authentication is on:
payloads carry no tenant, so nobody narrower may decode them. Browsers reach it from the UI's
origin (`Settings.codec_cors_origins`, `wfe dev` adds its own UI).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payloads

from workflow_engine.api.rest.errors import error_body
from workflow_engine.crypto.codec import EncryptionCodec
from workflow_engine.crypto.keyring import DecryptionError, UnknownKeyError
from workflow_engine.security.context import current_principal

__all__ = ["CODEC_PREFIX", "CodecCorsMiddleware", "router"]

CODEC_PREFIX = "/codec"

router = APIRouter(prefix=CODEC_PREFIX, tags=["codec"])


@router.post("/decode")
async def decode(request: Request) -> JSONResponse:
    """Decrypt payloads for the Temporal Web UI (admins only when auth is on)."""
    return await _convert(request, encode=False)


@router.post("/encode")
async def encode(request: Request) -> JSONResponse:
    """Encrypt payloads (the UI's inputs, e.g. a signal it sends); admins only with auth on."""
    return await _convert(request, encode=True)


async def _convert(request: Request, *, encode: bool) -> JSONResponse:
    principal = current_principal()
    if not principal.is_admin:
        return JSONResponse(
            error_body(
                "PERMISSION_DENIED",
                "decoding Temporal payloads needs the admin role (payloads belong to no tenant)",
            ),
            status_code=403,
        )
    codec: EncryptionCodec | None = getattr(request.app.state, "payload_codec", None)
    if codec is None:
        return JSONResponse(
            error_body("NOT_FOUND", "payload encryption is not configured (no encryption_keys)"),
            status_code=404,
        )
    try:
        payloads = json_format.Parse(await request.body(), Payloads())
    except (json_format.ParseError, DecodeError, UnicodeDecodeError) as exc:
        return JSONResponse(
            error_body(
                "INVALID_ARGUMENT",
                f'the body must be {{"payloads": [...]}} in protobuf JSON: {exc}',
            ),
            status_code=400,
        )
    try:
        items = [codec.encode_one(p) if encode else codec.decode_one(p) for p in payloads.payloads]
    except (UnknownKeyError, DecryptionError) as exc:
        return JSONResponse(error_body("FAILED_PRECONDITION", str(exc)), status_code=422)
    body: dict[str, Any] = json_format.MessageToDict(Payloads(payloads=items))
    body.setdefault("payloads", [])
    return JSONResponse(body)


class CodecCorsMiddleware:
    """CORS for `/codec/*` only: the Temporal Web UI calls it from its own origin.

    Args:
        app: The wrapped app.
        origins: Origins allowed to call the codec endpoint (none: no CORS headers).
    """

    def __init__(self, app: ASGIApp, *, origins: list[str]) -> None:
        self.app = app
        self.cors = (
            CORSMiddleware(
                app,
                allow_origins=origins,
                allow_methods=["POST"],
                allow_headers=["Authorization", "Content-Type", "X-Namespace"],
                allow_credentials=False,
                max_age=600,
            )
            if origins
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer CORS for codec paths; pass everything else on untouched."""
        path: str = scope.get("path", "") if scope["type"] == "http" else ""
        if self.cors is not None and (path == CODEC_PREFIX or path.startswith(CODEC_PREFIX + "/")):
            await self.cors(scope, receive, send)
            return
        await self.app(scope, receive, send)
