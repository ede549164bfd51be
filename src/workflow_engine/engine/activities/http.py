"""The built-in HTTP connector: activity `wfe.http` (service task `implementation: http`).

The workflow renders the templates of `method` / `url` / `headers` / `body` / `query` first
(:func:`workflow_engine.expressions.templates.render_template`) and calls this activity with the
result; the activity only performs the request, so retries repeat exactly the same request.

Input (a dict; other keys are ignored). The interpreter may instead send
`{<variables>..., "_config": <the task's config>}`: the config's request keys are then rendered
as templates against those variables first (:func:`from_engine_input`).

- `url` (required): absolute `http://` or `https://` URL.
- `method`: GET (default), POST, PUT, PATCH, DELETE, HEAD or OPTIONS.
- `headers`: name -> text (numbers and booleans are written as text, null drops the header).
- `query`: name -> value or list of values, merged into the URL's query string.
- `body`: a JSON value sent as `application/json`; a string is sent as is (`text/plain` unless a
  content-type header says otherwise); a dict with content-type
  `application/x-www-form-urlencoded` is sent as a form.
- `timeout_seconds`: total time for the request including the body (default 30).
- `expected_status`: a status code or list of them; when given exactly these count as success.
- `follow_redirects`: default true.

Result: `{"status": int, "headers": {name: value}, "body": JSON value | text | None}` — the body
is JSON-decoded when the response says it is JSON, otherwise text; empty is None.

Failures (Temporal `ApplicationError`, `type` usable as a BPMN `error_code`):

- `HTTP_<status>` for 5xx, 408 and 429: retryable (a `Retry-After` in seconds sets the delay);
- `HTTP_<status>` for any other unexpected status (4xx): non-retryable;
- `HTTP_TIMEOUT`, `HTTP_CONNECTION_ERROR`: retryable;
- `HTTP_RESPONSE_TOO_LARGE`, `INVALID_INPUT`: non-retryable.

The error's first detail is `{"status", "headers", "body"}` when a response arrived.
The `httpx.AsyncClient` is shared by every request of a worker; tests and embedders can inject
a transport (e.g. `httpx.MockTransport`) — see :class:`HttpActivities`.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from workflow_engine.expressions import ExpressionError
from workflow_engine.expressions.templates import render_template, template_text

__all__ = [
    "ACTIVITY_HTTP",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT_SECONDS",
    "INVALID_INPUT",
    "HttpActivities",
    "HttpRequestSpec",
    "from_engine_input",
    "parse_http_request",
]

ACTIVITY_HTTP = "wfe.http"
#: Error type of an activity input that cannot be used (never retried: it cannot get better).
INVALID_INPUT = "INVALID_INPUT"
DEFAULT_TIMEOUT_SECONDS = 30.0
#: Results travel in Temporal history, whose payloads are limited (2 MB by default).
DEFAULT_MAX_RESPONSE_BYTES = 1_048_576

_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
#: Statuses that mean "try again later" rather than "this request is wrong".
_RETRYABLE_4XX = frozenset({408, 429})
_MESSAGE_BODY_CHARS = 200


def invalid_input(message: str) -> ApplicationError:
    """A non-retryable `INVALID_INPUT` error with a message naming the field."""
    return ApplicationError(message, type=INVALID_INPUT, non_retryable=True)


@dataclass(frozen=True, slots=True)
class HttpRequestSpec:
    """A validated `wfe.http` input."""

    method: str
    url: httpx.URL
    headers: dict[str, str]
    query: list[tuple[str, str | int | float | bool | None]]
    body: Any
    has_body: bool
    timeout_seconds: float
    expected_status: frozenset[int] | None
    follow_redirects: bool


def parse_http_request(data: Any) -> HttpRequestSpec:
    """Validate the input of `wfe.http`.

    Raises:
        ApplicationError: type `INVALID_INPUT`, non-retryable, naming the field and why.
    """
    if not isinstance(data, Mapping):
        raise invalid_input(f"wfe.http input must be an object, got {_kind(data)}")
    method = data.get("method", "GET")
    if not isinstance(method, str) or method.upper() not in _METHODS:
        raise invalid_input(
            f"wfe.http 'method' must be one of {', '.join(sorted(_METHODS))}, got {method!r}"
        )
    return HttpRequestSpec(
        method=method.upper(),
        url=_url(data.get("url")),
        headers=_headers(data.get("headers")),
        query=_query(data.get("query")),
        body=data.get("body"),
        has_body=data.get("body") is not None,
        timeout_seconds=_timeout(data.get("timeout_seconds")),
        expected_status=_expected(data.get("expected_status")),
        follow_redirects=_flag(data.get("follow_redirects", True), "follow_redirects"),
    )


#: The request keys of a service task's `config` (`implementation: http`).
_REQUEST_KEYS = (
    "method",
    "url",
    "headers",
    "query",
    "body",
    "timeout_seconds",
    "expected_status",
    "follow_redirects",
)


def from_engine_input(request: Any) -> Any:
    """Accept the interpreter's form `{<variables>..., "_config": <task config>}` too.

    The service task's config holds templates (`"url": "https://api/users/${user_id}"`); they
    are rendered here against the variables sent alongside. Rendering is pure, and the input
    is recorded in history, so every retry sends exactly the same request. Any other input is
    returned unchanged (it is already a request).

    Raises:
        ApplicationError: `INVALID_INPUT` when a template cannot be rendered (names it).
    """
    if not isinstance(request, Mapping) or "_config" not in request:
        return request
    config = request["_config"]
    if not isinstance(config, Mapping):
        raise invalid_input(f"wfe.http '_config' must be an object, got {_kind(config)}")
    variables = {k: v for k, v in request.items() if k != "_config"}
    templates = {k: config[k] for k in _REQUEST_KEYS if k in config}
    try:
        return render_template(templates, variables)
    except ExpressionError as exc:
        raise invalid_input(f"wfe.http {exc.message}") from None


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _url(value: Any) -> httpx.URL:
    if not isinstance(value, str) or not value.strip():
        raise invalid_input(f"wfe.http 'url' is required and must be text, got {value!r}")
    try:
        url = httpx.URL(value.strip())
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise invalid_input(f"wfe.http 'url' {value!r} is not a valid URL: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise invalid_input(f"wfe.http 'url' {value!r} must be an absolute http:// or https:// URL")
    return url


def _scalar_text(value: Any, where: str) -> str:
    if isinstance(value, str | int | float | bool):
        return template_text(value)
    raise invalid_input(
        f"wfe.http '{where}' must be text, a number or a boolean, got {_kind(value)}"
    )


def _headers(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise invalid_input(
            f"wfe.http 'headers' must be an object of name -> text, got {_kind(value)}"
        )
    headers: dict[str, str] = {}
    for name, item in value.items():
        if not isinstance(name, str) or not name.strip():
            raise invalid_input(f"wfe.http 'headers' has an invalid header name {name!r}")
        if item is None:
            continue
        text = _scalar_text(item, f"headers.{name}")
        if "\n" in text or "\r" in text:
            raise invalid_input(f"wfe.http 'headers.{name}' must not contain line breaks")
        headers[name.strip()] = text
    return headers


def _query(value: Any) -> list[tuple[str, str | int | float | bool | None]]:
    if value is None:
        return []
    if not isinstance(value, Mapping):
        raise invalid_input(
            f"wfe.http 'query' must be an object of name -> value, got {_kind(value)}"
        )
    pairs: list[tuple[str, str | int | float | bool | None]] = []
    for name, item in value.items():
        items = item if isinstance(item, list) else [item]
        pairs.extend(
            (str(name), _scalar_text(one, f"query.{name}")) for one in items if one is not None
        )
    return pairs


def _timeout(value: Any) -> float:
    if value is None:
        return DEFAULT_TIMEOUT_SECONDS
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise invalid_input(f"wfe.http 'timeout_seconds' must be a positive number, got {value!r}")
    return float(value)


def _expected(value: Any) -> frozenset[int] | None:
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    codes: set[int] = set()
    for item in items:
        if isinstance(item, str) and item.strip().isdigit():
            item = int(item)
        if isinstance(item, bool) or not isinstance(item, int) or not 100 <= item <= 599:
            raise invalid_input(
                f"wfe.http 'expected_status' must be HTTP status codes (100-599), got {value!r}"
            )
        codes.add(item)
    if not codes:
        raise invalid_input("wfe.http 'expected_status' must not be an empty list")
    return frozenset(codes)


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise invalid_input(f"wfe.http '{name}' must be true or false, got {value!r}")
    return value


class HttpActivities:
    """Holds the worker's shared `httpx.AsyncClient`; register `instance.http` with a worker.

    Args:
        transport: An httpx transport to send through (e.g. `httpx.MockTransport` in tests,
            or a transport with proxies / client certificates); None: httpx's default.
        max_response_bytes: Larger responses fail with `HTTP_RESPONSE_TOO_LARGE`.
        user_agent: Sent unless the request sets its own `User-Agent`.
    """

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        user_agent: str = "workflow-engine",
    ) -> None:
        if max_response_bytes <= 0:
            raise ValueError(f"max_response_bytes must be positive, got {max_response_bytes}")
        self._max_bytes = max_response_bytes
        self._client = httpx.AsyncClient(transport=transport, headers={"user-agent": user_agent})

    async def aclose(self) -> None:
        """Close the shared client (call once the worker has stopped)."""
        await self._client.aclose()

    @activity.defn(name=ACTIVITY_HTTP)
    async def http(self, request: dict[str, Any]) -> dict[str, Any]:
        """Perform one HTTP request (see the module docstring for input, result, errors)."""
        spec = parse_http_request(from_engine_input(request))
        return await self.send(spec)

    async def send(self, spec: HttpRequestSpec) -> dict[str, Any]:
        """Send a validated request and classify the answer (usable outside an activity)."""
        where = f"{spec.method} {spec.url}"
        try:
            async with asyncio.timeout(spec.timeout_seconds):
                status, headers, content = await self._exchange(spec)
        except TimeoutError:
            raise ApplicationError(
                f"{where} timed out after {spec.timeout_seconds:g}s", type="HTTP_TIMEOUT"
            ) from None
        except httpx.TimeoutException as exc:
            raise ApplicationError(
                f"{where} timed out: {type(exc).__name__}", type="HTTP_TIMEOUT"
            ) from None
        except httpx.UnsupportedProtocol as exc:
            raise invalid_input(f"wfe.http 'url' cannot be requested: {exc}") from None
        except httpx.TransportError as exc:
            raise ApplicationError(
                f"{where} failed: {type(exc).__name__}: {exc or 'connection failed'}",
                type="HTTP_CONNECTION_ERROR",
            ) from None
        result = {"status": status, "headers": headers, "body": _decode(headers, content)}
        if _succeeded(status, spec.expected_status):
            return result
        raise _status_error(where, status, result, spec.expected_status)

    async def _exchange(self, spec: HttpRequestSpec) -> tuple[int, dict[str, str], bytes]:
        headers = dict(spec.headers)
        kwargs: dict[str, Any] = {}
        if spec.has_body:
            kwargs.update(_encode_body(spec.body, headers))
        request = self._client.build_request(
            spec.method,
            # httpx's `params=` replaces the URL's own query; the documented behaviour is merge.
            spec.url.copy_merge_params(spec.query) if spec.query else spec.url,
            headers=headers,
            timeout=httpx.Timeout(spec.timeout_seconds),
            **kwargs,
        )
        response = await self._client.send(
            request, stream=True, follow_redirects=spec.follow_redirects
        )
        try:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self._max_bytes:
                    raise ApplicationError(
                        f"{spec.method} {spec.url} answered with more than {self._max_bytes} "
                        "bytes; results travel in workflow history, so they must stay small",
                        type="HTTP_RESPONSE_TOO_LARGE",
                        non_retryable=True,
                    )
                chunks.append(chunk)
        finally:
            await response.aclose()
        return response.status_code, dict(response.headers.items()), b"".join(chunks)


def _encode_body(body: Any, headers: dict[str, str]) -> dict[str, Any]:
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    if content_type and content_type.lower().startswith("application/x-www-form-urlencoded"):
        if not isinstance(body, Mapping):
            raise invalid_input("wfe.http 'body' must be an object to be sent as a form")
        return {"data": {str(k): template_text(v) for k, v in body.items()}}
    if isinstance(body, str):
        if content_type is None:
            headers["Content-Type"] = "text/plain; charset=utf-8"
        return {"content": body.encode()}
    try:
        encoded = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    except (TypeError, ValueError) as exc:
        raise invalid_input(f"wfe.http 'body' is not a JSON value: {exc}") from None
    if content_type is None:
        headers["Content-Type"] = "application/json"
    return {"content": encoded}


def _decode(headers: Mapping[str, str], content: bytes) -> Any:
    if not content:
        return None
    content_type = headers.get("content-type", "").lower()
    charset = "utf-8"
    for part in content_type.split(";")[1:]:
        key, _, val = part.strip().partition("=")
        if key == "charset" and val:
            charset = val.strip('"')
    try:
        text = content.decode(charset, errors="replace")
    except LookupError:  # an unknown charset name
        text = content.decode("utf-8", errors="replace")
    mime = content_type.split(";", 1)[0].strip()
    if mime == "application/json" or mime.endswith("+json"):
        try:
            return json.loads(text)
        except ValueError:
            return text  # says JSON, is not: hand over what arrived rather than fail
    return text


def _succeeded(status: int, expected: frozenset[int] | None) -> bool:
    if expected is not None:
        return status in expected
    return status < 400


def _status_error(
    where: str, status: int, result: dict[str, Any], expected: frozenset[int] | None
) -> ApplicationError:
    body = result["body"]
    shown = template_text(body)
    if len(shown) > _MESSAGE_BODY_CHARS:
        shown = shown[: _MESSAGE_BODY_CHARS - 3] + "..."
    message = f"{where} answered {status}"
    if expected is not None:
        message += f" (expected {', '.join(str(c) for c in sorted(expected))})"
    if shown:
        message += f": {shown}"
    retryable = status >= 500 or status in _RETRYABLE_4XX
    delay = _retry_after(result["headers"]) if retryable else None
    return ApplicationError(
        message,
        result,
        type=f"HTTP_{status}",
        non_retryable=not retryable,
        next_retry_delay=delay,
    )


def _retry_after(headers: Mapping[str, str]) -> timedelta | None:
    value = headers.get("retry-after", "").strip()
    if value.isdigit():
        return timedelta(seconds=min(int(value), 3600))
    return None
