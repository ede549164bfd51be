"""BPMN signals (broadcast to every waiting instance) and messages (to exactly one).

Receivers are found in the mirrored `event_subscription` table, never by scanning Temporal.
A signal of scope `process_instance` is delivered by the throwing instance to itself; what
reaches this service is the global broadcast.

Signal start events (as in Camunda / Flowable): a broadcast also starts one new instance of
the latest version of every definition whose top-level start event catches the signal
(suspended and non-executable latest versions start nothing), with the signal's variables as
start variables, after the waiting instances got it (so a new instance never receives the
signal that started it). A caller that may be retried (the engine's throw activity) passes a
`request_id`: instance ids and the delivery id derive from it, so a retry starts nothing twice
and waiting instances drop the repeated delivery.

Authorization (issue 6): sending a signal needs `signal:send`, correlating a message
`message:send`. Both stay inside the principal's tenant: a non-admin's signal reaches only
waits of their tenant, and a message whose key matches only another tenant's wait answers
exactly like no match at all. An admin may name a tenant; an admin naming none reaches every
tenant (as the system principal, i.e. internal callers and auth-off deployments, always did;
thrown events of the engine name their instance's tenant).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from workflow_engine.engine.contract import (
    SIGNAL_BPMN_MESSAGE,
    SIGNAL_BPMN_SIGNAL,
    MessageDelivery,
    SignalDelivery,
)
from workflow_engine.model.types import EventKind, NodeType, ProcessModel
from workflow_engine.security.permissions import Permission, require
from workflow_engine.services.access import acting_user
from workflow_engine.services.audit import audited
from workflow_engine.services.definitions import DefinitionService
from workflow_engine.services.errors import (
    ConflictError,
    InvalidArgumentError,
    NotFoundError,
    ValidationFailedError,
)
from workflow_engine.services.instances import InstanceService
from workflow_engine.services.payload_limits import PayloadLimits
from workflow_engine.services.variables import check_variables, require_variable_map
from workflow_engine.services.workflows import WorkflowGateway, WorkflowGoneError
from workflow_engine.store.database import Database
from workflow_engine.store.definitions import DefinitionRecord, DefinitionRepository
from workflow_engine.store.subscriptions import Subscription, SubscriptionRepository

#: Signals sent concurrently during one broadcast.
_FAN_OUT = 32
#: Namespace of the ids derived from a broadcast's `request_id` (uuid5: stable, 36 chars).
_REQUEST_NAMESPACE = uuid.UUID("0b6f8c8e-5a43-4f0e-9d35-7f3b1c2a9e51")


def _name(name: object, what: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgumentError(f"name is required: the {what} to send")
    return name.strip()


def _one_per_instance(subscriptions: list[Subscription]) -> list[Subscription]:
    # An instance waiting twice on one name gets one delivery; it wakes every wait itself.
    seen: dict[str, Subscription] = {}
    for sub in subscriptions:
        seen.setdefault(sub.process_instance_id, sub)
    return list(seen.values())


@dataclass(frozen=True, slots=True)
class SignalOutcome:
    """What one signal broadcast did.

    Attributes:
        delivered: How many waiting instances received the signal.
        started_instance_ids: The instances its signal start events started (one per
            definition, in deployment order).
    """

    delivered: int
    started_instance_ids: tuple[str, ...] = ()

    @property
    def started(self) -> int:
        """How many instances the signal started."""
        return len(self.started_instance_ids)


@dataclass(frozen=True, slots=True)
class _SignalStart:
    """A definition (latest version) that a signal starts, at which start event."""

    definition: DefinitionRecord
    model: ProcessModel
    node_id: str


def derived_id(request_id: str, purpose: str) -> str:
    """A stable UUID for `purpose` within the request `request_id` (same inputs, same id)."""
    return str(uuid.uuid5(_REQUEST_NAMESPACE, f"{request_id}\n{purpose}"))


class SignalService:
    """Broadcasts BPMN signals and starts instances at signal start events.

    Args:
        database: The application database.
        workflows: The door to Temporal.
        definitions: To find the signal's other spelling and signal start events.
        instances: To start instances at signal start events (None: signals start nothing).
        payload_limits: Limits of the signal's variables.
    """

    def __init__(
        self,
        *,
        database: Database,
        workflows: WorkflowGateway,
        definitions: DefinitionService | None = None,
        instances: InstanceService | None = None,
        payload_limits: PayloadLimits | None = None,
    ) -> None:
        self._db = database
        self._workflows = workflows
        self._definitions = definitions
        self._instances = instances
        self._limits = payload_limits or PayloadLimits()

    async def broadcast(
        self,
        name: str,
        *,
        variables: Mapping[str, Any] | None = None,
        tenant_id: str | None = None,
    ) -> int:
        """`send`, answering only how many waiting instances received the signal.

        Kept for callers that report only deliveries; the signal starts instances all the
        same (see `send`).
        """
        outcome = await self.send(name, variables=variables, tenant_id=tenant_id)
        return outcome.delivered

    @audited("signal.send")
    async def send(
        self,
        name: str,
        *,
        variables: Mapping[str, Any] | None = None,
        tenant_id: str | None = None,
        request_id: str | None = None,
    ) -> SignalOutcome:
        """Deliver signal `name` to every waiting instance and start its signal start events.

        Waiting instances that ended meanwhile are skipped (not counted). Then every latest,
        active, executable definition whose top-level start event catches `name` (by signal
        definition id or name) gets one new instance, started as the caller (its user id is
        the starter) with the signal's variables. Only instances and definitions of the
        principal's tenant are reached (an admin: `tenant_id`, or every tenant without one).

        Args:
            name: The signal's id or name.
            variables: Given to the receivers and as start variables of started instances.
            tenant_id: Limit to this tenant (a non-admin may name only their own).
            request_id: A retried caller's stable id of this broadcast: started instances and
                the delivery get ids derived from it, so a repeated call starts no instance
                twice and receivers ignore the repeated delivery.

        Raises:
            PermissionDeniedError: no `signal:send`, or a non-admin named another tenant.
            InvalidArgumentError: no name, or variables that are not an object.
            ValidationFailedError: a definition the signal starts refuses the variables
                (missing required / wrong type); nothing was delivered nor started.
            UnavailableError: Temporal is unreachable.
        """
        who = require(Permission.SIGNAL_SEND)
        tenant = who.tenant_filter(tenant_id)
        starter = acting_user(None, principal=who)
        signal_name = _name(name, "signal")
        payload_vars = require_variable_map(variables)
        self._limits.check(payload_vars)
        starts = await self._signal_starts(signal_name, tenant_id=tenant)
        _check_start_variables(signal_name, starts, payload_vars)
        delivery_id = (
            derived_id(request_id, "delivery") if request_id is not None else str(uuid.uuid4())
        )
        delivered = await self._deliver(signal_name, payload_vars, delivery_id, tenant_id=tenant)
        started: list[str] = []
        for start in starts:
            started.append(
                await self._start(start, payload_vars, user_id=starter, request_id=request_id)
            )
        return SignalOutcome(delivered, tuple(started))

    async def _deliver(
        self,
        signal_name: str,
        payload_vars: dict[str, Any],
        delivery_id: str,
        *,
        tenant_id: str | None,
    ) -> int:
        names = await event_names(
            self._db, self._definitions, "signal", signal_name, tenant_id=tenant_id
        )
        async with self._db.session() as session:
            waits = await SubscriptionRepository(session).find("signal", names, tenant_id=tenant_id)
        receivers = _one_per_instance(waits)
        gate = asyncio.Semaphore(_FAN_OUT)

        async def deliver(sub: Subscription) -> bool:
            async with gate:
                try:
                    await self._workflows.signal(
                        sub.process_instance_id,
                        SIGNAL_BPMN_SIGNAL,
                        SignalDelivery(
                            name=signal_name, variables=payload_vars, delivery_id=delivery_id
                        ),
                    )
                except WorkflowGoneError:
                    return False
                return True

        results = await asyncio.gather(*(deliver(s) for s in receivers))
        return sum(results)

    async def _signal_starts(self, name: str, *, tenant_id: str | None) -> list[_SignalStart]:
        """Latest active executable definitions with a top-level start event for `name`."""
        if self._instances is None or self._definitions is None:
            return []
        found: list[_SignalStart] = []
        token: str | None = None
        while True:
            async with self._db.session() as session:
                page, token = await DefinitionRepository(session).list(
                    tenant_id=tenant_id,
                    latest_only=True,
                    suspended=False,
                    page_size=200,
                    page_token=token,
                )
            for record in page:
                try:
                    model = await self._definitions.cached_model(record.id)
                except NotFoundError:
                    continue  # deleted since the page was read
                nodes = signal_starts(model, name)
                # A non-executable process deploys but never runs; the validator allows one
                # start per signal, the first is taken should an older definition have more.
                if nodes and model.process.executable:
                    found.append(_SignalStart(record, model, nodes[0]))
            if token is None:
                return found

    async def _start(
        self,
        start: _SignalStart,
        variables: dict[str, Any],
        *,
        user_id: str | None,
        request_id: str | None,
    ) -> str:
        assert self._instances is not None  # _signal_starts found nothing without it
        instance_id = (
            derived_id(request_id, f"start:{start.definition.id}")
            if request_id is not None
            else None
        )
        record = await self._instances.start(
            definition_id=start.definition.id,
            variables=variables,
            user_id=user_id,
            start_node_id=start.node_id,
            instance_id=instance_id,
        )
        return record.id


def _check_start_variables(
    name: str, starts: list[_SignalStart], variables: Mapping[str, Any]
) -> None:
    """Refuse the broadcast before any effect when a definition it starts refuses `variables`.

    Raises:
        ValidationFailedError: naming the definition and the first variable problem.
    """
    for start in starts:
        issues = check_variables(start.model.process.variables, variables, require=True)
        if issues:
            first = issues[0]
            raise ValidationFailedError(
                f"signal '{name}' starts definition '{start.definition.key}' version "
                f"{start.definition.version}, which refuses its variables: "
                f"{first.path}: {first.message}",
                details=issues,
            )


@dataclass(frozen=True, slots=True)
class Correlation:
    """Where a message went: the instance, and whether the message started it."""

    instance_id: str
    started: bool


class MessageService:
    """Correlates BPMN messages to one waiting instance, or starts one.

    Args:
        database: The application database.
        workflows: The door to Temporal.
        definitions: To find message start events.
        instances: To start an instance at a message start event.
    """

    def __init__(
        self,
        *,
        database: Database,
        workflows: WorkflowGateway,
        definitions: DefinitionService,
        instances: InstanceService,
        payload_limits: PayloadLimits | None = None,
    ) -> None:
        self._db = database
        self._workflows = workflows
        self._definitions = definitions
        self._instances = instances
        self._limits = payload_limits or PayloadLimits()

    @audited("message.send")
    async def correlate(
        self,
        name: str,
        *,
        correlation_key: str | None = None,
        business_key: str | None = None,
        variables: Mapping[str, Any] | None = None,
        tenant_id: str | None = None,
        user_id: str | None = None,
    ) -> Correlation:
        """Deliver message `name` to the one instance waiting for it.

        The receiver is the instance with a wait on `name` whose correlation key equals
        `correlation_key`, and/or whose business key equals `business_key`. When none waits,
        a deployed latest definition with a message start event for `name` starts a new
        instance (with `business_key`). Only waits and definitions of the principal's tenant
        count (an admin: `tenant_id`, or every tenant without one): another tenant's wait is
        never reached, nor named in an answer.

        Raises:
            NotFoundError: nobody waits and no definition starts on this message.
            ConflictError: several instances wait (or several definitions start on it).
            PermissionDeniedError: no `message:send`; a non-admin named another tenant, or
                a `user_id` that is not theirs.
        """
        who = require(Permission.MESSAGE_SEND)
        tenant = who.tenant_filter(tenant_id)
        user_id = acting_user(user_id, action="a message start", principal=who)
        message_name = _name(name, "message")
        payload_vars = require_variable_map(variables)
        self._limits.check(payload_vars)
        names = await event_names(
            self._db, self._definitions, "message", message_name, tenant_id=tenant
        )
        async with self._db.session() as session:
            waits = await SubscriptionRepository(session).find(
                "message",
                names,
                correlation_key=correlation_key,
                business_key=business_key,
                tenant_id=tenant,
            )
        receivers = _one_per_instance(waits)
        if len(receivers) > 1:
            ids = ", ".join(s.process_instance_id for s in receivers[:5])
            raise ConflictError(
                f"message '{message_name}' matches {len(receivers)} waiting instances ({ids}); "
                "give a correlation_key or business_key that selects one"
            )
        if receivers:
            target = receivers[0]
            try:
                await self._workflows.signal(
                    target.process_instance_id,
                    SIGNAL_BPMN_MESSAGE,
                    MessageDelivery(
                        name=message_name,
                        correlation_key=correlation_key,
                        variables=payload_vars,
                        delivery_id=str(uuid.uuid4()),
                    ),
                )
            except WorkflowGoneError as exc:
                raise NotFoundError(
                    f"instance {target.process_instance_id} waiting for message "
                    f"'{message_name}' ended before the message arrived"
                ) from exc
            return Correlation(target.process_instance_id, started=False)
        return await self._start_by_message(
            message_name,
            business_key=business_key,
            variables=payload_vars,
            tenant_id=tenant,
            user_id=user_id,
        )

    async def _start_by_message(
        self,
        name: str,
        *,
        business_key: str | None,
        variables: dict[str, Any],
        tenant_id: str | None,
        user_id: str | None,
    ) -> Correlation:
        starters: list[tuple[int, str]] = []
        token: str | None = None
        while True:
            async with self._db.session() as session:
                page, token = await DefinitionRepository(session).list(
                    tenant_id=tenant_id,
                    latest_only=True,
                    suspended=False,
                    page_size=200,
                    page_token=token,
                )
            for record in page:
                model = await self._definitions.cached_model(record.id)
                starters.extend((record.id, node_id) for node_id in message_starts(model, name))
            if token is None:
                break
        if not starters:
            raise NotFoundError(
                f"no instance waits for message '{name}' and no deployed definition starts on it"
            )
        if len({d for d, _ in starters}) > 1:
            raise ConflictError(
                f"message '{name}' starts {len(starters)} definitions: it must start only one"
            )
        definition_id, node_id = starters[0]
        started = await self._instances.start(
            definition_id=definition_id,
            business_key=business_key,
            variables=variables,
            user_id=user_id,
            start_node_id=node_id,
        )
        return Correlation(started.id, started=True)


async def event_names(
    database: Database,
    definitions: DefinitionService | None,
    kind: str,
    name: str,
    *,
    tenant_id: str | None = None,
) -> set[str]:
    """`name` plus what it is also called in the definitions of waiting instances.

    A definition declares a signal / message with an id (what `signal_ref` / `message_ref`
    name) and a display name (BPMN matches signals by name); a caller may use either, and a
    wait may be mirrored under either, so both spellings find it. With `tenant_id`, only that
    tenant's definitions add spellings (another tenant's declarations must not widen a send).
    """
    names = {name}
    if definitions is None:
        return names
    async with database.session() as session:
        waiting = await SubscriptionRepository(session).waiting_definitions(
            kind, tenant_id=tenant_id
        )
    for definition_id in waiting:
        try:
            model = await definitions.cached_model(definition_id)
        except NotFoundError:
            continue
        declared = model.signal_definitions if kind == "signal" else model.message_definitions
        for decl_id, decl in declared.items():
            if name in (decl_id, decl.name):
                names.update(n for n in (decl_id, decl.name) if n)
    return names


def message_starts(model: ProcessModel, name: str) -> list[str]:
    """Top-level message start events of `model` for message `name` (by id or by name)."""
    refs = {name}
    refs.update(m.id for m in model.message_definitions.values() if m.name == name)
    found: list[str] = []
    for node in model.nodes.values():
        if node.type is not NodeType.START_EVENT or node.scope is not None:
            continue
        if node.event_kind is not EventKind.MESSAGE:
            continue
        if str(node.config.get("message_ref", "")) in refs:
            found.append(node.id)
    return found


def signal_starts(model: ProcessModel, name: str) -> list[str]:
    """Top-level signal start events of `model` for signal `name` (by id or by name)."""
    refs = {name}
    refs.update(sig.id for sig in model.signal_definitions.values() if sig.name == name)
    found: list[str] = []
    for node in model.nodes.values():
        if node.type is not NodeType.START_EVENT or node.scope is not None:
            continue
        if node.event_kind is not EventKind.SIGNAL:
            continue
        if str(node.config.get("signal_ref", "")) in refs:
            found.append(node.id)
    return found
