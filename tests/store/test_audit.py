"""AuditRepository on both databases: append, filters, newest-first keyset pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from workflow_engine.store.audit import AuditFilters, AuditRepository, NewAuditEntry
from workflow_engine.store.database import Database
from workflow_engine.store.pagination import InvalidPageTokenError

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _entry(n: int, **overrides: object) -> NewAuditEntry:
    values: dict[str, object] = {
        "action": "instance.pause",
        "resource_type": "instance",
        "resource_id": f"i-{n}",
        "tenant_id": "acme",
        "actor_id": "olga",
        "actor_roles": ("operator",),
        "occurred_at": T0 + timedelta(minutes=n),
    }
    values.update(overrides)
    return NewAuditEntry(**values)  # type: ignore[arg-type]


async def test_append_round_trips_every_field(database: Database) -> None:
    async with database.session() as session:
        stored = await AuditRepository(session).append(
            NewAuditEntry(
                action="task.assign",
                resource_type="task",
                resource_id="t-1",
                tenant_id="acme",
                outcome="denied",
                actor_id="ursula",
                actor_kind="user",
                actor_roles=("user", "modeler"),
                details={"user_id": "bob", "permission": "task:manage"},
                transport="rest",
                client_address="10.0.0.7",
                user_agent="curl/8" + "x" * 600,
                request_id="req-1",
                occurred_at=T0,
            )
        )
    async with database.session() as session:
        items, token = await AuditRepository(session).list(AuditFilters())
    assert token is None
    assert items == [stored]
    got = items[0]
    assert got.occurred_at == T0 and got.occurred_at.tzinfo is not None
    assert (got.actor_id, got.actor_kind, got.actor_roles) == (
        "ursula",
        "user",
        ("modeler", "user"),
    )
    assert (got.action, got.resource_type, got.resource_id, got.outcome) == (
        "task.assign",
        "task",
        "t-1",
        "denied",
    )
    assert got.details == {"user_id": "bob", "permission": "task:manage"}
    assert (got.transport, got.client_address, got.request_id) == ("rest", "10.0.0.7", "req-1")
    assert got.user_agent is not None and len(got.user_agent) == 512  # clipped, not refused


async def test_append_rejects_bad_entries(database: Database) -> None:
    async with database.session() as session:
        repo = AuditRepository(session)
        with pytest.raises(ValueError, match="outcome must be one of success, denied"):
            await repo.append(_entry(1, outcome="maybe"))
        with pytest.raises(ValueError, match="action and resource_type are required"):
            await repo.append(_entry(1, action=""))


async def test_filters_combine(database: Database) -> None:
    async with database.session() as session:
        repo = AuditRepository(session)
        await repo.append(_entry(1))
        await repo.append(_entry(2, actor_id="bob", tenant_id="other"))
        await repo.append(_entry(3, action="definition.deploy", resource_type="definition"))
        await repo.append(_entry(4, outcome="denied", resource_id="i-1"))
        await repo.append(_entry(5, actor_id=None, actor_kind="system", actor_roles=("admin",)))

    async def ids(**filters: object) -> list[str | None]:
        async with database.session() as session:
            items, _ = await AuditRepository(session).list(AuditFilters(**filters))  # type: ignore[arg-type]
        return [i.resource_id for i in items]

    assert await ids() == ["i-5", "i-1", "i-3", "i-2", "i-1"]  # newest first
    assert await ids(actor_id="bob") == ["i-2"]
    assert await ids(tenant_id="other") == ["i-2"]
    assert await ids(action="definition.deploy") == ["i-3"]
    assert await ids(resource_type="instance", resource_id="i-1") == ["i-1", "i-1"]
    assert await ids(outcome="denied") == ["i-1"]
    assert await ids(tenant_id="acme", outcome="success", actor_id="olga") == ["i-3", "i-1"]
    between = {
        "occurred_after": T0 + timedelta(minutes=2),
        "occurred_before": T0 + timedelta(minutes=4),
    }
    assert await ids(**between) == ["i-1", "i-3", "i-2"]  # bounds inclusive
    assert await ids(occurred_after=T0 + timedelta(minutes=6)) == []


async def test_list_rejects_bad_filters(database: Database) -> None:
    async with database.session() as session:
        repo = AuditRepository(session)
        with pytest.raises(ValueError, match="outcome must be one of"):
            await repo.list(AuditFilters(outcome="ok"))
        with pytest.raises(ValueError, match="occurred_after must carry a time zone"):
            await repo.list(AuditFilters(occurred_after=datetime(2026, 1, 1)))
        with pytest.raises(ValueError, match="not be later than occurred_before"):
            await repo.list(AuditFilters(occurred_after=T0, occurred_before=T0 - timedelta(1)))
        with pytest.raises(ValueError, match="page_size"):
            await repo.list(AuditFilters(), page_size=0)


async def test_keyset_pages_walk_everything_once(database: Database) -> None:
    async with database.session() as session:
        repo = AuditRepository(session)
        for n in range(7):
            await repo.append(_entry(n))
        # Two entries at the same instant: the id breaks the tie.
        await repo.append(_entry(3, resource_id="i-3b"))
    seen: list[str | None] = []
    token: str | None = None
    pages = 0
    while True:
        async with database.session() as session:
            items, token = await AuditRepository(session).list(
                AuditFilters(tenant_id="acme"), page_size=3, page_token=token
            )
        seen += [i.resource_id for i in items]
        pages += 1
        if token is None:
            break
    assert pages == 3
    assert seen == ["i-6", "i-5", "i-4", "i-3b", "i-3", "i-2", "i-1", "i-0"]
    # An entry arriving meanwhile sorts before the pages already read, never into them.
    async with database.session() as session:
        first, token = await AuditRepository(session).list(AuditFilters(), page_size=4)
        await AuditRepository(session).append(_entry(9))
        rest, _ = await AuditRepository(session).list(
            AuditFilters(), page_size=10, page_token=token
        )
    assert [i.resource_id for i in first + rest] == seen


async def test_page_token_bound_to_its_filters(database: Database) -> None:
    async with database.session() as session:
        repo = AuditRepository(session)
        for n in range(3):
            await repo.append(_entry(n))
        _, token = await repo.list(AuditFilters(tenant_id="acme"), page_size=1)
        assert token is not None
        with pytest.raises(InvalidPageTokenError, match="different filters"):
            await repo.list(AuditFilters(tenant_id="other"), page_token=token)
        with pytest.raises(InvalidPageTokenError, match="malformed"):
            await repo.list(AuditFilters(), page_token="%%%")
