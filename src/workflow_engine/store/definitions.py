"""Deployed definition versions: lookup, versioned creation, listing, suspension, deletion."""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from workflow_engine.store.errors import DefinitionInUseError, VersionConflictError
from workflow_engine.store.pagination import (
    check_page_size,
    decode_page_token,
    encode_page_token,
    filters_fingerprint,
)
from workflow_engine.store.tables import (
    ACTIVE_INSTANCE_STATUSES,
    RESOURCE_TYPES,
    HistoricProcessInstance,
    ProcessDefinition,
    ProcessEvent,
    ProcessInstance,
    ProcessVariable,
    TaskCandidate,
    TaskInstance,
)
from workflow_engine.store.types import utcnow

_SHA256_HEX: Final = re.compile(r"[0-9a-f]{64}")
_MAX_NAME: Final = 255


@dataclass(frozen=True, slots=True)
class DefinitionRecord:
    """One deployed definition version, as stored (a plain value, detached from any session).

    Attributes:
        id: Database id of this version.
        key: The process key; versions of one key share it (per tenant).
        name: Display name.
        category: Free-form category ('' when none).
        version: 1, 2, 3 ... per (tenant_id, key).
        description: Free text ('' when none).
        deploy_time: When this version was deployed (UTC).
        resource: The deployed document as received (JSON or BPMN XML text).
        resource_type: ``"json"`` or ``"bpmn"``.
        model_json: Canonical JSON of the parsed model.
        content_hash: sha256 hex of the canonical content.
        diagram_data: Optional diagram data (JSON text), e.g. layout.
        has_start_form: Whether the start event names a form.
        suspended: Suspended versions start no new instances.
        tenant_id: Tenant ('' for the default tenant).
        element_count: Number of model elements.
        warnings: Validation warnings at deploy time, each ``{path, message, code}``.
        created_at: Row creation time (UTC).
        updated_at: Last change of the row (UTC), e.g. suspension.

    """

    id: int
    key: str
    name: str
    category: str
    version: int
    description: str
    deploy_time: datetime
    resource: str
    resource_type: str
    model_json: str
    content_hash: str
    diagram_data: str | None
    has_start_form: bool
    suspended: bool
    tenant_id: str
    element_count: int
    warnings: tuple[dict[str, str], ...]
    created_at: datetime
    updated_at: datetime


def _record(row: ProcessDefinition) -> DefinitionRecord:
    return DefinitionRecord(
        id=row.id,
        key=row.key,
        name=row.name,
        category=row.category,
        version=row.version,
        description=row.description,
        deploy_time=row.deploy_time,
        resource=row.resource,
        resource_type=row.resource_type,
        model_json=row.model_json,
        content_hash=row.content_hash,
        diagram_data=row.diagram_data,
        has_start_form=row.has_start_form,
        suspended=row.suspended,
        tenant_id=row.tenant_id,
        element_count=row.element_count,
        warnings=tuple(dict(w) for w in row.warnings or ()),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _check_text(field: str, value: object, *, allow_empty: bool = True) -> None:
    if not isinstance(value, str):
        raise ValueError(f"{field} must be a string, got {type(value).__name__}")
    if not allow_empty and not value:
        raise ValueError(f"{field} must not be empty")
    if len(value) > _MAX_NAME:
        raise ValueError(f"{field} is {len(value)} characters long; at most {_MAX_NAME} allowed")


def _check_warnings(warnings: Iterable[Mapping[str, str]]) -> list[dict[str, str]]:
    checked: list[dict[str, str]] = []
    for index, warning in enumerate(warnings):
        if not isinstance(warning, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in warning.items()
        ):
            raise ValueError(f"warnings[{index}] must be a mapping of strings to strings")
        checked.append(dict(warning))
    return checked


class DefinitionRepository:
    """Definition versions, within the caller's session (the caller commits).

    Args:
        session: The unit of work to run in (see ``Database.session()``).

    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, definition_id: int) -> DefinitionRecord | None:
        """Return the definition version with this id, or None."""
        row = await self._session.get(ProcessDefinition, definition_id)
        return _record(row) if row is not None else None

    async def get_by_key(
        self, tenant_id: str, key: str, version: int | None = None
    ) -> DefinitionRecord | None:
        """Return a version of ``key`` in ``tenant_id``: the given one, or the latest if None."""
        stmt = select(ProcessDefinition).where(
            ProcessDefinition.tenant_id == tenant_id, ProcessDefinition.key == key
        )
        if version is None:
            stmt = stmt.order_by(ProcessDefinition.version.desc()).limit(1)
        else:
            stmt = stmt.where(ProcessDefinition.version == version)
        row = (await self._session.execute(stmt)).scalars().first()
        return _record(row) if row is not None else None

    async def tenants_of_key(self, key: str) -> list[str]:
        """The tenants that have deployed ``key``, sorted (reads no definition rows)."""
        stmt = (
            select(ProcessDefinition.tenant_id)
            .where(ProcessDefinition.key == key)
            .distinct()
            .order_by(ProcessDefinition.tenant_id)
        )
        return list((await self._session.execute(stmt)).scalars())

    async def find_by_hash(
        self, tenant_id: str, key: str, content_hash: str
    ) -> DefinitionRecord | None:
        """Return the version of ``key`` whose content hash is ``content_hash``, or None.

        Deploying content identical to an existing version returns that version instead of
        creating a new one. Should several match (a version deployed again after a different
        one), the newest is returned.
        """
        stmt = (
            select(ProcessDefinition)
            .where(
                ProcessDefinition.tenant_id == tenant_id,
                ProcessDefinition.key == key,
                ProcessDefinition.content_hash == content_hash,
            )
            .order_by(ProcessDefinition.version.desc())
            .limit(1)
        )
        row = (await self._session.execute(stmt)).scalars().first()
        return _record(row) if row is not None else None

    async def create_next_version(
        self,
        *,
        tenant_id: str,
        key: str,
        name: str,
        content_hash: str,
        resource: str,
        resource_type: str,
        model_json: str,
        category: str = "",
        description: str = "",
        has_start_form: bool = False,
        diagram_data: str | None = None,
        warnings: Iterable[Mapping[str, str]] = (),
        element_count: int = 0,
        max_attempts: int = 10,
    ) -> DefinitionRecord:
        """Insert the next version of ``key``: 1 + the highest existing version, or 1.

        Concurrent deploys of one key are safe: the unique (tenant_id, key, version)
        constraint lets only one writer have each number; a loser rolls back to a savepoint,
        re-reads the highest version and tries again (after a short random pause, so that a
        crowd of writers spreads out).

        Raises:
            ValueError: A field is empty, too long or of the wrong form (the message names it).
            VersionConflictError: Still losing after ``max_attempts`` tries.

        """
        _check_text("tenant_id", tenant_id)
        _check_text("key", key, allow_empty=False)
        _check_text("name", name)
        _check_text("category", category)
        if resource_type not in RESOURCE_TYPES:
            raise ValueError(
                f"resource_type must be one of {RESOURCE_TYPES}, got {resource_type!r}"
            )
        if not isinstance(content_hash, str) or not _SHA256_HEX.fullmatch(content_hash):
            raise ValueError("content_hash must be a sha256 digest: 64 lowercase hex characters")
        if isinstance(element_count, bool) or not isinstance(element_count, int):
            raise ValueError(f"element_count must be an integer, got {element_count!r}")
        if element_count < 0:
            raise ValueError(f"element_count must not be negative, got {element_count}")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        warning_list = _check_warnings(warnings)

        for attempt in range(1, max_attempts + 1):
            version = await self._next_version(tenant_id, key)
            now = utcnow()
            row = ProcessDefinition(
                tenant_id=tenant_id,
                key=key,
                version=version,
                name=name,
                category=category,
                description=description,
                deploy_time=now,
                resource=resource,
                resource_type=resource_type,
                model_json=model_json,
                content_hash=content_hash,
                diagram_data=diagram_data,
                has_start_form=has_start_form,
                suspended=False,
                element_count=element_count,
                warnings=warning_list,
                created_at=now,
                updated_at=now,
            )
            try:
                async with self._session.begin_nested():
                    self._session.add(row)
            except IntegrityError:
                if not await self._version_exists(tenant_id, key, version):
                    raise  # some other constraint: not ours to retry
                await asyncio.sleep(random.uniform(0.0, 0.01 * attempt))
                continue
            return _record(row)
        raise VersionConflictError(
            f"could not allocate a version of definition key {key!r} (tenant {tenant_id!r}) "
            f"after {max_attempts} attempts: too many concurrent deploys of this key; retry"
        )

    async def find_or_create_version(
        self,
        *,
        tenant_id: str,
        key: str,
        name: str,
        content_hash: str,
        resource: str,
        resource_type: str,
        model_json: str,
        category: str = "",
        description: str = "",
        has_start_form: bool = False,
        diagram_data: str | None = None,
        warnings: Iterable[Mapping[str, str]] = (),
        element_count: int = 0,
    ) -> tuple[DefinitionRecord, bool]:
        """Return the version with this content, creating the next version if there is none.

        Unlike calling :meth:`find_by_hash` then :meth:`create_next_version`, two concurrent
        deploys of identical content cannot create two versions: on PostgreSQL deploys of one
        key queue on a transaction-scoped advisory lock; SQLite transactions are serialised
        already (``BEGIN IMMEDIATE``).

        Returns:
            The record, and True if it was created now (False: it existed).

        """
        await self._lock_key(tenant_id, key)
        existing = await self.find_by_hash(tenant_id, key, content_hash)
        if existing is not None:
            return existing, False
        created = await self.create_next_version(
            tenant_id=tenant_id,
            key=key,
            name=name,
            content_hash=content_hash,
            resource=resource,
            resource_type=resource_type,
            model_json=model_json,
            category=category,
            description=description,
            has_start_form=has_start_form,
            diagram_data=diagram_data,
            warnings=warnings,
            element_count=element_count,
        )
        return created, True

    async def list(
        self,
        *,
        tenant_id: str | None = None,
        key: str | None = None,
        category: str | None = None,
        name_like: str | None = None,
        latest_only: bool = False,
        suspended: bool | None = None,
        descending: bool = False,
        page_size: int = 50,
        page_token: str | None = None,
    ) -> tuple[list[DefinitionRecord], str | None]:
        """Return one page of definition versions in deploy order, and the next page's token.

        Filters left None do not filter. ``name_like`` matches a case-insensitive substring
        of the name (``%`` and ``_`` are literal). ``latest_only`` keeps only the highest
        version of each (tenant, key), chosen among all versions of that key, before the other
        filters apply: "the current definition of each key, if it matches".

        Args:
            tenant_id: Only this tenant.
            key: Only this process key.
            category: Only this category.
            name_like: Only names containing this text.
            latest_only: Only the latest version of each key.
            suspended: Only suspended (True) or active (False) versions.
            descending: Newest deployment first instead of oldest first.
            page_size: At most this many records (1 .. 1000).
            page_token: ``next_page_token`` of the previous page, with the same filters.

        Returns:
            The records and the token of the next page (None on the last page).

        Raises:
            ValueError: A bad page size, or a page token that is malformed or belongs to a
                query with other filters (:class:`InvalidPageTokenError`).

        """
        check_page_size(page_size)
        fingerprint = filters_fingerprint(
            {
                "tenant_id": tenant_id,
                "key": key,
                "category": category,
                "name_like": name_like,
                "latest_only": latest_only,
                "suspended": suspended,
                "descending": descending,
            }
        )
        stmt = select(ProcessDefinition)
        if latest_only:
            latest_q = select(
                ProcessDefinition.tenant_id,
                ProcessDefinition.key,
                func.max(ProcessDefinition.version).label("max_version"),
            ).group_by(ProcessDefinition.tenant_id, ProcessDefinition.key)
            if tenant_id is not None:
                latest_q = latest_q.where(ProcessDefinition.tenant_id == tenant_id)
            if key is not None:
                latest_q = latest_q.where(ProcessDefinition.key == key)
            latest = latest_q.subquery("latest")
            stmt = stmt.join(
                latest,
                and_(
                    ProcessDefinition.tenant_id == latest.c.tenant_id,
                    ProcessDefinition.key == latest.c.key,
                    ProcessDefinition.version == latest.c.max_version,
                ),
            )
        if tenant_id is not None:
            stmt = stmt.where(ProcessDefinition.tenant_id == tenant_id)
        if key is not None:
            stmt = stmt.where(ProcessDefinition.key == key)
        if category is not None:
            stmt = stmt.where(ProcessDefinition.category == category)
        if name_like is not None:
            stmt = stmt.where(
                func.lower(ProcessDefinition.name).contains(name_like.lower(), autoescape=True)
            )
        if suspended is not None:
            stmt = stmt.where(ProcessDefinition.suspended.is_(suspended))
        if page_token is not None:
            last = decode_page_token(page_token, fingerprint)
            if len(last) != 1 or isinstance(last[0], bool) or not isinstance(last[0], int):
                raise ValueError(
                    "page_token is malformed: pass back next_page_token exactly as returned"
                )
            after = ProcessDefinition.id < last[0] if descending else ProcessDefinition.id > last[0]
            stmt = stmt.where(after)
        order = ProcessDefinition.id.desc() if descending else ProcessDefinition.id.asc()
        # One row more than asked tells whether another page exists without a COUNT query.
        stmt = stmt.order_by(order).limit(page_size + 1)
        rows: Sequence[ProcessDefinition] = (await self._session.execute(stmt)).scalars().all()
        records = [_record(r) for r in rows[:page_size]]
        next_token = (
            encode_page_token([records[-1].id], fingerprint) if len(rows) > page_size else None
        )
        return records, next_token

    async def set_suspended(self, definition_id: int, suspended: bool) -> DefinitionRecord | None:
        """Suspend or activate a version; return it updated, or None if it does not exist."""
        row = await self._session.get(ProcessDefinition, definition_id)
        if row is None:
            return None
        if row.suspended != suspended:
            row.suspended = suspended
            row.updated_at = utcnow()
            await self._session.flush()
        return _record(row)

    async def count_running_instances(self, definition_id: int) -> int:
        """Count the instances of a version that have not ended (running, paused, incident)."""
        stmt = select(func.count()).where(
            ProcessInstance.process_definition_id == definition_id,
            ProcessInstance.status.in_(ACTIVE_INSTANCE_STATUSES),
        )
        return int((await self._session.execute(stmt)).scalar_one())

    async def delete(self, definition_id: int, *, cascade: bool) -> bool:
        """Delete a definition version.

        With ``cascade``, every instance of the version goes too, with its tasks, task
        candidates, variables, events and history rows. Without it, running instances forbid
        the deletion; ended instances and their history stay, with ``process_definition_id``
        set to NULL (their ``definition_key`` / ``definition_version`` still say what ran).

        Returns:
            True if the version existed and was deleted.

        Raises:
            DefinitionInUseError: ``cascade`` is false and instances of it are running.

        """
        # Lock the row first: an instance inserted concurrently needs a key-share lock on it,
        # so no instance can appear between the check below and the delete (PostgreSQL;
        # SQLite transactions are serialised already).
        locked = await self._session.execute(
            select(ProcessDefinition.id)
            .where(ProcessDefinition.id == definition_id)
            .with_for_update()
        )
        if locked.scalar_one_or_none() is None:
            return False
        if not cascade:
            running = await self.count_running_instances(definition_id)
            if running:
                raise DefinitionInUseError(definition_id, running)
        else:
            await self._delete_instances_of(definition_id)
        await self._session.execute(
            delete(ProcessDefinition)
            .where(ProcessDefinition.id == definition_id)
            .execution_options(synchronize_session=False)
        )
        # Keep the session's identity map in step with the database.
        cached = await self._session.get(ProcessDefinition, definition_id)
        if cached is not None:
            self._session.expunge(cached)
        return True

    async def _delete_instances_of(self, definition_id: int) -> None:
        instance_ids = select(ProcessInstance.id).where(
            ProcessInstance.process_definition_id == definition_id
        )
        task_ids = select(TaskInstance.id).where(TaskInstance.process_instance_id.in_(instance_ids))
        # Children first, explicitly: correct even where ON DELETE CASCADE is not enforced.
        statements: list[Any] = [
            delete(TaskCandidate).where(TaskCandidate.task_id.in_(task_ids)),
            delete(ProcessVariable).where(ProcessVariable.process_instance_id.in_(instance_ids)),
            delete(ProcessEvent).where(ProcessEvent.process_instance_id.in_(instance_ids)),
            # Sub-tasks reference parent tasks: unlink first so deletion order cannot matter.
            update(TaskInstance)
            .where(TaskInstance.process_instance_id.in_(instance_ids))
            .values(parent_task_id=None),
            delete(TaskInstance).where(TaskInstance.process_instance_id.in_(instance_ids)),
            delete(HistoricProcessInstance).where(
                (HistoricProcessInstance.process_definition_id == definition_id)
                | HistoricProcessInstance.process_instance_id.in_(instance_ids)
            ),
            # Call-activity children of other definitions keep running, detached.
            update(ProcessInstance)
            .where(ProcessInstance.super_instance_id.in_(instance_ids))
            .values(super_instance_id=None),
            delete(ProcessInstance).where(ProcessInstance.process_definition_id == definition_id),
        ]
        for statement in statements:
            await self._session.execute(statement.execution_options(synchronize_session=False))

    async def _next_version(self, tenant_id: str, key: str) -> int:
        stmt = select(func.coalesce(func.max(ProcessDefinition.version), 0)).where(
            ProcessDefinition.tenant_id == tenant_id, ProcessDefinition.key == key
        )
        return int((await self._session.execute(stmt)).scalar_one()) + 1

    async def _version_exists(self, tenant_id: str, key: str, version: int) -> bool:
        stmt = select(func.count()).where(
            ProcessDefinition.tenant_id == tenant_id,
            ProcessDefinition.key == key,
            ProcessDefinition.version == version,
        )
        return int((await self._session.execute(stmt)).scalar_one()) > 0

    async def _lock_key(self, tenant_id: str, key: str) -> None:
        if self._session.get_bind().dialect.name != "postgresql":
            return
        # JSON keeps ("a/b", "c") and ("a", "b/c") apart; PostgreSQL text cannot hold NUL.
        name = json.dumps(["definition", tenant_id, key])
        await self._session.execute(
            select(func.pg_advisory_xact_lock(func.hashtextextended(name, 0)))
        )
