"""The runtime commands of `wfe` against a real `wfe dev` (subprocess, real ports, the seed
example with its example activities): start → tasks → claim → complete → signal → instances,
control commands, and the errors a user sees."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from temporalio.client import Client

from tests.services.support import message_start_definition
from tests.services.test_signal_starts import started_by_signal
from tests.temporal_fixtures import free_port
from workflow_engine.cli import parse_var

ROOT = Path(__file__).resolve().parents[1]
KEY = "userRegistration"
_T = TypeVar("_T")


def test_var_values_are_json_when_they_parse() -> None:
    assert parse_var("n=3") == ("n", 3)
    assert parse_var("ok=true") == ("ok", True)
    assert parse_var("name=bob") == ("name", "bob")
    assert parse_var("price=2.5") == ("price", 2.5)
    assert parse_var("nothing=null") == ("nothing", None)
    assert parse_var('tags=["a",1]') == ("tags", ["a", 1])
    assert parse_var('obj={"a":{"b":2}}') == ("obj", {"a": {"b": 2}})
    assert parse_var('quoted="3"') == ("quoted", "3")
    assert parse_var("eq=a=b") == ("eq", "a=b")
    assert parse_var("empty=") == ("empty", "")
    assert parse_var(" spaced =x") == ("spaced", "x")
    assert parse_var("nan=NaN") == ("nan", "NaN")  # not JSON: kept as text
    for bad in ("novalue", "=3", " =3"):
        with pytest.raises(ValueError, match="NAME=VALUE"):
            parse_var(bad)


class Dev:
    """A running `wfe dev` and a way to run `wfe` commands against it."""

    def __init__(self, base: str, outbox: Path, temporal: str = "") -> None:
        self.base = base
        self.outbox = outbox
        self.temporal = temporal  # the dev Temporal's address

    def wfe(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run `wfe ARGS --server <dev>`; wide terminal so tables are not cut."""
        env = {**os.environ, "COLUMNS": "250", "WFE_SERVER_URL": self.base}
        return subprocess.run(
            [sys.executable, "-m", "workflow_engine", *args],
            capture_output=True, text=True, timeout=60, cwd=ROOT, env=env,
        )  # fmt: skip

    def ok(self, *args: str) -> str:
        result = self.wfe(*args)
        assert result.returncode == 0, f"wfe {' '.join(args)}: {result.stderr}{result.stdout}"
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "-o", "json"))


def _wait_ready(url: str, proc: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = proc.stdout.read() if proc.stdout else ""
            pytest.fail(f"wfe dev exited with {proc.returncode}:\n{output}")
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                return
            last = response.text
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(0.3)
    pytest.fail(f"wfe dev was not ready within {timeout}s: {last}")


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    data = tmp_path_factory.mktemp("wfe-dev")
    http_port = free_port()
    temporal_port = free_port()
    env = {
        **os.environ,
        "WFE_TEMPORAL_UI_PORT": str(free_port()),
        "WFE_EXAMPLES_OUTBOX": str(data / "outbox"),
        "WFE_LOG_FORMAT": "json",
    }
    cmd = [
        sys.executable, "-m", "workflow_engine", "dev",
        "--http-port", str(http_port), "--grpc-port", str(free_port()),
        "--temporal-port", str(temporal_port), "--temporal-http-port", str(free_port()),
        "--data-dir", str(data / "state"),
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        base = f"http://127.0.0.1:{http_port}"
        _wait_ready(f"{base}/readyz", proc)
        yield Dev(base, data / "outbox", f"127.0.0.1:{temporal_port}")
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def eventually(probe: Callable[[], _T], accept: Callable[[_T], bool], within: float = 60) -> _T:
    deadline = time.monotonic() + within
    while True:
        value = probe()
        if accept(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached within {within}s; last value: {value!r}")
        time.sleep(0.3)


def start_seed(dev: Dev, user: str, *extra: str) -> dict[str, Any]:
    started: dict[str, Any] = dev.json(
        "start", KEY, "--var", f"user_id={user}", "--var", f"email={user}@example.com",
        "--var", "username=bob", "--user", user, *extra,
    )  # fmt: skip
    return started


def test_seed_start_tasks_claim_complete_signal_instances(dev: Dev) -> None:
    started = start_seed(dev, "cli1", "--var", "n=3", "--var", "ok=true", "--business-key", "b-1")
    instance_id = started["id"]
    assert started["status"] == "running"
    assert started["business_key"] == "b-1"
    assert started["start_user_id"] == "cli1"
    variables = started["variables"]
    assert (variables["n"], variables["ok"], variables["username"]) == (3, True, "bob")

    tasks = eventually(lambda: dev.json("tasks", "--assignee", "cli1"), bool)
    task = tasks[0]
    assert (task["element_id"], task["instance_id"]) == ("validate_user_task", instance_id)
    table = dev.ok("tasks", "--assignee", "cli1", "--state", "created")
    assert task["id"] in table and "validate_user_task" in table
    claimed = dev.ok("claim", task["id"], "--user", "cli1")
    assert f"task {task['id']}" in claimed and "claimed by cli1" in claimed
    assert [t["state"] for t in dev.json("tasks", "--assignee", "cli1")] == ["claimed"]

    done = dev.ok("complete", task["id"], "--var", "userValid=true", "--user", "cli1")
    assert f"task {task['id']} completed" in done and "validate_user_task" in done
    waiting = eventually(
        lambda: dev.json("instance", instance_id),
        lambda b: b["active_element_ids"] == ["wait_verification_event"],
    )
    assert waiting["variables"]["email_sent"] is True
    assert list(dev.outbox.glob("*.eml")), "the example activity wrote no e-mail"

    sent = dev.ok("signal", "email_verified")
    assert "delivered to 1 instance(s), started 0 instance(s)" in sent
    eventually(lambda: dev.json("instance", instance_id), lambda b: b["status"] == "completed")
    completed = dev.json("instances", "--status", "completed", "--key", KEY)
    assert instance_id in [i["id"] for i in completed]
    assert instance_id not in [i["id"] for i in dev.json("instances", "--status", "running")]
    listed = dev.ok("instances", "--key", KEY)
    assert instance_id in listed and "completed" in listed
    shown = dev.ok("instance", instance_id)
    assert f"instance {instance_id}" in shown
    assert "completed" in shown and "registration_id" in shown and "b-1" in shown
    assert "delivered to 0 instance(s)" in dev.ok("signal", "email_verified")


def test_reconcile_lists_then_repairs_a_ghost(dev: Dev) -> None:
    instance_id = start_seed(dev, "cli-ghost")["id"]
    eventually(lambda: dev.json("instance", instance_id)["status"], lambda s: s == "running")

    async def terminate_behind_the_engine() -> None:
        # What `temporal workflow terminate --workflow-id pi-<id>` does.
        client = await Client.connect(dev.temporal)
        await client.get_workflow_handle(f"pi-{instance_id}").terminate(reason="by hand")

    asyncio.run(terminate_behind_the_engine())
    listed = dev.ok("reconcile", "--dry-run")
    assert f"would repair {instance_id}: running → terminated (Temporal: TERMINATED)" in listed
    assert dev.json("instance", instance_id)["status"] == "running"
    repaired = dev.ok("reconcile")
    assert f"repaired {instance_id}: running → terminated (Temporal: TERMINATED)" in repaired
    assert dev.json("instance", instance_id)["status"] == "terminated"
    assert "0 ghost(s) repaired" in dev.ok("reconcile")


def test_control_commands_and_errors(dev: Dev) -> None:
    started = start_seed(dev, "cli2")
    instance_id = started["id"]

    def status() -> str:
        body: dict[str, Any] = dev.json("instance", instance_id)
        return str(body["status"])

    assert "pause requested" in dev.ok("pause", instance_id)
    eventually(status, lambda s: s == "paused")
    twice = dev.wfe("pause", instance_id)
    assert twice.returncode == 1
    assert "409 CONFLICT" in twice.stderr and "paused already" in twice.stderr
    dev.ok("resume", instance_id)
    eventually(status, lambda s: s == "running")
    no_incident = dev.wfe("retry", instance_id)
    assert no_incident.returncode == 1 and "no incident" in no_incident.stderr
    dev.ok("terminate", instance_id, "--reason", "cli test over")
    eventually(status, lambda s: s == "terminated")
    assert dev.json("instance", instance_id)["end_reason"] == "cli test over"
    ended = dev.wfe("cancel", instance_id, "--reason", "again")
    assert ended.returncode == 1 and "has ended (terminated)" in ended.stderr

    other = start_seed(dev, "cli3")["id"]
    assert "cancel requested" in dev.ok("cancel", other, "--reason", "not needed")
    eventually(lambda: dev.json("instance", other)["status"], lambda s: s == "cancelled")

    missing = dev.wfe("start", KEY, "--var", "user_id=x", "--var", "username=y")
    assert missing.returncode == 1
    assert "400 VALIDATION_FAILED" in missing.stderr
    assert "variables.email: required variable 'email' is missing" in missing.stderr
    malformed = dev.wfe("start", KEY, "--var", "email")
    assert malformed.returncode == 2 and "NAME=VALUE" in malformed.stderr
    unknown_key = dev.wfe("start", "noSuchKey")
    assert unknown_key.returncode == 1 and "404 NOT_FOUND" in unknown_key.stderr
    ghost = "00000000-0000-0000-0000-000000000000"
    for args in (
        ("instance", ghost),
        ("complete", ghost, "--var", "userValid=true"),
        ("claim", ghost, "--user", "u"),
        ("pause", ghost),
    ):
        result = dev.wfe(*args)
        assert result.returncode == 1, args
        assert "404 NOT_FOUND" in result.stderr and ghost in result.stderr, args
    unheard = dev.wfe("message", "unheard", "--business-key", "b-1", "--var", "x=1")
    assert unheard.returncode == 1 and "404 NOT_FOUND" in unheard.stderr
    bad_status = dev.wfe("instances", "--status", "sleeping")
    assert bad_status.returncode == 1 and "400" in bad_status.stderr
    unreachable = dev.wfe("instances", "--server", f"http://127.0.0.1:{free_port()}")
    assert unreachable.returncode == 2 and "cannot reach" in unreachable.stderr


def test_signal_prints_started_instances_and_request_ids_repeat(dev: Dev) -> None:
    for document in (started_by_signal("cliListener"), message_start_definition("cliPay", "paid")):
        deployed = httpx.post(
            f"{dev.base}/api/v1/definitions",
            content=json.dumps(document).encode(),
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        assert deployed.status_code in (200, 201), deployed.text
    request_id = f"cli-{uuid.uuid4()}"

    first = dev.ok("signal", "Order placed", "--var", "n=1", "--request-id", request_id)
    again = dev.ok("signal", "Order placed", "--var", "n=1", "--request-id", request_id)

    assert "delivered to 0 instance(s), started 1 instance(s)" in first
    (started,) = [line.split()[-1] for line in first.splitlines() if "started " in line[:12]]
    assert started in again and "started 1 instance(s)" in again
    listed = dev.json("instances", "--key", "cliListener")
    assert [i["id"] for i in listed] == [started]
    reused = dev.wfe("signal", "Order placed", "--var", "n=2", "--request-id", request_id)
    assert reused.returncode == 1 and "409 CONFLICT" in reused.stderr

    message = dev.ok("message", "paid", "--business-key", "k-1", "--request-id", request_id)
    repeat = dev.ok("message", "paid", "--business-key", "k-1", "--request-id", request_id)
    assert "started instance" in message and message == repeat
    assert len(dev.json("instances", "--key", "cliPay")) == 1
