"""Test harness for the interpreter: a worker on a per-test task queue, recording activities.

`wfe.apply_runtime_batch`, `wfe.broadcast_signal`, `wfe.send_message` and
`wfe.resolve_definition` are real activities here that keep what they receive in memory (the
database projection and the services are built elsewhere); service-task activities are plain
functions registered by name.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from workflow_engine.engine.contract import (
    QUERY_SNAPSHOT,
    WORKFLOW_NAME,
    EngineEvent,
    InstanceResult,
    InstanceSnapshot,
    RuntimeBatch,
    StartInstanceInput,
    TaskRecord,
    workflow_id,
)
from workflow_engine.engine.workflow import ProcessInstanceWorkflow
from workflow_engine.model.json_export import content_hash


def doc(*elements: dict[str, Any], **process: Any) -> dict[str, Any]:
    """A definition document around `elements`; extra keys go into the header / top level."""
    top = {k: process.pop(k) for k in list(process) if k.endswith("_definitions")}
    header = {"id": "p", "key": "p", **process}
    return {"process": header, "elements": list(elements), **top}


def el(element_id: str, element_type: str, *outgoing: str, **keys: Any) -> dict[str, Any]:
    """An element; positional ids after the type are its `outgoing` entries."""
    item: dict[str, Any] = {"id": element_id, "type": element_type, **keys}
    if outgoing:
        item["outgoing"] = list(outgoing)
    return item


def flow(flow_id: str, source: str, target: str, condition: str | None = None) -> dict[str, Any]:
    """A sequenceFlow element."""
    item: dict[str, Any] = {
        "id": flow_id,
        "type": "sequenceFlow",
        "source": source,
        "target": target,
    }
    if condition is not None:
        item["config"] = {"condition": condition}
    return item


@dataclass
class Engine:
    """What one test's worker recorded."""

    client: Client
    task_queue: str
    batches: list[RuntimeBatch] = field(default_factory=list)
    broadcasts: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    definitions: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: dict[str, list[Any]] = field(default_factory=dict)
    registered: list[StartInstanceInput] = field(default_factory=list)

    async def start(
        self,
        document: dict[str, Any],
        *,
        variables: dict[str, Any] | None = None,
        initiator: str | None = None,
        instance_id: str | None = None,
        **extra: Any,
    ) -> WorkflowHandle[Any, InstanceResult]:
        """Start an instance of `document` on this test's queue."""
        inp = StartInstanceInput(
            instance_id=instance_id or str(uuid.uuid4()),
            definition_id=1,
            definition_key=str(document["process"]["key"]),
            definition_version=1,
            content_hash=content_hash(document),
            document=document,
            variables=dict(variables or {}),
            initiator=initiator,
            **extra,
        )
        return await self.client.start_workflow(
            WORKFLOW_NAME,
            inp,
            id=workflow_id(inp.instance_id),
            task_queue=self.task_queue,
            result_type=InstanceResult,
        )

    def events(self, instance_id: str | None = None) -> list[EngineEvent]:
        """Every recorded event (of one instance), by sequence, without duplicates."""
        seen: dict[tuple[str, int], EngineEvent] = {}
        for batch in self.batches:
            if instance_id is not None and batch.instance_id != instance_id:
                continue
            for event in batch.events:
                seen.setdefault((batch.instance_id, event.sequence), event)
        return [seen[k] for k in sorted(seen)]

    def types(self, instance_id: str | None = None) -> list[str]:
        """Event types in order."""
        return [e.type for e in self.events(instance_id)]

    def passed(self, instance_id: str | None = None) -> list[str]:
        """Node ids of `activity.completed` / `event.passed` events, in order (the path)."""
        return [
            e.activity_id or ""
            for e in self.events(instance_id)
            if e.type in ("activity.completed", "event.passed")
        ]

    def tasks(self, instance_id: str | None = None) -> dict[str, TaskRecord]:
        """Latest record of every task."""
        found: dict[str, TaskRecord] = {}
        for batch in self.batches:
            if instance_id is None or batch.instance_id == instance_id:
                for task in batch.tasks:
                    found[task.task_id] = task
        return found

    def last(self, instance_id: str) -> RuntimeBatch:
        """The newest batch of an instance."""
        return [b for b in self.batches if b.instance_id == instance_id][-1]


async def snapshot(handle: WorkflowHandle[Any, Any]) -> InstanceSnapshot:
    """The live snapshot query."""
    result: InstanceSnapshot = await handle.query(QUERY_SNAPSHOT, result_type=InstanceSnapshot)
    return result


async def until(
    handle: WorkflowHandle[Any, Any],
    predicate: Callable[[InstanceSnapshot], bool],
    *,
    within: float = 20.0,
) -> InstanceSnapshot:
    """Poll the snapshot until `predicate` holds (fails the test after `within` seconds)."""
    deadline = asyncio.get_running_loop().time() + within
    last: InstanceSnapshot | None = None
    while asyncio.get_running_loop().time() < deadline:
        last = await snapshot(handle)
        if predicate(last):
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"condition not reached in {within}s; last snapshot: {last}")


@asynccontextmanager
async def engine(
    client: Client,
    *activities: Callable[..., Any],
    definitions: dict[str, dict[str, Any]] | None = None,
) -> AsyncIterator[Engine]:
    """A worker for one test: the workflow, the recording activities and `activities`."""
    state = Engine(client=client, task_queue=f"wfe-test-{uuid.uuid4()}")
    state.definitions.update(definitions or {})

    @activity.defn(name="wfe.apply_runtime_batch")
    async def apply_runtime_batch(batch: RuntimeBatch) -> None:
        state.batches.append(batch)

    @activity.defn(name="wfe.register_instance")
    async def register_instance(start: StartInstanceInput) -> bool:
        state.registered.append(start)
        return True

    @activity.defn(name="wfe.broadcast_signal")
    async def broadcast_signal(request: dict[str, Any]) -> dict[str, Any]:
        state.broadcasts.append(request)
        return {"delivered": 0}

    @activity.defn(name="wfe.send_message")
    async def send_message(request: dict[str, Any]) -> dict[str, Any]:
        state.messages.append(request)
        return {"instance_id": None}

    @activity.defn(name="wfe.resolve_definition")
    async def resolve_definition(request: dict[str, Any]) -> dict[str, Any]:
        document = state.definitions[request["key"]]
        return {
            "definition_id": 7,
            "key": request["key"],
            "version": 1,
            "content_hash": content_hash(document),
            "document": document,
        }

    worker = Worker(
        client,
        task_queue=state.task_queue,
        workflows=[ProcessInstanceWorkflow],
        activities=[
            apply_runtime_batch,
            register_instance,
            broadcast_signal,
            send_message,
            resolve_definition,
            *activities,
        ],
    )
    async with worker:
        yield state


def recording(
    name: str, engine_calls: dict[str, list[Any]], result: Any = None
) -> Callable[..., Any]:
    """An activity `name` that records its input and returns `result` (callable: of input)."""

    @activity.defn(name=name)
    async def run(arg: Any) -> Any:
        engine_calls.setdefault(name, []).append(arg)
        return result(arg) if callable(result) else result

    return run


async def eventually(predicate: Callable[[], bool], *, within: float = 20.0) -> None:
    """Poll `predicate` (e.g. on recorded batches) until it holds."""
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition not reached in {within}s")
