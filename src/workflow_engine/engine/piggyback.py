"""Runtime batches riding on step activities instead of a write activity of their own.

DESIGN §3: an extra activity per step to write the event log costs about a quarter of the
throughput, while letting the pending batch ride on the activity that runs the next step costs
nearly nothing. When a service task's activity runs on the engine's own task queue (so one of
our workers, built by `build_worker`, executes it), the interpreter hands the pending
`RuntimeBatch` to :func:`start_activity_riding`; the workflow outbound interceptor puts it in a
Temporal header of that activity, and the activity inbound interceptor on the worker applies it
— with the very function behind `wfe.apply_runtime_batch`, idempotent by (instance, sequence) —
before the activity body runs. Every attempt applies it again, harmlessly.

Activities on foreign task queues and wait points still flush through `wfe.apply_runtime_batch`;
on such a worker that write runs as a LOCAL activity (:func:`local_writes`): the worker that
runs the workflow applies the batch itself, without a task-queue round trip and without an
extra workflow task (idempotency is unchanged: a local activity may run again, harmlessly).
The choices are deterministic: they depend on the worker having this interceptor (a workflow
context flag set by the inbound interceptor) and on the `wfe-piggyback-batches` /
`wfe-local-batch-writes` patch markers, so histories recorded before these existed (or on a
worker without the interceptor) replay unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import fields
from typing import Any

from temporalio import activity, workflow
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    ExecuteWorkflowInput,
    Interceptor,
    StartActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from workflow_engine.engine.contract import (
    EngineEvent,
    RuntimeBatch,
    SubscriptionRecord,
    TaskRecord,
)

__all__ = [
    "BATCH_HEADER",
    "LOCAL_WRITES_PATCH_ID",
    "PATCH_ID",
    "BatchApplier",
    "PiggybackInterceptor",
    "available",
    "batch_from_json",
    "batch_to_json",
    "local_writes",
    "start_activity_riding",
]

#: Header of an activity that carries a batch to apply first.
BATCH_HEADER = "wfe-runtime-batch"
#: Patch marker: histories without it keep flushing through the write activity.
PATCH_ID = "wfe-piggyback-batches"
#: Patch marker: histories without it write flushed batches as (remote) activities.
LOCAL_WRITES_PATCH_ID = "wfe-local-batch-writes"
#: Applies one batch (the body of `wfe.apply_runtime_batch`).
BatchApplier = Callable[[RuntimeBatch], Awaitable[Any]]

#: Attempts to apply a riding batch inside one activity attempt (the database may blink).
_APPLY_ATTEMPTS = 5
_APPLY_BACKOFF_SECONDS = 0.2

_enabled: ContextVar[bool] = ContextVar("wfe_piggyback_enabled", default=False)
_riding: ContextVar[RuntimeBatch | None] = ContextVar("wfe_riding_batch", default=None)


def available() -> bool:
    """Whether this workflow run lets batches ride (call from workflow code only)."""
    return _enabled.get() and workflow.patched(PATCH_ID)


def local_writes() -> bool:
    """Whether flushed batches run as a local activity (call from workflow code only).

    Only on a worker with :class:`PiggybackInterceptor` (which registers the write activity,
    so a local activity finds it there).
    """
    return _enabled.get() and workflow.patched(LOCAL_WRITES_PATCH_ID)


def start_activity_riding(
    batch: RuntimeBatch | None, start: Callable[[], workflow.ActivityHandle[Any]]
) -> workflow.ActivityHandle[Any]:
    """Call `start` (a `workflow.start_activity`) with `batch` riding on the activity."""
    token = _riding.set(batch)
    try:
        return start()
    finally:
        _riding.reset(token)


class _Outbound(WorkflowOutboundInterceptor):
    def start_activity(self, input: StartActivityInput) -> workflow.ActivityHandle[Any]:
        batch = _riding.get()
        if batch is not None:
            _riding.set(None)  # one activity carries it
            payload = workflow.payload_converter().to_payloads([batch_to_json(batch)])[0]
            input.headers = {**input.headers, BATCH_HEADER: payload}
        return self.next.start_activity(input)


class _Inbound(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_Outbound(outbound))

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        # Tasks the run creates (the interpreter's tokens) inherit the flag.
        _enabled.set(True)
        return await self.next.execute_workflow(input)


class _ActivityInbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, apply: BatchApplier) -> None:
        super().__init__(next)
        self._apply = apply

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        payload = input.headers.get(BATCH_HEADER)
        if payload is not None:
            batch = batch_from_json(activity.payload_converter().from_payload(payload))
            await _apply_with_retries(self._apply, batch)
        return await self.next.execute_activity(input)


_FIELDS: dict[type, frozenset[str]] = {
    cls: frozenset(f.name for f in fields(cls))
    for cls in (RuntimeBatch, EngineEvent, TaskRecord, SubscriptionRecord)
}
#: Field names in declaration order (what `dataclasses.asdict` produces).
_ORDERED: dict[type, tuple[str, ...]] = {
    cls: tuple(f.name for f in fields(cls))
    for cls in (RuntimeBatch, EngineEvent, TaskRecord, SubscriptionRecord)
}
_BATCH_SCALARS = tuple(
    name
    for name in _ORDERED[RuntimeBatch]
    if name not in ("events", "tasks", "subscriptions", "active_node_ids", "variables")
)


def _plain(cls: type, value: Any) -> dict[str, Any]:
    return {name: getattr(value, name) for name in _ORDERED[cls]}


def batch_to_json(batch: RuntimeBatch) -> dict[str, Any]:
    """The batch as the plain JSON object the payload converter would make of it.

    Equal to `dataclasses.asdict(batch)` (so the encoded payload is byte for byte the same:
    the converter sorts keys), without its deep copy of every value: `asdict` on the pending
    batch of each step was about a quarter of the workflow's activation CPU (in the sandbox,
    each `isinstance` it makes goes through the sandbox's wrappers). Values are shared with
    the batch, not copied: the result is only encoded, never changed.
    """
    data = {name: getattr(batch, name) for name in _BATCH_SCALARS}
    data["events"] = [_plain(EngineEvent, e) for e in batch.events]
    data["active_node_ids"] = list(batch.active_node_ids)
    data["variables"] = batch.variables
    data["tasks"] = [_plain(TaskRecord, t) for t in batch.tasks]
    data["subscriptions"] = (
        None
        if batch.subscriptions is None
        else [_plain(SubscriptionRecord, s) for s in batch.subscriptions]
    )
    return data


def _known(cls: type, value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{where} must be an object, got {type(value).__name__}")
    names = _FIELDS[cls]
    return {k: v for k, v in value.items() if k in names}


def batch_from_json(value: Any) -> RuntimeBatch:
    """Build the `RuntimeBatch` of a decoded header (plain JSON) without type-hint conversion.

    The payload converter resolves every dataclass's type hints anew for each nested value
    (`typing.get_type_hints` on every event of every batch), which cost more CPU than the rest
    of the decoding. The batch's shape is fixed, so it is built directly; unknown keys are
    ignored like the converter does.

    Raises:
        ValueError: when the value is not a batch (names the field).
    """
    data = _known(RuntimeBatch, value, BATCH_HEADER)
    try:
        data["events"] = [
            EngineEvent(**_known(EngineEvent, e, f"events[{i}]"))
            for i, e in enumerate(data.get("events") or [])
        ]
        data["tasks"] = [
            TaskRecord(**_known(TaskRecord, t, f"tasks[{i}]"))
            for i, t in enumerate(data.get("tasks") or [])
        ]
        subscriptions = data.get("subscriptions")
        if subscriptions is not None:
            data["subscriptions"] = [
                SubscriptionRecord(**_known(SubscriptionRecord, s, f"subscriptions[{i}]"))
                for i, s in enumerate(subscriptions)
            ]
        return RuntimeBatch(**data)
    except TypeError as e:  # a missing required field
        raise ValueError(f"{BATCH_HEADER} is not a runtime batch: {e}") from e


async def _apply_with_retries(apply: BatchApplier, batch: RuntimeBatch) -> None:
    for attempt in range(1, _APPLY_ATTEMPTS + 1):
        try:
            await apply(batch)
            return
        except ApplicationError:
            raise  # the projection's own verdict (instance gone, invalid batch)
        except Exception:
            if attempt == _APPLY_ATTEMPTS:
                raise
            await asyncio.sleep(_APPLY_BACKOFF_SECONDS * attempt)


class PiggybackInterceptor(Interceptor):
    """Worker interceptor: batches ride on activities of the engine's queue.

    Args:
        apply: Applies a batch (the `wfe.apply_runtime_batch` callable); None for a worker or
            replayer that only runs workflows.
    """

    def __init__(self, apply: BatchApplier | None = None) -> None:
        self._apply = apply

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        """Apply a riding batch before the activity body."""
        if self._apply is None:
            return next
        return _ActivityInbound(next, self._apply)

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        """Let the workflow's batches ride on its activities."""
        return _Inbound
