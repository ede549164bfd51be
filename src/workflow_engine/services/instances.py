"""Process instances: start, read, list, control, variables.

Control is pause / resume / terminate / cancel / retry.

Reads come from the database (the engine's projection); every change goes to the instance's
workflow through Temporal, which reports back through runtime batches.

Authorization (issue 6): starting needs `instance:start` (and, when the definition names
candidate starters, being one of them unless the caller may control instances); reads need
`instance:read` (the tenant) or `instance:read_own` (instances one started); control needs
`instance:control`, setting variables `instance:variables`. An instance outside the caller's
scope answers NotFoundError exactly like a missing one.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from workflow_engine.engine.contract import (
    SIGNAL_RETRY,
    SIGNAL_SET_VARIABLES,
    UPDATE_CANCEL,
    UPDATE_PAUSE,
    UPDATE_RESUME,
    UPDATE_TERMINATE,
    ControlRequest,
    ControlResult,
    RetryRequest,
    SetVariablesRequest,
    StartInstanceInput,
    workflow_id,
)
from workflow_engine.model.types import ProcessModel
from workflow_engine.security import Permission, Principal, permissions_of, require
from workflow_engine.services.access import (
    InstanceScope,
    acting_user,
    instance_scope,
    object_scope,
    require_instance_read,
)
from workflow_engine.services.audit import audited
from workflow_engine.services.definitions import DefinitionService
from workflow_engine.services.errors import (
    ConflictError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
)
from workflow_engine.services.idempotency import RequestScope, check_request_id
from workflow_engine.services.masking import masked_variables
from workflow_engine.services.payload_limits import PayloadLimits
from workflow_engine.services.reconciler import ReconcilerService
from workflow_engine.services.variables import (
    check_variables,
    raise_if_invalid,
    require_variable_map,
    with_defaults,
)
from workflow_engine.services.workflows import (
    UpdateOutcomeUnknownError,
    WorkflowExistsError,
    WorkflowGateway,
    WorkflowGoneError,
    WorkflowUnresponsiveError,
)
from workflow_engine.store.database import Database
from workflow_engine.store.definitions import DefinitionRecord, DefinitionRepository
from workflow_engine.store.instances import (
    EventRecord,
    InstanceFilters,
    InstanceRecord,
    InstanceRepository,
)
from workflow_engine.store.runtime import lock_instance_row, upsert_variables

MAX_PAGE_SIZE = 500

#: The status a terminate / cancel update ends an instance with.
_ENDS_AS = {UPDATE_TERMINATE: "terminated", UPDATE_CANCEL: "cancelled"}

#: Event types that open and close an incident (written by the interpreter).
INCIDENT_OPENED = "incident.created"
INCIDENT_CLOSED = ("incident.resolved", "incident.retried")


@dataclass(frozen=True, slots=True)
class Incident:
    """An open incident, as the event log tells it."""

    node_id: str | None
    execution_id: str | None
    error_type: str | None
    message: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class InstanceDetail:
    """One instance with its variables and open incidents."""

    instance: InstanceRecord
    variables: dict[str, Any]
    incidents: list[Incident] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class InstancePage:
    """One page of an instance list."""

    items: list[InstanceRecord]
    next_page_token: str | None


class InstanceService:
    """Use cases of process instances.

    Args:
        database: The application database.
        definitions: The definition service (resolution and the model cache).
        workflows: The door to Temporal.
        implemented_listeners: Listener classes some worker implements (passed to each
            instance; others are recorded as skipped).
        max_steps_without_wait: Each new instance's step budget (docs/security.md).
        max_instance_variables_bytes: Each new instance's variables budget.
        reconciler: Writes the end of an instance whose workflow ended outside the engine
            (a ghost found by a control call, or a terminate done in Temporal itself).
        control_timeout: Seconds a control update may take before the workflow counts as
            unresponsive.
    """

    def __init__(
        self,
        *,
        database: Database,
        definitions: DefinitionService,
        workflows: WorkflowGateway,
        implemented_listeners: Collection[str] = (),
        payload_limits: PayloadLimits | None = None,
        max_steps_without_wait: int = StartInstanceInput.max_steps_without_wait,
        max_instance_variables_bytes: int = StartInstanceInput.max_variables_bytes,
        reconciler: ReconcilerService | None = None,
        control_timeout: float = 10.0,
    ) -> None:
        self._max_steps = max_steps_without_wait
        self._max_variables_bytes = max_instance_variables_bytes
        self._db = database
        self._definitions = definitions
        self._workflows = workflows
        self._reconciler = reconciler or ReconcilerService(database=database, workflows=workflows)
        self._control_timeout = control_timeout
        self._listeners = sorted(set(implemented_listeners))
        self._limits = payload_limits or PayloadLimits()

    async def resolve_definition(
        self,
        *,
        definition_key: str | None = None,
        definition_id: int | None = None,
        version: int | None = None,
        tenant_id: str | None = None,
    ) -> DefinitionRecord:
        """The definition version a start addresses (by id, or key + optional version).

        With no tenant, a non-admin looks in their own tenant; an admin finds a key deployed
        in exactly one tenant in that tenant.

        Raises:
            PermissionDeniedError: without `definition:read`; a non-admin naming another
                tenant.
            InvalidArgumentError: neither or both of key and id; an ambiguous key.
            NotFoundError: no such definition (or one of another tenant).
        """
        principal = require(Permission.DEFINITION_READ)
        if (definition_key is None) == (definition_id is None):
            raise InvalidArgumentError("give exactly one of definition_key and definition_id")
        if definition_id is not None:
            return await self._definitions.get(definition_id)
        assert definition_key is not None
        tenant_id = principal.tenant_filter(tenant_id)
        if tenant_id is not None:
            return await self._definitions.get_by_key(
                definition_key, version=version, tenant_id=tenant_id
            )
        if version is not None and version < 1:
            raise InvalidArgumentError(f"version must be 1 or more, got {version}")
        async with self._db.session() as session:
            # Which tenants have the key (cheap: no definition documents are loaded).
            tenants = await DefinitionRepository(session).tenants_of_key(definition_key)
            if len(tenants) > 1:
                raise InvalidArgumentError(
                    f"definition key '{definition_key}' exists in tenants {tenants}: give tenant_id"
                )
            found = None
            if tenants:
                found = await DefinitionRepository(session).get_by_key(
                    tenants[0], definition_key, version
                )
        if found is None:
            which = f"version {version} of " if version is not None else ""
            raise NotFoundError(f"{which}definition key '{definition_key}' does not exist")
        return found

    async def start(
        self,
        *,
        definition_key: str | None = None,
        definition_id: int | None = None,
        version: int | None = None,
        business_key: str | None = None,
        variables: Mapping[str, Any] | None = None,
        user_id: str | None = None,
        tenant_id: str | None = None,
        start_node_id: str | None = None,
        instance_id: str | None = None,
        request_id: str | None = None,
    ) -> InstanceRecord:
        """Start an instance of a deployed definition.

        `user_id` (the starter) must be absent or the caller's own with authentication on;
        absent, the caller is recorded as the starter.

        `instance_id` (default: a fresh UUID) lets a caller that may be retried make the
        start idempotent with an id derived from its own request: when an instance with that
        id exists already, it is returned as it is (its workflow is started if an earlier
        attempt stopped between the row and the workflow) and nothing is started twice.

        Raises:
            PermissionDeniedError: without `instance:start`; `user_id` naming someone else;
                not a candidate starter of a definition that names candidate starters.
            InvalidArgumentError / NotFoundError: see `resolve_definition`.
            ConflictError: the definition is suspended or not executable.
            ValidationFailedError: variables miss a required one or have a wrong type; the
                message and the detail path name the variable (`variables.email`).
            UnavailableError: Temporal did not take the instance (nothing is left behind).
            ConflictError: `instance_id` names an instance of another definition.
        """
        principal = require(Permission.INSTANCE_START)
        user_id = acting_user(user_id)
        given = require_variable_map(variables)
        self._limits.check(given)
        definition = await self.resolve_definition(
            definition_key=definition_key,
            definition_id=definition_id,
            version=version,
            tenant_id=tenant_id,
        )
        if definition.suspended:
            raise ConflictError(
                f"definition '{definition.key}' version {definition.version} is suspended: "
                "activate it to start instances"
            )
        model = await self._definitions.cached_model(definition.id)
        _check_candidate_starter(principal, definition, model)
        if not model.process.executable:
            raise ConflictError(
                f"definition '{definition.key}' is not executable (process.executable is false)"
            )
        if start_node_id is not None and start_node_id not in model.nodes:
            raise InvalidArgumentError(f"start node '{start_node_id}' is not in the definition")
        declarations = model.process.variables
        raise_if_invalid(check_variables(declarations, given, require=True))
        start_variables = with_defaults(declarations, given)
        earlier: InstanceRecord | None = None
        request_id = check_request_id(request_id)
        if request_id is not None:
            if instance_id is not None:
                raise InvalidArgumentError("give request_id or instance_id, not both")
            scope = RequestScope(
                kind="start", tenant_id=definition.tenant_id, request_id=request_id
            )
            instance_id = scope.derived("instance")
        if instance_id is None:
            instance_id = str(uuid.uuid4())
        else:
            earlier = await self._earlier_start(instance_id, definition)
            if earlier is not None and earlier.last_sequence > 0:
                return earlier  # its workflow has reported: it runs (or ran) already
        if earlier is None:
            async with self._db.session() as session:
                record = await InstanceRepository(session).create(
                    instance_id=instance_id,
                    workflow_id=workflow_id(instance_id),
                    definition_id=definition.id,
                    definition_key=definition.key,
                    definition_version=definition.version,
                    tenant_id=definition.tenant_id,
                    business_key=business_key,
                    start_user_id=user_id,
                    name=model.process.name or definition.name or None,
                )
                # Visible at once; the workflow's first batch writes the same values again.
                await upsert_variables(session, instance_id, start_variables)
        else:
            record = earlier
        document = json.loads(definition.model_json)
        start = StartInstanceInput(
            instance_id=instance_id,
            definition_id=definition.id,
            definition_key=definition.key,
            definition_version=definition.version,
            content_hash=definition.content_hash,
            document=document,
            variables=start_variables,
            business_key=business_key,
            initiator=user_id,
            tenant_id=definition.tenant_id,
            start_node_id=start_node_id,
            implemented_listeners=list(self._listeners),
            max_steps_without_wait=self._max_steps,
            max_variables_bytes=self._max_variables_bytes,
        )
        try:
            await self._workflows.start(start)
        except WorkflowExistsError:
            if earlier is None:
                # A fresh id's workflow cannot exist: keep no row for a start that did not run.
                async with self._db.session() as session:
                    await InstanceRepository(session).delete(instance_id)
                raise
        except BaseException:
            # The row of an earlier attempt stays: its own start may still be under way.
            if earlier is None:
                async with self._db.session() as session:
                    await InstanceRepository(session).delete(instance_id)
            raise
        return record

    async def _earlier_start(
        self, instance_id: str, definition: DefinitionRecord
    ) -> InstanceRecord | None:
        """The instance an earlier attempt of an idempotent start created, if any."""
        async with self._db.session() as session:
            earlier = await InstanceRepository(session).get(instance_id)
        if earlier is not None and earlier.process_definition_id != definition.id:
            raise ConflictError(
                f"instance id '{instance_id}' belongs to an instance of another definition"
            )
        return earlier

    async def get(self, instance_id: str) -> InstanceDetail:
        """An instance with its variables and open incidents.

        Raises:
            PermissionDeniedError: without `instance:read` / `instance:read_own`.
            NotFoundError: no such instance (or one the caller may not see).
        """
        scope = object_scope(require_instance_read())
        async with self._db.session() as session:
            repo = InstanceRepository(session)
            record = _visible(scope, instance_id, await repo.get(instance_id))
            variables = await repo.variables(instance_id)
            events = await repo.events(instance_id, types=(INCIDENT_OPENED, *INCIDENT_CLOSED))
        # Sensitive variables leave masked (the engine itself keeps the real values).
        shown = await masked_variables(self._definitions, record.process_definition_id, variables)
        return InstanceDetail(record, shown, open_incidents(events))

    async def list(
        self, filters: InstanceFilters, *, page_size: int = 50, page_token: str | None = None
    ) -> InstancePage:
        """A page of instances matching `filters`, oldest start first.

        Only instances of the caller's tenant; for `instance:read_own` only, only the ones the
        caller started.

        Raises:
            PermissionDeniedError: without instance read permission; a non-admin naming
                another tenant.
            InvalidArgumentError: a bad page size, status or page token.
        """
        scope = instance_scope(filters.tenant_id)
        filters = replace(filters, tenant_id=scope.tenant_id)
        if scope.started_by is not None:
            filters = replace(filters, start_user_id=scope.started_by)
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise InvalidArgumentError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        async with self._db.session() as session:
            try:
                items, token = await InstanceRepository(session).list(
                    filters, page_size=page_size, page_token=page_token
                )
            except ValueError as exc:
                raise InvalidArgumentError(str(exc)) from exc
        return InstancePage(items, token)

    async def model_of(self, record: InstanceRecord) -> ProcessModel | None:
        """The model the instance runs (None when its definition was deleted).

        No authorization: `record` was read through an authorized call.
        """
        if record.process_definition_id is None:
            return None
        return await self._definitions.cached_model(record.process_definition_id)

    async def _active(
        self, instance_id: str, action: str, permission: Permission = Permission.INSTANCE_CONTROL
    ) -> InstanceRecord:
        scope = object_scope(require(permission))
        async with self._db.session() as session:
            record = _visible(
                scope, instance_id, await InstanceRepository(session).get(instance_id)
            )
        if record.ended:
            raise ConflictError(
                f"instance {instance_id} has ended ({record.status}): cannot {action}"
            )
        return record

    @audited("instance.pause")
    async def pause(
        self, instance_id: str, *, user_id: str | None = None, reason: str = ""
    ) -> ControlResult:
        """Pause: the instance starts no new step until resumed.

        Raises:
            NotFoundError: no such instance.
            ConflictError: it has ended (or is ending) or is paused already.
            UnavailableError: the workflow did not answer in time (it may still pause).
        """
        record = await self._active(instance_id, "pause")
        user_id = acting_user(user_id)
        if record.status == "paused":
            raise ConflictError(f"instance {instance_id} is paused already")
        return await self._control(
            instance_id, "pause", UPDATE_PAUSE, ControlRequest(reason=reason, user_id=user_id)
        )

    @audited("instance.resume")
    async def resume(
        self, instance_id: str, *, user_id: str | None = None, reason: str = ""
    ) -> ControlResult:
        """Resume a paused instance.

        Raises:
            NotFoundError: no such instance.
            ConflictError: it is not paused (or has ended).
            UnavailableError: the workflow did not answer in time (it may still resume).
        """
        record = await self._active(instance_id, "resume")
        user_id = acting_user(user_id)
        if record.status != "paused":
            raise ConflictError(f"instance {instance_id} is not paused (status {record.status})")
        return await self._control(
            instance_id, "resume", UPDATE_RESUME, ControlRequest(reason=reason, user_id=user_id)
        )

    @audited("instance.terminate")
    async def terminate(
        self, instance_id: str, *, reason: str = "", user_id: str | None = None
    ) -> ControlResult:
        """End an instance at once (status terminated, reason recorded); answers when it ended.

        Works in any state: a workflow that does not take the request in time (busy, or its
        workflow task keeps failing) is terminated in Temporal itself and its end written
        here.

        Raises:
            NotFoundError: no such instance.
            ConflictError: it has ended, or its end (completion, another terminate / cancel)
                was under way first — the workflow decides, and the tables then agree.
        """
        await self._active(instance_id, "terminate")
        user_id = acting_user(user_id)
        return await self._control(
            instance_id,
            "terminate",
            UPDATE_TERMINATE,
            ControlRequest(reason=reason, user_id=user_id),
            ends=True,
        )

    @audited("instance.cancel")
    async def cancel(
        self, instance_id: str, *, reason: str = "", user_id: str | None = None
    ) -> ControlResult:
        """Run an instance down cleanly (status cancelled); answers when it ended.

        A workflow that cannot run its own code any more cannot run down: it is terminated in
        Temporal itself, and the answer (and the tables) say `terminated`.

        Raises:
            NotFoundError: no such instance.
            ConflictError: it has ended, or its end was under way first.
        """
        await self._active(instance_id, "cancel")
        user_id = acting_user(user_id)
        return await self._control(
            instance_id,
            "cancel",
            UPDATE_CANCEL,
            ControlRequest(reason=reason, user_id=user_id),
            ends=True,
        )

    async def _control(
        self,
        instance_id: str,
        action: str,
        update: str,
        request: ControlRequest,
        *,
        ends: bool = False,
    ) -> ControlResult:
        """Send a control update; answer what the workflow (or Temporal) says happened."""
        try:
            return await self._workflows.update(
                instance_id,
                update,
                request,
                result_type=ControlResult,
                wait_seconds=self._control_timeout,
            )
        except WorkflowGoneError:
            # The row said open, Temporal says closed: a ghost. Repair it, then say so.
            state = await self._reconciler.repair(instance_id)
            if state.status is None:
                raise ConflictError(
                    f"instance {instance_id} is not running any more in Temporal (or its "
                    f"start has not finished yet): cannot {action}"
                ) from None
            raise ConflictError(
                f"instance {instance_id} has ended ({state.status}): cannot {action}"
            ) from None
        except UpdateOutcomeUnknownError:
            # The run closed while the update waited: what it ended as is the answer.
            state = await self._reconciler.repair(instance_id)
            if state.status is None:
                raise
            if ends and state.status == _ENDS_AS.get(update):
                return ControlResult(status=state.status, reason=state.reason)
            raise ConflictError(
                f"instance {instance_id} has ended ({state.status}): cannot {action}"
            ) from None
        except WorkflowUnresponsiveError:
            if not ends:
                raise
        except ConflictError as exc:
            raise ConflictError(f"cannot {action} instance {instance_id}: {exc.message}") from exc
        return await self._terminate_in_temporal(instance_id, action, request)

    async def _terminate_in_temporal(
        self, instance_id: str, action: str, request: ControlRequest
    ) -> ControlResult:
        # The workflow cannot act (its code does not run): Temporal ends it, and the end is
        # written here because the workflow never will.
        reason = (
            f"{action} by {request.user_id or 'the engine'}"
            f"{': ' + request.reason if request.reason else ''} "
            f"(the workflow did not answer within {self._control_timeout:g} s)"
        )
        # Gone: it closed meanwhile (maybe through this very request); describe tells.
        with contextlib.suppress(WorkflowGoneError):
            await self._workflows.terminate(instance_id, reason)
        state = await self._reconciler.repair(instance_id, reason=reason)
        if not state.closed:
            raise ConflictError(f"instance {instance_id} did not end (Temporal: running)")
        assert state.status is not None
        return ControlResult(status=state.status, reason=state.reason)

    @audited("instance.retry")
    async def retry(
        self, instance_id: str, *, node_id: str | None = None, user_id: str | None = None
    ) -> None:
        """Retry the failed step(s) of an incident.

        Raises:
            NotFoundError: no such instance.
            ConflictError: it has no incident.
        """
        record = await self._active(instance_id, "retry")
        user_id = acting_user(user_id)
        if record.status != "incident":
            raise ConflictError(
                f"instance {instance_id} has no incident to retry (status {record.status})"
            )
        await self._workflows.signal(
            instance_id, SIGNAL_RETRY, RetryRequest(node_id=node_id, user_id=user_id)
        )

    async def variables(self, instance_id: str) -> dict[str, Any]:
        """The instance's variables.

        Raises:
            NotFoundError: no such instance.
        """
        return (await self.get(instance_id)).variables

    @audited("instance.variables")
    async def set_variables(
        self, instance_id: str, variables: Mapping[str, Any], *, user_id: str | None = None
    ) -> dict[str, Any]:
        """Set variables of a running instance; returns all variables as they are then.

        The values are written to the database at once and sent to the workflow, whose next
        batch confirms them.

        Raises:
            NotFoundError: no such instance.
            ConflictError: it has ended.
            ValidationFailedError: a declared variable gets a value of the wrong type.
        """
        given = require_variable_map(variables)
        self._limits.check(given)
        if not given:
            raise InvalidArgumentError("variables must name at least one variable")
        record = await self._active(
            instance_id, "set variables", permission=Permission.INSTANCE_VARIABLES
        )
        user_id = acting_user(user_id)
        model = await self.model_of(record)
        if model is not None:
            raise_if_invalid(check_variables(model.process.variables, given, require=False))
        await self._workflows.signal(
            instance_id, SIGNAL_SET_VARIABLES, SetVariablesRequest(given, user_id=user_id)
        )
        async with self._db.session() as session:
            await lock_instance_row(session, instance_id)  # same lock order as the projection
            await upsert_variables(session, instance_id, given)
            current = await InstanceRepository(session).variables(instance_id)
        return await masked_variables(self._definitions, record.process_definition_id, current)


def _visible(
    scope: InstanceScope, instance_id: str, record: InstanceRecord | None
) -> InstanceRecord:
    # Outside the caller's scope answers exactly like a missing instance: nothing leaks.
    if record is None or not scope.sees(
        tenant_id=record.tenant_id, start_user_id=record.start_user_id
    ):
        raise NotFoundError(f"instance {instance_id} does not exist")
    return record


def _check_candidate_starter(
    principal: Principal, definition: DefinitionRecord, model: ProcessModel
) -> None:
    """Enforce `process.candidate_starter_users` / `candidate_starter_groups`.

    When the definition names neither, anyone with `instance:start` may start it. When it
    names some, callers who may control instances (operators, admins, the system) still may;
    everyone else must be listed or belong to a listed group.

    Raises:
        PermissionDeniedError: naming `instance:start` and the definition.
    """
    users = model.process.candidate_starter_users
    groups = model.process.candidate_starter_groups
    if not users and not groups:
        return
    if principal.is_admin or Permission.INSTANCE_CONTROL in permissions_of(principal):
        return
    if principal.user_id is not None and principal.user_id in users:
        return
    if principal.groups & set(groups):
        return
    raise PermissionDeniedError(
        f"definition '{definition.key}' may be started only by its candidate starters "
        "(process.candidate_starter_users / candidate_starter_groups): you are not one of them",
        permission=str(Permission.INSTANCE_START),
    )


def open_incidents(events: list[EventRecord]) -> list[Incident]:
    """Incidents opened and not yet closed, from the event log (ordered by sequence)."""
    open_: dict[str, Incident] = {}
    for event in events:
        data = event.data if isinstance(event.data, Mapping) else {}
        # The interpreter pairs created / resolved by `incident_id`; older shapes by execution.
        key = str(data.get("incident_id") or data.get("execution_id") or event.activity_id or "")
        if event.event_type == INCIDENT_OPENED:
            open_[key] = Incident(
                node_id=event.activity_id,
                execution_id=_opt_str(data.get("execution_id")),
                error_type=_opt_str(data.get("error_type")),
                message=str(data.get("message") or data.get("error") or ""),
                created_at=event.timestamp,
            )
        elif event.event_type in INCIDENT_CLOSED:
            if key in open_:
                del open_[key]
            elif not data.get("incident_id") and event.activity_id is None:
                open_.clear()  # a retry of every open incident
    return list(open_.values())


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)
