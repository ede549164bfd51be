"""Event subscriptions: the mirrored waits of instances on BPMN signals and messages."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from workflow_engine.store.tables import (
    ACTIVE_INSTANCE_STATUSES,
    SUBSCRIPTION_KINDS,
    EventSubscription,
    ProcessInstance,
)
from workflow_engine.store.types import utcnow


@dataclass(frozen=True, slots=True)
class Subscription:
    """One wait, with the owning instance's workflow id and business key."""

    process_instance_id: str
    workflow_id: str
    business_key: str | None
    kind: str
    name: str
    correlation_key: str | None
    node_id: str
    execution_id: str
    tenant_id: str


@dataclass(frozen=True, slots=True)
class NewSubscription:
    """What `replace` writes for one wait."""

    kind: str
    name: str
    node_id: str
    execution_id: str
    correlation_key: str | None = None


class SubscriptionRepository:
    """Subscription rows, within the caller's session (the caller commits).

    Args:
        session: The unit of work to run in.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def replace(
        self, instance_id: str, subscriptions: Iterable[NewSubscription], *, tenant_id: str = ""
    ) -> None:
        """Make `subscriptions` the complete set of waits of an instance.

        Raises:
            ValueError: for an unknown kind or an empty name.
        """
        items = list(subscriptions)
        for index, item in enumerate(items):
            if item.kind not in SUBSCRIPTION_KINDS:
                raise ValueError(
                    f"subscriptions[{index}].kind must be signal or message, got {item.kind!r}"
                )
            if not item.name:
                raise ValueError(f"subscriptions[{index}].name must not be empty")
        await self.clear(instance_id)
        now = utcnow()
        self._session.add_all(
            EventSubscription(
                process_instance_id=instance_id,
                kind=item.kind,
                name=item.name,
                correlation_key=item.correlation_key,
                node_id=item.node_id,
                execution_id=item.execution_id,
                tenant_id=tenant_id,
                created_at=now,
            )
            for item in items
        )
        await self._session.flush()

    async def clear(self, instance_id: str) -> None:
        """Remove every wait of an instance."""
        await self._session.execute(
            delete(EventSubscription)
            .where(EventSubscription.process_instance_id == instance_id)
            .execution_options(synchronize_session=False)
        )

    async def find(
        self,
        kind: str,
        name: str | Collection[str],
        *,
        correlation_key: str | None = None,
        business_key: str | None = None,
        tenant_id: str | None = None,
    ) -> list[Subscription]:
        """Waits of instances that have not ended on `kind` `name`.

        Args:
            kind: signal or message.
            name: The signal / message name (or several names: any of them).
            correlation_key: Only waits with exactly this correlation key.
            business_key: Only waits of instances with this business key.
            tenant_id: Only this tenant (None: every tenant).
        """
        stmt = (
            select(EventSubscription, ProcessInstance.workflow_id, ProcessInstance.business_key)
            .join(ProcessInstance, ProcessInstance.id == EventSubscription.process_instance_id)
            .where(
                EventSubscription.kind == kind,
                EventSubscription.name.in_([name] if isinstance(name, str) else list(name)),
                ProcessInstance.status.in_(ACTIVE_INSTANCE_STATUSES),
            )
        )
        if correlation_key is not None:
            stmt = stmt.where(EventSubscription.correlation_key == correlation_key)
        if business_key is not None:
            stmt = stmt.where(ProcessInstance.business_key == business_key)
        if tenant_id is not None:
            stmt = stmt.where(EventSubscription.tenant_id == tenant_id)
        stmt = stmt.order_by(EventSubscription.id)
        return [
            Subscription(
                process_instance_id=sub.process_instance_id,
                workflow_id=workflow_id,
                business_key=business_key_value,
                kind=sub.kind,
                name=sub.name,
                correlation_key=sub.correlation_key,
                node_id=sub.node_id,
                execution_id=sub.execution_id,
                tenant_id=sub.tenant_id,
            )
            for sub, workflow_id, business_key_value in (await self._session.execute(stmt)).all()
        ]

    async def waiting_definitions(self, kind: str, *, tenant_id: str | None = None) -> list[int]:
        """Ids of the definitions whose running instances wait on some `kind` event.

        Args:
            kind: signal or message.
            tenant_id: Only waits of this tenant (None: every tenant).
        """
        stmt = (
            select(ProcessInstance.process_definition_id)
            .join(EventSubscription, EventSubscription.process_instance_id == ProcessInstance.id)
            .where(
                EventSubscription.kind == kind,
                ProcessInstance.status.in_(ACTIVE_INSTANCE_STATUSES),
                ProcessInstance.process_definition_id.is_not(None),
            )
            .distinct()
        )
        if tenant_id is not None:
            stmt = stmt.where(EventSubscription.tenant_id == tenant_id)
        return [int(d) for d in (await self._session.execute(stmt)).scalars() if d is not None]

    async def of_instance(self, instance_id: str) -> list[Subscription]:
        """Every wait of one instance."""
        stmt = (
            select(EventSubscription, ProcessInstance.workflow_id, ProcessInstance.business_key)
            .join(ProcessInstance, ProcessInstance.id == EventSubscription.process_instance_id)
            .where(EventSubscription.process_instance_id == instance_id)
            .order_by(EventSubscription.id)
        )
        return [
            Subscription(
                process_instance_id=sub.process_instance_id,
                workflow_id=workflow_id,
                business_key=business_key,
                kind=sub.kind,
                name=sub.name,
                correlation_key=sub.correlation_key,
                node_id=sub.node_id,
                execution_id=sub.execution_id,
                tenant_id=sub.tenant_id,
            )
            for sub, workflow_id, business_key in (await self._session.execute(stmt)).all()
        ]
