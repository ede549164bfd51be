"""InstanceService against a real database and a real Temporal (with the workflow double)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from tests.services.support import SEED_VARIABLES, deploy_seed, eventually
from tests.services.workflow_double import DoubleWorkflow, engine_services, received
from workflow_engine.config import load_settings
from workflow_engine.services.container import Services, build_services
from workflow_engine.services.errors import (
    ConflictError,
    InvalidArgumentError,
    NotFoundError,
    UnavailableError,
    ValidationFailedError,
)
from workflow_engine.services.instances import InstanceDetail
from workflow_engine.store.instances import InstanceFilters
from workflow_engine.store.tasks import TaskFilters

__all__ = ["engine_services"]


async def _status(services: Services, instance_id: str, status: str) -> InstanceDetail:
    return await eventually(
        lambda: services.instances.get(instance_id), lambda d: d.instance.status == status
    )


async def test_start_validates_variables_naming_the_variable(engine_services: Services) -> None:
    services = engine_services
    await deploy_seed(services)
    missing = {k: v for k, v in SEED_VARIABLES.items() if k != "email"}
    with pytest.raises(ValidationFailedError) as error:
        await services.instances.start(definition_key="userRegistration", variables=missing)
    assert "variables.email" in error.value.message
    assert [d.path for d in error.value.details] == ["variables.email"]
    wrong = {**SEED_VARIABLES, "username": 5}
    with pytest.raises(ValidationFailedError, match=r"variables\.username.*must be a string"):
        await services.instances.start(definition_key="userRegistration", variables=wrong)
    page = await services.instances.list(InstanceFilters())
    assert page.items == []


async def test_start_resolution_errors(engine_services: Services) -> None:
    services = engine_services
    definition_id = await deploy_seed(services)
    with pytest.raises(InvalidArgumentError, match="exactly one"):
        await services.instances.start(variables=SEED_VARIABLES)
    with pytest.raises(InvalidArgumentError, match="exactly one"):
        await services.instances.start(
            definition_key="userRegistration", definition_id=definition_id
        )
    with pytest.raises(NotFoundError, match="nope"):
        await services.instances.start(definition_key="nope")
    with pytest.raises(NotFoundError, match="version 7"):
        await services.instances.start(definition_key="userRegistration", version=7)
    with pytest.raises(InvalidArgumentError, match="variables must be an object"):
        await services.instances.start(definition_id=definition_id, variables=[1])  # type: ignore[arg-type]
    await services.definitions.set_suspended(definition_id, suspended=True)
    with pytest.raises(ConflictError, match="suspended"):
        await services.instances.start(definition_id=definition_id, variables=SEED_VARIABLES)


async def test_start_runs_the_workflow_with_the_pinned_document(
    engine_services: Services,
) -> None:
    services = engine_services
    definition_id = await deploy_seed(services)
    definition = await services.definitions.get(definition_id)
    record = await services.instances.start(
        definition_key="userRegistration",
        variables=SEED_VARIABLES,
        user_id="alice",
        business_key="order-1",
    )
    assert record.status == "running"
    assert record.workflow_id == f"pi-{record.id}"
    assert record.definition_version == 1
    assert record.tenant_id == definition.tenant_id
    assert services.temporal is not None
    seen = await received(services.temporal, record.id)
    start = seen.start
    assert start["content_hash"] == definition.content_hash
    assert start["document"]["process"]["key"] == "userRegistration"
    assert start["initiator"] == "alice"
    assert start["business_key"] == "order-1"
    assert start["variables"] == SEED_VARIABLES
    detail = await services.instances.get(record.id)
    assert detail.variables == SEED_VARIABLES  # visible at once
    tasks = await eventually(
        lambda: services.tasks.list(TaskFilters(instance_id=record.id)), lambda p: bool(p.items)
    )
    assert tasks.items[0].assignee == "alice"
    detail = await services.instances.get(record.id)
    assert detail.instance.active_activity_ids == ("review", "wait_go")


async def test_without_temporal_start_fails_and_leaves_nothing(db_url: str, tmp_path: Path) -> None:
    services = await build_services(load_settings(database_url=db_url, data_dir=tmp_path))
    try:
        await deploy_seed(services)
        with pytest.raises(UnavailableError, match="Temporal"):
            await services.instances.start(
                definition_key="userRegistration", variables=SEED_VARIABLES
            )
        assert (await services.instances.list(InstanceFilters())).items == []
    finally:
        await services.aclose()


async def test_pause_resume_terminate_and_their_conflicts(engine_services: Services) -> None:
    services = engine_services
    await deploy_seed(services)
    record = await services.instances.start(
        definition_key="userRegistration", variables=SEED_VARIABLES
    )
    with pytest.raises(ConflictError, match="not paused"):
        await services.instances.resume(record.id)
    with pytest.raises(ConflictError, match="no incident"):
        await services.instances.retry(record.id)
    await services.instances.pause(record.id, reason="lunch")
    await _status(services, record.id, "paused")
    with pytest.raises(ConflictError, match="paused already"):
        await services.instances.pause(record.id)
    await services.instances.resume(record.id)
    await _status(services, record.id, "running")
    await services.instances.terminate(record.id, reason="no longer needed")
    detail = await _status(services, record.id, "terminated")
    assert detail.instance.delete_reason == "no longer needed"
    assert detail.instance.end_time is not None
    for action in (
        services.instances.pause,
        services.instances.terminate,
        services.instances.cancel,
    ):
        with pytest.raises(ConflictError, match="has ended"):
            await action(record.id)
    with pytest.raises(NotFoundError):
        await services.instances.pause("no-such-instance")
    assert services.temporal is not None
    assert (await received(services.temporal, record.id)).controls == [
        "pause",
        "resume",
        "terminate",
    ]


async def test_cancel(engine_services: Services) -> None:
    services = engine_services
    await deploy_seed(services)
    record = await services.instances.start(
        definition_key="userRegistration", variables=SEED_VARIABLES
    )
    await services.instances.cancel(record.id, reason="customer left")
    detail = await _status(services, record.id, "cancelled")
    assert detail.instance.delete_reason == "customer left"


async def test_incident_is_shown_and_retry_clears_it(engine_services: Services) -> None:
    services = engine_services
    await deploy_seed(services)
    record = await services.instances.start(
        definition_key="userRegistration", variables={**SEED_VARIABLES, "fail": True}
    )
    detail = await _status(services, record.id, "incident")
    assert [(i.node_id, i.message, i.error_type) for i in detail.incidents] == [
        ("review", "it broke", "Boom")
    ]
    await services.instances.retry(record.id, node_id="review", user_id="ops")
    detail = await _status(services, record.id, "running")
    assert detail.incidents == []
    assert services.temporal is not None
    assert (await received(services.temporal, record.id)).retries == [
        {"node_id": "review", "user_id": "ops"}
    ]


async def test_set_variables_checks_types_and_reaches_the_workflow(
    engine_services: Services,
) -> None:
    services = engine_services
    await deploy_seed(services)
    record = await services.instances.start(
        definition_key="userRegistration", variables=SEED_VARIABLES
    )
    with pytest.raises(ValidationFailedError, match=r"variables\.email"):
        await services.instances.set_variables(record.id, {"email": 42})
    with pytest.raises(InvalidArgumentError, match="at least one"):
        await services.instances.set_variables(record.id, {})
    values = await services.instances.set_variables(record.id, {"note": "hi", "email": "x@y.z"})
    assert values["note"] == "hi"
    assert values["email"] == "x@y.z"
    assert services.temporal is not None
    seen = await eventually(
        lambda: received(services.temporal, record.id),  # type: ignore[arg-type]
        lambda r: bool(r.set_variables),
    )
    assert seen.set_variables == [{"note": "hi", "email": "x@y.z"}]
    assert (await services.instances.variables(record.id))["note"] == "hi"


async def test_list_filters_and_pages(engine_services: Services) -> None:
    services = engine_services
    await deploy_seed(services)
    ids = []
    for n in range(3):
        record = await services.instances.start(
            definition_key="userRegistration",
            variables=SEED_VARIABLES,
            business_key=f"bk-{n % 2}",
        )
        ids.append(record.id)
    first = await services.instances.list(InstanceFilters(), page_size=2)
    assert len(first.items) == 2 and first.next_page_token is not None
    second = await services.instances.list(
        InstanceFilters(), page_size=2, page_token=first.next_page_token
    )
    assert second.next_page_token is None
    assert sorted(r.id for r in first.items + second.items) == sorted(ids)
    by_key = await services.instances.list(InstanceFilters(business_key="bk-0"))
    assert len(by_key.items) == 2
    assert (await services.instances.list(InstanceFilters(definition_key="userRegistration"))).items
    assert not (await services.instances.list(InstanceFilters(status="completed"))).items
    with pytest.raises(InvalidArgumentError, match="status must be one of"):
        await services.instances.list(InstanceFilters(status="weird"))
    with pytest.raises(InvalidArgumentError, match="different filters"):
        await services.instances.list(
            InstanceFilters(status="running"), page_size=2, page_token=first.next_page_token
        )


async def test_start_passes_the_execution_budgets_of_the_settings(
    db_url: str, tmp_path: Path, temporal_client: Client
) -> None:
    """Each instance takes its step and variables budgets from the settings at its start."""
    queue = f"test-{uuid.uuid4().hex}"
    settings = load_settings(
        database_url=db_url,
        data_dir=tmp_path,
        task_queue=queue,
        max_steps_without_wait=77,
        max_instance_variables_bytes=4096,
    )
    services = await build_services(settings, temporal_client=temporal_client)
    worker = Worker(
        temporal_client,
        task_queue=queue,
        workflows=[DoubleWorkflow],
        activities=services.engine_activities(),
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    try:
        async with worker:
            await deploy_seed(services)
            record = await services.instances.start(
                definition_key="userRegistration", variables=SEED_VARIABLES, user_id="alice"
            )
            start = (await received(temporal_client, record.id)).start
    finally:
        await services.aclose()
    assert start["max_steps_without_wait"] == 77
    assert start["max_variables_bytes"] == 4096
