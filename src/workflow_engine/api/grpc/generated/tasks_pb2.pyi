import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Task(_message.Message):
    __slots__ = ("id", "instance_id", "definition_id", "element_id", "name", "description", "state", "assignee", "owner", "delegation", "candidate_users", "candidate_groups", "priority", "created_at", "claimed_at", "ended_at", "due_date", "form_key", "category", "tenant_id", "version")
    ID_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_ID_FIELD_NUMBER: _ClassVar[int]
    ELEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    DELEGATION_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_USERS_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_GROUPS_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CLAIMED_AT_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    DUE_DATE_FIELD_NUMBER: _ClassVar[int]
    FORM_KEY_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    instance_id: str
    definition_id: int
    element_id: str
    name: str
    description: str
    state: str
    assignee: str
    owner: str
    delegation: str
    candidate_users: _containers.RepeatedScalarFieldContainer[str]
    candidate_groups: _containers.RepeatedScalarFieldContainer[str]
    priority: int
    created_at: _timestamp_pb2.Timestamp
    claimed_at: _timestamp_pb2.Timestamp
    ended_at: _timestamp_pb2.Timestamp
    due_date: _timestamp_pb2.Timestamp
    form_key: str
    category: str
    tenant_id: str
    version: int
    def __init__(self, id: _Optional[str] = ..., instance_id: _Optional[str] = ..., definition_id: _Optional[int] = ..., element_id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., state: _Optional[str] = ..., assignee: _Optional[str] = ..., owner: _Optional[str] = ..., delegation: _Optional[str] = ..., candidate_users: _Optional[_Iterable[str]] = ..., candidate_groups: _Optional[_Iterable[str]] = ..., priority: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., claimed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ended_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., due_date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., form_key: _Optional[str] = ..., category: _Optional[str] = ..., tenant_id: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class ListTasksRequest(_message.Message):
    __slots__ = ("assignee", "candidate_user", "candidate_group", "instance_id", "state", "tenant_id", "page_size", "page_token")
    ASSIGNEE_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_USER_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_GROUP_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    assignee: str
    candidate_user: str
    candidate_group: str
    instance_id: str
    state: str
    tenant_id: str
    page_size: int
    page_token: str
    def __init__(self, assignee: _Optional[str] = ..., candidate_user: _Optional[str] = ..., candidate_group: _Optional[str] = ..., instance_id: _Optional[str] = ..., state: _Optional[str] = ..., tenant_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListTasksResponse(_message.Message):
    __slots__ = ("items", "next_page_token")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Task]
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[Task, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetTaskRequest(_message.Message):
    __slots__ = ("task_id",)
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    def __init__(self, task_id: _Optional[str] = ...) -> None: ...

class ClaimTaskRequest(_message.Message):
    __slots__ = ("task_id", "user_id")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    user_id: str
    def __init__(self, task_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class UnclaimTaskRequest(_message.Message):
    __slots__ = ("task_id", "user_id")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    user_id: str
    def __init__(self, task_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class AssignTaskRequest(_message.Message):
    __slots__ = ("task_id", "user_id")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    user_id: str
    def __init__(self, task_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class DelegateTaskRequest(_message.Message):
    __slots__ = ("task_id", "user_id")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    user_id: str
    def __init__(self, task_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class ResolveTaskRequest(_message.Message):
    __slots__ = ("task_id", "user_id")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    user_id: str
    def __init__(self, task_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class CompleteTaskRequest(_message.Message):
    __slots__ = ("task_id", "variables", "user_id")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    variables: _struct_pb2.Struct
    user_id: str
    def __init__(self, task_id: _Optional[str] = ..., variables: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., user_id: _Optional[str] = ...) -> None: ...

class CompleteTaskResponse(_message.Message):
    __slots__ = ("task_id", "node_id", "instance_status")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_STATUS_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    node_id: str
    instance_status: str
    def __init__(self, task_id: _Optional[str] = ..., node_id: _Optional[str] = ..., instance_status: _Optional[str] = ...) -> None: ...

class GetTaskVariablesRequest(_message.Message):
    __slots__ = ("task_id",)
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    def __init__(self, task_id: _Optional[str] = ...) -> None: ...

class TaskVariables(_message.Message):
    __slots__ = ("task_id", "instance_id", "variables")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    instance_id: str
    variables: _struct_pb2.Struct
    def __init__(self, task_id: _Optional[str] = ..., instance_id: _Optional[str] = ..., variables: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...
