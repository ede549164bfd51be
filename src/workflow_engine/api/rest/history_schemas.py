"""Response shapes of the history endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from workflow_engine.services.steps import Attempt, Step, StepIncident
from workflow_engine.store.history import HistoricInstanceRecord
from workflow_engine.store.instances import EventRecord


class EventOut(BaseModel):
    """One entry of an instance's event log."""

    sequence: int
    type: str
    timestamp: datetime
    node_id: str | None
    node_name: str | None
    task_id: str | None
    user_id: str | None
    data: Any

    @classmethod
    def of(cls, event: EventRecord) -> EventOut:
        """Build from the stored event."""
        return cls(
            sequence=event.sequence,
            type=event.event_type,
            timestamp=event.timestamp,
            node_id=event.activity_id,
            node_name=event.event_name,
            task_id=event.task_id,
            user_id=event.user_id,
            data=event.data,
        )


class HistoryOut(BaseModel):
    """`GET /instances/{id}/history`: one page of the log, ascending by sequence."""

    instance_id: str
    events: list[EventOut]
    next_page_token: str | None


class AttemptOut(BaseModel):
    """One try of a step's activity (Temporal's retries of it are inside one try)."""

    number: int
    sequence: int
    activity: str | None
    input: Any
    status: str
    scheduled_at: datetime
    ended_at: datetime | None
    duration_ms: int | None
    result: Any
    error_type: str | None
    error_message: str | None
    retry_state: str | None
    temporal_attempts: int | None

    @classmethod
    def of(cls, attempt: Attempt) -> AttemptOut:
        """Build from the service value."""
        duration = (
            None
            if attempt.ended_at is None
            else max(0, int((attempt.ended_at - attempt.scheduled_at).total_seconds() * 1000))
        )
        return cls(
            number=attempt.number,
            sequence=attempt.sequence,
            activity=attempt.activity,
            input=attempt.input,
            status=attempt.status,
            scheduled_at=attempt.scheduled_at,
            ended_at=attempt.ended_at,
            duration_ms=duration,
            result=attempt.result,
            error_type=attempt.error_type,
            error_message=attempt.error_message,
            retry_state=attempt.retry_state,
            temporal_attempts=attempt.temporal_attempts,
        )


class StepIncidentOut(BaseModel):
    """An incident opened at the step."""

    incident_id: str | None
    error_type: str | None
    message: str
    attempts: int | None
    created_at: datetime
    resolved_at: datetime | None

    @classmethod
    def of(cls, incident: StepIncident) -> StepIncidentOut:
        """Build from the service value."""
        return cls(
            incident_id=incident.incident_id,
            error_type=incident.error_type,
            message=incident.message,
            attempts=incident.attempts,
            created_at=incident.created_at,
            resolved_at=incident.resolved_at,
        )


class StepOut(BaseModel):
    """One step (node run): input, output, attempts, who, start / end / duration."""

    step_id: int
    node_id: str
    node_name: str | None
    node_type: str | None
    execution_id: str | None
    parent_step_id: int | None
    status: str
    started_at: datetime
    ended_at: datetime | None
    duration_ms: int | None
    input: Any
    output: Any
    variables: dict[str, Any]
    user_id: str | None
    task_id: str | None
    attempts: list[AttemptOut]
    incidents: list[StepIncidentOut]
    event_sequences: list[int]
    event_types: list[str]

    @classmethod
    def of(cls, step: Step) -> StepOut:
        """Build from the service value."""
        return cls(
            step_id=step.step_id,
            node_id=step.node_id,
            node_name=step.node_name,
            node_type=step.node_type,
            execution_id=step.execution_id,
            parent_step_id=step.parent_step_id,
            status=step.status,
            started_at=step.started_at,
            ended_at=step.ended_at,
            duration_ms=step.duration_ms,
            input=step.input,
            output=step.output,
            variables=step.variables,
            user_id=step.user_id,
            task_id=step.task_id,
            attempts=[AttemptOut.of(a) for a in step.attempts],
            incidents=[StepIncidentOut.of(i) for i in step.incidents],
            event_sequences=step.event_sequences,
            event_types=step.event_types,
        )


class StepsOut(BaseModel):
    """`GET /instances/{id}/steps`: every step in order of its first event."""

    instance_id: str
    steps: list[StepOut]


class HistoricInstanceOut(BaseModel):
    """An ended instance, as its history record tells it."""

    id: str
    definition_id: int | None
    definition_key: str
    definition_name: str
    definition_version: int
    status: str
    business_key: str | None
    start_time: datetime
    end_time: datetime | None
    duration_ms: int | None
    start_user_id: str | None
    start_node_id: str | None
    end_node_id: str | None
    super_instance_id: str | None
    delete_reason: str | None
    tenant_id: str
    name: str | None

    @classmethod
    def of(cls, r: HistoricInstanceRecord) -> HistoricInstanceOut:
        """Build from the stored record."""
        return cls(
            id=r.process_instance_id,
            definition_id=r.process_definition_id,
            definition_key=r.definition_key,
            definition_name=r.definition_name,
            definition_version=r.definition_version,
            status=r.status,
            business_key=r.business_key,
            start_time=r.start_time,
            end_time=r.end_time,
            duration_ms=r.duration,
            start_user_id=r.start_user_id,
            start_node_id=r.start_activity_id,
            end_node_id=r.end_activity_id,
            super_instance_id=r.super_process_instance_id,
            delete_reason=r.delete_reason,
            tenant_id=r.tenant_id,
            name=r.name,
        )


class HistoricInstanceListOut(BaseModel):
    """`GET /history/instances`: a page of ended instances, most recently ended first."""

    items: list[HistoricInstanceOut]
    next_page_token: str | None
