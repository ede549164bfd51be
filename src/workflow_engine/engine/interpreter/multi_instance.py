"""Multi-instance activities: parallel or sequential instances of one task or subprocess.

Counters live in the multi-instance body scope (`nrOfInstances`, `nrOfCompletedInstances`,
`nrOfActiveInstances`), `loopCounter` (0-based) and the element variable in each instance's
scope; the completion condition sees them all and cancels the remaining instances when true.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from temporalio import workflow

from workflow_engine.engine.interpreter.state import IncidentError, Token
from workflow_engine.expressions import evaluate, evaluate_condition, looks_like_expression
from workflow_engine.model.types import FlowNode

#: Histories recorded before the remaining instances were awaited on completion replay without it.
AWAIT_CANCELLED_INSTANCES_PATCH = "wfe-mi-await-cancelled"

if TYPE_CHECKING:
    from workflow_engine.engine.interpreter.runtime import Runtime


def _instances(rt: Runtime, token: Token, node: FlowNode) -> tuple[int, list[Any] | None]:
    spec = node.multi_instance
    assert spec is not None
    variables = rt.view(token.scope)
    if spec.collection:
        raw = spec.collection
        if looks_like_expression(raw):
            value = evaluate(raw, variables)
        elif raw in variables:
            value = variables[raw]
        else:
            raise IncidentError(
                f"multi-instance '{node.id}': collection variable '{raw}' is not set",
                error_type="MultiInstance",
            )
        if not isinstance(value, list):
            raise IncidentError(
                f"multi-instance '{node.id}': collection must be a list, got "
                f"{type(value).__name__}",
                error_type="MultiInstance",
            )
        return len(value), value
    if spec.loop_cardinality:
        raw = spec.loop_cardinality
        value = evaluate(raw, variables) if looks_like_expression(raw) else raw
        try:
            count = int(value)
        except (TypeError, ValueError):
            raise IncidentError(
                f"multi-instance '{node.id}': loop_cardinality {value!r} is not a whole number",
                error_type="MultiInstance",
            ) from None
        if count < 0:
            raise IncidentError(
                f"multi-instance '{node.id}': loop_cardinality {count} is negative",
                error_type="MultiInstance",
            )
        return count, None
    raise IncidentError(
        f"multi-instance '{node.id}' needs loop_cardinality or collection",
        error_type="MultiInstance",
    )


async def run(
    rt: Runtime,
    token: Token,
    node: FlowNode,
    single: Callable[[Token], Awaitable[None]],
) -> None:
    """Run the instances of `node`; `single` runs one instance's body for a token."""
    spec = node.multi_instance
    assert spec is not None
    count, items = _instances(rt, token, node)
    body = rt.new_scope(
        kind="mi_body",
        node_id=node.id,
        parent=token.scope,
        variables={"nrOfInstances": count, "nrOfCompletedInstances": 0, "nrOfActiveInstances": 0},
    )
    rt.record(
        "multi_instance.started",
        node=node,
        data={"instances": count, "sequential": spec.is_sequential},
    )

    async def one(index: int) -> None:
        local: dict[str, Any] = {"loopCounter": index}
        if items is not None and spec.element_variable:
            local[spec.element_variable] = items[index]
        scope = rt.new_scope(kind="mi_instance", node_id=node.id, parent=body, variables=local)
        instance = Token(id=str(workflow.uuid4()), node_id=node.id, scope=scope)
        await single(instance)

    def finished_one() -> bool:
        body.variables["nrOfCompletedInstances"] += 1
        body.variables["nrOfActiveInstances"] -= 1
        condition = spec.completion_condition
        if condition and evaluate_condition(condition, rt.view(body)):
            rt.record(
                "multi_instance.completion_condition",
                node=node,
                data={"completed": body.variables["nrOfCompletedInstances"]},
            )
            return True
        return False

    if spec.is_sequential:
        for index in range(count):
            body.variables["nrOfActiveInstances"] = 1
            await one(index)
            if finished_one():
                return
        return
    body.variables["nrOfActiveInstances"] = count
    pending = [rt.create_task(one(i)) for i in range(count)]
    try:
        while pending:
            await workflow.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in list(pending):
                if not task.done():
                    continue
                pending.remove(task)
                task.result()
                if finished_one():
                    return
    finally:
        for task in pending:
            task.cancel()
        if pending and workflow.patched(AWAIT_CANCELLED_INSTANCES_PATCH):
            # Let each cancelled instance close its task (state `cancelled`, a `task.cancelled`
            # event) before the token moves on: otherwise the next flush goes out without
            # them and the inbox shows those tasks open until some later flush.
            await asyncio.gather(*pending, return_exceptions=True)
