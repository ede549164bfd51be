"""Refuse request input no store can hold, before any route or database sees it.

A plain ASGI middleware (it must not buffer responses: SSE streams pass through) that answers
400 INVALID_ARGUMENT in the error contract, naming the offending part:

* the URL path or a query parameter holding a NUL character, a lone surrogate or bytes that
  are not UTF-8 (`path`, `query.<name>`);
* a JSON request body holding NaN / ±Infinity, a number that overflows a double, an integer
  outside the 64-bit range, or a string / key with a NUL character or a lone surrogate
  (`body.<json path>`, see `model.json_values`). The body is read whole (the body limit
  outside this middleware bounds it) and handed on unchanged; text that is not JSON at all is
  left to the route, which answers its own 400.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workflow_engine.api.rest.errors import error_body
from workflow_engine.model.json_values import JsonValueError, loads_strict, string_problem
from workflow_engine.model.paths import ROOT

__all__ = ["InputGuardMiddleware"]

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _url_problem(scope: Scope) -> tuple[str, str] | None:
    """(path, message) of the first unusable part of the URL, or None."""
    problem = string_problem(scope.get("path", ""))
    if problem is not None:
        return "path", f"the URL path {problem}"
    raw: bytes = scope.get("query_string", b"")
    if not raw:
        return None
    try:
        pairs = parse_qsl(
            raw.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="strict"
        )
    except UnicodeDecodeError:
        return "query", "the query string is not UTF-8 after percent-decoding"
    for name, value in pairs:
        shown = name if string_problem(name) is None else "?"
        for text in (name, value):
            problem = string_problem(text)
            if problem is not None:
                return f"query.{shown}", f"query parameter '{shown}' {problem}"
    return None


class InputGuardMiddleware:
    """Answer 400 for URLs and JSON bodies with values that cannot be stored.

    Args:
        app: The wrapped ASGI app.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the URL, then (for JSON bodies) the body; pass clean requests on unchanged."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        url_problem = _url_problem(scope)
        if url_problem is not None:
            await _refuse(*url_problem, scope, receive, send)
            return
        if scope["method"] not in _BODY_METHODS or not _is_json(
            Headers(scope=scope).get("content-type")
        ):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        body = bytearray()
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        problem = _body_problem(bytes(body))
        if problem is not None:
            await _refuse(*problem, scope, receive, send)
            return

        async def replay() -> Message:
            if messages:
                return messages.pop(0)
            return await receive()

        await self.app(scope, replay, send)


def _body_problem(body: bytes) -> tuple[str, str] | None:
    if not body.strip():
        return None
    try:
        loads_strict(body)
    except JsonValueError as exc:
        where = exc.problem.path
        if where == ROOT:
            path = "body"
        elif where.startswith(ROOT):
            path = "body" + where[len(ROOT) :]
        else:
            path = f"body.{where}"
        return path, exc.problem.message
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return None  # not JSON: the route answers its own 400
    return None


async def _refuse(path: str, message: str, scope: Scope, receive: Receive, send: Send) -> None:
    response = JSONResponse(
        error_body("INVALID_ARGUMENT", f"{path}: {message}", [{"path": path, "message": message}]),
        status_code=400,
    )
    await response(scope, receive, send)
