"""`wfe dev` as a user runs it: a real subprocess, real ports, SIGTERM, no orphans."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psutil
import pytest
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from tests.engine.worker_workflows import CallActivitiesOnQueue
from tests.paths import CONFORMANCE
from tests.temporal_fixtures import free_port
from tests.worker_process import NEVER_ENDING, wait_for_started_activities
from workflow_engine.engine.devserver import TemporalDevServer, find_temporal_binary
from workflow_engine.engine.devserver.pidfile import write_record
from workflow_engine.lifecycle import EXIT_FORCED

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
        # Its default is the frontend port + 10, which nothing reserved for this test.
        "--temporal-http-port",
        str(free_port()),
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


def _dev_command(ports: dict[str, int], data_dir: Path) -> list[str]:
    return [
        sys.executable, "-m", "workflow_engine", "dev",
        "--http-port", str(ports["http"]),
        "--grpc-port", str(ports["grpc"]),
        "--temporal-port", str(ports["temporal"]),
        "--temporal-http-port", str(free_port()),
        "--data-dir", str(data_dir),
    ]  # fmt: skip


def _start_dev(ports: dict[str, int], data_dir: Path, **extra: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "WFE_TEMPORAL_UI_PORT": str(ports["temporal-ui"]),
        "WFE_TEMPORAL_HTTP_PORT": str(ports["temporal-http"]),
        "WFE_LOG_FORMAT": "json",
        **{f"WFE_{key.upper()}": value for key, value in extra.items()},
    }
    proc = subprocess.Popen(
        _dev_command(ports, data_dir),
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    _wait_ready(f"http://127.0.0.1:{ports['http']}/readyz", proc)
    return proc


def _temporal_child(proc: subprocess.Popen[str]) -> psutil.Process:
    children = psutil.Process(proc.pid).children(recursive=True)
    temporal = [c for c in children if "start-dev" in c.cmdline()]
    assert len(temporal) == 1, [c.cmdline() for c in children]
    return temporal[0]


def _kill(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def _free_ports() -> dict[str, int]:
    names = ("http", "grpc", "temporal", "temporal-ui", "temporal-http")
    return {name: free_port() for name in names}


async def test_sigterm_stops_wfe_dev_within_seconds_while_activities_never_end(
    tmp_path: Path,
) -> None:
    """Issue 15, finding 2: SIGTERM hung while a task ran; now a bounded stop, no orphan."""
    ports = _free_ports()
    activity_queue = f"dev-acts-{uuid.uuid4()}"
    proc = _start_dev(
        ports,
        tmp_path / "data",
        task_queue=activity_queue,
        activity_modules="tests.engine.busy_activities",
        worker_graceful_shutdown_seconds="1",
    )
    try:
        temporal = _temporal_child(proc)
        client = await Client.connect(f"127.0.0.1:{ports['temporal']}")
        workflow_queue, workflow_id = f"wf-{uuid.uuid4()}", f"busy-{uuid.uuid4()}"
        async with Worker(client, task_queue=workflow_queue, workflows=[CallActivitiesOnQueue]):
            await client.start_workflow(
                CallActivitiesOnQueue.run,
                args=[activity_queue, [[name, {}] for name in NEVER_ENDING]],
                id=workflow_id,
                task_queue=workflow_queue,
            )
            await wait_for_started_activities(client, workflow_id, len(NEVER_ENDING))
            with contextlib.suppress(RPCError):
                await client.get_workflow_handle(workflow_id).terminate()
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        output, _ = await asyncio.to_thread(proc.communicate, timeout=90)
        took = time.monotonic() - signalled
    finally:
        _kill(proc)
    assert took < 20, f"stopping took {took:.1f}s:\n{output}"
    assert proc.returncode == 0, output
    assert psutil.wait_procs([temporal], timeout=5)[1] == [], "the Temporal child outlived wfe dev"
    assert not (tmp_path / "data" / "temporal.pid").exists()


def test_a_killed_wfe_dev_leaves_no_temporal_child_and_the_next_one_starts(
    tmp_path: Path,
) -> None:
    """Issue 15, finding 2: SIGKILL orphaned the Temporal child; `wfe dev` then refused to start."""
    ports = _free_ports()
    data = tmp_path / "data"
    first = _start_dev(ports, data)
    try:
        child = _temporal_child(first)
        assert (data / "temporal.pid").is_file()
        first.kill()
        first.wait()
        # Linux: the child gets SIGTERM from the kernel when its parent dies.
        assert psutil.wait_procs([child], timeout=15)[1] == [], "the Temporal child was orphaned"
    finally:
        _kill(first)

    # Where the child outlives its owner (no parent-death signal: another OS, a wedged child),
    # the pid file names it: start one exactly as `wfe dev` does, then forget about it.
    orphan_command = TemporalDevServer(
        port=ports["temporal"],
        ui_port=ports["temporal-ui"],
        http_port=ports["temporal-http"],
        db_file=data / "temporal.db",
        log_file=data / "temporal.log",
    ).command()
    orphan = subprocess.Popen(
        orphan_command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        write_record(
            data / "temporal.pid",
            pid=orphan.pid,
            executable=find_temporal_binary(),
            db_file=data / "temporal.db",
        )
        second = _start_dev(ports, data)
        try:
            assert orphan.wait(timeout=15) is not None, "the leftover server was not stopped"
            assert _temporal_child(second).pid != orphan.pid
            second.send_signal(signal.SIGTERM)
            output, _ = second.communicate(timeout=60)
            assert second.returncode == 0, output
            assert "devserver_leftover_stopping" in output
        finally:
            _kill(second)
    finally:
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait()
    assert not (data / "temporal.pid").exists()


def test_sigterm_stops_wfe_dev_while_an_instance_loops_without_a_wait_state(
    tmp_path: Path,
) -> None:
    """Issue 15, finding 2: script task <-> exclusive gateway pinned a core; SIGTERM hung."""
    ports = _free_ports()
    proc = _start_dev(ports, tmp_path / "data", worker_graceful_shutdown_seconds="1")
    try:
        temporal = _temporal_child(proc)
        base = f"http://127.0.0.1:{ports['http']}/api/v1"
        loop = {
            "process": {"id": "spin", "key": "spin"},
            "elements": [
                {"id": "start", "type": "startEvent", "outgoing": ["inc"]},
                {
                    "id": "inc",
                    "type": "scriptTask",
                    "outgoing": ["check"],
                    "config": {"script": {"i": "${i + 1}"}},
                },
                {
                    "id": "check",
                    "type": "exclusiveGateway",
                    "outgoing": ["again", "done"],
                    "config": {"default_flow": "done"},
                },
                {
                    "id": "again",
                    "type": "sequenceFlow",
                    "source": "check",
                    "target": "inc",
                    "config": {"condition": "${i >= 0}"},
                },
                {"id": "done", "type": "sequenceFlow", "source": "check", "target": "end"},
                {"id": "end", "type": "endEvent"},
            ],
        }
        deployed = httpx.post(f"{base}/definitions", json=loop, timeout=30)
        assert deployed.status_code in (200, 201), deployed.text
        started = httpx.post(
            f"{base}/instances",
            json={"definition_key": "spin", "variables": {"i": 0}},
            timeout=30,
        )
        assert started.status_code in (200, 201, 202), started.text
        time.sleep(3)  # let it spin
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=90)
        took = time.monotonic() - signalled
    finally:
        _kill(proc)
    assert took < 25, f"stopping took {took:.1f}s:\n{output[-3000:]}"
    # Orderly (0) normally; on a starved machine the watchdog may end it (EXIT_FORCED), still
    # within the bound and without leaving the child behind.
    assert proc.returncode in (0, EXIT_FORCED), output[-3000:]
    assert psutil.wait_procs([temporal], timeout=5)[1] == [], "the Temporal child outlived wfe dev"
