"""Definition management: validate, deploy in versions, read, suspend, delete.

The one implementation behind REST, gRPC and the CLI. Rules (DESIGN §5):

* deploy: same key → next version; identical content (same canonical document hash) → the
  existing version, `created=False`;
* update: a new version of the addressed definition's key (the upload must keep the key);
* delete: refused with 409 while instances of the version run, unless `cascade`;
* suspended definitions stay readable but start no instances (checked by the instance service).

Authorization (issue 6): every public method requires its permission first; a definition of
another tenant answers NotFoundError exactly like a missing one; lists are limited to the
caller's tenant; a non-admin deploys into their own tenant only.

Timer start events are scheduled by an optional `TimerStartSchedules` collaborator (present
when the engine has a Temporal client), synced after every deploy, suspend/activate and delete;
its failures never undo the change: they are logged and returned as deploy warnings.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from workflow_engine.model.issues import ValidationIssue, ValidationReport
from workflow_engine.model.json_export import canonical_json
from workflow_engine.model.types import ProcessModel
from workflow_engine.security import Permission, Principal, require
from workflow_engine.services.audit import audited
from workflow_engine.services.definition_source import (
    CheckedDefinition,
    DefinitionFormat,
    check_upload,
)
from workflow_engine.services.errors import (
    ConflictError,
    InvalidArgumentError,
    LimitExceededError,
    NotFoundError,
    PayloadTooLargeError,
    ValidationFailedError,
)
from workflow_engine.store.cache import DefinitionCache
from workflow_engine.store.database import Database
from workflow_engine.store.definitions import DefinitionRecord, DefinitionRepository

if TYPE_CHECKING:
    from workflow_engine.services.timer_starts import TimerStartSchedules

MAX_PAGE_SIZE = 500


@dataclass(frozen=True, slots=True)
class DeployResult:
    """The outcome of a deployment: the version and whether it was newly created."""

    definition: DefinitionRecord
    created: bool
    warnings: tuple[ValidationIssue, ...]


@dataclass(frozen=True, slots=True)
class DefinitionPage:
    """One page of a definition list."""

    items: list[DefinitionRecord]
    next_page_token: str | None


@dataclass(frozen=True, slots=True)
class DefinitionQuery:
    """Filters of the definition list (all optional, combined with AND)."""

    key: str | None = None
    category: str | None = None
    name_like: str | None = None
    latest_only: bool = False
    suspended: bool | None = None
    tenant_id: str | None = None


class DefinitionService:
    """Use cases of process definitions.

    Args:
        database: The application database.
        cache: The read-through model cache.
        max_definition_bytes: Uploads larger than this are refused with 413.
        max_definition_elements: Definitions with more nodes than this are invalid.
        known_listener_classes: Listener classes some worker implements; others are warned
            about at deploy time. None disables the check.
        timer_starts: Keeps the Temporal Schedules of timer start events; None (no Temporal):
            timer start events do not fire.
        refuse_sensitive: Refuse definitions declaring sensitive variables (no encryption
            keys are configured, so their values could not be stored encrypted).
    """

    def __init__(
        self,
        *,
        database: Database,
        cache: DefinitionCache,
        max_definition_bytes: int = 1_048_576,
        max_definition_elements: int = 2000,
        known_listener_classes: Collection[str] | None = None,
        timer_starts: TimerStartSchedules | None = None,
        refuse_sensitive: bool = False,
    ) -> None:
        self._db = database
        self._refuse_sensitive = refuse_sensitive
        self._cache = cache
        self._max_bytes = max_definition_bytes
        self._max_elements = max_definition_elements
        self._known_listeners = known_listener_classes
        self.timer_starts = timer_starts

    def check(
        self, content: bytes, *, fmt: DefinitionFormat, process_id: str | None = None
    ) -> CheckedDefinition:
        """Parse and validate an upload without deploying it.

        Raises:
            PermissionDeniedError: without `definition:read`.
            PayloadTooLargeError: when the upload exceeds the size limit.
        """
        require(Permission.DEFINITION_READ)
        self.check_size(len(content))
        return check_upload(
            content,
            fmt=fmt,
            process_id=process_id,
            max_elements=self._max_elements,
            known_listener_classes=self._known_listeners,
        )

    def check_size(self, size: int) -> None:
        """Refuse an upload of `size` bytes when it is over the limit (callers may check early).

        Raises:
            PayloadTooLargeError: naming the limit.
        """
        if size > self._max_bytes:
            raise PayloadTooLargeError(
                f"the definition is {size} bytes; at most {self._max_bytes} bytes are allowed"
            )

    @audited("definition.deploy")
    async def deploy(
        self,
        content: bytes,
        *,
        fmt: DefinitionFormat,
        process_id: str | None = None,
        tenant_id: str | None = None,
        required_key: str | None = None,
    ) -> DeployResult:
        """Validate and deploy an upload as the next version of its key.

        Args:
            content: The uploaded bytes.
            fmt: JSON or BPMN.
            process_id: For BPMN files with several processes: which one.
            tenant_id: Overrides the definition's own `process.tenant_id` when given.
            required_key: When set (update), the upload's key must equal it.

        Raises:
            PermissionDeniedError: without `definition:deploy`; a non-admin naming another
                tenant (as `tenant_id` or in the document's `process.tenant_id`).
            ValidationFailedError: with every error as details.
            InvalidArgumentError: when `required_key` does not match.
        """
        principal = require(Permission.DEFINITION_DEPLOY)
        checked = self.check(content, fmt=fmt, process_id=process_id)
        model, document = checked.model, checked.document
        if not checked.report.valid or model is None or document is None:
            raise _validation_failed(checked.report)
        key = model.process.key
        if required_key is not None and key != required_key:
            raise InvalidArgumentError(
                f"the upload has process key '{key}' but definition key '{required_key}' is "
                "being updated: keep the key, or deploy it as a new definition",
                details=[
                    ValidationIssue("process.key", f"expected '{required_key}'", "KEY_MISMATCH")
                ],
            )
        if self._refuse_sensitive:
            _refuse_sensitive_variables(model)
        tenant = _deploy_tenant(principal, tenant_id, model.process.tenant_id)
        warnings = checked.report.warnings
        async with self._db.session() as session:
            # One step, so two identical deploys racing each other still make one version.
            record, created = await DefinitionRepository(session).find_or_create_version(
                tenant_id=tenant,
                key=key,
                name=model.process.name or key,
                category=model.process.category,
                description=model.process.description,
                content_hash=checked.content_hash,
                resource=content.decode("utf-8-sig"),
                resource_type=checked.format.value,
                model_json=canonical_json(document),
                has_start_form=bool(model.process.start_form_key),
                warnings=[w.to_dict() for w in warnings],
                element_count=len(model.nodes),
            )
        # Also on an identical redeploy: syncing is idempotent and repairs a missing schedule.
        warnings = (*warnings, *await self._sync_timer_starts(record))
        return DeployResult(record, created=created, warnings=warnings)

    @audited("definition.update")
    async def update(
        self, definition_id: int, content: bytes, *, fmt: DefinitionFormat
    ) -> DeployResult:
        """Deploy `content` as the next version of the key of definition `definition_id`.

        Raises:
            PermissionDeniedError: without `definition:deploy`.
            NotFoundError: no such definition (or one of another tenant).
        """
        require(Permission.DEFINITION_DEPLOY)
        current = await self.get(definition_id)
        return await self.deploy(
            content, fmt=fmt, tenant_id=current.tenant_id, required_key=current.key
        )

    async def get(self, definition_id: int) -> DefinitionRecord:
        """One definition version by id.

        Raises:
            PermissionDeniedError: without `definition:read`.
            NotFoundError: when there is none (or it belongs to another tenant).
        """
        principal = require(Permission.DEFINITION_READ)
        async with self._db.session() as session:
            record = await DefinitionRepository(session).get(definition_id)
        return _visible(principal, definition_id, record)

    async def get_by_key(
        self, key: str, *, version: int | None = None, tenant_id: str | None = None
    ) -> DefinitionRecord:
        """The latest (or the given) version of a key.

        Args:
            key: The definition key.
            version: A version number; None for the latest.
            tenant_id: The tenant to look in. None: the caller's own tenant; for admins the one
                tenant that has this key (a key deployed by several tenants then needs the
                tenant named).

        Raises:
            PermissionDeniedError: without `definition:read`; a non-admin naming another
                tenant.
            NotFoundError: naming the key and version.
            ConflictError: when `tenant_id` is None and several tenants have the key.
        """
        principal = require(Permission.DEFINITION_READ)
        tenant_id = principal.tenant_filter(tenant_id)
        if version is not None and version < 1:
            raise InvalidArgumentError(f"version must be 1 or more, got {version}")
        async with self._db.session() as session:
            repo = DefinitionRepository(session)
            tenant = tenant_id if tenant_id is not None else await _only_tenant(repo, key)
            record = None if tenant is None else await repo.get_by_key(tenant, key, version)
        if record is None:
            which = f"version {version} of " if version is not None else ""
            raise NotFoundError(f"{which}definition key '{key}' does not exist")
        return record

    async def list(
        self, query: DefinitionQuery, *, page_size: int = 50, page_token: str | None = None
    ) -> DefinitionPage:
        """A page of definitions matching `query`, oldest deployment first.

        Raises:
            PermissionDeniedError: without `definition:read`; a non-admin naming another
                tenant.
            InvalidArgumentError: for a bad page size or a page token of another query.
        """
        principal = require(Permission.DEFINITION_READ)
        query = replace(query, tenant_id=principal.tenant_filter(query.tenant_id))
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise InvalidArgumentError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        async with self._db.session() as session:
            try:
                items, token = await DefinitionRepository(session).list(
                    tenant_id=query.tenant_id,
                    key=query.key,
                    category=query.category,
                    name_like=query.name_like,
                    latest_only=query.latest_only,
                    suspended=query.suspended,
                    page_size=page_size,
                    page_token=page_token,
                )
            except ValueError as exc:
                raise InvalidArgumentError(str(exc)) from exc
        return DefinitionPage(items, token)

    @audited("definition.suspend")
    async def set_suspended(self, definition_id: int, *, suspended: bool) -> DefinitionRecord:
        """Suspend (no new instances) or activate a definition version.

        Raises:
            PermissionDeniedError: without `definition:suspend`.
            NotFoundError: no such definition (or one of another tenant).
        """
        principal = require(Permission.DEFINITION_SUSPEND)
        async with self._db.session() as session:
            repo = DefinitionRepository(session)
            _visible(principal, definition_id, await repo.get(definition_id))
            record = await repo.set_suspended(definition_id, suspended)
        if record is None:
            raise NotFoundError(f"definition {definition_id} does not exist")
        await self._sync_timer_starts(record)
        return record

    @audited("definition.delete")
    async def delete(self, definition_id: int, *, cascade: bool = False) -> None:
        """Delete a definition version.

        Raises:
            PermissionDeniedError: without `definition:delete`.
            NotFoundError: when there is none (or it belongs to another tenant).
            ConflictError: while instances run and `cascade` is false.
        """
        principal = require(Permission.DEFINITION_DELETE)
        async with self._db.session() as session:
            repo = DefinitionRepository(session)
            deleted = _visible(principal, definition_id, await repo.get(definition_id))
            if not cascade:
                running = await repo.count_running_instances(definition_id)
                if running:
                    raise ConflictError(
                        f"definition {definition_id} has {running} running instance(s): "
                        "end them first or delete with cascade=true"
                    )
            await repo.delete(definition_id, cascade=cascade)
        await self._cache.invalidate(definition_id)
        await self._sync_timer_starts(deleted, retired=True)

    async def _sync_timer_starts(
        self, record: DefinitionRecord, *, retired: bool = False
    ) -> tuple[ValidationIssue, ...]:
        """Bring the key's timer start schedules in line; failures come back as warnings."""
        if self.timer_starts is None:
            return ()
        return await self.timer_starts.sync(
            record.tenant_id, record.key, retired=record if retired else None
        )

    async def model(self, definition_id: int) -> ProcessModel:
        """The parsed model of a definition version, through the cache.

        Raises:
            PermissionDeniedError: without `definition:read`.
            NotFoundError: no such definition (or one of another tenant).
        """
        principal = require(Permission.DEFINITION_READ)
        if not principal.is_admin:
            # The model cache knows no tenants: look at the row (by primary key) first.
            await self.get(definition_id)
        return await self.cached_model(definition_id)

    async def cached_model(self, definition_id: int) -> ProcessModel:
        """The parsed model through the cache, WITHOUT authorization.

        For services that have authorized the object that names the definition already (an
        instance, a task): the model of a visible instance is visible.

        Raises:
            NotFoundError: no such definition.
        """

        async def load() -> str | None:
            async with self._db.session() as session:
                record = await DefinitionRepository(session).get(definition_id)
            return record.model_json if record is not None else None

        model = await self._cache.get_model(definition_id, load)
        if model is None:
            raise NotFoundError(f"definition {definition_id} does not exist")
        return model

    async def document(self, definition_id: int) -> dict[str, object]:
        """The canonical JSON document of a version (for BPMN uploads: the imported form)."""
        record = await self.get(definition_id)
        loaded = json.loads(record.model_json)
        if not isinstance(loaded, dict):
            raise RuntimeError(f"stored definition {definition_id} is not a JSON object")
        return loaded


def _visible(
    principal: Principal, definition_id: int, record: DefinitionRecord | None
) -> DefinitionRecord:
    # Another tenant's definition answers exactly like a missing one: nothing leaks.
    if record is None or not principal.sees_tenant(record.tenant_id):
        raise NotFoundError(f"definition {definition_id} does not exist")
    return record


def _deploy_tenant(principal: Principal, requested: str | None, in_document: str) -> str:
    """The tenant a deployment goes to.

    Admins (and the system): `requested`, else the document's `process.tenant_id`, as before.
    Others: their own tenant; naming another one (either way) is refused.
    """
    if principal.is_admin:
        return requested if requested is not None else in_document
    if in_document:
        principal.tenant_filter(in_document)
    return principal.tenant_filter(requested) or ""


async def _only_tenant(repo: DefinitionRepository, key: str) -> str | None:
    latest, _ = await repo.list(key=key, latest_only=True, page_size=2)
    tenants = sorted({record.tenant_id for record in latest})
    if len(tenants) > 1:
        raise ConflictError(
            f"definition key '{key}' exists in tenants {', '.join(map(repr, tenants))}: "
            "name the tenant (tenant_id)"
        )
    return tenants[0] if tenants else None


def _validation_failed(report: ValidationReport) -> ValidationFailedError | LimitExceededError:
    too_many = next((e for e in report.errors if e.code == "TOO_MANY_ELEMENTS"), None)
    if too_many is not None:
        # A size limit, not a modelling mistake: 422 LIMIT_EXCEEDED (every finding as details).
        return LimitExceededError(
            f"the definition is too large: {too_many.message} (max_definition_elements)",
            details=report.errors,
        )
    count = len(report.errors)
    first = report.errors[0] if report.errors else None
    summary = f"; first: {first.path}: {first.message}" if first else ""
    return ValidationFailedError(
        f"the definition is invalid ({count} error{'s' if count != 1 else ''}){summary}",
        details=report.errors,
    )


def _refuse_sensitive_variables(model: ProcessModel) -> None:
    """Sensitive variables need encryption keys; without them such a deploy is refused."""
    names = sorted(n for n, decl in model.process.variables.items() if decl.sensitive)
    if names:
        raise InvalidArgumentError(
            "the definition declares sensitive variables, but no encryption keys are "
            "configured to store them encrypted: set encryption_keys (WFE_ENCRYPTION_KEYS), "
            "see docs/security.md",
            details=[
                ValidationIssue(
                    f"process.variables.{name}.sensitive",
                    "needs encryption_keys",
                    "ENCRYPTION_NOT_CONFIGURED",
                )
                for name in names
            ],
        )
