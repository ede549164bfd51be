"""The audit log through the services: actions leave who / what / where; reading needs audit:read.

Definitions run without Temporal; instance, task, signal and message actions run against the
workflow double on a real Temporal (tests/services/workflow_double.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.services.support import SEED, SEED_VARIABLES, deploy_seed, eventually
from tests.services.workflow_double import engine_services
from workflow_engine.security import Principal, acting_as
from workflow_engine.security import permissions as permissions_module
from workflow_engine.security.context import RequestOrigin, request_origin
from workflow_engine.security.permissions import Permission, Role
from workflow_engine.services.audit import scrub_details
from workflow_engine.services.container import Services
from workflow_engine.services.definition_source import DefinitionFormat
from workflow_engine.services.errors import InvalidArgumentError, PermissionDeniedError
from workflow_engine.store.audit import AuditFilters, AuditRecord
from workflow_engine.store.subscriptions import SubscriptionRepository
from workflow_engine.store.tasks import TaskFilters

__all__ = ["engine_services"]

REST = RequestOrigin(transport="rest", client="10.1.2.3", user_agent="pytest", request_id="r-1")
ADMIN = Principal(user_id="root", roles=frozenset({"admin"}))
MODELER = Principal(user_id="mia", roles=frozenset({"modeler"}), tenant_id="acme")
OPERATOR = Principal(user_id="olga", roles=frozenset({"operator"}), tenant_id="acme")
USER = Principal(user_id="ursula", roles=frozenset({"user"}), tenant_id="acme")


def seed(*, description: str | None = None) -> bytes:
    """The seed example without its own tenant: it is deployed into the deployer's."""
    document = json.loads(SEED.read_text(encoding="utf-8"))
    del document["process"]["tenant_id"]
    if description is not None:
        document["process"]["description"] = description
    return json.dumps(document).encode()


@contextmanager
def request(principal: Principal, origin: RequestOrigin = REST) -> Iterator[None]:
    """What a transport does around a request: the principal and the origin."""
    with acting_as(principal), request_origin(origin):
        yield


async def entries(services: Services, **filters: object) -> list[AuditRecord]:
    with acting_as(ADMIN):
        page = await services.audit.list(AuditFilters(**filters), page_size=1000)  # type: ignore[arg-type]
    return list(reversed(page.items))  # oldest first reads like the test


async def test_definition_actions_record_who_what_where(services: Services) -> None:
    with request(MODELER):
        deployed = await services.definitions.deploy(seed(), fmt=DefinitionFormat.JSON)
        definition_id = deployed.definition.id
        await services.definitions.set_suspended(definition_id, suspended=True)
        await services.definitions.set_suspended(definition_id, suspended=False)
        updated = await services.definitions.update(
            definition_id,
            seed(description="second version"),
            fmt=DefinitionFormat.JSON,
        )
        await services.definitions.delete(updated.definition.id)
    log = await entries(services)
    assert [(e.action, e.resource_id) for e in log] == [
        ("definition.deploy", str(definition_id)),
        ("definition.suspend", str(definition_id)),
        ("definition.activate", str(definition_id)),
        # The update deploys through deploy(): one entry, not two.
        ("definition.deploy", str(updated.definition.id)),
        ("definition.delete", str(updated.definition.id)),
    ]
    first = log[0]
    assert (first.actor_id, first.actor_kind, first.actor_roles) == ("mia", "user", ("modeler",))
    assert first.tenant_id == "acme" and first.outcome == "success"
    assert (first.transport, first.client_address, first.user_agent, first.request_id) == (
        "rest",
        "10.1.2.3",
        "pytest",
        "r-1",
    )
    assert first.details == {
        "format": "json",
        "key": "userRegistration",
        "version": 1,
        "created": True,
    }
    assert log[3].details["updated_from"] == definition_id
    assert log[3].details["version"] == 2
    # The deleted version's tenant was taken before it was gone.
    assert log[4].tenant_id == "acme" and log[4].details == {"cascade": False}


async def test_internal_calls_are_not_audited(services: Services) -> None:
    # The system principal outside any request: the engine itself, not an operator.
    definition_id = await deploy_seed(services)
    await services.definitions.set_suspended(definition_id, suspended=True)
    assert await entries(services) == []
    # The same principal inside a request (authentication off) is audited, as the system.
    with request_origin(REST):
        await services.definitions.set_suspended(definition_id, suspended=False)
    [entry] = await entries(services)
    assert (entry.action, entry.actor_id, entry.actor_kind) == (
        "definition.activate",
        None,
        "system",
    )


async def test_denied_attempts_are_recorded_in_the_actors_tenant(services: Services) -> None:
    with acting_as(ADMIN):
        deployed = await services.definitions.deploy(
            seed(), fmt=DefinitionFormat.JSON, tenant_id="globex"
        )
    with request(USER), pytest.raises(PermissionDeniedError):
        await services.definitions.delete(deployed.definition.id)
    with request(OPERATOR), pytest.raises(PermissionDeniedError):
        await services.definitions.deploy(seed(), fmt=DefinitionFormat.JSON)
    log = await entries(services, outcome="denied")
    assert [(e.action, e.actor_id, e.tenant_id) for e in log] == [
        ("definition.delete", "ursula", "acme"),
        ("definition.deploy", "olga", "acme"),
    ]
    assert log[0].resource_id == str(deployed.definition.id)
    assert log[0].details == {"cascade": False, "permission": "definition:delete"}
    assert log[1].resource_id is None
    assert log[1].details["permission"] == "definition:deploy"
    # The refused attempts changed nothing: the only success is the admin's deploy (a real
    # user acting is audited even without a transport).
    [deploy] = await entries(services, outcome="success")
    assert (deploy.action, deploy.actor_id, deploy.tenant_id) == (
        "definition.deploy",
        "root",
        "globex",
    )


async def test_instance_and_task_actions(engine_services: Services) -> None:
    services = engine_services
    await deploy_seed(services)
    record = await services.instances.start(
        definition_key="userRegistration", variables=SEED_VARIABLES, user_id=None
    )
    page = await eventually(
        lambda: services.tasks.list(TaskFilters(instance_id=record.id)), lambda p: bool(p.items)
    )
    task_id = page.items[0].id
    with request_origin(REST):  # authentication off: the system acts, bodies name users
        await services.tasks.claim(task_id, user_id="bob")
        await services.tasks.delegate(task_id, user_id="helper")
        await services.tasks.resolve(task_id)
        await services.tasks.unclaim(task_id)
        await services.tasks.assign(task_id, user_id="dave")
        await services.instances.set_variables(
            record.id, {"email": "secret@example.com"}, user_id="olga"
        )
        await services.instances.pause(record.id, reason="maintenance", user_id="olga")
        await eventually(
            lambda: services.instances.get(record.id), lambda d: d.instance.status == "paused"
        )
        await services.instances.resume(record.id)
        await services.instances.terminate(record.id, reason="done")
    log = await entries(services)
    assert [(e.action, e.resource_type, e.resource_id) for e in log] == [
        ("task.claim", "task", task_id),
        ("task.delegate", "task", task_id),
        ("task.resolve", "task", task_id),
        ("task.unclaim", "task", task_id),
        ("task.assign", "task", task_id),
        ("instance.variables", "instance", record.id),
        ("instance.pause", "instance", record.id),
        ("instance.resume", "instance", record.id),
        ("instance.terminate", "instance", record.id),
    ]
    assert log[1].details == {
        "user_id": "helper",
        "assignee": "helper",
        "owner": "bob",
        "state": "delegated",
    }
    assert log[4].details["assignee"] == "dave"
    # Which variables changed, never their values.
    assert log[5].details == {"variables": ["email"], "user_id": "olga"}
    assert "secret@example.com" not in json.dumps([dict(e.details) for e in log])
    assert log[6].details == {"reason": "maintenance", "user_id": "olga"}
    assert all(e.transport == "rest" and e.actor_kind == "system" for e in log)
    # Filters by resource find one object's story.
    assert [e.action for e in await entries(services, resource_id=record.id)][:2] == [
        "instance.variables",
        "instance.pause",
    ]


async def test_signals_messages_and_denied_control(engine_services: Services) -> None:
    services = engine_services
    await deploy_seed(services)
    record = await services.instances.start(
        definition_key="userRegistration", variables={**SEED_VARIABLES, "order": "o-1"}
    )

    async def subscriptions() -> int:
        async with services.database.session() as session:
            return len(await SubscriptionRepository(session).of_instance(record.id))

    await eventually(subscriptions, lambda n: n == 2)
    with request_origin(REST):
        delivered = await services.signals.broadcast("go", variables={"token": "abc"})
        correlation = await services.messages.correlate("paid", correlation_key="o-1")
    with request(USER), pytest.raises(PermissionDeniedError):
        await services.instances.pause(record.id)
    log = await entries(services)
    assert [(e.action, e.resource_type, e.resource_id, e.outcome) for e in log] == [
        ("signal.send", "signal", "go", "success"),
        ("message.send", "message", "paid", "success"),
        ("instance.pause", "instance", record.id, "denied"),
    ]
    assert log[0].details == {
        "tenant_id": None,
        "variables": ["token"],
        "delivered": delivered,
        "started_instance_ids": [],
    }
    assert log[1].details["instance_id"] == correlation.instance_id
    assert log[2].details["permission"] == "instance:control"
    assert (log[2].actor_id, log[2].tenant_id) == ("ursula", "acme")


async def test_history_cleanup_is_audited_unless_the_job_found_nothing(
    services: Services,
) -> None:
    job = RequestOrigin(transport="job", client="history-cleanup")
    with request_origin(job):
        await services.history.cleanup(ttl_days=30)
    assert await entries(services) == []
    with request(ADMIN):
        await services.history.cleanup(ttl_days=30, batch_size=10)
    [entry] = await entries(services)
    assert (entry.action, entry.resource_type, entry.actor_id) == (
        "history.cleanup",
        "history",
        "root",
    )
    assert entry.details["ttl_days"] == 30 and entry.details["instances_deleted"] == 0
    assert entry.details["cutoff"] is not None


async def test_reading_needs_audit_read_and_stays_in_the_tenant(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    with request(MODELER):
        await services.definitions.deploy(seed(), fmt=DefinitionFormat.JSON)
    with request(ADMIN):
        await services.definitions.deploy(seed(), fmt=DefinitionFormat.JSON, tenant_id="globex")
    for who in (OPERATOR, MODELER, USER):
        with acting_as(who), pytest.raises(PermissionDeniedError, match="audit:read"):
            await services.audit.list(AuditFilters())
    # Admins see every tenant, or the one they name.
    assert {e.tenant_id for e in await entries(services)} == {"acme", "globex"}
    assert {e.tenant_id for e in await entries(services, tenant_id="globex")} == {"globex"}
    # A non-admin that may read the log (a role granting audit:read) sees only its tenant.
    auditor = Principal(user_id="ann", roles=frozenset({"operator"}), tenant_id="acme")
    granted = permissions_module._ROLE_PERMISSIONS[Role.OPERATOR] | {Permission.AUDIT_READ}
    monkeypatch.setitem(permissions_module._ROLE_PERMISSIONS, Role.OPERATOR, granted)
    with acting_as(auditor):
        page = await services.audit.list(AuditFilters())
        assert {e.tenant_id for e in page.items} == {"acme"}
        with pytest.raises(PermissionDeniedError, match="tenant 'globex' is not yours"):
            await services.audit.list(AuditFilters(tenant_id="globex"))


async def test_list_pages_and_validates(services: Services) -> None:
    definition_id = await deploy_seed(services)
    with request_origin(REST):
        for n in range(5):
            await services.definitions.set_suspended(definition_id, suspended=n % 2 == 0)
    with acting_as(ADMIN):
        first = await services.audit.list(AuditFilters(), page_size=3)
        assert first.next_page_token is not None
        rest = await services.audit.list(
            AuditFilters(), page_size=3, page_token=first.next_page_token
        )
        assert rest.next_page_token is None
        assert len(first.items) + len(rest.items) == 5
        with pytest.raises(InvalidArgumentError, match="page_size"):
            await services.audit.list(AuditFilters(), page_size=0)
        with pytest.raises(InvalidArgumentError, match="outcome must be one of"):
            await services.audit.list(AuditFilters(outcome="nope"))
        with pytest.raises(InvalidArgumentError, match="different filters"):
            await services.audit.list(AuditFilters(action="x"), page_token=first.next_page_token)


def test_scrub_details_drops_credentials_and_variable_values() -> None:
    assert scrub_details(
        {
            "variables": {"password": "p", "amount": 3},
            "access_token": "t",
            "Authorization": "Bearer x",
            "nested": {"client_secret": "s", "keep": 1},
            "reason": "r",
        }
    ) == {"variables": ["amount", "password"], "nested": {"keep": 1}, "reason": "r"}
