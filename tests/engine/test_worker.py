"""The worker on the real Temporal dev server: activities by name, graceful shutdown, CLI."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.worker import Worker

from tests.engine.activities.http_server import running_http_server
from tests.engine.worker_activities import FINISHED
from tests.engine.worker_workflows import CallActivitiesByName
from workflow_engine.config import Settings, load_settings
from workflow_engine.engine.activities.egress import EgressPolicy, parse_rule
from workflow_engine.engine.activities.http import HttpActivities
from workflow_engine.engine.activities.registry import (
    ENGINE_ACTIVITY_NAMES,
    ActivityContext,
)
from workflow_engine.engine.devserver import TemporalDevServer
from workflow_engine.engine.worker import (
    WorkerSetupError,
    build_activity_registry,
    build_worker,
    implemented_listener_names,
    run_worker,
)
from workflow_engine.services.container import Services, build_services
from workflow_engine.store.migrations import migrate

pytestmark = pytest.mark.temporal

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = str(ROOT / "examples" / "activities.py")
TEST_ACTIVITIES = "tests.engine.worker_activities"


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    return load_settings(data_dir=tmp_path, task_queue=f"test-{uuid.uuid4()}", **overrides)


@pytest_asyncio.fixture
async def services(tmp_path: Path, temporal_client: Client) -> AsyncIterator[Services]:
    built = await build_services(
        _settings(tmp_path), run_migrations=True, temporal_client=temporal_client
    )
    try:
        yield built
    finally:
        await built.aclose()


async def test_activities_are_called_by_name(
    temporal_client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WFE_EXAMPLES_OUTBOX", raising=False)
    settings = _settings(tmp_path)
    # The test server is on loopback, which the egress policy refuses unless allow-listed.
    http = HttpActivities(policy=EgressPolicy(allow=[parse_rule("127.0.0.1")]))
    registry = build_activity_registry(
        http=http,
        context=ActivityContext(settings=settings),
        activity_modules=[EXAMPLES],
        engine=[],
    )
    worker = build_worker(
        temporal_client,
        task_queue=settings.task_queue,
        activities=registry.activities(),
        workflows=[CallActivitiesByName],
    )
    email = {"email": "ann@example.com", "template": "verification_email", "user_id": "u1"}
    with running_http_server() as (base, _hits):
        async with worker:
            results = await temporal_client.execute_workflow(
                CallActivitiesByName.run,
                [
                    ["wfe.http", {"url": f"{base}/echo/users/u1", "query": {"a": 1}}],
                    ["wfe.http", {"url": f"{base}/status/404"}],
                    ["wfe.script", {"script": {"y": "${x * 2}"}, "variables": {"x": 21}}],
                    ["wfe.noop", {}],
                    ["SendEmailActivity", email],
                    ["SendEmailActivity", {"user_id": "u1"}],
                    ["com.example.ProcessStartListener", {"event": "start"}],
                ],
                id=f"wf-{uuid.uuid4()}",
                task_queue=settings.task_queue,
            )
    await http.aclose()
    echo, missing, script, noop, sent, failed, listener = results
    assert echo["status"] == 200
    assert echo["body"]["path"] == "/echo/users/u1"
    assert echo["body"]["query"] == {"a": ["1"]}
    assert missing == {"error": "HTTP_404"}
    assert script == {"y": 42}
    assert noop == {}
    assert sent["success"] is True
    assert len(sent["code"]) == 6
    assert failed == {"error": "EMAIL_SEND_FAILED"}
    assert listener == {}
    outbox = list((tmp_path / "outbox").glob("*.eml"))
    assert len(outbox) == 1
    assert sent["code"] in outbox[0].read_text()


def test_engine_activities_come_from_the_services(services: Services) -> None:
    http = HttpActivities()
    registry = build_activity_registry(
        http=http,
        context=ActivityContext(database=services.database, services=services),
        engine=services.engine_activities(),
    )
    assert set(registry.names()) >= ENGINE_ACTIVITY_NAMES | {"wfe.http", "wfe.script"}


def test_implemented_listener_names(tmp_path: Path) -> None:
    settings = _settings(tmp_path, listener_classes=["com.other.Remote"])
    names = implemented_listener_names(settings, activity_modules=[EXAMPLES])
    assert "com.example.ProcessStartListener" in names
    assert "com.other.Remote" in names
    assert "SendEmailActivity" in names
    assert not any(n.startswith("wfe.") for n in names)


async def _wait_until_running(handle: WorkflowHandle[Any, Any], activity: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        description = await handle.describe()
        for pending in description.raw_description.pending_activities:
            if (
                pending.activity_type.name == activity
                and pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
            ):
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"activity {activity} never started")


async def test_run_worker_shuts_down_gracefully_and_a_new_worker_continues(
    temporal_client: Client, services: Services, tmp_path: Path
) -> None:
    settings = _settings(
        tmp_path, activity_modules=[TEST_ACTIVITIES], worker_graceful_shutdown_seconds=20
    )
    tag = str(uuid.uuid4())

    def start_worker(stop: asyncio.Event) -> asyncio.Task[None]:
        return asyncio.create_task(
            run_worker(
                settings,
                stop=stop,
                client=temporal_client,
                services=services,
                workflows=[CallActivitiesByName],
            )
        )

    first_stop = asyncio.Event()
    first = start_worker(first_stop)
    handle = await temporal_client.start_workflow(
        CallActivitiesByName.run,
        [["test.SyncAdd", {"a": 2, "b": 3}], ["test.Slow", {"seconds": 1.5, "tag": tag}]],
        id=f"wf-{uuid.uuid4()}",
        task_queue=settings.task_queue,
    )
    await _wait_until_running(handle, "test.Slow")
    first_stop.set()
    await asyncio.wait_for(first, timeout=30)
    # The activity running at shutdown was allowed to finish, not cancelled.
    assert tag in FINISHED

    second_stop = asyncio.Event()
    second = start_worker(second_stop)
    try:
        result = await asyncio.wait_for(handle.result(), timeout=30)
    finally:
        second_stop.set()
        await asyncio.wait_for(second, timeout=30)
    assert result == [5, {"slept": 1.5}]
    assert FINISHED.count(tag) == 1


async def test_run_worker_reports_bad_modules_before_connecting(tmp_path: Path) -> None:
    from workflow_engine.engine.activities.registry import ActivityLoadError

    settings = _settings(tmp_path, activity_modules=["no_such_module_here"])
    settings = settings.model_copy(update={"temporal_address": "127.0.0.1:1"})
    with pytest.raises(ActivityLoadError, match="no_such_module_here"):
        await run_worker(settings, stop=asyncio.Event())


def test_build_worker_needs_an_executor_for_sync_activities(temporal_client: Client) -> None:
    from tests.engine.worker_activities import sync_add

    with pytest.raises(WorkerSetupError, match="activity_executor"):
        build_worker(temporal_client, task_queue="q", activities=[sync_add], workflows=[])
    with pytest.raises(WorkerSetupError, match="no workflows and no activities"):
        build_worker(temporal_client, task_queue="q", activities=[], workflows=[])


def test_cli_worker_runs_the_engine_workflow_and_stops_on_sigterm(
    temporal_server: TemporalDevServer, tmp_path: Path
) -> None:
    # The worker refuses a database without our schema (see test_worker_health).
    asyncio.run(migrate(f"sqlite+aiosqlite:///{tmp_path / 'wfe.db'}"))
    env = {
        **os.environ,
        "WFE_TEMPORAL_ADDRESS": temporal_server.address,
        "WFE_TEMPORAL_NAMESPACE": temporal_server.namespace,
        "WFE_DATA_DIR": str(tmp_path),
        "WFE_TASK_QUEUE": f"test-{uuid.uuid4()}",
        "WFE_ACTIVITY_MODULES": EXAMPLES,
        "WFE_LOG_FORMAT": "json",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "workflow_engine", "worker"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            output.append(line)
            if "worker_starting" in line:
                break
        assert any("worker_starting" in line for line in output), "".join(output)
        assert "SendEmailActivity" in output[-1]
        time.sleep(0.5)  # let it poll
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=30)
        output.append(rest)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, "".join(output)
    assert "worker_stopped" in "".join(output)


def test_dev_serves_the_examples_activities_once(tmp_path: Path) -> None:
    from workflow_engine.dev import dev_activity_modules

    examples = ROOT / "examples"
    plain = _settings(tmp_path)
    assert dev_activity_modules(plain, examples) == [EXAMPLES]
    assert dev_activity_modules(plain, None) == []
    assert dev_activity_modules(plain, tmp_path) == []  # no activities.py there
    named = _settings(tmp_path, activity_modules=["mypkg.acts", EXAMPLES])
    assert dev_activity_modules(named, examples) == ["mypkg.acts", EXAMPLES]


async def test_run_worker_counts_itself_as_a_poller_of_its_task_queue_while_it_runs(
    temporal_client: Client, services: Services, tmp_path: Path
) -> None:
    from workflow_engine.observability.metrics import sample

    settings = _settings(tmp_path)
    labels = {"task_queue": settings.task_queue}
    assert sample("wfe_worker_pollers", labels) == 0
    stop, started = asyncio.Event(), asyncio.Event()
    running = asyncio.create_task(
        run_worker(
            settings,
            stop=stop,
            client=temporal_client,
            services=services,
            workflows=[CallActivitiesByName],
            started=started,
        )
    )
    try:
        await asyncio.wait_for(started.wait(), timeout=30)
        assert sample("wfe_worker_pollers", labels) == 1
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=30)
    # The "no worker polls the task queue" alert sees it gone.
    assert sample("wfe_worker_pollers", labels) == 0


async def test_cli_worker_stops_within_seconds_of_sigterm_while_activities_never_end(
    temporal_server: TemporalDevServer, temporal_client: Client, tmp_path: Path
) -> None:
    """Issue 15, findings 2 and 9: SIGTERM hung for 75 s, or for ever with a busy task."""
    from tests.engine.worker_workflows import CallActivitiesOnQueue
    from tests.worker_process import (
        NEVER_ENDING,
        start_worker,
        stop,
        wait_for_started_activities,
        worker_env,
    )

    await migrate(f"sqlite+aiosqlite:///{tmp_path / 'wfe.db'}")
    activity_queue, workflow_queue = f"acts-{uuid.uuid4()}", f"wf-{uuid.uuid4()}"
    grace = 1.0
    process = start_worker(
        worker_env(
            temporal_address=temporal_server.address,
            namespace=temporal_server.namespace,
            data_dir=tmp_path,
            task_queue=activity_queue,
            worker_graceful_shutdown_seconds=str(grace),
        ),
        "-m",
        "tests.engine.busy_activities",
    )
    workflow_id = f"busy-{uuid.uuid4()}"
    try:
        async with Worker(
            temporal_client, task_queue=workflow_queue, workflows=[CallActivitiesOnQueue]
        ):
            await temporal_client.start_workflow(
                CallActivitiesOnQueue.run,
                args=[activity_queue, [[name, {}] for name in NEVER_ENDING]],
                id=workflow_id,
                task_queue=workflow_queue,
            )
            await wait_for_started_activities(temporal_client, workflow_id, len(NEVER_ENDING))
            signalled = time.monotonic()
            process.send_signal(signal.SIGTERM)
            output, _ = await asyncio.to_thread(process.communicate, timeout=60)
            took = time.monotonic() - signalled
    finally:
        stop(process)
        with contextlib.suppress(RPCError):  # ended already: its activity was cancelled
            await temporal_client.get_workflow_handle(workflow_id).terminate()
    # The bound: grace, 2 s for cancellation, a little for closing; far from "never".
    assert took < grace + 15, f"stopping took {took:.1f}s:\n{output}"
    assert process.returncode == 0, output
    assert "worker_shutdown_abandoned" in output
    assert "worker_stopped" in output
