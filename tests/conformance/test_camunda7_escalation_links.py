"""Camunda 7 escalation and link cases (ESC-01..08, LINK-01..03) of camunda7-advanced/CASES.md.

Expectations are Camunda's own tests (`EscalationEventTest`, `EscalationEventSubprocessTest`,
`LinkEventTest`), restated in CASES.md; each case runs through the real stack (deploy the
peer's XML, start, read and complete tasks through the services) on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest

from tests.conformance.conftest import Stack, eventually
from workflow_engine.services.errors import ValidationFailedError

ADV = "camunda7-advanced/"
ESC = ADV + "EscalationEventTest."
ESC_SUB = ADV + "EscalationEventSubprocessTest."
LINK = ADV + "LinkEventTest."


async def _complete_all(stack: Stack, instance: str, names: list[str]) -> None:
    for name in names:
        await stack.complete(instance, name)
    await stack.wait_status(instance, "completed")


async def test_esc_01_non_interrupting_boundary_on_embedded_subprocess(stack: Stack) -> None:
    key = await stack.deploy(ESC + "testThrowEscalationEventFromEmbeddedSubprocess.bpmn20.xml")
    instance = await stack.start(key)
    both = ["task after catched escalation", "task in subprocess"]
    await stack.wait_tasks(instance, both)
    await _complete_all(stack, instance, both)


async def test_esc_02_escalation_end_event(stack: Stack) -> None:
    key = await stack.deploy(ESC + "testEscalationEndEvent.bpmn20.xml")
    instance = await stack.start(key)
    await stack.wait_tasks(instance, ["task after catched escalation"])
    # The end event finished the subprocess path: the subprocess completed, theEnd was reached.
    await eventually(
        lambda: stack.events(instance, "activity.completed", "event.passed"),
        lambda found: {"subProcess", "theEnd"} <= {e.activity_id for e in found},
        what="subProcess completed and theEnd passed",
    )
    await _complete_all(stack, instance, ["task after catched escalation"])


async def test_esc_03_boundary_matches_by_escalation_code(stack: Stack) -> None:
    key = await stack.deploy(ESC + "testBoundaryEventWithEscalationCode.bpmn20.xml")
    instance = await stack.start(key)
    both = ["task after catched escalation 1", "task in subprocess"]
    await stack.wait_tasks(instance, both)
    await _complete_all(stack, instance, both)
    names = {t.name for t in await stack.all_tasks(instance)}
    assert "task after catched escalation 2" not in names


async def test_esc_04_boundary_without_code_catches_any(stack: Stack) -> None:
    key = await stack.deploy(ESC + "testBoundaryEventWithoutEscalationCode.bpmn20.xml")
    instance = await stack.start(key)
    both = ["task after catched escalation", "task in subprocess"]
    await stack.wait_tasks(instance, both)
    await _complete_all(stack, instance, both)


async def test_esc_05_uncaught_escalation_is_recorded_and_the_flow_goes_on(
    stack: Stack,
) -> None:
    key = await stack.deploy(ESC + "throwEscalationEvent.bpmn20.xml")
    instance = await stack.start(key)
    await stack.wait_tasks(instance, ["task after thrown escalation"])
    assert await stack.incidents(instance) == []
    thrown = await stack.events(instance, "escalation.thrown")
    assert [(e.data["escalation_code"], e.data["caught"]) for e in thrown] == [
        ("escalationCode", False)
    ]
    await _complete_all(stack, instance, ["task after thrown escalation"])


async def test_esc_06_child_escalation_caught_on_call_activity(stack: Stack) -> None:
    await stack.deploy(ESC + "throwEscalationEvent.bpmn20.xml")
    key = await stack.deploy(
        ESC + "nonInterruptingEscalationBoundaryEventOnCallActivity.bpmn20.xml"
    )
    parent = await stack.start(key)
    children = await eventually(
        lambda: stack.children(parent), lambda found: len(found) == 1, what="one child instance"
    )
    child = children[0].id
    await stack.wait_tasks(parent, ["task after catched escalation"])
    await stack.wait_tasks(child, ["task after thrown escalation"])
    received = await stack.events(parent, "escalation.received")
    assert [(e.activity_id, e.data["caught"]) for e in received] == [
        ("throwEscalationProcess", True)
    ]
    await _complete_all(stack, child, ["task after thrown escalation"])
    await _complete_all(stack, parent, ["task after catched escalation"])


async def test_esc_07_non_interrupting_event_subprocess_inside_subprocess(stack: Stack) -> None:
    key = await stack.deploy(ESC_SUB + "testCatchEscalationEventInsideSubprocess.bpmn20.xml")
    instance = await stack.start(key)
    both = ["task in subprocess", "task after catched escalation"]
    await stack.wait_tasks(instance, both)
    snap = await stack.snapshot(instance)
    assert "subProcess" in snap.active_node_ids
    await _complete_all(stack, instance, both)


async def test_esc_08_interrupting_event_subprocess_inside_subprocess(stack: Stack) -> None:
    key = await stack.deploy(ESC_SUB + "testInterruptionEscalationEventSubprocess.bpmn20.xml")
    instance = await stack.start(key)
    await stack.wait_tasks(instance, ["task after catched escalation"])
    assert [t.name for t in await stack.all_tasks(instance)] == ["task after catched escalation"]
    snap = await stack.snapshot(instance)
    assert "subProcess" in snap.active_node_ids
    assert "taskInSubprocess" not in snap.active_node_ids
    await _complete_all(stack, instance, ["task after catched escalation"])
    passed = {e.activity_id for e in await stack.events(instance, "event.passed")}
    assert "theEnd" in passed


async def test_link_01_valid_event_link(stack: Stack) -> None:
    # Camunda's receive tasks here are bare wait states released by `runtimeService.signal`;
    # ours wait for a named message, so the wait states become user tasks (same ids) that
    # the test completes. The link jumps under test are unchanged.
    key = await stack.deploy(
        LINK + "testValidEventLink.bpmn20.xml",
        replace=[
            ('<receiveTask id="waitAfterLink1" />', '<userTask id="waitAfterLink1" />'),
            ('<receiveTask id="waitAfterLink2" />', '<userTask id="waitAfterLink2" />'),
        ],
    )
    instance = await stack.start(key)
    await stack.wait_tasks(instance, ["waitAfterLink1"], by="key")
    await stack.complete(instance, "waitAfterLink1", by="key")
    await stack.wait_tasks(instance, ["waitAfterLink2"], by="key")
    await stack.complete(instance, "waitAfterLink2", by="key")
    await stack.wait_status(instance, "completed")
    path = [
        e.activity_id
        for e in await stack.events(instance, "activity.completed", "event.passed")
        if e.activity_id in {"StartEvent_1", "waitAfterLink1", "waitAfterLink2", "EndEvent_1"}
    ]
    assert path == ["StartEvent_1", "waitAfterLink1", "waitAfterLink2", "EndEvent_1"]


async def test_link_02_two_catches_with_one_name_are_rejected(stack: Stack) -> None:
    with pytest.raises(ValidationFailedError) as refused:
        await stack.deploy(LINK + "testInvalidEventLinkMultipleTargets.bpmn20.xml")
    found = [(d.code, d.path) for d in refused.value.details]
    assert any(
        code == "DUPLICATE_LINK_NAME" and "IntermediateCatchEvent_2" in path for code, path in found
    ), found


async def test_link_03_link_catch_after_event_based_gateway_is_rejected(stack: Stack) -> None:
    with pytest.raises(ValidationFailedError) as refused:
        await stack.deploy(LINK + "testCatchLinkEventAfterEventBasedGatewayNotAllowed.bpmn20.xml")
    found = [(d.code, d.path) for d in refused.value.details]
    assert any(
        code == "INVALID_EVENT_GATEWAY_TARGET" and "IntermediateCatchEvent_2" in path
        for code, path in found
    ), found
