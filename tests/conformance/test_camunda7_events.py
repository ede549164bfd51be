"""Camunda 7 event cases 12, 13, 15, 16 and 18 of /work/shared/conformance/CASES.md.

Expectations are Camunda's own tests (`BoundaryTimerEventTest`,
`BoundaryTimerNonInterruptingEventTest`, `TerminateEndEventTest`, `MessageBoundaryEventTest`,
`MessageEventSubprocessTest`). Camunda drives timers with a test clock; here they run on the
real clock, so timer cases deploy copies with the durations shortened (each edit is named where
it is made). What is tested — which task is cancelled, how often a cycle fires, that the
timer stops with its activity — stays Camunda's.
"""

from __future__ import annotations

import asyncio

from tests.conformance.conftest import Stack

C7 = "camunda7/"


async def test_12_interrupting_boundary_timer(stack: Stack) -> None:
    # PT5M -> PT1S: Camunda moves its clock past 5 minutes; we let a 1 s timer fire.
    key = await stack.deploy(
        C7 + "BoundaryTimerEventTest.testInterruptingTimerDuration.bpmn20.xml",
        replace=[("PT5M", "PT1S")],
    )
    instance = await stack.start(key)
    await stack.wait_tasks(instance, ["First line support"])
    await stack.wait_tasks(instance, ["Handle escalated issue"])
    cancelled = [
        t for t in await stack.all_tasks(instance) if t.task_definition_key == "firstLineSupport"
    ]
    assert [t.state for t in cancelled] == ["cancelled"]


async def test_13_non_interrupting_timer_cycle(stack: Stack) -> None:
    # R/PT1H -> R/PT3S: Camunda advances its clock by 1 h per step; 3 s real periods leave a
    # safe margin between "two fired" and the next fire while `task` is completed.
    key = await stack.deploy(
        C7 + "BoundaryTimerNonInterruptingEventTest.testTimerWithCycle.bpmn20.xml",
        replace=[("R/PT1H", "R/PT3S")],
    )
    instance = await stack.start(key)
    await stack.wait_tasks(instance, ["task"], by="key")
    await stack.wait_tasks(instance, ["task", "timerFiredTask"], by="key")
    await stack.wait_tasks(instance, ["task", "timerFiredTask", "timerFiredTask"], by="key")
    await stack.complete(instance, "task", by="key")
    await stack.wait_tasks(instance, ["timerFiredTask", "timerFiredTask"], by="key")
    # Camunda: +1 h after the completion -> still 2. A "nothing more happens" check needs
    # time to pass: one full period plus margin.
    await asyncio.sleep(4)
    await stack.wait_tasks(instance, ["timerFiredTask", "timerFiredTask"], by="key")
    fired = await stack.events(instance, "timer.fired")
    assert len(fired) == 2


async def test_15_terminate_end_event(stack: Stack) -> None:
    key = await stack.deploy(C7 + "TerminateEndEventTest.testProcessTerminate.bpmn")
    instance = await stack.start(key)
    await stack.wait_tasks(instance, ["preTerminateTask", "preNormalTerminateTask"], by="key")
    await stack.complete(instance, "preTerminateTask", by="key")
    await stack.wait_status(instance, "completed")
    assert await stack.open_tasks(instance) == []


MESSAGE_BOUNDARY = C7 + "MessageBoundaryEventTest.testSingleBoundaryMessageEvent.bpmn20.xml"


async def test_16a_message_boundary_interrupts(stack: Stack) -> None:
    key = await stack.deploy(MESSAGE_BOUNDARY)
    instance = await stack.start(key)
    await stack.wait_tasks(instance, ["task"], by="key")
    await stack.wait_subscriptions(instance, [("message", "messageName")])
    correlated = await stack.services.messages.correlate("messageName")
    assert correlated.instance_id == instance
    await stack.wait_tasks(instance, ["taskAfterMessage"], by="key")
    await stack.wait_subscriptions(instance, [])
    await stack.complete(instance, "taskAfterMessage", by="key")
    await stack.wait_status(instance, "completed")


async def test_16b_message_boundary_removed_with_its_task(stack: Stack) -> None:
    key = await stack.deploy(MESSAGE_BOUNDARY)
    instance = await stack.start(key)
    await stack.wait_tasks(instance, ["task"], by="key")
    await stack.wait_subscriptions(instance, [("message", "messageName")])
    await stack.complete(instance, "task", by="key")
    await stack.wait_tasks(instance, ["taskAfterTask"], by="key")
    await stack.wait_subscriptions(instance, [])
    await stack.complete(instance, "taskAfterTask", by="key")
    await stack.wait_status(instance, "completed")


EVENT_SUBPROCESS = (
    C7 + "MessageEventSubprocessTest.testNonInterruptingUnderProcessDefinition.bpmn20.xml"
)


async def test_18a_no_message_ends_and_removes_subscription(stack: Stack) -> None:
    key = await stack.deploy(EVENT_SUBPROCESS)
    instance = await stack.start(key)
    await stack.wait_tasks(instance, ["task"], by="key")
    await stack.wait_subscriptions(instance, [("message", "newMessage")])
    await stack.complete(instance, "task", by="key")
    await stack.wait_status(instance, "completed")
    await stack.wait_subscriptions(instance, [])


async def _with_message(stack: Stack) -> str:
    key = await stack.deploy(EVENT_SUBPROCESS)
    instance = await stack.start(key)
    await stack.wait_tasks(instance, ["task"], by="key")
    await stack.wait_subscriptions(instance, [("message", "newMessage")])
    correlated = await stack.services.messages.correlate("newMessage")
    assert (correlated.instance_id, correlated.started) == (instance, False)
    await stack.wait_tasks(instance, ["task", "eventSubProcessTask"], by="key")
    return instance


async def test_18b_message_then_main_task_first(stack: Stack) -> None:
    instance = await _with_message(stack)
    await stack.complete(instance, "task", by="key")
    # The main path has reached its end event; the event subprocess keeps the instance alive.
    await stack.wait_active(instance, ["subProcess", "eventSubProcessTask"])
    await stack.wait_tasks(instance, ["eventSubProcessTask"], by="key")
    assert (await stack.instance(instance)).status != "completed"
    await stack.complete(instance, "eventSubProcessTask", by="key")
    await stack.wait_status(instance, "completed")


async def test_18c_message_then_event_subprocess_task_first(stack: Stack) -> None:
    instance = await _with_message(stack)
    await stack.complete(instance, "eventSubProcessTask", by="key")
    await stack.wait_active(instance, ["task"])
    await stack.wait_tasks(instance, ["task"], by="key")
    assert (await stack.instance(instance)).status != "completed"
    await stack.complete(instance, "task", by="key")
    await stack.wait_status(instance, "completed")
