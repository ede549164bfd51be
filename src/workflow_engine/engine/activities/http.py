"""The built-in HTTP connector: activity `wfe.http` (service task `implementation: http`).

The workflow renders the templates of `method` / `url` / `headers` / `body` / `query` first
(:func:`workflow_engine.expressions.templates.render_template`) and calls this activity with the
result; the activity only performs the request, so retries repeat exactly the same request.

Input (a dict; other keys are ignored). The interpreter may instead send
`{<variables>..., "_config": <the task's config>}`: the config's request keys are then rendered
as templates against those variables first (:func:`from_engine_input`).

- `url` (required): absolute `http://` or `https://` URL.
- `method`: GET (default), POST, PUT, PATCH, DELETE, HEAD or OPTIONS.
- `headers`: name -> text (numbers and booleans are written as text, null drops the header;
  `"Idempotency-Key": null` also stops the automatic key below).
- `query`: name -> value or list of values, merged into the URL's query string.
- `body`: a JSON value sent as `application/json`; a string is sent as is (`text/plain` unless a
  content-type header says otherwise); a dict with content-type
  `application/x-www-form-urlencoded` is sent as a form.
- `timeout_seconds`: total time for the request including redirects and the body (default and
  upper bound: the `http_timeout_seconds` setting, 30).
- `expected_status`: a status code or list of them; when given exactly these count as success.
- `follow_redirects`: default true (at most `http_max_redirects` hops, each one checked).

Every destination passes the egress policy first (:mod:`.egress`): after DNS resolution, on
every redirect hop, and the connection then goes to exactly the address that was checked.
Each request sends an `Idempotency-Key` (:mod:`.idempotency`) that is the same for every
retry of one activity execution, unless the request sets that header itself.

Result: `{"status": int, "headers": {name: value}, "body": JSON value | text | None}` — the body
is JSON-decoded when the response says it is JSON, otherwise text; empty is None.

Failures (Temporal `ApplicationError`, `type` usable as a BPMN `error_code`):

- `HTTP_<status>` for 5xx, 408 and 429: retryable (a `Retry-After` in seconds sets the delay);
- `HTTP_<status>` for any other unexpected status (4xx): non-retryable;
- `HTTP_TIMEOUT`, `HTTP_CONNECTION_ERROR`: retryable;
- `EgressDenied` (a destination the egress policy refuses, naming host and reason),
  `HTTP_RESPONSE_TOO_LARGE`, `HTTP_TOO_MANY_REDIRECTS`, `INVALID_INPUT`: non-retryable;
- `EGRESS_TENANT_UNKNOWN`: the instance's tenant could not be read (database away): retryable.

The error's first detail is `{"status", "headers", "body"}` when a response arrived.
Each request gets its own connection pool whose connections can only go to the addresses checked
for it (see :class:`HttpActivities`); tests and embedders can inject a transport instead.
"""

from __future__ import annotations

import asyncio
import json
import math
import ssl
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpcore
import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from workflow_engine.engine.activities.egress import (
    EGRESS_DENIED,
    EgressDeniedError,
    EgressPolicy,
    IPAddress,
)
from workflow_engine.engine.activities.idempotency import IDEMPOTENCY_HEADER, idempotency_key
from workflow_engine.expressions import ExpressionError
from workflow_engine.expressions.templates import render_template, template_text

if TYPE_CHECKING:
    from workflow_engine.config import Settings

__all__ = [
    "ACTIVITY_HTTP",
    "DEFAULT_CONNECT_TIMEOUT_SECONDS",
    "DEFAULT_MAX_REDIRECTS",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT_SECONDS",
    "INVALID_INPUT",
    "HttpActivities",
    "HttpRequestSpec",
    "TenantLookup",
    "from_engine_input",
    "parse_http_request",
]

ACTIVITY_HTTP = "wfe.http"
#: Error type of an activity input that cannot be used (never retried: it cannot get better).
INVALID_INPUT = "INVALID_INPUT"
DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_CONNECT_TIMEOUT_SECONDS = 10.0
DEFAULT_MAX_REDIRECTS = 5
#: Results travel in Temporal history, whose payloads are limited (2 MB by default).
DEFAULT_MAX_RESPONSE_BYTES = 1_048_576

_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
#: Statuses that mean "try again later" rather than "this request is wrong".
_RETRYABLE_4XX = frozenset({408, 429})
_MESSAGE_BODY_CHARS = 200

#: Finds the tenant of the instance a workflow id belongs to (None: unknown).
TenantLookup = Callable[[str], Awaitable[str | None]]
#: Where the pins of the request being sent live: (host, port) -> the checked addresses.
Pins = dict[tuple[str, int], list[IPAddress]]


def invalid_input(message: str) -> ApplicationError:
    """A non-retryable `INVALID_INPUT` error with a message naming the field."""
    return ApplicationError(message, type=INVALID_INPUT, non_retryable=True)


@dataclass(frozen=True, slots=True)
class HttpRequestSpec:
    """A validated `wfe.http` input."""

    method: str
    url: httpx.URL
    headers: dict[str, str]
    #: Header names the request set to null: not sent, not even automatically.
    suppressed_headers: frozenset[str]
    query: list[tuple[str, str | int | float | bool | None]]
    body: Any
    has_body: bool
    timeout_seconds: float | None
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
        suppressed_headers=_suppressed(data.get("headers")),
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


def _suppressed(value: Any) -> frozenset[str]:
    if not isinstance(value, Mapping):
        return frozenset()
    return frozenset(
        name.strip().lower()
        for name, item in value.items()
        if isinstance(name, str) and item is None
    )


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


def _timeout(value: Any) -> float | None:
    if value is None:
        return None
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


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Opens connections only to the addresses the egress policy checked for this request.

    Why pin in the network backend: left alone, httpcore resolves the host name again when it
    connects, and a DNS answer with a short TTL can differ from the one that was checked (DNS
    rebinding: a public address for the check, 127.0.0.1 for the connection). Here the socket
    goes to a checked address while the URL, the Host header and TLS (SNI and the certificate
    check) keep the original name. A host that was not checked is refused (fail closed).
    """

    def __init__(self, pins: Pins) -> None:
        self._pins = pins
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Connect to the first reachable checked address of `host:port`."""
        addresses = self._pins.get((_pin_host(host), port))
        if not addresses:
            raise httpcore.ConnectError(f"{host}:{port} was not checked by the egress policy")
        error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Never: the http task only speaks TCP to checked addresses."""
        raise httpcore.ConnectError("the http task does not connect to unix sockets")

    async def sleep(self, seconds: float) -> None:
        """Sleep as the wrapped backend does (httpcore uses it between retries)."""
        await self._inner.sleep(seconds)


def _pin_host(host: str) -> str:
    return host.strip("[]").lower()


class _PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool that uses :class:`_PinnedBackend`."""

    def __init__(self, pins: Pins, ssl_context: ssl.SSLContext) -> None:
        # trust_env=False: a proxy from HTTP(S)_PROXY would resolve names itself, past the pin.
        super().__init__(verify=ssl_context, trust_env=False)
        # httpx offers no way to pass a network backend, so its pool is replaced by one with ours.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            network_backend=_PinnedBackend(pins),
            max_connections=8,
        )


class HttpActivities:
    """The `wfe.http` activity with its egress policy and caps; register `instance.http`.

    Each request (with its redirects) gets its own connection pool that can only connect to the
    addresses checked for it; connections are not shared between requests, so a connection
    opened under one tenant's allow-list never serves another tenant's request.

    Args:
        policy: The egress policy; None: the default (no allow-list, public addresses only).
        tenant_of: Finds the tenant of a workflow id, whose allow-list then applies; None (or
            an unknown instance): only the global allow-list applies.
        transport: An httpx transport to send through instead (e.g. `httpx.MockTransport` in
            tests). The policy still checks every destination, but the transport connects
            on its own, so the address pin is then its responsibility.
        max_response_bytes: Larger responses fail with `HTTP_RESPONSE_TOO_LARGE`.
        timeout_seconds: Total time of a request (redirects and body included): the default and
            the upper bound of a request's `timeout_seconds`.
        connect_timeout_seconds: Longest wait for one connection.
        read_timeout_seconds: Longest wait for the next bytes of a response.
        max_redirects: Redirect hops followed before `HTTP_TOO_MANY_REDIRECTS`.
        user_agent: Sent unless the request sets its own `User-Agent`.
        ssl_context: How HTTPS servers are verified (e.g. with a private CA); None: the
            system's trusted certificates, as httpx verifies by default.
    """

    def __init__(
        self,
        *,
        policy: EgressPolicy | None = None,
        tenant_of: TenantLookup | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        connect_timeout_seconds: float = DEFAULT_CONNECT_TIMEOUT_SECONDS,
        read_timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        user_agent: str = "workflow-engine",
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if max_response_bytes <= 0:
            raise ValueError(f"max_response_bytes must be positive, got {max_response_bytes}")
        for name, seconds in (
            ("timeout_seconds", timeout_seconds),
            ("connect_timeout_seconds", connect_timeout_seconds),
            ("read_timeout_seconds", read_timeout_seconds),
        ):
            if not 0 < seconds < math.inf:
                raise ValueError(f"{name} must be a positive number, got {seconds}")
        if max_redirects < 0:
            raise ValueError(f"max_redirects must be 0 or more, got {max_redirects}")
        self._policy = policy if policy is not None else EgressPolicy()
        self._tenant_of = tenant_of
        self._max_bytes = max_response_bytes
        self._total = timeout_seconds
        self._timeouts = httpx.Timeout(
            connect=connect_timeout_seconds,
            read=read_timeout_seconds,
            write=read_timeout_seconds,
            pool=connect_timeout_seconds,
        )
        self._max_redirects = max_redirects
        self._headers = {"user-agent": user_agent}
        self._shared = (
            httpx.AsyncClient(transport=transport, headers=self._headers, trust_env=False)
            if transport is not None
            else None
        )
        # Built once: loading the CA bundle for every request would cost more than the request.
        self._ssl = ssl_context if ssl_context is not None else httpx.create_ssl_context()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        tenant_of: TenantLookup | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> HttpActivities:
        """The connector configured by `settings` (`http_egress_*`, `http_*` caps).

        Raises:
            ValueError: an allow-list entry cannot be parsed (names the setting and entry).
        """
        return cls(
            policy=EgressPolicy.from_settings(settings),
            tenant_of=tenant_of,
            transport=transport,
            max_response_bytes=settings.http_max_response_bytes,
            timeout_seconds=settings.http_timeout_seconds,
            connect_timeout_seconds=settings.http_connect_timeout_seconds,
            read_timeout_seconds=settings.http_read_timeout_seconds,
            max_redirects=settings.http_max_redirects,
        )

    @property
    def policy(self) -> EgressPolicy:
        """The egress policy every request passes."""
        return self._policy

    async def aclose(self) -> None:
        """Close the injected transport's client (call once the worker has stopped)."""
        if self._shared is not None:
            await self._shared.aclose()

    @activity.defn(name=ACTIVITY_HTTP)
    async def http(self, request: dict[str, Any]) -> dict[str, Any]:
        """Perform one HTTP request (see the module docstring for input, result, errors)."""
        spec = parse_http_request(from_engine_input(request))
        if not activity.in_activity():  # called directly (tests, embedders): no identity
            return await self.send(spec)
        info = activity.info()
        tenant = await self._tenant(info.workflow_id)
        return await self.send(spec, tenant=tenant, idempotency_key=idempotency_key(info))

    async def _tenant(self, workflow_id: str | None) -> str | None:
        if self._tenant_of is None or not workflow_id:
            return None
        try:
            return await self._tenant_of(workflow_id)
        # Whatever the lookup's store raises, the request must not go out under the wrong
        # policy; retryable, since a database that is away comes back.
        except Exception as exc:
            raise ApplicationError(
                f"wfe.http cannot find the tenant of {workflow_id} to apply its egress policy: "
                f"{type(exc).__name__}",
                type="EGRESS_TENANT_UNKNOWN",
            ) from None

    async def send(
        self,
        spec: HttpRequestSpec,
        *,
        tenant: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Send a validated request and classify the answer (usable outside an activity).

        Args:
            spec: The request.
            tenant: Whose allow-list applies besides the global one; None: only the global.
            idempotency_key: Sent as `Idempotency-Key` unless the request sets that header.
        """
        where = f"{spec.method} {spec.url}"
        total = min(spec.timeout_seconds or self._total, self._total)
        try:
            async with asyncio.timeout(total):
                status, headers, content = await self._exchange(spec, tenant, idempotency_key)
        except EgressDeniedError as exc:
            raise ApplicationError(
                f"wfe.http refused {spec.method} to {exc.host} (port {exc.port}): {exc.reason}",
                {"host": exc.host, "port": exc.port, "reason": exc.reason},
                type=EGRESS_DENIED,
                non_retryable=True,
            ) from None
        except TimeoutError:
            raise ApplicationError(
                f"{where} timed out after {total:g}s", type="HTTP_TIMEOUT"
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

    async def _exchange(
        self, spec: HttpRequestSpec, tenant: str | None, key: str | None
    ) -> tuple[int, dict[str, str], bytes]:
        headers = dict(spec.headers)
        named = {name.lower() for name in headers} | spec.suppressed_headers
        if key is not None and IDEMPOTENCY_HEADER.lower() not in named:
            headers[IDEMPOTENCY_HEADER] = key
        kwargs: dict[str, Any] = {}
        if spec.has_body:
            kwargs.update(_encode_body(spec.body, headers))
        pins: Pins = {}
        if self._shared is not None:
            return await self._exchange_on(self._shared, spec, headers, kwargs, tenant, pins)
        transport = _PinnedTransport(pins, self._ssl)
        async with httpx.AsyncClient(
            transport=transport, headers=self._headers, trust_env=False
        ) as client:
            return await self._exchange_on(client, spec, headers, kwargs, tenant, pins)

    async def _exchange_on(
        self,
        client: httpx.AsyncClient,
        spec: HttpRequestSpec,
        headers: dict[str, str],
        kwargs: dict[str, Any],
        tenant: str | None,
        pins: Pins,
    ) -> tuple[int, dict[str, str], bytes]:
        request = client.build_request(
            spec.method,
            # httpx's `params=` replaces the URL's own query; the documented behaviour is merge.
            spec.url.copy_merge_params(spec.query) if spec.query else spec.url,
            headers=headers,
            timeout=self._timeouts,
            **kwargs,
        )
        hops = 0
        while True:
            await self._admit(request.url, tenant, pins)
            # Redirects are followed here, not by httpx, so every hop passes the policy.
            response = await client.send(request, stream=True, follow_redirects=False)
            following = response.next_request if spec.follow_redirects else None
            if following is None:
                break
            await response.aclose()
            hops += 1
            if hops > self._max_redirects:
                raise ApplicationError(
                    f"{spec.method} {spec.url} redirected more than {self._max_redirects} times",
                    type="HTTP_TOO_MANY_REDIRECTS",
                    non_retryable=True,
                )
            request = following
        try:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self._max_bytes:
                raise self._too_large(spec)
            chunks: list[bytes] = []
            size = 0
            # Decoded bytes: a compressed answer is capped at its unpacked size.
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self._max_bytes:
                    raise self._too_large(spec)
                chunks.append(chunk)
        finally:
            await response.aclose()
        return response.status_code, dict(response.headers.items()), b"".join(chunks)

    async def _admit(self, url: httpx.URL, tenant: str | None, pins: Pins) -> None:
        """Check `url`'s destination and pin the connection to the checked addresses."""
        port = url.port or (443 if url.scheme == "https" else 80)
        host = url.raw_host.decode("ascii")
        if url.scheme not in ("http", "https"):
            raise EgressDeniedError(
                host, port, f"redirected to a {url.scheme}: URL (only http and https are followed)"
            )
        pins[(_pin_host(host), port)] = await self._policy.check(host, port, tenant=tenant)

    def _too_large(self, spec: HttpRequestSpec) -> ApplicationError:
        return ApplicationError(
            f"{spec.method} {spec.url} answered with more than {self._max_bytes} bytes "
            "(http_max_response_bytes); results travel in workflow history, so they must "
            "stay small",
            type="HTTP_RESPONSE_TOO_LARGE",
            non_retryable=True,
        )


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
