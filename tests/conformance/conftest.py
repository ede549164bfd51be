"""The external conformance corpus run through the real stack.

Every case deploys the peer's BPMN XML with `DefinitionService.deploy(fmt=BPMN)`, starts it
with the instance service, reads open tasks from the database through the task service,
completes them through the task service (a Temporal Update), and delivers signals and messages
through the signal / message services. A real worker runs `ProcessInstanceWorkflow` and the
engine's own activities on the Temporal dev server; every case runs on SQLite and on
PostgreSQL (`db_url` of tests/conftest.py).

The database is written by the workflow's batches asynchronously: the `Stack` helpers poll
until the expected state is reached (a few seconds at most) instead of sleeping.

lib-bpmn-engine's service tasks are Zeebe jobs: `job_activities()` registers one test activity
per job type that records the call (`CALLS`); the element-level call path is read back from the
instance's event log (`activity.result` events name the node), because several elements share
the job type `task` there.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import select
from temporalio import activity
from temporalio.client import Client

from tests.paths import CONFORMANCE
from workflow_engine.config import load_settings
from workflow_engine.engine.contract import QUERY_SNAPSHOT, InstanceSnapshot, workflow_id
from workflow_engine.engine.worker import build_worker
from workflow_engine.services.container import Services, build_services
from workflow_engine.services.definition_source import DefinitionFormat
from workflow_engine.services.instances import Incident
from workflow_engine.store.instances import EventRecord, InstanceRecord, InstanceRepository
from workflow_engine.store.subscriptions import Subscription, SubscriptionRepository
from workflow_engine.store.tables import ProcessInstance
from workflow_engine.store.tasks import StoredTask, TaskFilters

_T = TypeVar("_T")

#: How long a poll waits for the asynchronous projection before failing the test.
WAIT_SECONDS = 10.0

#: Job types of the lib-bpmn-engine models, each served by a recording test activity.
JOB_TYPES = (
    "task",
    "task-a",
    "task-b",
    "task-default",
    "task-a-1",
    "task-a-2",
    "task-b-1",
    "task-for-timer",
    "task-for-message",
)

#: Job types called so far, in call order (cleared per test by the `stack` fixture).
CALLS: list[str] = []


def _recording(job_type: str) -> Callable[..., Awaitable[dict[str, Any]]]:
    @activity.defn(name=job_type)
    async def run(data: dict[str, Any]) -> dict[str, Any]:
        CALLS.append(job_type)
        return {}

    return run


@activity.defn(name="increaseCounter")
async def increase_counter(data: dict[str, Any]) -> dict[str, Any]:
    """simple-count-loop's job: add 1 to `counter` (lib-bpmn-engine `Test_simple_count_loop`)."""
    CALLS.append("increaseCounter")
    return {"counter": float(data["counter"]) + 1}


def job_activities() -> list[Callable[..., Any]]:
    """The test activities standing in for lib-bpmn-engine's job handlers."""
    return [*(_recording(t) for t in JOB_TYPES), increase_counter]


def model_xml(relative: str, *, replace: Iterable[tuple[str, str]] = ()) -> bytes:
    """A corpus file's bytes, with textual edits (only used to shorten timers; see the tests)."""
    text = (CONFORMANCE / relative).read_text(encoding="utf-8")
    for old, new in replace:
        assert old in text, f"{relative} does not contain {old!r}: the edit would do nothing"
        text = text.replace(old, new)
    return text.encode("utf-8")


async def eventually(
    probe: Callable[[], Awaitable[_T]],
    accept: Callable[[_T], bool],
    *,
    within: float = WAIT_SECONDS,
    what: str = "condition",
) -> _T:
    """Poll `probe` until `accept` holds for its value; fail naming the last value seen."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = await probe()
        if accept(value):
            return value
        if loop.time() > deadline:
            raise AssertionError(f"{what} not reached within {within}s; last value: {value!r}")
        await asyncio.sleep(0.05)


@dataclass
class Stack:
    """The services of one test plus helpers to drive and observe instances."""

    services: Services

    async def deploy(self, relative: str, *, replace: Iterable[tuple[str, str]] = ()) -> str:
        """Deploy a corpus model (BPMN); return its definition key."""
        result = await self.services.definitions.deploy(
            model_xml(relative, replace=replace), fmt=DefinitionFormat.BPMN
        )
        return result.definition.key

    async def start(self, key: str, **variables: Any) -> str:
        """Start the latest version of `key`; return the instance id."""
        record = await self.services.instances.start(definition_key=key, variables=variables)
        return record.id

    async def instance(self, instance_id: str) -> InstanceRecord:
        """The stored instance row."""
        return (await self.services.instances.get(instance_id)).instance

    async def incidents(self, instance_id: str) -> list[Incident]:
        """The instance's open incidents."""
        return (await self.services.instances.get(instance_id)).incidents

    async def variables(self, instance_id: str) -> dict[str, Any]:
        """The instance's global variables."""
        return await self.services.instances.variables(instance_id)

    async def all_tasks(self, instance_id: str) -> list[StoredTask]:
        """Every user task of an instance (open and closed), read from the database."""
        page = await self.services.tasks.list(TaskFilters(instance_id=instance_id), page_size=500)
        return page.items

    async def open_tasks(self, instance_id: str) -> list[StoredTask]:
        """The open user tasks of an instance, read from the database."""
        return [t for t in await self.all_tasks(instance_id) if t.open]

    async def wait_tasks(
        self, instance_id: str, names: Iterable[str], *, by: str = "name"
    ) -> list[StoredTask]:
        """Wait until the open tasks are exactly `names` (a multiset of names or element ids)."""
        expected = Counter(names)

        def label(task: StoredTask) -> str:
            return task.name if by == "name" else task.task_definition_key

        return await eventually(
            lambda: self.open_tasks(instance_id),
            lambda tasks: Counter(label(t) for t in tasks) == expected,
            what=f"open tasks {sorted(expected.elements())}",
        )

    async def complete(self, instance_id: str, name: str, *, by: str = "name") -> None:
        """Complete the (single) open task called `name` through the task service."""
        tasks = [
            t
            for t in await self.open_tasks(instance_id)
            if (t.name if by == "name" else t.task_definition_key) == name
        ]
        assert len(tasks) == 1, f"expected one open task {name!r}, got {tasks!r}"
        await self.services.tasks.complete(tasks[0].id, variables={})

    async def wait_status(self, instance_id: str, status: str) -> InstanceRecord:
        """Wait until the instance has `status` (completed, incident, ...)."""
        return await eventually(
            lambda: self.instance(instance_id),
            lambda r: r.status == status,
            what=f"instance status {status!r}",
        )

    async def snapshot(self, instance_id: str) -> InstanceSnapshot:
        """The workflow's live state (the `snapshot` query): where its tokens are right now."""
        assert self.services.temporal is not None
        handle = self.services.temporal.get_workflow_handle(workflow_id(instance_id))
        snap: InstanceSnapshot = await handle.query(QUERY_SNAPSHOT, result_type=InstanceSnapshot)
        return snap

    async def wait_active(self, instance_id: str, node_ids: Iterable[str]) -> InstanceSnapshot:
        """Wait until the workflow's active nodes are exactly `node_ids` (a multiset)."""
        want = Counter(node_ids)
        return await eventually(
            lambda: self.snapshot(instance_id),
            lambda snap: Counter(snap.active_node_ids) == want,
            what=f"active nodes {sorted(want.elements())}",
        )

    async def subscriptions(self, instance_id: str) -> list[Subscription]:
        """The instance's mirrored signal/message/timer waits."""
        async with self.services.database.session() as session:
            return await SubscriptionRepository(session).of_instance(instance_id)

    async def wait_subscriptions(
        self, instance_id: str, expected: Iterable[tuple[str, str]]
    ) -> list[Subscription]:
        """Wait until the instance's waits are exactly `expected` (kind, name) pairs."""
        want = Counter(expected)
        return await eventually(
            lambda: self.subscriptions(instance_id),
            lambda subs: Counter((s.kind, s.name) for s in subs) == want,
            what=f"subscriptions {sorted(want.elements())}",
        )

    async def events(self, instance_id: str, *types: str) -> list[EventRecord]:
        """The instance's event log (optionally only some event types)."""
        async with self.services.database.session() as session:
            return await InstanceRepository(session).events(instance_id, types=types or None)

    async def call_path(self, instance_id: str) -> list[str]:
        """Element ids of the service tasks whose activity returned, in order."""
        return [e.activity_id or "" for e in await self.events(instance_id, "activity.result")]

    async def children(self, instance_id: str) -> list[InstanceRecord]:
        """Instances whose super instance is `instance_id`."""
        async with self.services.database.session() as session:
            ids = list(
                (
                    await session.execute(
                        select(ProcessInstance.id).where(
                            ProcessInstance.super_instance_id == instance_id
                        )
                    )
                ).scalars()
            )
        return [await self.instance(i) for i in ids]


@pytest.fixture
async def stack(db_url: str, tmp_path: Path, temporal_client: Client) -> AsyncIterator[Stack]:
    """Services on a fresh database (SQLite, then PostgreSQL) and a worker on its own queue."""
    queue = f"conformance-{uuid.uuid4().hex}"
    settings = load_settings(database_url=db_url, data_dir=tmp_path, task_queue=queue)
    services = await build_services(settings, temporal_client=temporal_client)
    worker = build_worker(
        temporal_client,
        task_queue=queue,
        activities=[*services.engine_activities(), *job_activities()],
    )
    CALLS.clear()
    try:
        async with worker:
            yield Stack(services)
    finally:
        await services.aclose()
