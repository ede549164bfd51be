"""The audit log: who did what, when and from where (issue 6, item 4).

Two ways in:

- `AuditService.record(...)` appends one entry, taking the actor from `current_principal()`
  and the origin from `current_origin()` (both set by the transports around a request).
- `@audited(action, ...)` on a service method records the call after it succeeded
  (`outcome=success`) and when it raised `PermissionDeniedError` (`outcome=denied`), so the
  authorization checks inside the method get their refusals logged without touching each.

What is audited: calls made for a request (an origin is set: REST, gRPC, CLI, job) and calls
by a real user. The engine's own internal calls (a throw event broadcasting a signal, the
system principal without an origin) are not operator actions and are not recorded.

`details` says what changed; variable values, tokens and secrets are never written (names
that look like credentials are dropped, variable maps are reduced to their names).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, ParamSpec, TypeVar

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from workflow_engine.security.context import current_origin, current_principal
from workflow_engine.security.permissions import Permission, require
from workflow_engine.services.errors import InvalidArgumentError, PermissionDeniedError
from workflow_engine.store.audit import AuditFilters, AuditRecord, AuditRepository, NewAuditEntry
from workflow_engine.store.database import Database
from workflow_engine.store.pagination import MAX_PAGE_SIZE
from workflow_engine.store.tables import (
    HistoricProcessInstance,
    HistoricTaskInstance,
    ProcessDefinition,
    ProcessInstance,
    TaskInstance,
)

_log = structlog.get_logger(__name__)

_P = ParamSpec("_P")
_R = TypeVar("_R")

#: Detail keys never written, whatever a caller passes (substring match, lower case).
_SECRET_WORDS: Final = ("token", "secret", "password", "authorization", "credential")


@dataclass(frozen=True, slots=True)
class AuditPage:
    """One page of audit entries, newest first."""

    items: list[AuditRecord]
    next_page_token: str | None


def scrub_details(details: Mapping[str, Any]) -> dict[str, Any]:
    """What of `details` may be stored: no credentials, no variable values.

    Keys naming credentials are dropped; a `variables` mapping becomes the sorted list of its
    names (values may be sensitive and are never audited). Nested mappings are scrubbed too.
    """
    clean: dict[str, Any] = {}
    for key, value in details.items():
        lowered = str(key).lower()
        if any(word in lowered for word in _SECRET_WORDS):
            continue
        if lowered == "variables" and isinstance(value, Mapping):
            clean[str(key)] = sorted(str(name) for name in value)
        elif isinstance(value, Mapping):
            clean[str(key)] = scrub_details(value)
        elif isinstance(value, datetime):
            clean[str(key)] = value.isoformat()
        else:
            clean[str(key)] = value
    return clean


def should_audit() -> bool:
    """Whether the running call is audited: a request (origin set) or a real user acts."""
    return current_origin() is not None or not current_principal().is_system


async def _tenant_of(session: AsyncSession, resource_type: str, resource_id: str) -> str | None:
    """The tenant of an existing definition / instance / task, None when unknown."""
    lookups: tuple[tuple[Any, Any], ...]
    if resource_type == "definition":
        if not resource_id.isdigit():
            return None
        lookups = ((ProcessDefinition.tenant_id, ProcessDefinition.id == int(resource_id)),)
    elif resource_type == "instance":
        lookups = (
            (ProcessInstance.tenant_id, ProcessInstance.id == resource_id),
            (
                HistoricProcessInstance.tenant_id,
                HistoricProcessInstance.process_instance_id == resource_id,
            ),
        )
    elif resource_type == "task":
        lookups = (
            (TaskInstance.tenant_id, TaskInstance.id == resource_id),
            (HistoricTaskInstance.tenant_id, HistoricTaskInstance.id == resource_id),
        )
    else:
        return None
    for column, condition in lookups:
        found = (await session.execute(select(column).where(condition))).scalar_one_or_none()
        if found is not None:
            return str(found)
    return None


class AuditService:
    """Writes and reads the audit log.

    Args:
        database: The application database.
    """

    def __init__(self, *, database: Database) -> None:
        self._db = database

    async def record(
        self,
        action: str,
        *,
        resource_type: str,
        resource_id: str | int | None = None,
        tenant_id: str | None = None,
        outcome: str = "success",
        details: Mapping[str, Any] | None = None,
    ) -> AuditRecord:
        """Append one entry as the current principal, from the current origin.

        Args:
            action: `<resource>.<verb>`, e.g. `instance.pause`.
            resource_type: `definition`, `instance`, `task`, `signal`, `message`, `history`.
            resource_id: The resource acted on (None for actions on no single resource).
            tenant_id: The tenant the action concerned; None: the resource's tenant when it
                can be found, else the actor's.
            outcome: `success` or `denied`.
            details: What changed (scrubbed with `scrub_details` before it is stored).

        Raises:
            InvalidArgumentError: an unknown outcome or an empty action / resource type.
        """
        principal = current_principal()
        origin = current_origin()
        rid = None if resource_id is None else str(resource_id)
        async with self._db.session() as session:
            tenant = tenant_id
            if tenant is None and rid is not None:
                tenant = await _tenant_of(session, resource_type, rid)
            entry = NewAuditEntry(
                action=action,
                resource_type=resource_type,
                resource_id=rid,
                tenant_id=tenant if tenant is not None else principal.tenant_id,
                outcome=outcome,
                actor_id=principal.user_id,
                actor_kind=principal.kind,
                actor_roles=sorted(principal.roles),
                details=scrub_details(details or {}),
                transport=origin.transport if origin else None,
                client_address=origin.client if origin else None,
                user_agent=origin.user_agent if origin else None,
                request_id=origin.request_id if origin else None,
            )
            try:
                return await AuditRepository(session).append(entry)
            except ValueError as exc:
                raise InvalidArgumentError(str(exc)) from exc

    async def list(
        self, filters: AuditFilters, *, page_size: int = 50, page_token: str | None = None
    ) -> AuditPage:
        """A page of entries matching `filters`, newest first.

        Non-admins see only their own tenant (`filters.tenant_id` naming another one is
        refused); admins see every tenant unless they name one.

        Raises:
            PermissionDeniedError: without `audit:read`, or for another tenant.
            InvalidArgumentError: a bad page size, outcome, time range or page token.
        """
        principal = require(Permission.AUDIT_READ)
        tenant = principal.tenant_filter(filters.tenant_id)
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise InvalidArgumentError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        scoped = AuditFilters(
            actor_id=filters.actor_id,
            action=filters.action,
            resource_type=filters.resource_type,
            resource_id=filters.resource_id,
            tenant_id=tenant,
            outcome=filters.outcome,
            occurred_after=filters.occurred_after,
            occurred_before=filters.occurred_before,
        )
        async with self._db.session() as session:
            try:
                items, token = await AuditRepository(session).list(
                    scoped, page_size=page_size, page_token=page_token
                )
            except ValueError as exc:
                raise InvalidArgumentError(str(exc)) from exc
        return AuditPage(items, token)

    async def record_safely(
        self,
        action: str,
        *,
        resource_type: str,
        resource_id: str | int | None = None,
        tenant_id: str | None = None,
        outcome: str = "success",
        details: Mapping[str, Any] | None = None,
    ) -> AuditRecord | None:
        """`record`, but a failure to write is logged instead of raised.

        For entries written after the action already happened: failing the request then
        would tell the caller it did not happen.
        """
        try:
            return await self.record(
                action,
                resource_type=resource_type,
                resource_id=resource_id,
                tenant_id=tenant_id,
                outcome=outcome,
                details=details,
            )
        except Exception as exc:
            _log.error(
                "audit_write_failed",
                action=action,
                resource_type=resource_type,
                resource_id=None if resource_id is None else str(resource_id),
                outcome=outcome,
                error=str(exc),
                error_type=type(exc).__name__,
            )
            return None


#: What an audited call says changed: (its arguments by name, its result or None) -> details.
DetailsOf = Callable[[Mapping[str, Any], Any], Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class AuditSpec:
    """How calls of one audited service method become entries.

    Attributes:
        action: The action name, or a function of the call's arguments choosing it.
        resource_type: What kind of resource the method acts on.
        resource_id: The argument naming the resource (its tenant is looked up before the
            call, so a deleted resource keeps it), or a function of the result (e.g. the id
            of a new definition; denied calls then have none).
        details: What changed, from the arguments and the result (None when denied).
        skip_if: A successful call whose result this accepts is not recorded.
    """

    action: str | Callable[[Mapping[str, Any]], str]
    resource_type: str
    resource_id: str | Callable[[Any], object] | None = None
    details: DetailsOf | None = None
    skip_if: Callable[[Any], bool] | None = None


def _control(arguments: Mapping[str, Any], _: Any) -> Mapping[str, Any]:
    return {"reason": arguments.get("reason") or None, "user_id": arguments.get("user_id")}


def _task(arguments: Mapping[str, Any], task: Any) -> Mapping[str, Any]:
    details: dict[str, Any] = {"user_id": arguments.get("user_id")}
    if task is not None:
        details.update(assignee=task.assignee, owner=task.owner, state=task.state)
    return details


def _deployed(arguments: Mapping[str, Any], result: Any) -> Mapping[str, Any]:
    details: dict[str, Any] = {"format": str(arguments.get("fmt"))}
    if "definition_id" in arguments:
        details["updated_from"] = arguments["definition_id"]
    if result is not None:
        record = result.definition
        details.update(key=record.key, version=record.version, created=result.created)
    return details


def _is_job() -> bool:
    origin = current_origin()
    return origin is not None and origin.transport == "job"


#: Every audited service method, by the name `@audited(...)` is given.
SPECS: Final[Mapping[str, AuditSpec]] = {
    "definition.deploy": AuditSpec(
        "definition.deploy",
        "definition",
        resource_id=lambda result: result.definition.id,
        details=_deployed,
    ),
    # An update deploys the next version of an existing key.
    "definition.update": AuditSpec(
        "definition.deploy",
        "definition",
        resource_id=lambda result: result.definition.id,
        details=_deployed,
    ),
    "definition.suspend": AuditSpec(
        lambda arguments: (
            "definition.suspend" if arguments.get("suspended") else "definition.activate"
        ),
        "definition",
        resource_id="definition_id",
    ),
    "definition.delete": AuditSpec(
        "definition.delete",
        "definition",
        resource_id="definition_id",
        details=lambda arguments, _: {"cascade": bool(arguments.get("cascade"))},
    ),
    "instance.pause": AuditSpec("instance.pause", "instance", "instance_id", _control),
    "instance.resume": AuditSpec("instance.resume", "instance", "instance_id", _control),
    "instance.terminate": AuditSpec("instance.terminate", "instance", "instance_id", _control),
    "instance.cancel": AuditSpec("instance.cancel", "instance", "instance_id", _control),
    "instance.retry": AuditSpec(
        "instance.retry",
        "instance",
        "instance_id",
        lambda arguments, _: {
            "node_id": arguments.get("node_id"),
            "user_id": arguments.get("user_id"),
        },
    ),
    # Names only: `scrub_details` turns the variable map into its keys.
    "instance.variables": AuditSpec(
        "instance.variables",
        "instance",
        "instance_id",
        lambda arguments, _: {
            "variables": arguments.get("variables") or {},
            "user_id": arguments.get("user_id"),
        },
    ),
    "task.claim": AuditSpec("task.claim", "task", "task_id", _task),
    "task.unclaim": AuditSpec("task.unclaim", "task", "task_id", _task),
    "task.assign": AuditSpec("task.assign", "task", "task_id", _task),
    "task.delegate": AuditSpec("task.delegate", "task", "task_id", _task),
    "task.resolve": AuditSpec("task.resolve", "task", "task_id", _task),
    "signal.send": AuditSpec(
        "signal.send",
        "signal",
        "name",
        lambda arguments, outcome: {
            "tenant_id": arguments.get("tenant_id"),
            "variables": arguments.get("variables") or {},
            "delivered": None if outcome is None else outcome.delivered,
            "started_instance_ids": (
                None if outcome is None else list(outcome.started_instance_ids)
            ),
        },
    ),
    "message.send": AuditSpec(
        "message.send",
        "message",
        "name",
        lambda arguments, correlation: {
            "tenant_id": arguments.get("tenant_id"),
            "variables": arguments.get("variables") or {},
            "user_id": arguments.get("user_id"),
            "instance_id": None if correlation is None else correlation.instance_id,
            "started": None if correlation is None else correlation.started,
        },
    ),
    # Like the cleanup: the periodic reconciler is audited only when it repaired something.
    "instance.reconcile": AuditSpec(
        "instance.reconcile",
        "instance",
        details=lambda arguments, result: {
            "dry_run": arguments.get("dry_run"),
            "checked": None if result is None else result.checked,
            "repairs": None
            if result is None
            else [
                {
                    "instance_id": r.instance_id,
                    "temporal_status": r.temporal_status,
                    "status": r.status,
                    "repaired": r.repaired,
                }
                for r in result.repairs[:100]
            ],
        },
        skip_if=lambda result: not result.repairs and _is_job(),
    ),
    # The periodic job is audited only when it deleted something (else: one entry per run).
    "history.cleanup": AuditSpec(
        "history.cleanup",
        "history",
        details=lambda arguments, result: {
            "ttl_days": arguments.get("ttl_days"),
            "batch_size": arguments.get("batch_size"),
            "instances_deleted": None if result is None else result.instances_deleted,
            "batches": None if result is None else result.batches,
            "cutoff": None if result is None else result.cutoff,
        },
        skip_if=lambda result: result.instances_deleted == 0 and _is_job(),
    ),
}

#: Set while an audited call runs: calls it makes to other audited methods (an update
#: deploying a version) are part of the same action and not recorded again.
_inside_audited: ContextVar[bool] = ContextVar("wfe_inside_audited", default=False)


def _result_tenant(result: object) -> str | None:
    for holder in (result, getattr(result, "definition", None)):
        tenant = getattr(holder, "tenant_id", None)
        if isinstance(tenant, str):
            return tenant
    return None


def audited(name: str) -> Callable[[Callable[_P, Awaitable[_R]]], Callable[_P, Awaitable[_R]]]:
    """Audit a service method (one whose `self._db` is the application `Database`).

    Records the call after it succeeded (`success`) and when it raised
    `PermissionDeniedError` (`denied`, re-raised unchanged); other failures (not found,
    conflicts, bad input) are no actions and are not recorded. Only calls `should_audit()`
    accepts are recorded, and only the outermost of nested audited calls.

    Args:
        name: The method's entry in `SPECS` (e.g. `instance.pause`).

    Raises:
        KeyError: at import time, for a name without a spec.
    """
    spec = SPECS[name]

    def decorate(method: Callable[_P, Awaitable[_R]]) -> Callable[_P, Awaitable[_R]]:
        signature = inspect.signature(method)

        @functools.wraps(method)
        async def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            if _inside_audited.get() or not should_audit():
                return await method(*args, **kwargs)
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            arguments = dict(bound.arguments)
            database = getattr(arguments.pop("self", None), "_db", None)
            if not isinstance(database, Database):
                return await method(*args, **kwargs)
            token = _inside_audited.set(True)
            try:
                return await _run_audited(spec, database, arguments, method(*args, **kwargs))
            finally:
                _inside_audited.reset(token)

        return wrapper

    return decorate


async def _run_audited(
    spec: AuditSpec, database: Database, arguments: Mapping[str, Any], call: Awaitable[_R]
) -> _R:
    service = AuditService(database=database)
    action = spec.action(arguments) if callable(spec.action) else spec.action
    rid: object = None
    tenant: str | None = None
    if isinstance(spec.resource_id, str):
        rid = arguments.get(spec.resource_id)
        if rid is not None:
            # Before the call: a delete would take the tenant with it.
            tenant = await _lookup_tenant(database, spec.resource_type, str(rid))
    try:
        result = await call
    except PermissionDeniedError as exc:
        denied = dict(spec.details(arguments, None)) if spec.details is not None else {}
        denied["permission"] = exc.permission
        await service.record_safely(
            action,
            resource_type=spec.resource_type,
            resource_id=None if rid is None else str(rid),
            # The attempt belongs to the actor's tenant: the resource's tenant would learn of
            # a caller it has no business with, and the actor's auditors would miss it.
            tenant_id=current_principal().tenant_id,
            outcome="denied",
            details=denied,
        )
        raise
    if spec.skip_if is not None and spec.skip_if(result):
        return result
    if callable(spec.resource_id):
        rid = spec.resource_id(result)
    await service.record_safely(
        action,
        resource_type=spec.resource_type,
        resource_id=None if rid is None else str(rid),
        tenant_id=_first_known(_result_tenant(result), tenant, _argument_tenant(arguments)),
        details=spec.details(arguments, result) if spec.details is not None else None,
    )
    return result


def _first_known(*tenants: str | None) -> str | None:
    # '' is the default tenant, a real answer: only None means "not known here".
    return next((t for t in tenants if t is not None), None)


def _argument_tenant(arguments: Mapping[str, Any]) -> str | None:
    tenant = arguments.get("tenant_id")
    return tenant if isinstance(tenant, str) else None


async def _lookup_tenant(database: Database, resource_type: str, resource_id: str) -> str | None:
    try:
        async with database.session() as session:
            return await _tenant_of(session, resource_type, resource_id)
    except Exception as exc:  # the action itself will report a broken database
        _log.warning("audit_tenant_lookup_failed", resource_type=resource_type, error=str(exc))
        return None
