"""Camunda 7 scope cases 14, 17, 19 and 20 of /work/shared/conformance/CASES.md.

Expectations are Camunda's own tests (`BoundaryErrorEventTest`, `MultiInstanceTest`,
`CallActivityTest`): an error end event inside an embedded subprocess caught on the
subprocess boundary, a parallel multi-instance user task ended by its completion condition,
and a call activity whose child instance runs and returns to the parent.
"""

from __future__ import annotations

from tests.conformance.conftest import Stack, eventually

C7 = "camunda7/"


async def test_14_error_end_event_caught_on_embedded_subprocess(stack: Stack) -> None:
    key = await stack.deploy(
        C7 + "BoundaryErrorEventTest.testCatchErrorOnEmbeddedSubprocess.bpmn20.xml"
    )
    instance = await stack.start(key)
    await stack.wait_tasks(instance, ["subprocessTask"])
    await stack.complete(instance, "subprocessTask")
    await stack.wait_tasks(instance, ["task after catching the error"])
    ends = [e.activity_id for e in await stack.events(instance, "event.passed")]
    assert "theEnd" not in ends


async def test_17_parallel_multi_instance_completion_condition(stack: Stack) -> None:
    key = await stack.deploy(
        C7 + "MultiInstanceTest.testParallelUserTasksCompletionCondition.bpmn20.xml"
    )
    instance = await stack.start(key)
    for remaining in (5, 4, 3):
        await stack.wait_tasks(instance, ["miTasks"] * remaining, by="key")
        first = sorted(await stack.open_tasks(instance), key=lambda t: t.name)[0]
        await stack.services.tasks.complete(first.id, variables={})
    # 3 of 5 completed: 3/5 >= 0.5 holds, the other two instances are cancelled.
    await stack.wait_status(instance, "completed")
    states = sorted(t.state for t in await stack.all_tasks(instance))
    assert states == ["cancelled"] * 2 + ["completed"] * 3


async def _child_started(stack: Stack, parent: str) -> str:
    """Complete the parent's first task; return the child instance id its call activity starts."""
    await stack.wait_tasks(parent, ["Task before subprocess"])
    await stack.complete(parent, "Task before subprocess")
    calls = await eventually(
        lambda: stack.events(parent, "call.started"),
        lambda found: len(found) == 1,
        what="call activity started",
    )
    assert calls[0].activity_id == "callSubProcess"
    assert calls[0].data["called_element"] == "simpleSubProcess"
    return str(calls[0].data["child_instance_id"])


async def test_19_20_call_simple_subprocess(stack: Stack) -> None:
    """The child gets a row (super_instance_id = parent); its task goes through the services."""
    await stack.deploy(C7 + "simpleSubProcess.bpmn20.xml")
    key = await stack.deploy(C7 + "CallActivity.testCallSimpleSubProcess.bpmn20.xml")
    parent = await stack.start(key)
    child_id = await _child_started(stack, parent)
    children = await eventually(
        lambda: stack.children(parent), lambda found: len(found) == 1, what="one child instance"
    )
    child = children[0]
    assert (child.id, child.definition_key) == (child_id, "simpleSubProcess")
    assert child.super_instance_id == parent
    await stack.wait_tasks(child.id, ["Task in subprocess"])
    assert await stack.open_tasks(parent) == []
    await stack.complete(child.id, "Task in subprocess")
    await stack.wait_status(child.id, "completed")
    await stack.wait_tasks(parent, ["Task after subprocess"])
    await stack.complete(parent, "Task after subprocess")
    await stack.wait_status(parent, "completed")
