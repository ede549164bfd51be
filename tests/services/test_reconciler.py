"""Ghosts (issue 15, finding 6) and control in any state.

Real interpreter on a real Temporal dev server, SQLite and PostgreSQL. A workflow ended outside
the engine (terminated through the Temporal client as `temporal workflow terminate` does, a run
timeout, gone from Temporal) leaves its row open until the reconciler writes the end Temporal
reports; control calls that meet a ghost repair it and answer 409. Terminate and cancel work on
a paused instance, one in incident, one busy in a long activity, and one whose workflow cannot
run at all (no worker: the engine terminates it in Temporal and writes the end itself).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus

from tests.services.support import deploy_document, eventually
from tests.services.test_control_races import one_task, open_task, row_status, temporal_status
from workflow_engine.config import load_settings
from workflow_engine.engine.contract import WORKFLOW_NAME, StartInstanceInput, workflow_id
from workflow_engine.engine.worker import build_worker
from workflow_engine.observability.metrics import sample
from workflow_engine.services.container import Services, build_services
from workflow_engine.services.errors import ConflictError
from workflow_engine.services.reconciler import ReconcilerService, reconcile_periodically
from workflow_engine.store.instances import InstanceRepository
from workflow_engine.store.reconcile import ended_task_state
from workflow_engine.store.tables import (
    EventSubscription,
    HistoricProcessInstance,
    ProcessEvent,
    ProcessInstance,
)
from workflow_engine.store.types import utcnow

REPAIRS = "wfe_reconciler_repairs_total"
SLOW_STARTED = asyncio.Event()


@activity.defn(name="SlowActivity")
async def slow_activity(data: dict[str, Any]) -> dict[str, Any]:
    """Busy for a minute (cancelled when the worker stops)."""
    SLOW_STARTED.set()
    await asyncio.sleep(60)
    return {}


@asynccontextmanager
async def engine_with(
    db_url: str, data_dir: Path, client: Client, **settings: Any
) -> AsyncIterator[Services]:
    """Services over `db_url` with the real interpreter (plus `SlowActivity`) on their queue."""
    queue = f"ghosts-{uuid.uuid4().hex}"
    config = load_settings(database_url=db_url, data_dir=data_dir, task_queue=queue, **settings)
    services = await build_services(config, temporal_client=client)
    worker = build_worker(
        client, task_queue=queue, activities=[*services.engine_activities(), slow_activity]
    )
    try:
        async with worker:
            yield services
    finally:
        await services.aclose()


@pytest.fixture
async def engine(db_url: str, tmp_path: Path, temporal_client: Client) -> AsyncIterator[Services]:
    async with engine_with(db_url, tmp_path, temporal_client) as services:
        yield services


def service_task(key: str, activity_name: str, *, attempts: int = 1) -> dict[str, Any]:
    """start -> service task `work` (activity `activity_name`) -> end."""
    return {
        "process": {"id": key, "key": key, "executable": True},
        "elements": [
            {"id": "start", "type": "startEvent", "outgoing": ["work"]},
            {
                "id": "work",
                "type": "serviceTask",
                "config": {
                    "implementation": "temporal_activity",
                    "activity_name": activity_name,
                    "timeout": "PT2M",
                    "retry_policy": {"max_attempts": attempts},
                },
                "outgoing": ["end"],
            },
            {"id": "end", "type": "endEvent"},
        ],
    }


async def events_of(services: Services, instance_id: str) -> list[tuple[str, dict[str, Any]]]:
    async with services.database.session() as session:
        rows = (
            await session.execute(
                select(ProcessEvent.event_type, ProcessEvent.event_data)
                .where(ProcessEvent.process_instance_id == instance_id)
                .order_by(ProcessEvent.sequence)
            )
        ).all()
    return [(r[0], dict(r[1] or {})) for r in rows]


async def ghost(services: Services, client: Client) -> tuple[str, str]:
    """An instance waiting in its user task, then terminated in Temporal behind the engine."""
    record = await services.instances.start(definition_key="approval", variables={})
    task_id = await open_task(services, record.id)
    await client.get_workflow_handle(workflow_id(record.id)).terminate(reason="by ops")
    return record.id, task_id


async def test_external_terminate_is_repaired_once_and_then_controls_agree(
    engine: Services, temporal_client: Client
) -> None:
    services = engine
    definition_id = await deploy_document(services, one_task())
    instance_id, task_id = await ghost(services, temporal_client)
    assert await row_status(services, instance_id) == "running"  # the ghost of finding 6
    with pytest.raises(ConflictError):
        await services.definitions.delete(definition_id)

    dry = await services.reconciler.reconcile(dry_run=True)
    assert [(r.instance_id, r.temporal_status, r.status, r.repaired) for r in dry.repairs] == [
        (instance_id, "TERMINATED", "terminated", False)
    ]
    assert await row_status(services, instance_id) == "running"

    before = sample(REPAIRS, {"status": "terminated"})
    report = await services.reconciler.reconcile()
    assert report.checked == 1 and report.repaired == 1 and not report.errors
    assert sample(REPAIRS, {"status": "terminated"}) == before + 1
    assert await row_status(services, instance_id) == "terminated"
    assert await temporal_status(temporal_client, instance_id) == "terminated"
    async with services.database.session() as session:
        row = (
            await session.execute(select(ProcessInstance).where(ProcessInstance.id == instance_id))
        ).scalar_one()
        assert row.end_time is not None and row.active_activity_ids == []
        assert row.delete_reason == "terminated in Temporal: by ops"
        history = (
            await session.execute(
                select(HistoricProcessInstance.status).where(
                    HistoricProcessInstance.process_instance_id == instance_id
                )
            )
        ).scalar_one()
        assert history == "terminated"
        assert await ended_task_state(session, task_id) == "cancelled"
        subscriptions = (
            await session.execute(
                select(EventSubscription).where(
                    EventSubscription.process_instance_id == instance_id
                )
            )
        ).all()
        assert subscriptions == []
    events = await events_of(services, instance_id)
    assert [t for t, _ in events[-2:]] == ["process.terminated", "process.reconciled"]
    assert events[-1][1]["temporal_status"] == "TERMINATED"

    again = await services.reconciler.reconcile()
    assert again.checked == 0 and again.repairs == []
    assert sample(REPAIRS, {"status": "terminated"}) == before + 1
    for action in (
        services.instances.terminate,
        services.instances.cancel,
        services.instances.pause,
    ):
        with pytest.raises(ConflictError, match="has ended"):
            await action(instance_id)
    await services.definitions.delete(definition_id)


async def test_a_control_call_or_completion_meeting_a_ghost_repairs_it(
    engine: Services, temporal_client: Client
) -> None:
    services = engine
    await deploy_document(services, one_task())
    first, _ = await ghost(services, temporal_client)
    with pytest.raises(ConflictError, match=r"has ended \(terminated\)"):
        await services.instances.terminate(first)
    assert await row_status(services, first) == "terminated"
    second, task_id = await ghost(services, temporal_client)
    with pytest.raises(ConflictError, match=r"instance has ended \(terminated\)"):
        await services.tasks.complete(task_id, variables={"ok": True})
    assert await row_status(services, second) == "terminated"
    async with services.database.session() as session:
        assert await ended_task_state(session, task_id) == "cancelled"
    third, _ = await ghost(services, temporal_client)
    with pytest.raises(ConflictError, match="has ended"):
        await services.instances.pause(third)
    assert await row_status(services, third) == "terminated"


async def test_run_timeout_is_recorded_as_timed_out(
    engine: Services, temporal_client: Client
) -> None:
    services = engine
    definition_id = await deploy_document(services, one_task())
    definition = await services.definitions.get(definition_id)
    instance_id = str(uuid.uuid4())
    # A start with a run timeout, as a schedule or another client could make it.
    await temporal_client.start_workflow(
        WORKFLOW_NAME,
        StartInstanceInput(
            instance_id=instance_id,
            definition_id=definition.id,
            definition_key=definition.key,
            definition_version=definition.version,
            content_hash=definition.content_hash,
            document=json.loads(definition.model_json),
            variables={},
            tenant_id=definition.tenant_id,
            register=True,
        ),
        id=workflow_id(instance_id),
        task_queue=services.workflows.task_queue,
        run_timeout=timedelta(seconds=3),
    )
    await open_task(services, instance_id)
    handle = temporal_client.get_workflow_handle(workflow_id(instance_id))

    async def closed() -> WorkflowExecutionStatus | None:
        return (await handle.describe()).status

    await eventually(closed, lambda s: s == WorkflowExecutionStatus.TIMED_OUT, within=30)
    assert await row_status(services, instance_id) == "running"
    report = await services.reconciler.reconcile()
    assert [(r.temporal_status, r.status) for r in report.repairs] == [("TIMED_OUT", "timed_out")]
    assert await row_status(services, instance_id) == "timed_out"


async def test_a_row_whose_workflow_temporal_does_not_know(engine: Services) -> None:
    services = engine
    definition_id = await deploy_document(services, one_task())
    definition = await services.definitions.get(definition_id)

    async def row(instance_id: str) -> None:
        async with services.database.session() as session:
            await InstanceRepository(session).create(
                instance_id=instance_id,
                workflow_id=workflow_id(instance_id),
                definition_id=definition.id,
                definition_key=definition.key,
                definition_version=definition.version,
                tenant_id=definition.tenant_id,
                business_key=None,
                start_user_id=None,
                name=None,
            )

    gone, young = str(uuid.uuid4()), str(uuid.uuid4())
    await row(gone)
    await row(young)
    # `gone` counts as old (no grace); a default reconciler leaves the young row alone, since
    # its workflow may still be being started.
    keen = ReconcilerService(
        database=services.database, workflows=services.workflows, start_grace=timedelta(0)
    )
    patient = services.reconciler
    assert (await patient.reconcile()).repairs == []
    report = await keen.reconcile(dry_run=True)
    assert {r.instance_id for r in report.repairs} == {gone, young}
    assert all(r.temporal_status == "NOT_FOUND" for r in report.repairs)
    async with services.database.session() as session:
        await session.execute(
            ProcessInstance.__table__.update()  # type: ignore[attr-defined]
            .where(ProcessInstance.id == gone)
            .values(start_time=utcnow() - timedelta(minutes=5))
        )
    report = await patient.reconcile()
    assert [(r.instance_id, r.status) for r in report.repairs] == [(gone, "terminated")]
    assert "gone from Temporal" in (report.repairs[0].reason or "")
    assert await row_status(services, gone) == "terminated"
    assert await row_status(services, young) == "running"


async def _ends_as(services: Services, client: Client, instance_id: str, status: str) -> None:
    table = await eventually(
        lambda: row_status(services, instance_id), lambda s: s not in ("running", "paused")
    )
    assert table == status
    assert await temporal_status(client, instance_id) == status


async def test_terminate_and_cancel_in_any_state(engine: Services, temporal_client: Client) -> None:
    services = engine
    await deploy_document(services, one_task())
    await deploy_document(services, service_task("broken", "NoSuchActivity"))
    await deploy_document(services, service_task("slow", "SlowActivity"))

    for end, status in (
        (services.instances.terminate, "terminated"),
        (services.instances.cancel, "cancelled"),
    ):
        paused = await services.instances.start(definition_key="approval", variables={})
        await open_task(services, paused.id)
        assert (await services.instances.pause(paused.id)).status == "paused"
        assert await row_status(services, paused.id) == "paused"
        assert (await end(paused.id, reason="stop")).status == status
        await _ends_as(services, temporal_client, paused.id, status)

        incident = await services.instances.start(definition_key="broken", variables={})
        await eventually(
            lambda i=incident: row_status(services, i.id),  # type: ignore[misc]
            lambda s: s == "incident",
            within=30,
        )
        assert (await end(incident.id, reason="stop")).status == status
        await _ends_as(services, temporal_client, incident.id, status)

        SLOW_STARTED.clear()
        busy = await services.instances.start(definition_key="slow", variables={})
        await asyncio.wait_for(SLOW_STARTED.wait(), timeout=30)
        assert (await end(busy.id, reason="stop")).status == status
        await _ends_as(services, temporal_client, busy.id, status)


async def test_a_workflow_that_cannot_run_is_terminated_in_temporal(
    db_url: str, tmp_path: Path, temporal_client: Client
) -> None:
    # No worker polls this queue: the workflow never runs a workflow task, so it can take no
    # update — as when its workflow task keeps failing or a worker is pinned.
    queue = f"nobody-{uuid.uuid4().hex}"
    settings = load_settings(
        database_url=db_url, data_dir=tmp_path, task_queue=queue, control_timeout_seconds=1.5
    )
    services = await build_services(settings, temporal_client=temporal_client)
    try:
        await deploy_document(services, one_task())
        for end, action in (
            (services.instances.terminate, "terminate"),
            (services.instances.cancel, "cancel"),
        ):
            record = await services.instances.start(definition_key="approval", variables={})
            result = await end(record.id, reason="stuck", user_id="ops")
            assert result.status == "terminated"
            assert await temporal_status(temporal_client, record.id) == "terminated"
            assert await row_status(services, record.id) == "terminated"
            async with services.database.session() as session:
                reason = (
                    await session.execute(
                        select(ProcessInstance.delete_reason).where(ProcessInstance.id == record.id)
                    )
                ).scalar_one()
            assert reason is not None
            assert reason.startswith(f"{action} by ops: stuck") and "did not answer" in reason
            events = await events_of(services, record.id)
            assert events[-1][0] == "process.reconciled"
    finally:
        await services.aclose()


async def test_the_periodic_job_repairs_ghosts_until_stopped(
    engine: Services, temporal_client: Client
) -> None:
    services = engine
    await deploy_document(services, one_task())
    instance_id, _ = await ghost(services, temporal_client)
    stop = asyncio.Event()
    job = asyncio.create_task(
        reconcile_periodically(services.reconciler, interval_seconds=0.2, stop=stop)
    )
    try:
        await eventually(lambda: row_status(services, instance_id), lambda s: s == "terminated")
    finally:
        stop.set()
        await asyncio.wait_for(job, timeout=10)
