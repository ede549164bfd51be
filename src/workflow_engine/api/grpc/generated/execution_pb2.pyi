import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from . import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Incident(_message.Message):
    __slots__ = ("node_id", "execution_id", "error_type", "message", "created_at")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_TYPE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    execution_id: str
    error_type: str
    message: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, node_id: _Optional[str] = ..., execution_id: _Optional[str] = ..., error_type: _Optional[str] = ..., message: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Execution(_message.Message):
    __slots__ = ("id", "definition_id", "definition_key", "definition_version", "status", "business_key", "start_user_id", "tenant_id", "start_time", "end_time", "duration_ms", "end_reason", "current_activity_id", "active_element_ids", "parent_instance_id", "workflow_id", "variables", "incidents")
    ID_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_ID_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_KEY_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_VERSION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_KEY_FIELD_NUMBER: _ClassVar[int]
    START_USER_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    END_REASON_FIELD_NUMBER: _ClassVar[int]
    CURRENT_ACTIVITY_ID_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_ELEMENT_IDS_FIELD_NUMBER: _ClassVar[int]
    PARENT_INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    INCIDENTS_FIELD_NUMBER: _ClassVar[int]
    id: str
    definition_id: int
    definition_key: str
    definition_version: int
    status: str
    business_key: str
    start_user_id: str
    tenant_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    duration_ms: int
    end_reason: str
    current_activity_id: str
    active_element_ids: _containers.RepeatedScalarFieldContainer[str]
    parent_instance_id: str
    workflow_id: str
    variables: _struct_pb2.Struct
    incidents: _containers.RepeatedCompositeFieldContainer[Incident]
    def __init__(self, id: _Optional[str] = ..., definition_id: _Optional[int] = ..., definition_key: _Optional[str] = ..., definition_version: _Optional[int] = ..., status: _Optional[str] = ..., business_key: _Optional[str] = ..., start_user_id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., duration_ms: _Optional[int] = ..., end_reason: _Optional[str] = ..., current_activity_id: _Optional[str] = ..., active_element_ids: _Optional[_Iterable[str]] = ..., parent_instance_id: _Optional[str] = ..., workflow_id: _Optional[str] = ..., variables: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., incidents: _Optional[_Iterable[_Union[Incident, _Mapping]]] = ...) -> None: ...

class StartExecutionRequest(_message.Message):
    __slots__ = ("definition_key", "definition_id", "version", "business_key", "variables", "user_id", "tenant_id", "request_id")
    DEFINITION_KEY_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_KEY_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    definition_key: str
    definition_id: int
    version: int
    business_key: str
    variables: _struct_pb2.Struct
    user_id: str
    tenant_id: str
    request_id: str
    def __init__(self, definition_key: _Optional[str] = ..., definition_id: _Optional[int] = ..., version: _Optional[int] = ..., business_key: _Optional[str] = ..., variables: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., user_id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetExecutionRequest(_message.Message):
    __slots__ = ("instance_id",)
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    def __init__(self, instance_id: _Optional[str] = ...) -> None: ...

class ListExecutionsRequest(_message.Message):
    __slots__ = ("definition_key", "definition_id", "status", "business_key", "started_after", "started_before", "tenant_id", "page_size", "page_token")
    DEFINITION_KEY_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_KEY_FIELD_NUMBER: _ClassVar[int]
    STARTED_AFTER_FIELD_NUMBER: _ClassVar[int]
    STARTED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    definition_key: str
    definition_id: int
    status: str
    business_key: str
    started_after: _timestamp_pb2.Timestamp
    started_before: _timestamp_pb2.Timestamp
    tenant_id: str
    page_size: int
    page_token: str
    def __init__(self, definition_key: _Optional[str] = ..., definition_id: _Optional[int] = ..., status: _Optional[str] = ..., business_key: _Optional[str] = ..., started_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., tenant_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListExecutionsResponse(_message.Message):
    __slots__ = ("items", "next_page_token")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Execution]
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[Execution, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class PauseExecutionRequest(_message.Message):
    __slots__ = ("instance_id", "reason", "user_id")
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    reason: str
    user_id: str
    def __init__(self, instance_id: _Optional[str] = ..., reason: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class ResumeExecutionRequest(_message.Message):
    __slots__ = ("instance_id", "reason", "user_id")
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    reason: str
    user_id: str
    def __init__(self, instance_id: _Optional[str] = ..., reason: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class TerminateExecutionRequest(_message.Message):
    __slots__ = ("instance_id", "reason", "user_id")
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    reason: str
    user_id: str
    def __init__(self, instance_id: _Optional[str] = ..., reason: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class CancelExecutionRequest(_message.Message):
    __slots__ = ("instance_id", "reason", "user_id")
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    reason: str
    user_id: str
    def __init__(self, instance_id: _Optional[str] = ..., reason: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class RetryExecutionRequest(_message.Message):
    __slots__ = ("instance_id", "node_id", "user_id")
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    node_id: str
    user_id: str
    def __init__(self, instance_id: _Optional[str] = ..., node_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class ExecutionControlResponse(_message.Message):
    __slots__ = ("instance_id", "action", "accepted", "status")
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    action: str
    accepted: bool
    status: str
    def __init__(self, instance_id: _Optional[str] = ..., action: _Optional[str] = ..., accepted: _Optional[bool] = ..., status: _Optional[str] = ...) -> None: ...

class ReconcileExecutionsRequest(_message.Message):
    __slots__ = ("dry_run",)
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    dry_run: bool
    def __init__(self, dry_run: _Optional[bool] = ...) -> None: ...

class ReconciledExecution(_message.Message):
    __slots__ = ("instance_id", "previous_status", "temporal_status", "status", "reason", "repaired")
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STATUS_FIELD_NUMBER: _ClassVar[int]
    TEMPORAL_STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REPAIRED_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    previous_status: str
    temporal_status: str
    status: str
    reason: str
    repaired: bool
    def __init__(self, instance_id: _Optional[str] = ..., previous_status: _Optional[str] = ..., temporal_status: _Optional[str] = ..., status: _Optional[str] = ..., reason: _Optional[str] = ..., repaired: _Optional[bool] = ...) -> None: ...

class ReconcileExecutionsResponse(_message.Message):
    __slots__ = ("checked", "dry_run", "repaired", "repairs", "errors")
    CHECKED_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    REPAIRED_FIELD_NUMBER: _ClassVar[int]
    REPAIRS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    checked: int
    dry_run: bool
    repaired: int
    repairs: _containers.RepeatedCompositeFieldContainer[ReconciledExecution]
    errors: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, checked: _Optional[int] = ..., dry_run: _Optional[bool] = ..., repaired: _Optional[int] = ..., repairs: _Optional[_Iterable[_Union[ReconciledExecution, _Mapping]]] = ..., errors: _Optional[_Iterable[str]] = ...) -> None: ...

class GetVariablesRequest(_message.Message):
    __slots__ = ("instance_id",)
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    def __init__(self, instance_id: _Optional[str] = ...) -> None: ...

class SetVariablesRequest(_message.Message):
    __slots__ = ("instance_id", "variables", "user_id")
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    variables: _struct_pb2.Struct
    user_id: str
    def __init__(self, instance_id: _Optional[str] = ..., variables: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., user_id: _Optional[str] = ...) -> None: ...

class Variables(_message.Message):
    __slots__ = ("instance_id", "variables")
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    variables: _struct_pb2.Struct
    def __init__(self, instance_id: _Optional[str] = ..., variables: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class SendSignalRequest(_message.Message):
    __slots__ = ("name", "variables", "tenant_id", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    variables: _struct_pb2.Struct
    tenant_id: str
    request_id: str
    def __init__(self, name: _Optional[str] = ..., variables: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., tenant_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class SendSignalResponse(_message.Message):
    __slots__ = ("delivered", "started", "started_instance_ids")
    DELIVERED_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    STARTED_INSTANCE_IDS_FIELD_NUMBER: _ClassVar[int]
    delivered: int
    started: int
    started_instance_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, delivered: _Optional[int] = ..., started: _Optional[int] = ..., started_instance_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class CorrelateMessageRequest(_message.Message):
    __slots__ = ("name", "correlation_key", "business_key", "variables", "tenant_id", "user_id", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_KEY_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_KEY_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    correlation_key: str
    business_key: str
    variables: _struct_pb2.Struct
    tenant_id: str
    user_id: str
    request_id: str
    def __init__(self, name: _Optional[str] = ..., correlation_key: _Optional[str] = ..., business_key: _Optional[str] = ..., variables: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., tenant_id: _Optional[str] = ..., user_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class CorrelateMessageResponse(_message.Message):
    __slots__ = ("instance_id", "started")
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    started: bool
    def __init__(self, instance_id: _Optional[str] = ..., started: _Optional[bool] = ...) -> None: ...

class GetInstanceDiagramRequest(_message.Message):
    __slots__ = ("instance_id",)
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    def __init__(self, instance_id: _Optional[str] = ...) -> None: ...
