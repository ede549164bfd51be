"""Tasks: service, send, script, user, receive, business rule, manual.

Service / send tasks call activities by name, script tasks evaluate CEL, user tasks wait for
the `complete_task` update, business rule tasks evaluate a decision table.
"""

from __future__ import annotations

import asyncio
import datetime
from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, is_cancelled_exception
from temporalio.exceptions import TimeoutError as TemporalTimeout

from workflow_engine.engine import piggyback
from workflow_engine.engine.contract import RuntimeBatch, TaskRecord
from workflow_engine.engine.interpreter import carry, waits
from workflow_engine.engine.interpreter.budgets import check_variables
from workflow_engine.engine.interpreter.catchers import known_error_types
from workflow_engine.engine.interpreter.decisions import run_decision_table
from workflow_engine.engine.interpreter.events import merge_delivery, throw, throw_error
from workflow_engine.engine.interpreter.state import IncidentError, OpenTask, Token, iso
from workflow_engine.expressions import (
    apply_input_mapping,
    apply_output_mapping,
    evaluate,
    looks_like_expression,
)
from workflow_engine.expressions.timers import parse_date, parse_duration
from workflow_engine.model.types import FlowNode

if TYPE_CHECKING:
    from workflow_engine.engine.interpreter.runtime import Runtime

#: `config.implementation` -> built-in activity name.
BUILTIN_ACTIVITIES = {"http": "wfe.http", "script": "wfe.script", "noop": "wfe.noop"}
DEFAULT_ACTIVITY_TIMEOUT = datetime.timedelta(minutes=5)
DEFAULT_MAX_ATTEMPTS = 3


def retry_policy(rt: Runtime, node: FlowNode) -> RetryPolicy:
    """`config.retry_policy` as Temporal's; BPMN error types never retry."""
    spec = node.retry_policy
    non_retryable = set(known_error_types(rt.model))
    policy = RetryPolicy(maximum_attempts=DEFAULT_MAX_ATTEMPTS)
    if spec is not None:
        non_retryable.update(spec.non_retryable_error_types)
        policy = RetryPolicy(
            maximum_attempts=spec.max_attempts
            if spec.max_attempts is not None
            else DEFAULT_MAX_ATTEMPTS,
            initial_interval=(
                parse_duration(spec.initial_interval)
                if spec.initial_interval
                else datetime.timedelta(seconds=1)
            ),
            backoff_coefficient=spec.backoff_coefficient or 2.0,
            maximum_interval=parse_duration(spec.maximum_interval)
            if spec.maximum_interval
            else None,
        )
    policy.non_retryable_error_types = sorted(non_retryable)
    return policy


def activity_timeout(node: FlowNode) -> datetime.timedelta:
    """`config.timeout` of one attempt (default 5 minutes)."""
    raw = node.config.get("timeout")
    return parse_duration(raw) if isinstance(raw, str) else DEFAULT_ACTIVITY_TIMEOUT


def apply_result(rt: Runtime, token: Token, node: FlowNode, result: Any) -> None:
    """Output: output_mapping over `result`; else a dict result merges into the variables.

    Output expressions see the variables, `result`, and — for a dict result — its fields as
    local variables shadowing process variables of the same name: Zeebe's
    `<zeebe:output source="=counter">` and Camunda's outputParameter read the job's / the
    activity's local scope, so `${counter}` is the value the activity returned.
    """
    if node.output_mapping:
        scope = rt.view(token.scope)
        visible = {**scope, **result} if isinstance(result, dict) else scope
        values = apply_output_mapping(node.output_mapping, result, visible)
    elif isinstance(result, dict):
        values = result
    else:
        target = node.config.get("result_variable")
        values = {target: result} if isinstance(target, str) and target else {}
    check_variables(node.id, values, rt.view(token.scope), rt.inp.max_variables_bytes)
    rt.set_variables(token.scope, values, node=node, source="output")


def _failure(err: ActivityError) -> tuple[str, str]:
    cause = err.cause
    if isinstance(cause, ApplicationError):
        return cause.type or "ApplicationError", cause.message
    if isinstance(cause, TemporalTimeout):
        return "Timeout", f"timed out ({cause.type.name if cause.type else 'timeout'})"
    return type(cause).__name__ if cause else "ActivityError", str(cause or err)


async def service_task(rt: Runtime, token: Token, node: FlowNode) -> None:
    """Call the activity named by `activity_name` (or a built-in) with the mapped input."""
    config = node.config
    implementation = config.get("implementation", "temporal_activity")
    name = config.get("activity_name")
    if isinstance(name, str) and looks_like_expression(name):
        # A computed name (e.g. a Zeebe job type written in FEEL), evaluated per instance.
        name = evaluate(name, rt.view(token.scope))
        if not isinstance(name, str) or not name:
            raise IncidentError(
                f"service task '{node.id}': activity_name evaluated to {name!r}, not a name",
                error_type="Configuration",
            )
    if not name:
        name = BUILTIN_ACTIVITIES.get(str(implementation))
    if not isinstance(name, str) or not name:
        if node.config.get("message_ref") is not None:  # a send task without an activity
            await throw(rt, token, node)
            return
        raise IncidentError(
            f"service task '{node.id}' has no activity_name and implementation "
            f"{implementation!r} is not a built-in (http, script, noop)",
            error_type="Configuration",
        )
    variables = rt.view(token.scope)
    argument: dict[str, Any] = (
        apply_input_mapping(node.input_mapping, variables) if node.input_mapping else variables
    )
    if implementation in BUILTIN_ACTIVITIES and not config.get("activity_name"):
        argument = {
            **argument,
            "_config": {
                k: v
                for k, v in config.items()
                if k not in ("input_mapping", "output_mapping", "retry_policy", "multi_instance")
            },
        }
    queue = config.get("task_queue")
    target = queue if isinstance(queue, str) and queue else None
    rt.record(
        "activity.scheduled",
        node=node,
        data={"activity": name, "input": argument, "execution_id": token.id},
    )
    ride: RuntimeBatch | None = None
    if (target is None or target == workflow.info().task_queue) and piggyback.available():
        # Our own worker runs it: the pending events ride on the activity (DESIGN §3).
        ride = await rt.batch_for_ride()
    else:
        await rt.flush()
    try:
        handle = piggyback.start_activity_riding(
            ride,
            lambda: workflow.start_activity(
                name,
                argument,
                task_queue=target,
                start_to_close_timeout=activity_timeout(node),
                retry_policy=retry_policy(rt, node),
            ),
        )
        result = await handle
    except asyncio.CancelledError:
        if ride is not None:
            rt.ride_done(ride)
            rt.resend(ride)
        raise
    except ActivityError as err:
        if ride is not None:
            rt.ride_done(ride)
            rt.resend(ride)
        if is_cancelled_exception(err):
            raise asyncio.CancelledError() from None
        error_type, message = _failure(err)
        rt.record(
            "activity.failed",
            node=node,
            data={
                "error_type": error_type,
                "message": message,
                "execution_id": token.id,
                # Why Temporal stopped retrying (MAXIMUM_ATTEMPTS_REACHED, NON_RETRYABLE_FAILURE,
                # TIMEOUT ...): the history's step detail derives the attempt count from it.
                "retry_state": err.retry_state.name if err.retry_state is not None else None,
                "max_attempts": retry_policy(rt, node).maximum_attempts,
            },
        )
        if error_type in known_error_types(rt.model):
            raise throw_error(rt, node, error_type, message, own_boundaries=True) from None
        raise IncidentError(
            f"activity '{name}' of '{node.id}' failed: {message}",
            error_type=error_type,
            attempts=node.retry_policy.max_attempts or DEFAULT_MAX_ATTEMPTS
            if node.retry_policy
            else DEFAULT_MAX_ATTEMPTS,
        ) from None
    if ride is not None:
        rt.ride_done(ride)
    rt.record("activity.result", node=node, data={"result": result, "execution_id": token.id})
    apply_result(rt, token, node, result)


async def script_task(rt: Runtime, token: Token, node: FlowNode) -> None:
    """CEL assignments (`script` object) or one expression into `result_variable`."""
    script = node.config.get("script")
    variables = rt.view(token.scope)
    if isinstance(script, dict):
        values = {name: evaluate(expr, variables) for name, expr in script.items()}
    elif isinstance(script, str):
        value = evaluate(
            script if looks_like_expression(script) else "${" + script + "}", variables
        )
        target = node.config.get("result_variable")
        if isinstance(target, str) and target:
            values = {target: value}
        elif isinstance(value, dict):
            values = value
        else:
            raise IncidentError(
                f"script task '{node.id}': the script's value is not an object and there is no "
                "result_variable to store it in",
                error_type="Configuration",
            )
    else:
        raise IncidentError(f"script task '{node.id}' has no script", error_type="Configuration")
    if node.output_mapping:
        values = apply_output_mapping(node.output_mapping, values, variables)
    check_variables(node.id, values, variables, rt.inp.max_variables_bytes)
    rt.set_variables(token.scope, values, node=node, source="script")


async def business_rule_task(rt: Runtime, token: Token, node: FlowNode) -> None:
    """Evaluate the node's decision table."""
    values = run_decision_table(node, rt.view(token.scope))
    rt.record("decision.evaluated", node=node, data={"output": values})
    rt.set_variables(token.scope, values, node=node, source="decision")


async def receive_task(rt: Runtime, token: Token, node: FlowNode) -> None:
    """Wait for the node's message."""
    received = await waits.wait_trigger(rt, token, node)
    merge_delivery(rt, token, node, received or {})


async def send_task(rt: Runtime, token: Token, node: FlowNode) -> None:
    """An activity when one is named, else the message is sent through the services."""
    if node.config.get("activity_name") or node.config.get("implementation") in BUILTIN_ACTIVITIES:
        await service_task(rt, token, node)
    else:
        await throw(rt, token, node)


def _names(value: Any, variables: dict[str, Any]) -> list[str]:
    if isinstance(value, str):
        if looks_like_expression(value):
            return _names(evaluate(value, variables), variables)
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list):
        result: list[str] = []
        for item in value:
            result.extend(_names(item, variables))
        return result
    return [] if value is None else [str(value)]


def _text(value: Any, variables: dict[str, Any]) -> str | None:
    if value is None:
        return None
    resolved = evaluate(value, variables) if looks_like_expression(value) else value
    return None if resolved is None else str(resolved)


def _due_date(value: Any, variables: dict[str, Any]) -> str | None:
    text = _text(value, variables)
    if text is None:
        return None
    now = workflow.now()
    if text.startswith(("P", "-P")):
        return iso(now + parse_duration(text, base=now))
    return iso(parse_date(text))


def _priority(value: Any, variables: dict[str, Any]) -> int:
    text = _text(value, variables)
    if text is None:
        return 50
    try:
        return int(float(text))
    except ValueError:
        raise IncidentError(
            f"priority {text!r} is not a number", error_type="Configuration"
        ) from None


async def user_task(rt: Runtime, token: Token, node: FlowNode) -> None:
    """Create the task record, wait for `complete_task`, take its variables."""
    config = node.config
    variables = rt.view(token.scope)
    record = TaskRecord(
        task_id=str(workflow.uuid4()),
        node_id=node.id,
        name=node.name or node.id,
        state="created",
        created_at=rt.now(),
        assignee=_text(config.get("assignee"), variables),
        candidate_users=_names(config.get("candidate_users"), variables),
        candidate_groups=_names(config.get("candidate_groups"), variables),
        priority=_priority(config.get("priority"), variables),
        due_date=_due_date(config.get("due_date"), variables),
        form_key=_text(config.get("form_key"), variables),
        category=_text(config.get("category"), variables),
        description=node.documentation or None,
        execution_id=token.id,
    )
    open_task = OpenTask(task_id=record.task_id, node_id=node.id, execution_id=token.id)
    rt.open_tasks[record.task_id] = open_task
    rt.put_task(record)
    rt.record(
        "task.created",
        node=node,
        task_id=record.task_id,
        data={"assignee": record.assignee, "execution_id": token.id},
    )
    try:
        await rt.run_listeners(node.listeners, "create", node=node, scope=token.scope)
    except asyncio.CancelledError:
        _cancel_task(rt, node, record, open_task, token)
        raise
    await await_user_task(rt, token, node, record.task_id)


def _cancel_task(
    rt: Runtime, node: FlowNode, record: TaskRecord, open_task: OpenTask, token: Token
) -> None:
    if not open_task.closed:
        open_task.closed = True
        record.state = "cancelled"
        record.ended_at = rt.now()
        rt.put_task(record)
        rt.record("task.cancelled", node=node, task_id=record.task_id)
    elif record.state == "created":
        # Its completion was accepted (the caller was told so) but the token was cancelled
        # before it took it: the completion still happened, the instance just goes no further.
        _take_completion(rt, token, node, record, open_task)
    rt.open_tasks.pop(record.task_id, None)


def _take_completion(
    rt: Runtime, token: Token, node: FlowNode, record: TaskRecord, open_task: OpenTask
) -> None:
    record.state = "completed"
    record.ended_at = rt.now()
    record.completed_by = open_task.completed_by
    rt.put_task(record)
    rt.record(
        "task.completed",
        node=node,
        task_id=record.task_id,
        user_id=open_task.completed_by,
        data={"variables": open_task.variables, "execution_id": token.id},
    )
    rt.set_variables(
        token.scope, open_task.variables, node=node, source="task", user_id=open_task.completed_by
    )


async def await_user_task(rt: Runtime, token: Token, node: FlowNode, task_id: str) -> None:
    """Wait for the open task `task_id` to be completed, then take its variables.

    Also the way a task carried over a continue-as-new is picked up again.
    """
    record = rt.tasks[task_id]
    open_task = rt.open_tasks[task_id]
    try:
        await rt.flush()
        with carry.resting(token, {"kind": "user_task", "task_id": task_id}):
            await workflow.wait_condition(lambda: open_task.closed)
    except asyncio.CancelledError:
        _cancel_task(rt, node, record, open_task, token)
        raise
    rt.open_tasks.pop(record.task_id, None)
    _take_completion(rt, token, node, record, open_task)
    await rt.run_listeners(node.listeners, "complete", node=node, scope=token.scope)
    await rt.gate()


async def manual_task(rt: Runtime, token: Token, node: FlowNode) -> None:
    """Manual tasks and plain tasks pass (recorded as started / completed)."""
