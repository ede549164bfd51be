"""Request and response shapes of the instance, task, signal and message endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from workflow_engine.services.instances import Incident, InstanceDetail
from workflow_engine.store.instances import InstanceRecord
from workflow_engine.store.tasks import StoredTask


class _Strict(BaseModel):
    # A misspelt field is an error, not silently ignored.
    model_config = ConfigDict(extra="forbid")


class StartInstanceIn(_Strict):
    """`POST /instances`: exactly one of definition_key and definition_id."""

    definition_key: str | None = None
    definition_id: int | None = None
    version: int | None = Field(default=None, ge=1)
    business_key: str | None = Field(default=None, max_length=255)
    variables: dict[str, Any] = Field(default_factory=dict)
    user_id: str | None = Field(default=None, max_length=255)
    tenant_id: str | None = None
    request_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="The caller's id of this start: the same id again (per tenant) starts "
        "nothing new and answers the same instance, so a lost answer may be retried.",
    )


class ReasonIn(_Strict):
    """Body of pause / resume / terminate / cancel (optional)."""

    reason: str = ""
    user_id: str | None = None


class RetryIn(_Strict):
    """Body of retry (optional): one node, or every open incident."""

    node_id: str | None = None
    user_id: str | None = None


class VariablesIn(_Strict):
    """`PUT /instances/{id}/variables`."""

    variables: dict[str, Any]
    user_id: str | None = None


class IncidentOut(BaseModel):
    """An open incident."""

    node_id: str | None
    execution_id: str | None
    error_type: str | None
    message: str
    created_at: datetime

    @classmethod
    def of(cls, incident: Incident) -> IncidentOut:
        """Build from the service value."""
        return cls(
            node_id=incident.node_id,
            execution_id=incident.execution_id,
            error_type=incident.error_type,
            message=incident.message,
            created_at=incident.created_at,
        )


class InstanceOut(BaseModel):
    """A process instance (lists omit variables and incidents)."""

    id: str
    definition_id: int | None
    definition_key: str
    definition_version: int
    status: str
    business_key: str | None
    start_user_id: str | None
    tenant_id: str
    start_time: datetime
    end_time: datetime | None
    duration_ms: int | None
    end_reason: str | None
    current_activity_id: str | None
    active_element_ids: list[str]
    parent_instance_id: str | None
    workflow_id: str

    @classmethod
    def of(cls, record: InstanceRecord) -> InstanceOut:
        """Build from a store record."""
        return cls(
            id=record.id,
            definition_id=record.process_definition_id,
            definition_key=record.definition_key,
            definition_version=record.definition_version,
            status=record.status,
            business_key=record.business_key,
            start_user_id=record.start_user_id,
            tenant_id=record.tenant_id,
            start_time=record.start_time,
            end_time=record.end_time,
            duration_ms=record.duration,
            end_reason=record.delete_reason,
            current_activity_id=record.activity_id,
            active_element_ids=list(record.active_activity_ids),
            parent_instance_id=record.super_instance_id,
            workflow_id=record.workflow_id,
        )


class InstanceDetailOut(InstanceOut):
    """One instance with its variables and open incidents."""

    variables: dict[str, Any]
    incidents: list[IncidentOut]

    @classmethod
    def of_detail(cls, detail: InstanceDetail) -> InstanceDetailOut:
        """Build from the service value."""
        base = InstanceOut.of(detail.instance).model_dump()
        return cls(
            **base,
            variables=detail.variables,
            incidents=[IncidentOut.of(i) for i in detail.incidents],
        )


class InstanceListOut(BaseModel):
    """A page of instances."""

    items: list[InstanceOut]
    next_page_token: str | None


class VariablesOut(BaseModel):
    """An instance's variables."""

    instance_id: str
    variables: dict[str, Any]


class TaskVariablesOut(BaseModel):
    """The variables of a task's instance (sensitive ones masked), as its viewer sees them."""

    task_id: str
    instance_id: str
    variables: dict[str, Any]


class AcceptedOut(BaseModel):
    """A control request the instance took.

    Pause / resume / terminate / cancel answer once the instance acted (200) and give its
    `status` then (for terminate / cancel: the status it ended with); retry is handed over
    (202, no status).
    """

    instance_id: str
    action: str
    accepted: bool = True
    status: str | None = None


class UserIn(_Strict):
    """Body naming a user (claim / assign / delegate)."""

    user_id: str = Field(min_length=1, max_length=255)


class OptionalUserIn(_Strict):
    """Body optionally naming the acting user (unclaim / resolve)."""

    user_id: str | None = None


class CompleteTaskIn(_Strict):
    """`POST /tasks/{id}/complete`."""

    variables: dict[str, Any] = Field(default_factory=dict)
    user_id: str | None = None


class CompleteTaskOut(BaseModel):
    """The completion's answer."""

    task_id: str
    node_id: str
    instance_status: str


class TaskOut(BaseModel):
    """A user task."""

    id: str
    instance_id: str
    definition_id: int | None
    element_id: str
    name: str
    description: str | None
    state: str
    assignee: str | None
    owner: str | None
    delegation: str | None
    candidate_users: list[str]
    candidate_groups: list[str]
    priority: int
    created_at: datetime
    claimed_at: datetime | None
    ended_at: datetime | None
    due_date: datetime | None
    form_key: str | None
    category: str | None
    tenant_id: str
    version: int

    @classmethod
    def of(cls, task: StoredTask) -> TaskOut:
        """Build from a store record."""
        return cls(
            id=task.id,
            instance_id=task.process_instance_id,
            definition_id=task.process_definition_id,
            element_id=task.task_definition_key,
            name=task.name,
            description=task.description,
            state=task.state,
            assignee=task.assignee,
            owner=task.owner,
            delegation=task.delegation,
            candidate_users=list(task.candidate_users),
            candidate_groups=list(task.candidate_groups),
            priority=task.priority,
            created_at=task.create_time,
            claimed_at=task.claim_time,
            ended_at=task.end_time,
            due_date=task.due_date,
            form_key=task.form_key,
            category=task.category,
            tenant_id=task.tenant_id,
            version=task.version,
        )


class TaskListOut(BaseModel):
    """A page of tasks."""

    items: list[TaskOut]
    next_page_token: str | None


_REQUEST_ID = (
    "the caller's id of this request, scoped by tenant: repeating it (a retry) acts nothing "
    "twice and answers the same instance ids"
)


class SignalIn(_Strict):
    """`POST /signals`."""

    name: str = Field(min_length=1, max_length=255)
    variables: dict[str, Any] = Field(default_factory=dict)
    tenant_id: str | None = None
    request_id: str | None = Field(None, min_length=1, max_length=255, description=_REQUEST_ID)


class SignalOut(BaseModel):
    """How many waiting instances received the signal, and what its start events started."""

    delivered: int
    started: int = Field(0, description="instances started at signal start events")
    started_instance_ids: list[str] = Field(
        default_factory=list, description="the started instances, one per definition"
    )


class MessageIn(_Strict):
    """`POST /messages`: correlation by correlation key and/or business key."""

    name: str = Field(min_length=1, max_length=255)
    correlation_key: str | None = None
    business_key: str | None = None
    variables: dict[str, Any] = Field(default_factory=dict)
    tenant_id: str | None = None
    user_id: str | None = None
    request_id: str | None = Field(None, min_length=1, max_length=255, description=_REQUEST_ID)


class MessageOut(BaseModel):
    """The instance the message reached (or started)."""

    instance_id: str
    started: bool
