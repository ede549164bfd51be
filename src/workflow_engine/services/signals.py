"""BPMN signals (broadcast to every waiting instance) and messages (to exactly one).

Receivers are found in the mirrored `event_subscription` table, never by scanning Temporal.
A signal of scope `process_instance` is delivered by the throwing instance to itself; what
reaches this service is the global broadcast.

Signal start events (as in Camunda / Flowable): a broadcast also starts one new instance of
the latest version of every definition whose top-level start event catches the signal
(suspended and non-executable latest versions start nothing), with the signal's variables as
start variables, after the waiting instances got it (so a new instance never receives the
signal that started it).

Request ids (services/idempotency.py): a caller that may repeat a broadcast or a correlation
(a client retrying, the engine's throw activities with their own identity) passes a
`request_id`, scoped by tenant. Instance ids and delivery ids derive from it, so a repeat
starts nothing twice and receivers drop a repeated delivery; the outcome is remembered, so a
repeat after success answers the same and acts no more. A message correlation remembers its
decision (receiver, or definition to start) before acting: a retry of an attempt interrupted
half-way finishes that decision instead of looking again (the wait it consumed is gone).

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
from collections.abc import AsyncIterator, Mapping
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
    ServiceError,
    UnavailableError,
    ValidationFailedError,
)
from workflow_engine.services.idempotency import (
    RequestLedger,
    RequestScope,
    check_request_id,
    fingerprint,
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


async def latest_active_models(
    database: Database, definitions: DefinitionService, *, tenant_id: str | None
) -> AsyncIterator[tuple[DefinitionRecord, ProcessModel]]:
    """The latest non-suspended version of every definition (of `tenant_id`), with its model.

    Paged through the store and parsed through the model cache; a definition deleted while
    the pages are read is skipped. Used to find message and signal start events.
    """
    token: str | None = None
    while True:
        async with database.session() as session:
            page, token = await DefinitionRepository(session).list(
                tenant_id=tenant_id,
                latest_only=True,
                suspended=False,
                page_size=200,
                page_token=token,
            )
        for record in page:
            try:
                model = await definitions.cached_model(record.id)
            except NotFoundError:
                continue  # deleted since the page was read
            yield record, model
        if token is None:
            return


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
        self._ledger = RequestLedger(database)

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
            request_id: The caller's id of this broadcast (at most 255 characters), scoped by
                tenant: started instances and the delivery get ids derived from it, and the
                outcome is remembered, so a repeated call starts no instance twice, delivers
                nothing twice and answers the same outcome.

        Raises:
            PermissionDeniedError: no `signal:send`, or a non-admin named another tenant.
            InvalidArgumentError: no name, variables that are not an object, a bad
                request_id.
            ConflictError: `request_id` was used before for another signal request.
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
        given_id = check_request_id(request_id)
        scope = None if given_id is None else RequestScope("signal", tenant, given_id)
        print_ = fingerprint({"name": signal_name, "variables": payload_vars})
        if scope is not None:
            earlier = await self._ledger.recall(scope, print_)
            if earlier is not None and earlier.completed:
                return _signal_outcome(earlier.outcome)
        starts = await self._signal_starts(signal_name, tenant_id=tenant)
        _check_start_variables(signal_name, starts, payload_vars)
        delivery_id = scope.derived("delivery") if scope is not None else str(uuid.uuid4())
        delivered = await self._deliver(signal_name, payload_vars, delivery_id, tenant_id=tenant)
        started: list[str] = []
        for start in starts:
            started.append(await self._start(start, payload_vars, user_id=starter, scope=scope))
        outcome = SignalOutcome(delivered, tuple(started))
        if scope is None:
            return outcome
        # A concurrent twin may have remembered first: both answer the first one's outcome.
        kept = await self._ledger.claim(
            scope,
            print_,
            {"delivered": delivered, "started_instance_ids": started},
            completed=True,
        )
        return _signal_outcome(kept.outcome)

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
        async for record, model in latest_active_models(
            self._db, self._definitions, tenant_id=tenant_id
        ):
            nodes = signal_starts(model, name)
            # A non-executable process deploys but never runs; the validator allows one
            # start per signal, the first is taken should an older definition have more.
            if nodes and model.process.executable:
                found.append(_SignalStart(record, model, nodes[0]))
        return found

    async def _start(
        self,
        start: _SignalStart,
        variables: dict[str, Any],
        *,
        user_id: str | None,
        scope: RequestScope | None,
    ) -> str:
        assert self._instances is not None  # _signal_starts found nothing without it
        instance_id = scope.derived(f"start:{start.definition.id}") if scope is not None else None
        record = await self._instances.start(
            definition_id=start.definition.id,
            variables=variables,
            user_id=user_id,
            start_node_id=start.node_id,
            instance_id=instance_id,
        )
        return record.id


def _signal_outcome(remembered: Mapping[str, Any]) -> SignalOutcome:
    return SignalOutcome(
        int(remembered.get("delivered", 0)),
        tuple(str(i) for i in remembered.get("started_instance_ids", ())),
    )


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


@dataclass(frozen=True, slots=True)
class _MessageDecision:
    """Where a message goes, decided before acting (remembered with a request id)."""

    instance_id: str
    started: bool
    #: For a start: the definition and its message start event.
    definition_id: int | None = None
    node_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "instance_id": self.instance_id,
            "started": self.started,
            "definition_id": self.definition_id,
            "node_id": self.node_id,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> _MessageDecision:
        definition_id = data.get("definition_id")
        node_id = data.get("node_id")
        return cls(
            instance_id=str(data["instance_id"]),
            started=bool(data.get("started")),
            definition_id=None if definition_id is None else int(definition_id),
            node_id=None if node_id is None else str(node_id),
        )


@dataclass(frozen=True, slots=True)
class _Message:
    """One correlation request, as checked."""

    name: str
    correlation_key: str | None
    business_key: str | None
    variables: dict[str, Any]
    tenant_id: str | None
    user_id: str | None
    scope: RequestScope | None


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
        self._ledger = RequestLedger(database)

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
        request_id: str | None = None,
    ) -> Correlation:
        """Deliver message `name` to the one instance waiting for it.

        The receiver is the instance with a wait on `name` whose correlation key equals
        `correlation_key`, and/or whose business key equals `business_key`. When none waits,
        a deployed latest definition with a message start event for `name` starts a new
        instance (with `business_key`). Only waits and definitions of the principal's tenant
        count (an admin: `tenant_id`, or every tenant without one): another tenant's wait is
        never reached, nor named in an answer.

        Args:
            name: The message's id or name.
            correlation_key: Select the receiver by its wait's correlation key.
            business_key: Select the receiver by its instance's business key; the business
                key of a started instance.
            variables: Given to the receiver, or the started instance's start variables.
            tenant_id: Limit to this tenant (a non-admin may name only their own).
            user_id: The starter of a started instance (absent or the caller's own).
            request_id: The caller's id of this correlation (at most 255 characters), scoped
                by tenant: the started instance's id and the delivery id derive from it and
                the decision is remembered, so a repeated call delivers nothing twice, starts
                nothing twice and answers the same instance.

        Raises:
            NotFoundError: nobody waits and no definition starts on this message.
            ConflictError: several instances wait (or several definitions start on it);
                `request_id` was used before for another message request.
            InvalidArgumentError: no name, variables that are not an object, a bad
                request_id.
            PermissionDeniedError: no `message:send`; a non-admin named another tenant, or
                a `user_id` that is not theirs.
        """
        who = require(Permission.MESSAGE_SEND)
        tenant = who.tenant_filter(tenant_id)
        user_id = acting_user(user_id, action="a message start", principal=who)
        message_name = _name(name, "message")
        payload_vars = require_variable_map(variables)
        self._limits.check(payload_vars)
        given_id = check_request_id(request_id)
        message = _Message(
            name=message_name,
            correlation_key=correlation_key,
            business_key=business_key,
            variables=payload_vars,
            tenant_id=tenant,
            user_id=user_id,
            scope=None if given_id is None else RequestScope("message", tenant, given_id),
        )
        if message.scope is None:
            return await self._carry_out(message, await self._decide(message))
        print_ = fingerprint(
            {
                "name": message_name,
                "correlation_key": correlation_key,
                "business_key": business_key,
                "variables": payload_vars,
            }
        )
        earlier = await self._ledger.recall(message.scope, print_)
        if earlier is None:
            decided = await self._decide(message)
            # A concurrent twin may have decided first: both carry out its decision.
            earlier = await self._ledger.claim(
                message.scope, print_, decided.as_json(), completed=False
            )
        decision = _MessageDecision.from_json(earlier.outcome)
        if earlier.completed:
            return Correlation(decision.instance_id, started=decision.started)
        try:
            result = await self._carry_out(message, decision)
        except UnavailableError:
            raise  # it may have happened: a retry carries out the same decision again
        except ServiceError:
            # Refused without effect (the receiver ended, the definition refuses the
            # variables): a retry decides afresh.
            await self._ledger.forget(message.scope)
            raise
        await self._ledger.complete(message.scope, decision.as_json())
        return result

    async def _decide(self, message: _Message) -> _MessageDecision:
        """The one waiting receiver, else the definition a message start event starts."""
        names = await event_names(
            self._db, self._definitions, "message", message.name, tenant_id=message.tenant_id
        )
        async with self._db.session() as session:
            waits = await SubscriptionRepository(session).find(
                "message",
                names,
                correlation_key=message.correlation_key,
                business_key=message.business_key,
                tenant_id=message.tenant_id,
            )
        receivers = _one_per_instance(waits)
        if len(receivers) > 1:
            ids = ", ".join(s.process_instance_id for s in receivers[:5])
            raise ConflictError(
                f"message '{message.name}' matches {len(receivers)} waiting instances ({ids}); "
                "give a correlation_key or business_key that selects one"
            )
        if receivers:
            return _MessageDecision(receivers[0].process_instance_id, started=False)
        definition_id, node_id = await self._message_start(
            message.name, tenant_id=message.tenant_id
        )
        # Without a request id the instance service picks a fresh id itself.
        instance_id = message.scope.derived("message-start") if message.scope is not None else ""
        return _MessageDecision(
            instance_id, started=True, definition_id=definition_id, node_id=node_id
        )

    async def _carry_out(self, message: _Message, decision: _MessageDecision) -> Correlation:
        """Deliver to the decided receiver, or start the decided instance."""
        if decision.started:
            assert decision.definition_id is not None  # a start decision names its definition
            started = await self._instances.start(
                definition_id=decision.definition_id,
                business_key=message.business_key,
                variables=message.variables,
                user_id=message.user_id,
                start_node_id=decision.node_id,
                instance_id=decision.instance_id or None,
            )
            return Correlation(started.id, started=True)
        delivery_id = (
            message.scope.derived("delivery") if message.scope is not None else str(uuid.uuid4())
        )
        try:
            await self._workflows.signal(
                decision.instance_id,
                SIGNAL_BPMN_MESSAGE,
                MessageDelivery(
                    name=message.name,
                    correlation_key=message.correlation_key,
                    variables=message.variables,
                    delivery_id=delivery_id,
                ),
            )
        except WorkflowGoneError as exc:
            raise NotFoundError(
                f"instance {decision.instance_id} waiting for message "
                f"'{message.name}' ended before the message arrived"
            ) from exc
        return Correlation(decision.instance_id, started=False)

    async def _message_start(self, name: str, *, tenant_id: str | None) -> tuple[int, str]:
        """The one latest active definition starting on message `name`, and its start event."""
        starters: list[tuple[int, str]] = []
        async for record, model in latest_active_models(
            self._db, self._definitions, tenant_id=tenant_id
        ):
            starters.extend((record.id, node_id) for node_id in message_starts(model, name))
        if not starters:
            raise NotFoundError(
                f"no instance waits for message '{name}' and no deployed definition starts on it"
            )
        if len({d for d, _ in starters}) > 1:
            raise ConflictError(
                f"message '{name}' starts {len(starters)} definitions: it must start only one"
            )
        return starters[0]


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
    return _top_level_starts(model, name, kind=EventKind.MESSAGE)


def signal_starts(model: ProcessModel, name: str) -> list[str]:
    """Top-level signal start events of `model` for signal `name` (by id or by name)."""
    return _top_level_starts(model, name, kind=EventKind.SIGNAL)


def _top_level_starts(model: ProcessModel, name: str, *, kind: EventKind) -> list[str]:
    # A start event names its message / signal by definition id; `name` may be either.
    if kind is EventKind.MESSAGE:
        ref_key = "message_ref"
        same_name = {m.id for m in model.message_definitions.values() if m.name == name}
    else:
        ref_key = "signal_ref"
        same_name = {sig.id for sig in model.signal_definitions.values() if sig.name == name}
    refs = {name} | same_name
    return [
        node.id
        for node in model.nodes.values()
        if node.type is NodeType.START_EVENT
        and node.scope is None
        and node.event_kind is kind
        and str(node.config.get(ref_key, "")) in refs
    ]
