"""`wfe worker` as a subprocess, for the lifecycle tests (SIGTERM, checks, readiness)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

from temporalio.api.enums.v1 import PendingActivityState, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

ROOT = Path(__file__).resolve().parents[1]


def worker_env(
    *, temporal_address: str, namespace: str, data_dir: Path, task_queue: str, **extra: str
) -> dict[str, str]:
    """The environment of a `wfe worker` on its own queue, JSON logs, `extra` WFE_ settings."""
    env = {
        **os.environ,
        "WFE_TEMPORAL_ADDRESS": temporal_address,
        "WFE_TEMPORAL_NAMESPACE": namespace,
        "WFE_DATA_DIR": str(data_dir),
        "WFE_TASK_QUEUE": task_queue,
        "WFE_LOG_FORMAT": "json",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    }
    env.update({f"WFE_{key.upper()}": value for key, value in extra.items()})
    return env


def start_worker(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """Start `wfe worker` (stdout and stderr merged, text)."""
    return subprocess.Popen(
        [sys.executable, "-m", "workflow_engine", "worker", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def read_until(process: subprocess.Popen[str], marker: str, timeout: float = 90) -> str:
    """Read the worker's output until a line contains `marker`; all lines read so far."""
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if marker in line:
            return "".join(lines)
    raise AssertionError(f"{marker!r} not seen; output:\n{''.join(lines)}")


def stop(process: subprocess.Popen[str]) -> None:
    """Kill the worker if a test left it running."""
    if process.poll() is None:
        process.kill()
        process.wait()


async def activity_pollers(client: Client, task_queue: str) -> list[str]:
    """Identities of the workers that polled `task_queue` for activities recently."""
    described = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        )
    )
    return [poller.identity for poller in described.pollers]


#: Activities of tests/engine/busy_activities.py that never end by themselves.
NEVER_ENDING = ("test.Spin", "test.Block", "test.SleepLong")


async def wait_for_started_activities(client: Client, workflow_id: str, count: int) -> None:
    """Wait until `count` activities of the workflow run on a worker."""
    handle = client.get_workflow_handle(workflow_id)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pending = (await handle.describe()).raw_description.pending_activities
        started = [
            p for p in pending if p.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
        ]
        if len(started) == count:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{count} activities did not start")
