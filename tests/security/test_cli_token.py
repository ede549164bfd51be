"""`wfe token` and the global --token / WFE_TOKEN of the client commands."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.security.support import SECRET
from workflow_engine.cli import app
from workflow_engine.security import Principal
from workflow_engine.security.tokens import TokenVerifier

runner = CliRunner()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("WFE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


async def test_wfe_token_mints_a_token_the_server_accepts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WFE_AUTH_JWT_SECRET", SECRET)
    result = runner.invoke(
        app,
        ["token", "--user", "u1", "--groups", "g1,g2", "--roles", "operator", "--tenant", "t"],
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert "\n" not in token
    principal = await TokenVerifier(secret=SECRET).verify(token)
    assert principal == Principal(
        user_id="u1", groups=frozenset({"g1", "g2"}), roles=frozenset({"operator"}), tenant_id="t"
    )


def test_wfe_token_without_secret_says_what_to_set() -> None:
    result = runner.invoke(app, ["token", "--user", "u1"])
    assert result.exit_code == 2
    assert "WFE_AUTH_JWT_SECRET" in result.output


class _Recorder:
    """A real HTTP server that answers every GET with an empty page and records headers."""

    def __init__(self) -> None:
        self.authorization: list[str | None] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                recorder.authorization.append(self.headers.get("authorization"))
                payload = json.dumps({"items": [], "next_page_token": None}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def recorder() -> Iterator[_Recorder]:
    rec = _Recorder()
    thread = threading.Thread(target=rec.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        rec.httpd.shutdown()
        rec.httpd.server_close()


def test_client_commands_send_the_token(
    recorder: _Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = runner.invoke(app, ["--token", "tok-1", "instances", "--server", recorder.url])
    assert result.exit_code == 0, result.output
    monkeypatch.setenv("WFE_TOKEN", "tok-2")
    assert runner.invoke(app, ["definitions", "--server", recorder.url]).exit_code == 0
    monkeypatch.delenv("WFE_TOKEN")
    assert runner.invoke(app, ["tasks", "--server", recorder.url]).exit_code == 0
    assert recorder.authorization == ["Bearer tok-1", "Bearer tok-2", None]
