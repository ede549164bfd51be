import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetStatsRequest(_message.Message):
    __slots__ = ("definition_key", "tenant_id", "window", "bucket", "start", "end")
    DEFINITION_KEY_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    definition_key: str
    tenant_id: str
    window: str
    bucket: str
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    def __init__(self, definition_key: _Optional[str] = ..., tenant_id: _Optional[str] = ..., window: _Optional[str] = ..., bucket: _Optional[str] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DurationStats(_message.Message):
    __slots__ = ("count", "average", "p50", "p95", "p99", "max")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_FIELD_NUMBER: _ClassVar[int]
    P50_FIELD_NUMBER: _ClassVar[int]
    P95_FIELD_NUMBER: _ClassVar[int]
    P99_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    count: int
    average: float
    p50: float
    p95: float
    p99: float
    max: float
    def __init__(self, count: _Optional[int] = ..., average: _Optional[float] = ..., p50: _Optional[float] = ..., p95: _Optional[float] = ..., p99: _Optional[float] = ..., max: _Optional[float] = ...) -> None: ...

class ThroughputBucket(_message.Message):
    __slots__ = ("start", "started", "completed", "failed")
    START_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    start: _timestamp_pb2.Timestamp
    started: int
    completed: int
    failed: int
    def __init__(self, start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started: _Optional[int] = ..., completed: _Optional[int] = ..., failed: _Optional[int] = ...) -> None: ...

class IncidentStats(_message.Message):
    __slots__ = ("open", "created", "rate")
    OPEN_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    open: int
    created: int
    rate: float
    def __init__(self, open: _Optional[int] = ..., created: _Optional[int] = ..., rate: _Optional[float] = ...) -> None: ...

class OpenTaskStats(_message.Message):
    __slots__ = ("count", "oldest_age_seconds", "p50_age_seconds")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    OLDEST_AGE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    P50_AGE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    count: int
    oldest_age_seconds: float
    p50_age_seconds: float
    def __init__(self, count: _Optional[int] = ..., oldest_age_seconds: _Optional[float] = ..., p50_age_seconds: _Optional[float] = ...) -> None: ...

class DefinitionStats(_message.Message):
    __slots__ = ("definition_key", "counts", "started", "ended", "failed", "failure_rate", "duration_ms", "incidents", "open_tasks", "throughput")
    class CountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    DEFINITION_KEY_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    ENDED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    FAILURE_RATE_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    INCIDENTS_FIELD_NUMBER: _ClassVar[int]
    OPEN_TASKS_FIELD_NUMBER: _ClassVar[int]
    THROUGHPUT_FIELD_NUMBER: _ClassVar[int]
    definition_key: str
    counts: _containers.ScalarMap[str, int]
    started: int
    ended: int
    failed: int
    failure_rate: float
    duration_ms: DurationStats
    incidents: IncidentStats
    open_tasks: OpenTaskStats
    throughput: _containers.RepeatedCompositeFieldContainer[ThroughputBucket]
    def __init__(self, definition_key: _Optional[str] = ..., counts: _Optional[_Mapping[str, int]] = ..., started: _Optional[int] = ..., ended: _Optional[int] = ..., failed: _Optional[int] = ..., failure_rate: _Optional[float] = ..., duration_ms: _Optional[_Union[DurationStats, _Mapping]] = ..., incidents: _Optional[_Union[IncidentStats, _Mapping]] = ..., open_tasks: _Optional[_Union[OpenTaskStats, _Mapping]] = ..., throughput: _Optional[_Iterable[_Union[ThroughputBucket, _Mapping]]] = ...) -> None: ...

class StatsReport(_message.Message):
    __slots__ = ("generated_at", "start", "end", "bucket_seconds", "definition_key", "tenant_id", "overall", "definitions")
    GENERATED_AT_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    BUCKET_SECONDS_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_KEY_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    OVERALL_FIELD_NUMBER: _ClassVar[int]
    DEFINITIONS_FIELD_NUMBER: _ClassVar[int]
    generated_at: _timestamp_pb2.Timestamp
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    bucket_seconds: int
    definition_key: str
    tenant_id: str
    overall: DefinitionStats
    definitions: _containers.RepeatedCompositeFieldContainer[DefinitionStats]
    def __init__(self, generated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., bucket_seconds: _Optional[int] = ..., definition_key: _Optional[str] = ..., tenant_id: _Optional[str] = ..., overall: _Optional[_Union[DefinitionStats, _Mapping]] = ..., definitions: _Optional[_Iterable[_Union[DefinitionStats, _Mapping]]] = ...) -> None: ...
