"""Starts with a client request id: a retried start (on any replica) starts nothing twice, and
finishes a start whose replica died between the instance row and the workflow."""

from __future__ import annotations

import uuid

import pytest

from tests.services.support import SEED_VARIABLES, deploy_document, deploy_seed, eventually
from tests.services.workflow_double import engine_services
from workflow_engine.services.container import Services
from workflow_engine.services.errors import ConflictError, InvalidArgumentError
from workflow_engine.services.idempotency import RequestScope
from workflow_engine.services.instances import workflow_id
from workflow_engine.store.instances import InstanceFilters, InstanceRepository

__all__ = ["engine_services"]


def _unique(name: str) -> str:
    # The Temporal server outlives each test's database, and a request id names one workflow
    # id for good: every test (and database parameter) uses ids of its own.
    return f"{name}-{uuid.uuid4().hex[:8]}"


async def test_the_same_request_id_starts_once(engine_services: Services) -> None:
    services = engine_services
    await deploy_seed(services)
    order_17, order_18 = _unique("o17"), _unique("o18")
    first = await services.instances.start(
        definition_key="userRegistration", variables=SEED_VARIABLES, request_id=order_17
    )
    again = await services.instances.start(
        definition_key="userRegistration", variables=SEED_VARIABLES, request_id=order_17
    )
    other = await services.instances.start(
        definition_key="userRegistration", variables=SEED_VARIABLES, request_id=order_18
    )
    assert again.id == first.id and other.id != first.id
    page = await services.instances.list(InstanceFilters())
    assert sorted(i.id for i in page.items) == sorted([first.id, other.id])
    with pytest.raises(InvalidArgumentError, match="request_id"):
        await services.instances.start(
            definition_key="userRegistration", variables=SEED_VARIABLES, request_id=" "
        )
    with pytest.raises(InvalidArgumentError, match="not both"):
        await services.instances.start(
            definition_key="userRegistration",
            variables=SEED_VARIABLES,
            request_id="x",
            instance_id="y",
        )


async def test_a_retry_finishes_a_start_that_died_after_the_row(
    engine_services: Services,
) -> None:
    services = engine_services
    definition_id = await deploy_seed(services)
    definition = await services.definitions.get(definition_id)
    lost_answer = _unique("lost")
    instance_id = RequestScope(
        kind="start", tenant_id=definition.tenant_id, request_id=lost_answer
    ).derived("instance")
    # The first replica wrote the row and died before it started the workflow.
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
    retried = await services.instances.start(
        definition_key="userRegistration", variables=SEED_VARIABLES, request_id=lost_answer
    )
    assert retried.id == instance_id
    # Its workflow runs now and reports.
    await eventually(
        lambda: services.instances.get(instance_id), lambda d: d.instance.last_sequence > 0
    )


async def test_a_request_id_reused_for_another_definition_is_a_conflict(
    engine_services: Services,
) -> None:
    services = engine_services
    await deploy_seed(services)
    r_1 = _unique("r1")
    await services.instances.start(
        definition_key="userRegistration", variables=SEED_VARIABLES, request_id=r_1
    )
    document = {
        "process": {"id": "other", "key": "other", "name": "Other", "tenant_id": "default"},
        "elements": [
            {"id": "s", "type": "startEvent", "outgoing": ["e"]},
            {"id": "e", "type": "endEvent"},
        ],
    }
    await deploy_document(services, document)
    with pytest.raises(ConflictError):
        await services.instances.start(definition_key="other", request_id=r_1)
