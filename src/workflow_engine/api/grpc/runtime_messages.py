"""Runtime values <-> `workflow_engine.v1` execution / task messages, and request-field helpers.

`required` / `optional` read proto3 string fields the way every runtime servicer needs.

Variables travel as `google.protobuf.Struct`. JSON (and so Struct) has a single number type,
doubles; a whole number such as `3` arrives as `3.0`. Integral doubles within ±2^53 (where a
double is exact) are turned back into `int`, so a process sees the same values over gRPC as it
does over REST, where `json.loads("3")` is an int.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format
from google.protobuf.struct_pb2 import Struct, Value
from google.protobuf.timestamp_pb2 import Timestamp

from workflow_engine.api.grpc.generated import execution_pb2, tasks_pb2
from workflow_engine.engine.contract import CompleteTaskResult
from workflow_engine.model.issues import ValidationIssue
from workflow_engine.model.json_values import first_unstorable
from workflow_engine.model.paths import index_path, key_path
from workflow_engine.services.errors import InvalidArgumentError
from workflow_engine.services.instances import Incident, InstanceDetail
from workflow_engine.store.instances import InstanceRecord
from workflow_engine.store.tasks import StoredTask

#: Largest magnitude below which every integer is exactly a double.
_EXACT_INT = 2**53


def required(value: str, field: str, what: str) -> str:
    """`value`, or INVALID_ARGUMENT naming `field` when it is empty (proto3's "not set").

    Args:
        value: The request field's value.
        field: The field's name.
        what: What the field names, for the message ("the instance").
    """
    if not value.strip():
        message = f"{field} is required: name {what}"
        raise InvalidArgumentError(message, details=[ValidationIssue(field, message, "REQUIRED")])
    return value


def optional(message: object, field: str) -> str | None:
    """The value of an `optional string` field, or None when it is unset."""
    has_field = getattr(message, "HasField")  # noqa: B009 - protobuf messages are untyped here
    if not has_field(field):
        return None
    value: str = getattr(message, field)
    return value


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) <= _EXACT_INT:
        return int(value)
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    return value


def variables_of(message: Any, field: str = "variables") -> dict[str, Any] | None:
    """The variables of `message.<field>` (a Struct) as a dict; None when the field is unset.

    Args:
        message: A request with a `google.protobuf.Struct` field.
        field: The field's name.
    """
    if not message.HasField(field):
        return None
    struct: Struct = getattr(message, field)
    # MessageToDict refuses NaN / infinities with a bare ValueError (a 500 before): find the
    # value first and name it, the way the REST edge does.
    _refuse_unstorable(struct, field)
    raw: dict[str, Any] = json_format.MessageToDict(struct)
    converted: dict[str, Any] = _json_value(raw)
    return converted


def _refuse_unstorable(struct: Struct, field: str) -> None:
    stack: list[tuple[Value, str]] = [
        (value, key_path(field, key)) for key, value in struct.fields.items()
    ]
    while stack:
        value, where = stack.pop()
        kind = value.WhichOneof("kind")
        if kind == "struct_value":
            stack.extend(
                (child, key_path(where, key)) for key, child in value.struct_value.fields.items()
            )
        elif kind == "list_value":
            stack.extend(
                (child, index_path(where, i)) for i, child in enumerate(value.list_value.values)
            )
        else:
            scalar = value.number_value if kind == "number_value" else value.string_value
            problem = first_unstorable(scalar, where) if kind in _CHECKED_KINDS else None
            if problem is not None:
                message = f"{problem.path}: {problem.message}"
                raise InvalidArgumentError(
                    message,
                    details=[ValidationIssue(problem.path, problem.message, "UNSTORABLE_VALUE")],
                )


_CHECKED_KINDS = frozenset({"number_value", "string_value"})


def struct_of(variables: Mapping[str, Any]) -> Struct:
    """A Struct holding `variables` (JSON values)."""
    struct = Struct()
    struct.update(dict(variables))
    return struct


def timestamp(moment: datetime | None) -> Timestamp | None:
    """A Timestamp of `moment` (a naive datetime is taken as UTC); None stays None."""
    if moment is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC))
    return stamp


def datetime_of(message: Any, field: str) -> datetime | None:
    """The moment of the Timestamp field `field` of `message` (UTC); None when unset."""
    if not message.HasField(field):
        return None
    stamp: Timestamp = getattr(message, field)
    return stamp.ToDatetime(tzinfo=UTC)


def incident_message(incident: Incident) -> execution_pb2.Incident:
    """Convert an open incident."""
    return execution_pb2.Incident(
        node_id=incident.node_id or "",
        execution_id=incident.execution_id or "",
        error_type=incident.error_type or "",
        message=incident.message,
        created_at=timestamp(incident.created_at),
    )


def execution_message(
    record: InstanceRecord, *, detail: InstanceDetail | None = None
) -> execution_pb2.Execution:
    """Convert an instance (with variables and incidents when `detail` is given)."""
    message = execution_pb2.Execution(
        id=record.id,
        definition_id=record.process_definition_id,
        definition_key=record.definition_key,
        definition_version=record.definition_version,
        status=record.status,
        business_key=record.business_key,
        start_user_id=record.start_user_id,
        tenant_id=record.tenant_id,
        start_time=timestamp(record.start_time),
        end_time=timestamp(record.end_time),
        duration_ms=record.duration,
        end_reason=record.delete_reason,
        current_activity_id=record.activity_id,
        active_element_ids=list(record.active_activity_ids),
        parent_instance_id=record.super_instance_id,
        workflow_id=record.workflow_id,
    )
    if detail is not None:
        message.variables.CopyFrom(struct_of(detail.variables))
        message.incidents.extend(incident_message(i) for i in detail.incidents)
    return message


def execution_detail_message(detail: InstanceDetail) -> execution_pb2.Execution:
    """Convert an instance with its variables and open incidents."""
    return execution_message(detail.instance, detail=detail)


def task_message(task: StoredTask) -> tasks_pb2.Task:
    """Convert a user task."""
    return tasks_pb2.Task(
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
        created_at=timestamp(task.create_time),
        claimed_at=timestamp(task.claim_time),
        ended_at=timestamp(task.end_time),
        due_date=timestamp(task.due_date),
        form_key=task.form_key,
        category=task.category,
        tenant_id=task.tenant_id,
        version=task.version,
    )


def complete_task_message(result: CompleteTaskResult) -> tasks_pb2.CompleteTaskResponse:
    """Convert the answer of a completion."""
    return tasks_pb2.CompleteTaskResponse(
        task_id=result.task_id, node_id=result.node_id, instance_status=result.instance_status
    )
