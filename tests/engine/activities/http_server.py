"""A small real HTTP server on 127.0.0.1 for the HTTP connector tests (stdlib, own thread)."""

from __future__ import annotations

import json
import ssl
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, value: Any, extra: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(value).encode(), "application/json", extra)

    def _handle(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        self.server.hits[url.path] = self.server.hits.get(url.path, 0) + 1
        self.server.headers.setdefault(url.path, []).append(
            {k.lower(): v for k, v in self.headers.items()}
        )
        parts = url.path.strip("/").split("/")
        if parts[0] == "echo":
            self._json(
                200,
                {
                    "method": self.command,
                    "path": url.path,
                    "query": query,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": raw.decode("utf-8"),
                },
                {"X-Echo": "yes"},
            )
        elif parts[0] == "text":
            self._send(200, "plain text é".encode("latin-1"), "text/plain; charset=latin-1")
        elif parts[0] == "status":
            status = int(parts[1])
            extra = {"Retry-After": query["retry_after"][0]} if "retry_after" in query else None
            self._json(status, {"error": f"status {status}"}, extra)
        elif parts[0] == "slow":
            time.sleep(float(query["seconds"][0]))
            self._json(200, {"slow": True})
        elif parts[0] == "big":
            self._send(200, b"x" * int(query["n"][0]), "application/octet-stream")
        elif parts[0] == "empty":
            self.send_response(204)
            self.end_headers()
        elif parts[0] == "redirect":
            self.send_response(302)
            self.send_header("Location", "/echo/redirected")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif parts[0] == "redirect-to":
            self.send_response(302)
            self.send_header("Location", query["url"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif parts[0] == "flaky":
            # The first request to each /flaky/<name> fails (a retryable 503), later ones work.
            if self.server.hits[url.path] == 1:
                self._json(503, {"error": "try again"})
            else:
                self._json(200, {"attempt": self.server.hits[url.path]})
        elif parts[0] == "endless":
            # Chunked, without a Content-Length, until the client hangs up.
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"y" * 65_536
            for _ in range(100_000):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
        elif parts[0] == "badjson":
            self._send(200, b"not json{", "application/json")
        elif parts[0] == "problem":
            self._send(200, b'{"title": "x"}', "application/problem+json")
        else:
            self._json(404, {"error": "not found"})

    # http.server dispatches to do_<METHOD>; the names are its API.
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle  # noqa: N815


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    hits: dict[str, int]
    headers: dict[str, list[dict[str, str]]]

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (the timeout tests) is expected; anything else is shown."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass(frozen=True)
class Served:
    """A running test server: where it is and what it received.

    Attributes:
        base: `http://127.0.0.1:<port>`.
        port: Its port.
        hits: Path -> number of requests.
        headers: Path -> the headers (lower-case names) of each request, in order.
    """

    base: str
    port: int
    hits: dict[str, int]
    headers: dict[str, list[dict[str, str]]]


@contextmanager
def serving(tls: ssl.SSLContext | None = None) -> Iterator[Served]:
    """Serve on a free port of 127.0.0.1 until the block ends (HTTPS with a `tls` context)."""
    server = _Server(("127.0.0.1", 0), _Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    server.hits = {}
    server.headers = {}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = int(server.server_address[1])
    scheme = "https" if tls is not None else "http"
    try:
        yield Served(f"{scheme}://127.0.0.1:{port}", port, server.hits, server.headers)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def running_http_server() -> Iterator[tuple[str, dict[str, int]]]:
    """Serve on a free port; yields the base URL and a path -> request count map."""
    with serving() as served:
        yield served.base, served.hits
