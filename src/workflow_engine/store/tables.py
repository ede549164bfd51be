"""The database schema: the seed's six tables (§3) plus what versioning and the engine need.

Conventions:

- Definitions, variables, events, history rows and task candidates have integer ids
  (``BIGINT`` on PostgreSQL, ``INTEGER`` on SQLite so that it auto-increments there).
- Process instances and tasks have ``String(36)`` ids (uuid4 text): the Temporal workflow id
  ``pi-<id>`` is chosen before the row is written, possibly by any of several workers.
- Every timestamp is timezone-aware and stored in UTC (:class:`UTCDateTime`).
- Optional strings are ``NULL`` when absent; strings that are part of a key (``tenant_id``,
  ``scope_id``) are ``''`` when absent, because ``NULL`` never collides in a unique index.
- Closed vocabularies (instance status, task state, ...) are plain strings guarded by a CHECK
  constraint: readable in SQL, portable, and still impossible to corrupt.

Alembic migration ``0001_initial`` creates exactly this schema; a test compares them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from workflow_engine.store.types import UTCDateTime, utcnow

#: Instance statuses (DESIGN §5).
INSTANCE_STATUSES: Final = (
    "running",
    "paused",
    "incident",
    "completed",
    "terminated",
    "cancelled",
    "timed_out",
)
#: Statuses of an instance that has not ended (it still has a live Temporal workflow).
ACTIVE_INSTANCE_STATUSES: Final = ("running", "paused", "incident")
#: Statuses of an instance that has ended.
ENDED_INSTANCE_STATUSES: Final = ("completed", "terminated", "cancelled", "timed_out")
#: Task states (DESIGN §5).
TASK_STATES: Final = ("created", "claimed", "delegated", "completed", "cancelled")
#: Task states in which the task still waits in somebody's inbox.
OPEN_TASK_STATES: Final = ("created", "claimed", "delegated")
#: How a definition was deployed.
RESOURCE_TYPES: Final = ("json", "bpmn")
#: Kinds of task candidates.
CANDIDATE_KINDS: Final = ("user", "group")
#: Variable scopes.
VARIABLE_SCOPES: Final = ("global", "local")
#: Kinds of event subscriptions (waits on a BPMN signal or message).
SUBSCRIPTION_KINDS: Final = ("signal", "message")
#: Outcomes of an audited action.
AUDIT_OUTCOMES: Final = ("success", "denied")
#: Kinds of idempotent requests (`request_outcome.kind`).
REQUEST_KINDS: Final = ("signal", "message")

# Deterministic constraint names: Alembic needs names to alter or drop constraints, and
# SQLite's batch mode loses unnamed ones when it rebuilds a table.
NAMING_CONVENTION: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Integer primary key type: BIGINT on PostgreSQL; INTEGER on SQLite, where only an
#: ``INTEGER PRIMARY KEY`` column auto-increments.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


class Base(DeclarativeBase):
    """Declarative base of every table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UTCDateTime(),
        int: Integer(),
        bool: Boolean(),
        str: String(255),
    }


class ProcessDefinition(Base):
    """A deployed, immutable version of a process (seed §3.1)."""

    __tablename__ = "process_definition"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255), default="")
    category: Mapped[str] = mapped_column(String(255), default="")
    version: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")
    deploy_time: Mapped[datetime] = mapped_column(default=utcnow)
    #: The deployed document, byte-for-byte as received (JSON or BPMN XML text).
    resource: Mapped[str] = mapped_column(Text)
    resource_type: Mapped[str] = mapped_column(String(16))
    #: Canonical JSON of the parsed model: what instances of this version execute.
    model_json: Mapped[str] = mapped_column(Text)
    #: sha256 hex of the canonical content; same key + same hash = the same version.
    content_hash: Mapped[str] = mapped_column(String(64))
    diagram_data: Mapped[str | None] = mapped_column(Text, default=None)
    has_start_form: Mapped[bool] = mapped_column(default=False)
    suspended: Mapped[bool] = mapped_column(default=False)
    tenant_id: Mapped[str] = mapped_column(String(255), default="")
    element_count: Mapped[int] = mapped_column(Integer, default=0)
    #: Validation warnings at deploy time: a JSON list of ``{path, message, code}``.
    warnings: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("tenant_id", "key", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint(_in("resource_type", RESOURCE_TYPES), name="resource_type"),
        Index(None, "tenant_id", "key", "content_hash"),
        Index(None, "key"),
        Index(None, "category"),
        Index(None, "tenant_id"),
        Index(None, "suspended"),
        Index(None, "deploy_time"),
    )


class ProcessInstance(Base):
    """One execution of a definition version (seed §3.2); one Temporal workflow each."""

    __tablename__ = "process_instance"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    #: ``NULL`` once the definition was deleted without cascade (only ended instances remain
    #: then); ``definition_key`` / ``definition_version`` still say what ran.
    process_definition_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("process_definition.id", ondelete="SET NULL")
    )
    definition_key: Mapped[str] = mapped_column(String(255))
    definition_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="running")
    business_key: Mapped[str | None] = mapped_column(String(255), default=None)
    start_user_id: Mapped[str | None] = mapped_column(String(255), default=None)
    start_time: Mapped[datetime] = mapped_column(default=utcnow)
    end_time: Mapped[datetime | None] = mapped_column(default=None)
    #: Milliseconds from start to end, set when the instance ends.
    duration: Mapped[int | None] = mapped_column(BigInteger, default=None)
    delete_reason: Mapped[str | None] = mapped_column(Text, default=None)
    #: The element most recently entered (seed); see ``active_activity_ids`` for all of them.
    activity_id: Mapped[str | None] = mapped_column(String(255), default=None)
    #: JSON list of the element ids that currently hold a token or wait.
    active_activity_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    name: Mapped[str | None] = mapped_column(String(255), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    localized_name: Mapped[str | None] = mapped_column(String(255), default=None)
    localized_desc: Mapped[str | None] = mapped_column(Text, default=None)
    lock_time: Mapped[datetime | None] = mapped_column(default=None)
    # The seed's three flags are derived from ``status`` by the database itself, so they can
    # never disagree with it.
    is_active: Mapped[bool] = mapped_column(
        Boolean, Computed(_in("status", ACTIVE_INSTANCE_STATUSES), persisted=True)
    )
    is_ended: Mapped[bool] = mapped_column(
        Boolean, Computed(_in("status", ENDED_INSTANCE_STATUSES), persisted=True)
    )
    is_suspended: Mapped[bool] = mapped_column(
        Boolean, Computed("status = 'paused'", persisted=True)
    )
    tenant_id: Mapped[str] = mapped_column(String(255), default="")
    callback_id: Mapped[str | None] = mapped_column(String(255), default=None)
    callback_type: Mapped[str | None] = mapped_column(String(64), default=None)
    #: Temporal workflow id, ``pi-<id>``.
    workflow_id: Mapped[str] = mapped_column(String(255))
    #: Temporal run id of the first run (continue-as-new keeps the workflow id).
    run_id: Mapped[str | None] = mapped_column(String(64), default=None)
    #: The calling instance when started by a call activity.
    super_instance_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("process_instance.id", ondelete="SET NULL"), default=None
    )
    #: Optimistic lock: the ORM adds ``WHERE version_counter = <read value>`` to updates.
    version_counter: Mapped[int] = mapped_column(Integer, default=1)
    #: Highest event sequence the runtime columns reflect (migration 0002): a runtime batch
    #: older than this is a retry and must not roll the snapshot back.
    last_sequence: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version_counter}  # noqa: RUF012
    __table_args__ = (
        CheckConstraint(_in("status", INSTANCE_STATUSES), name="status"),
        UniqueConstraint("workflow_id"),
        Index(None, "process_definition_id"),
        Index(None, "definition_key"),
        Index(None, "status"),
        Index(None, "business_key"),
        Index(None, "start_time"),
        Index(None, "tenant_id"),
        Index(None, "super_instance_id"),
        # Statistics (migration 0004): live instances per status / definition / tenant / start.
        Index(None, "status", "definition_key", "tenant_id", "start_time"),
        # A user's own instances (migration 0006, `instance:read_own`).
        Index(None, "tenant_id", "start_user_id", "start_time"),
    )


class TaskInstance(Base):
    """A user task waiting in an inbox (seed §3.3)."""

    __tablename__ = "task_instance"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    process_instance_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("process_instance.id", ondelete="CASCADE")
    )
    process_definition_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("process_definition.id", ondelete="SET NULL")
    )
    execution_id: Mapped[str | None] = mapped_column(String(255), default=None)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str | None] = mapped_column(Text, default=None)
    #: The user task element's id in the definition.
    task_definition_key: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16), default="created")
    priority: Mapped[int] = mapped_column(Integer, default=50)
    create_time: Mapped[datetime] = mapped_column(default=utcnow)
    claim_time: Mapped[datetime | None] = mapped_column(default=None)
    end_time: Mapped[datetime | None] = mapped_column(default=None)
    due_date: Mapped[datetime | None] = mapped_column(default=None)
    category: Mapped[str | None] = mapped_column(String(255), default=None)
    parent_task_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("task_instance.id", ondelete="CASCADE"), default=None
    )
    owner: Mapped[str | None] = mapped_column(String(255), default=None)
    assignee: Mapped[str | None] = mapped_column(String(255), default=None)
    #: ``pending`` while delegated, ``resolved`` after the delegate resolved it.
    delegation: Mapped[str | None] = mapped_column(String(16), default=None)
    #: Seed's suspension state: 1 active, 2 suspended.
    suspension_state: Mapped[int] = mapped_column(Integer, default=1)
    task_definition_id: Mapped[str | None] = mapped_column(String(255), default=None)
    form_key: Mapped[str | None] = mapped_column(String(255), default=None)
    is_suspended: Mapped[bool] = mapped_column(default=False)
    #: JSON lists, as resolved when the task was created; ``task_candidate`` indexes them.
    candidate_users: Mapped[list[str]] = mapped_column(JSON, default=list)
    candidate_groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    tenant_id: Mapped[str] = mapped_column(String(255), default="")
    #: Optimistic lock: two users claiming at once cannot both win.
    version_counter: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version_counter}  # noqa: RUF012
    __table_args__ = (
        CheckConstraint(_in("state", TASK_STATES), name="state"),
        CheckConstraint(
            "delegation IS NULL OR delegation IN ('pending', 'resolved')", name="delegation"
        ),
        Index(None, "process_instance_id"),
        Index(None, "process_definition_id"),
        Index(None, "assignee"),
        Index(None, "state"),
        Index(None, "tenant_id"),
        Index(None, "create_time"),
        Index(None, "parent_task_id"),
    )


class TaskCandidate(Base):
    """One candidate user or group of a task, so ``?candidate_group=`` is an index lookup."""

    __tablename__ = "task_candidate"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("task_instance.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(255))

    __table_args__ = (
        CheckConstraint(_in("kind", CANDIDATE_KINDS), name="kind"),
        UniqueConstraint("task_id", "kind", "value"),
        Index(None, "kind", "value"),
    )


class HistoricProcessInstance(Base):
    """The history record of an instance (seed §3.4): denormalised, it outlives the definition."""

    __tablename__ = "historic_process_instance"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    process_instance_id: Mapped[str] = mapped_column(String(36))
    process_definition_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("process_definition.id", ondelete="SET NULL")
    )
    process_definition_key: Mapped[str] = mapped_column(String(255))
    process_definition_name: Mapped[str] = mapped_column(String(255), default="")
    process_definition_version: Mapped[int] = mapped_column(Integer)
    deployment_id: Mapped[str | None] = mapped_column(String(255), default=None)
    status: Mapped[str] = mapped_column(String(16), default="running")
    business_key: Mapped[str | None] = mapped_column(String(255), default=None)
    start_time: Mapped[datetime] = mapped_column(default=utcnow)
    end_time: Mapped[datetime | None] = mapped_column(default=None)
    #: Milliseconds.
    duration: Mapped[int | None] = mapped_column(BigInteger, default=None)
    start_user_id: Mapped[str | None] = mapped_column(String(255), default=None)
    start_activity_id: Mapped[str | None] = mapped_column(String(255), default=None)
    end_activity_id: Mapped[str | None] = mapped_column(String(255), default=None)
    super_process_instance_id: Mapped[str | None] = mapped_column(String(36), default=None)
    delete_reason: Mapped[str | None] = mapped_column(Text, default=None)
    tenant_id: Mapped[str] = mapped_column(String(255), default="")
    name: Mapped[str | None] = mapped_column(String(255), default=None)
    localized_name: Mapped[str | None] = mapped_column(String(255), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    localized_desc: Mapped[str | None] = mapped_column(Text, default=None)
    callback_id: Mapped[str | None] = mapped_column(String(255), default=None)
    callback_type: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint(_in("status", INSTANCE_STATUSES), name="status"),
        UniqueConstraint("process_instance_id"),
        Index(None, "process_definition_id"),
        Index(None, "process_definition_key"),
        Index(None, "status"),
        Index(None, "business_key"),
        Index(None, "start_time"),
        Index(None, "end_time"),
        Index(None, "duration"),
        Index(None, "tenant_id"),
        # A user's own ended instances (migration 0006, `instance:read_own`).
        Index(None, "tenant_id", "start_user_id"),
    )


class ProcessVariable(Base):
    """A variable of an instance or of a narrower scope (seed §3.5).

    ``scope_id`` is ``''`` for instance-wide (global) variables and otherwise names the
    scope (a task id for task-local variables, or a subprocess scope id), so that
    ``(process_instance_id, scope_id, name)`` is unique for global variables too.
    """

    __tablename__ = "process_variable"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    process_instance_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("process_instance.id", ondelete="CASCADE")
    )
    task_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("task_instance.id", ondelete="CASCADE"), default=None
    )
    scope_id: Mapped[str] = mapped_column(String(64), default="")
    name: Mapped[str] = mapped_column(String(255))
    #: The declared / inferred type name: string, number, integer, boolean, object, array, ...
    type: Mapped[str] = mapped_column(String(32))
    value: Mapped[Any] = mapped_column(JSON)
    scope: Mapped[str] = mapped_column(String(16), default="global")
    serializer_name: Mapped[str] = mapped_column(String(64), default="json")
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint(_in("scope", VARIABLE_SCOPES), name="scope"),
        UniqueConstraint("process_instance_id", "scope_id", "name"),
        Index(None, "task_id"),
        Index(None, "name"),
    )


class ProcessEvent(Base):
    """One entry of an instance's execution log (seed §3.6).

    ``(process_instance_id, sequence)`` is unique: the engine writes events in batches and may
    retry a batch, so a repeated write must be recognisable (insert-or-ignore) rather than
    duplicated. The unique constraint is also the index for reading a log in order.
    """

    __tablename__ = "process_event"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    process_instance_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("process_instance.id", ondelete="CASCADE")
    )
    #: 1, 2, 3 ... per instance, assigned by the workflow (deterministic, replay-safe).
    sequence: Mapped[int] = mapped_column(BigInteger)
    # No foreign key: the log records task ids even for tasks whose rows are written later.
    task_id: Mapped[str | None] = mapped_column(String(36), default=None)
    activity_id: Mapped[str | None] = mapped_column(String(255), default=None)
    event_type: Mapped[str] = mapped_column(String(64))
    event_name: Mapped[str | None] = mapped_column(String(255), default=None)
    event_data: Mapped[Any] = mapped_column(JSON, default=dict)
    user_id: Mapped[str | None] = mapped_column(String(255), default=None)
    timestamp: Mapped[datetime] = mapped_column(default=utcnow)
    source: Mapped[str | None] = mapped_column(String(64), default=None)
    correlation_id: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("process_instance_id", "sequence"),
        Index(None, "event_type"),
        Index(None, "timestamp"),
        # Statistics (migration 0004): incidents created in a time range.
        Index(None, "event_type", "timestamp"),
        Index(None, "task_id"),
    )


class EventSubscription(Base):
    """A wait of an instance on a BPMN signal or message (migration 0002).

    Mirrors what the workflow waits for, so a signal broadcast or a message correlation finds
    its receivers with an index lookup instead of asking Temporal.
    """

    __tablename__ = "event_subscription"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    process_instance_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("process_instance.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(8))
    #: The signal's or message's name as the definition references it.
    name: Mapped[str] = mapped_column(String(255))
    correlation_key: Mapped[str | None] = mapped_column(String(255), default=None)
    #: The waiting element.
    node_id: Mapped[str] = mapped_column(String(255))
    execution_id: Mapped[str] = mapped_column(String(255))
    tenant_id: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint(_in("kind", SUBSCRIPTION_KINDS), name="kind"),
        Index(None, "kind", "name"),
        Index(None, "kind", "name", "correlation_key"),
        Index(None, "process_instance_id"),
    )


class HistoricTaskInstance(Base):
    """A user task of an ended instance, moved out of ``task_instance`` (migration 0003).

    The inbox table then holds only the tasks of live instances, so inbox queries (by assignee,
    candidate, state) stay as fast however much history accumulates. No foreign key to the
    instance: history is kept (and expired) by ``historic_process_instance``.
    """

    __tablename__ = "historic_task_instance"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    process_instance_id: Mapped[str] = mapped_column(String(36))
    process_definition_id: Mapped[int | None] = mapped_column(BigIntId, default=None)
    execution_id: Mapped[str | None] = mapped_column(String(255), default=None)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str | None] = mapped_column(Text, default=None)
    task_definition_key: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer, default=50)
    create_time: Mapped[datetime] = mapped_column(default=utcnow)
    claim_time: Mapped[datetime | None] = mapped_column(default=None)
    end_time: Mapped[datetime | None] = mapped_column(default=None)
    due_date: Mapped[datetime | None] = mapped_column(default=None)
    category: Mapped[str | None] = mapped_column(String(255), default=None)
    parent_task_id: Mapped[str | None] = mapped_column(String(36), default=None)
    owner: Mapped[str | None] = mapped_column(String(255), default=None)
    assignee: Mapped[str | None] = mapped_column(String(255), default=None)
    delegation: Mapped[str | None] = mapped_column(String(16), default=None)
    form_key: Mapped[str | None] = mapped_column(String(255), default=None)
    candidate_users: Mapped[list[str]] = mapped_column(JSON, default=list)
    candidate_groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    tenant_id: Mapped[str] = mapped_column(String(255), default="")
    version_counter: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint(_in("state", TASK_STATES), name="state"),
        Index(None, "process_instance_id"),
        Index(None, "assignee"),
        Index(None, "create_time"),
        Index(None, "tenant_id"),
    )


class HistoricTaskCandidate(Base):
    """A candidate of a historic task, so ``?candidate_group=`` finds closed tasks too."""

    __tablename__ = "historic_task_candidate"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("historic_task_instance.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(255))

    __table_args__ = (
        CheckConstraint(_in("kind", CANDIDATE_KINDS), name="kind"),
        UniqueConstraint("task_id", "kind", "value"),
        Index(None, "kind", "value"),
    )


class HistoricVariableInstance(Base):
    """A variable of an ended instance, moved out of ``process_variable`` (migration 0003)."""

    __tablename__ = "historic_variable_instance"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    process_instance_id: Mapped[str] = mapped_column(String(36))
    task_id: Mapped[str | None] = mapped_column(String(36), default=None)
    scope_id: Mapped[str] = mapped_column(String(64), default="")
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(32))
    value: Mapped[Any] = mapped_column(JSON)
    scope: Mapped[str] = mapped_column(String(16), default="global")
    serializer_name: Mapped[str] = mapped_column(String(64), default="json")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint(_in("scope", VARIABLE_SCOPES), name="scope"),
        UniqueConstraint("process_instance_id", "scope_id", "name"),
    )


class AuditEntry(Base):
    """One operator / admin action (or a refused attempt at one): who, when, what, from where.

    Append-only (migration 0005). No foreign keys: the log must outlive what it describes
    (a deleted definition, an instance removed by the history retention). ``details`` says
    what changed but never carries variable values or credentials.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The acting user; NULL for the system (internal callers, or authentication off).
    actor_id: Mapped[str | None] = mapped_column(String(255), default=None)
    #: ``user`` or ``system``.
    actor_kind: Mapped[str] = mapped_column(String(16), default="user")
    #: JSON list of the actor's role names when it acted.
    actor_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: The tenant the action concerned (the resource's; for refused attempts the actor's).
    tenant_id: Mapped[str] = mapped_column(String(255), default="")
    #: ``<resource>.<verb>``, e.g. ``instance.pause``.
    action: Mapped[str] = mapped_column(String(64))
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[str | None] = mapped_column(String(255), default=None)
    outcome: Mapped[str] = mapped_column(String(16), default="success")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: ``rest``, ``grpc``, ``cli`` or ``job``; NULL when unknown.
    transport: Mapped[str | None] = mapped_column(String(16), default=None)
    client_address: Mapped[str | None] = mapped_column(String(255), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(512), default=None)
    request_id: Mapped[str | None] = mapped_column(String(255), default=None)

    __table_args__ = (
        CheckConstraint(_in("outcome", AUDIT_OUTCOMES), name="outcome"),
        # Newest first, optionally within a time range; every filter leads an index of its
        # own that also orders by time, so each filtered page is one index range scan.
        Index(None, "occurred_at", "id"),
        Index(None, "tenant_id", "occurred_at"),
        Index(None, "actor_id", "occurred_at"),
        Index(None, "action", "occurred_at"),
        Index(None, "resource_type", "resource_id", "occurred_at"),
        Index(None, "outcome", "occurred_at"),
    )


class RequestOutcome(Base):
    """What a signal broadcast or message correlation with a `request_id` did (migration 0007).

    A repeated request (a client retrying, a retried engine activity) finds its row and
    answers the same again instead of acting twice. A message correlation writes its decision
    (the receiver, or the instance it starts) before acting and sets ``completed`` after, so
    a retry of an interrupted attempt finishes the same decision. No foreign keys: the answer
    must outlive the instances it names.
    """

    __tablename__ = "request_outcome"

    #: sha256 (hex) of (kind, tenant scope, request id): tenants never share a request id.
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    #: The tenant scope the request ran in; NULL: every tenant (an admin naming none).
    tenant_id: Mapped[str | None] = mapped_column(String(255), default=None)
    request_id: Mapped[str] = mapped_column(String(255))
    #: sha256 (hex) of the request's parameters: a reused id with other parameters is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    completed: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint(_in("kind", REQUEST_KINDS), name="kind"),
        # For pruning old answers.
        Index(None, "created_at"),
    )


#: Every table, children before parents: the order to empty them in.
TABLES_CHILDREN_FIRST: Final = tuple(reversed(Base.metadata.sorted_tables))
