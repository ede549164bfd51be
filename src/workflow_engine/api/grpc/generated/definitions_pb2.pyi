import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from . import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Format(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FORMAT_UNSPECIFIED: _ClassVar[Format]
    FORMAT_JSON: _ClassVar[Format]
    FORMAT_BPMN: _ClassVar[Format]
FORMAT_UNSPECIFIED: Format
FORMAT_JSON: Format
FORMAT_BPMN: Format

class Definition(_message.Message):
    __slots__ = ("id", "key", "name", "version", "category", "description", "tenant_id", "deploy_time", "suspended", "content_hash", "resource_type", "has_start_form", "element_count", "warnings")
    ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    DEPLOY_TIME_FIELD_NUMBER: _ClassVar[int]
    SUSPENDED_FIELD_NUMBER: _ClassVar[int]
    CONTENT_HASH_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    HAS_START_FORM_FIELD_NUMBER: _ClassVar[int]
    ELEMENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    id: int
    key: str
    name: str
    version: int
    category: str
    description: str
    tenant_id: str
    deploy_time: _timestamp_pb2.Timestamp
    suspended: bool
    content_hash: str
    resource_type: Format
    has_start_form: bool
    element_count: int
    warnings: _containers.RepeatedCompositeFieldContainer[_common_pb2.Issue]
    def __init__(self, id: _Optional[int] = ..., key: _Optional[str] = ..., name: _Optional[str] = ..., version: _Optional[int] = ..., category: _Optional[str] = ..., description: _Optional[str] = ..., tenant_id: _Optional[str] = ..., deploy_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., suspended: _Optional[bool] = ..., content_hash: _Optional[str] = ..., resource_type: _Optional[_Union[Format, str]] = ..., has_start_form: _Optional[bool] = ..., element_count: _Optional[int] = ..., warnings: _Optional[_Iterable[_Union[_common_pb2.Issue, _Mapping]]] = ...) -> None: ...

class DeployDefinitionRequest(_message.Message):
    __slots__ = ("content", "format", "process_id")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    PROCESS_ID_FIELD_NUMBER: _ClassVar[int]
    content: bytes
    format: Format
    process_id: str
    def __init__(self, content: _Optional[bytes] = ..., format: _Optional[_Union[Format, str]] = ..., process_id: _Optional[str] = ...) -> None: ...

class DeployDefinitionResponse(_message.Message):
    __slots__ = ("definition", "created", "warnings")
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    definition: Definition
    created: bool
    warnings: _containers.RepeatedCompositeFieldContainer[_common_pb2.Issue]
    def __init__(self, definition: _Optional[_Union[Definition, _Mapping]] = ..., created: _Optional[bool] = ..., warnings: _Optional[_Iterable[_Union[_common_pb2.Issue, _Mapping]]] = ...) -> None: ...

class ValidateDefinitionRequest(_message.Message):
    __slots__ = ("content", "format", "process_id")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    PROCESS_ID_FIELD_NUMBER: _ClassVar[int]
    content: bytes
    format: Format
    process_id: str
    def __init__(self, content: _Optional[bytes] = ..., format: _Optional[_Union[Format, str]] = ..., process_id: _Optional[str] = ...) -> None: ...

class ValidateDefinitionResponse(_message.Message):
    __slots__ = ("valid", "errors", "warnings")
    VALID_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    errors: _containers.RepeatedCompositeFieldContainer[_common_pb2.Issue]
    warnings: _containers.RepeatedCompositeFieldContainer[_common_pb2.Issue]
    def __init__(self, valid: _Optional[bool] = ..., errors: _Optional[_Iterable[_Union[_common_pb2.Issue, _Mapping]]] = ..., warnings: _Optional[_Iterable[_Union[_common_pb2.Issue, _Mapping]]] = ...) -> None: ...

class GetDefinitionRequest(_message.Message):
    __slots__ = ("id", "key", "version")
    ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    id: int
    key: str
    version: int
    def __init__(self, id: _Optional[int] = ..., key: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class ListDefinitionsRequest(_message.Message):
    __slots__ = ("key", "category", "name", "latest_only", "suspended", "page_size", "page_token")
    KEY_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    LATEST_ONLY_FIELD_NUMBER: _ClassVar[int]
    SUSPENDED_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    key: str
    category: str
    name: str
    latest_only: bool
    suspended: bool
    page_size: int
    page_token: str
    def __init__(self, key: _Optional[str] = ..., category: _Optional[str] = ..., name: _Optional[str] = ..., latest_only: _Optional[bool] = ..., suspended: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDefinitionsResponse(_message.Message):
    __slots__ = ("items", "next_page_token")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Definition]
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[Definition, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateDefinitionRequest(_message.Message):
    __slots__ = ("id", "content", "format")
    ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    id: int
    content: bytes
    format: Format
    def __init__(self, id: _Optional[int] = ..., content: _Optional[bytes] = ..., format: _Optional[_Union[Format, str]] = ...) -> None: ...

class DeleteDefinitionRequest(_message.Message):
    __slots__ = ("id", "cascade")
    ID_FIELD_NUMBER: _ClassVar[int]
    CASCADE_FIELD_NUMBER: _ClassVar[int]
    id: int
    cascade: bool
    def __init__(self, id: _Optional[int] = ..., cascade: _Optional[bool] = ...) -> None: ...

class DeleteDefinitionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SuspendDefinitionRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    def __init__(self, id: _Optional[int] = ...) -> None: ...

class ActivateDefinitionRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    def __init__(self, id: _Optional[int] = ...) -> None: ...

class GetDefinitionResourceRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    def __init__(self, id: _Optional[int] = ...) -> None: ...

class DefinitionResource(_message.Message):
    __slots__ = ("content", "format", "media_type")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    content: bytes
    format: Format
    media_type: str
    def __init__(self, content: _Optional[bytes] = ..., format: _Optional[_Union[Format, str]] = ..., media_type: _Optional[str] = ...) -> None: ...

class GetDefinitionDiagramRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    def __init__(self, id: _Optional[int] = ...) -> None: ...
