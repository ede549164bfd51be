"""`wfe dev` as a user runs it: a real subprocess, real ports, SIGTERM, no orphans."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.paths import CONFORMANCE
from tests.temporal_fixtures import free_port

ROOT = Path(__file__).resolve().parents[1]


def _wait_ready(url: str, proc: subprocess.Popen[str], timeout: float = 90) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = proc.stdout.read() if proc.stdout else ""
            pytest.fail(f"wfe dev exited with {proc.returncode}:\n{output}")
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                body: dict[str, object] = response.json()
                return body
            last = response.text
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(0.3)
    pytest.fail(f"wfe dev was not ready within {timeout}s: {last}")


def test_wfe_dev_serves_deploys_examples_and_stops_cleanly(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("http", "grpc", "temporal")}
    env = {
        **os.environ,
        "WFE_TEMPORAL_UI_PORT": str(free_port()),
        "WFE_LOG_FORMAT": "json",
    }
    cmd = [
        sys.executable,
        "-m",
        "workflow_engine",
        "dev",
        "--http-port",
        str(ports["http"]),
        "--grpc-port",
        str(ports["grpc"]),
        "--temporal-port",
        str(ports["temporal"]),
        "--data-dir",
        str(tmp_path / "data"),
    ]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        base = f"http://127.0.0.1:{ports['http']}"
        ready = _wait_ready(f"{base}/readyz", proc)
        checks = ready["checks"]
        assert isinstance(checks, dict)
        assert {"database", "temporal", "grpc"} <= set(checks)
        children = psutil.Process(proc.pid).children(recursive=True)
        assert any("temporal" in " ".join(c.cmdline()) for c in children)

        listed = httpx.get(f"{base}/api/v1/definitions", params={"key": "userRegistration"})
        assert listed.status_code == 200
        assert [d["version"] for d in listed.json()["items"]] == [1]
        assert (tmp_path / "data" / "wfe.db").exists()
        assert (tmp_path / "data" / "temporal.db").exists()

        # The CLI talks to the running server.
        xml = CONFORMANCE / "camunda7" / "simpleSubProcess.bpmn20.xml"
        wfe = [sys.executable, "-m", "workflow_engine"]
        deployed = subprocess.run(
            [*wfe, "deploy", str(xml), "--server", base],
            capture_output=True, text=True, timeout=60, cwd=ROOT,
        )  # fmt: skip
        assert deployed.returncode == 0, deployed.stderr
        assert "simpleSubProcess v1" in deployed.stdout
        listed_cli = subprocess.run(
            [*wfe, "definitions", "--server", base, "--latest", "-o", "json"],
            capture_output=True, text=True, timeout=60, cwd=ROOT,
        )  # fmt: skip
        assert listed_cli.returncode == 0, listed_cli.stderr
        keys = {d["key"] for d in json.loads(listed_cli.stdout)}
        assert {"userRegistration", "simpleSubProcess"} <= keys

        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, output
        assert f"http://127.0.0.1:{ports['http']}" in output  # the banner printed the URLs
        assert "userRegistration v1" in output
        gone = psutil.wait_procs(children, timeout=15)[1]
        assert not gone, f"orphans left: {[c.pid for c in gone]}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_wfe_dev_refuses_a_taken_port(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "workflow_engine",
                "dev",
                "--http-port",
                str(port),
                "--data-dir",
                str(tmp_path),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"port {port} (http) is already in use" in result.stderr.replace("\n", " ")
