"""Embedded subprocesses, event subprocesses and call activities (child workflows)."""

from __future__ import annotations

import asyncio
import datetime
from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ChildWorkflowError, is_cancelled_exception

from workflow_engine.engine.contract import (
    WORKFLOW_NAME,
    InstanceResult,
    StartInstanceInput,
    workflow_id,
)
from workflow_engine.engine.interpreter.state import IncidentError, Next, Token
from workflow_engine.expressions import apply_input_mapping
from workflow_engine.model.types import EventKind, FlowNode

if TYPE_CHECKING:
    from workflow_engine.engine.interpreter.runtime import Runtime

ACTIVITY_RESOLVE_DEFINITION = "wfe.resolve_definition"
_RESOLVE_TIMEOUT = datetime.timedelta(seconds=30)


async def embedded(rt: Runtime, token: Token, node: FlowNode) -> None:
    """Run the subprocess's own scope from its none start events until it is empty."""
    starts = [
        s.id for s in rt.model.start_events(node.id) if s.event_kind in (None, EventKind.NONE)
    ]
    child = rt.new_scope(kind="subprocess", node_id=node.id, parent=token.scope)
    await rt.run_scope(child, [(s, None) for s in starts])


async def event_subprocess(rt: Runtime, token: Token, node: FlowNode) -> list[Next]:
    """A triggered event subprocess: run it from the start event that fired."""
    rt.record("activity.started", node=node)
    child = rt.new_scope(kind="event_subprocess", node_id=node.id, parent=token.scope)
    await rt.run_scope(child, [(token.entry or "", None)] if token.entry else [])
    rt.record("activity.completed", node=node)
    return []


async def call_activity(rt: Runtime, token: Token, node: FlowNode) -> None:
    """Start the latest (or pinned) version of `called_element` as a child instance."""
    config = node.config
    key = config.get("called_element")
    if not isinstance(key, str) or not key:
        raise IncidentError(
            f"call activity '{node.id}' has no called_element", error_type="Configuration"
        )
    await rt.flush()
    try:
        resolved: dict[str, Any] = await workflow.execute_activity(
            ACTIVITY_RESOLVE_DEFINITION,
            {"key": key, "version": config.get("version"), "tenant_id": rt.inp.tenant_id},
            start_to_close_timeout=_RESOLVE_TIMEOUT,
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
    except ActivityError as err:
        if is_cancelled_exception(err):
            raise asyncio.CancelledError() from None
        raise IncidentError(
            f"call activity '{node.id}': definition '{key}' cannot be resolved: {err.cause or err}",
            error_type="CalledElementNotFound",
        ) from None
    variables = rt.view(token.scope)
    propagate = config.get("propagate_all_variables", True) is not False
    in_mapping = config.get("in_mapping")
    if isinstance(in_mapping, dict) and in_mapping:
        child_variables = apply_input_mapping(in_mapping, variables)
    else:
        child_variables = dict(variables) if propagate else {}
    child_id = str(workflow.uuid4())
    rt.record(
        "call.started",
        node=node,
        data={
            "called_element": key,
            "version": resolved.get("version"),
            "child_instance_id": child_id,
        },
    )
    child_input = StartInstanceInput(
        instance_id=child_id,
        definition_id=int(resolved["definition_id"]),
        definition_key=str(resolved.get("key", key)),
        definition_version=int(resolved["version"]),
        content_hash=str(resolved.get("content_hash", "")),
        document=resolved["document"],
        variables=child_variables,
        business_key=rt.inp.business_key,
        initiator=rt.inp.initiator,
        tenant_id=rt.inp.tenant_id,
        parent_instance_id=rt.instance_id,
        parent_node_id=node.id,
        implemented_listeners=list(rt.inp.implemented_listeners),
        register=True,  # its row (super_instance_id = this instance) before its first batch
        continue_as_new_after=rt.inp.continue_as_new_after,
        max_steps_without_wait=rt.inp.max_steps_without_wait,
        max_variables_bytes=rt.inp.max_variables_bytes,
    )
    await rt.flush()
    try:
        result: InstanceResult = await workflow.execute_child_workflow(
            WORKFLOW_NAME,
            child_input,
            id=workflow_id(child_id),
            task_queue=workflow.info().task_queue,
            result_type=InstanceResult,
            cancellation_type=workflow.ChildWorkflowCancellationType.TRY_CANCEL,
        )
    except ChildWorkflowError as err:
        if is_cancelled_exception(err):
            raise asyncio.CancelledError() from None
        raise IncidentError(
            f"call activity '{node.id}': child instance {child_id} failed: {err.cause or err}",
            error_type="ChildFailed",
        ) from None
    rt.record(
        "call.completed",
        node=node,
        data={"child_instance_id": child_id, "status": result.status},
    )
    if result.status != "completed":
        raise IncidentError(
            f"call activity '{node.id}': child instance {child_id} ended {result.status}"
            + (f" ({result.reason})" if result.reason else ""),
            error_type="ChildNotCompleted",
        )
    out_mapping = config.get("out_mapping")
    if isinstance(out_mapping, dict) and out_mapping:
        values = apply_input_mapping(
            out_mapping, {**variables, **result.variables, "result": result.variables}
        )
    else:
        values = dict(result.variables) if propagate else {}
    rt.set_variables(token.scope, values, node=node, source="call")
