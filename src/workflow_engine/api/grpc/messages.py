"""Conversions between service-layer values and `workflow_engine.v1` protobuf messages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from google.protobuf.timestamp_pb2 import Timestamp

from workflow_engine.api.grpc.generated import common_pb2, definitions_pb2
from workflow_engine.model.issues import ValidationIssue
from workflow_engine.services.definition_source import DefinitionFormat
from workflow_engine.services.errors import InvalidArgumentError
from workflow_engine.store.definitions import DefinitionRecord

_TO_PROTO: dict[DefinitionFormat, definitions_pb2.Format] = {
    DefinitionFormat.JSON: definitions_pb2.FORMAT_JSON,
    DefinitionFormat.BPMN: definitions_pb2.FORMAT_BPMN,
}
_FROM_PROTO: dict[int, DefinitionFormat] = {int(v): fmt for fmt, v in _TO_PROTO.items()}


def definition_format(value: int, *, field: str = "format") -> DefinitionFormat:
    """Convert a `Format` enum value to the service format.

    Raises:
        InvalidArgumentError: for FORMAT_UNSPECIFIED or a number this server does not know.

    """
    fmt = _FROM_PROTO.get(value)
    if fmt is not None:
        return fmt
    if value == definitions_pb2.FORMAT_UNSPECIFIED:
        message = (
            f"{field} is not set: use FORMAT_JSON for a JSON definition or FORMAT_BPMN for "
            "BPMN 2.0 XML"
        )
    else:
        message = f"{field} {value} is not a known Format: use FORMAT_JSON or FORMAT_BPMN"
    raise InvalidArgumentError(message, details=[ValidationIssue(field, message, "INVALID_FORMAT")])


def format_message(fmt: DefinitionFormat) -> definitions_pb2.Format:
    """Convert a service format to its `Format` enum value."""
    return _TO_PROTO[fmt]


def issue_message(issue: ValidationIssue) -> common_pb2.Issue:
    """Convert one finding to an `Issue`."""
    return common_pb2.Issue(path=issue.path, message=issue.message, code=issue.code)


def issue_messages(issues: Iterable[ValidationIssue]) -> list[common_pb2.Issue]:
    """Convert findings to `Issue`s, in order."""
    return [issue_message(i) for i in issues]


def _stored_issue(stored: Mapping[str, str]) -> common_pb2.Issue:
    return common_pb2.Issue(
        path=stored.get("path", ""), message=stored.get("message", ""), code=stored.get("code", "")
    )


def definition_message(record: DefinitionRecord) -> definitions_pb2.Definition:
    """Convert a stored definition version to a `Definition` (the REST `DefinitionOut` fields)."""
    deploy_time = Timestamp()
    deploy_time.FromDatetime(record.deploy_time)
    return definitions_pb2.Definition(
        id=record.id,
        key=record.key,
        name=record.name,
        version=record.version,
        category=record.category,
        description=record.description,
        tenant_id=record.tenant_id,
        deploy_time=deploy_time,
        suspended=record.suspended,
        content_hash=record.content_hash,
        resource_type=format_message(DefinitionFormat(record.resource_type)),
        has_start_form=record.has_start_form,
        element_count=record.element_count,
        warnings=[_stored_issue(w) for w in record.warnings],
    )
