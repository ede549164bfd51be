"""Sensitive variables are masked wherever they leave the services; the engine keeps them."""

from __future__ import annotations

import uuid
from typing import Any

from tests.services.support import deploy_document
from workflow_engine.bus import LiveEvent
from workflow_engine.engine.contract import EngineEvent, RuntimeBatch
from workflow_engine.services.container import Services
from workflow_engine.services.masking import MASK, Sensitive
from workflow_engine.store.instances import InstanceRepository
from workflow_engine.store.runtime import RuntimeProjection

SECRET = "s3cret-pw-value"


def definition(key: str = "login") -> dict[str, Any]:
    return {
        "process": {
            "id": key,
            "key": key,
            "name": key,
            "executable": True,
            "variables": {
                "password": {"type": "string", "sensitive": True},
                "user": {"type": "string"},
            },
        },
        "elements": [
            {"id": "start", "type": "startEvent", "outgoing": ["end"]},
            {"id": "end", "type": "endEvent", "incoming": ["start"]},
        ],
    }


def test_sensitive_masks_by_name_and_by_value() -> None:
    data = {
        "variables": {"password": SECRET, "user": "alice"},
        "input": {"pw": SECRET, "note": f"pw is {SECRET}!", "n": 3},
        "list": [{"password": {"nested": SECRET}}, "short"],
    }
    sensitive = Sensitive(frozenset({"password"})).learn(data)
    masked = sensitive.mask(data)
    assert masked == {
        "variables": {"password": MASK, "user": "alice"},
        "input": {"pw": MASK, "note": f"pw is {MASK}!", "n": 3},
        "list": [{"password": MASK}, "short"],
    }
    assert data["variables"]["password"] == SECRET  # the original is untouched
    # Short values are not cut out of other text (too many false hits).
    short = Sensitive(frozenset({"pin"})).learn({"pin": "123"})
    assert short.mask({"pin": "123", "msg": "order 123"}) == {"pin": MASK, "msg": "order 123"}
    # Nothing declared: data passes as it is.
    assert Sensitive().mask(data) is data


def _ev(seq: int, kind: str, node: str | None = None, **data: Any) -> EngineEvent:
    return EngineEvent(
        sequence=seq,
        type=kind,
        timestamp=f"2026-11-30T10:00:{seq:02d}+00:00",
        activity_id=node,
        name=node,
        data=data,
    )


async def _instance_with_secret(services: Services) -> str:
    definition_id = await deploy_document(services, definition())
    instance_id = str(uuid.uuid4())
    async with services.database.session() as session:
        await InstanceRepository(session).create(
            instance_id=instance_id,
            workflow_id=f"pi-{instance_id}",
            definition_id=definition_id,
            definition_key="login",
            definition_version=1,
        )
    events = [
        _ev(1, "process.started", variables={"password": SECRET, "user": "alice"}),
        _ev(2, "activity.started", "check", execution_id="t1"),
        _ev(
            3,
            "activity.scheduled",
            "check",
            execution_id="t1",
            activity="Check",
            input={
                "pw": SECRET,
                "user": "alice",
            },
        ),
        _ev(4, "activity.result", "check", execution_id="t1", result={"echo": f"got {SECRET}"}),
        _ev(5, "variable.updated", "check", variables={"password": SECRET}, source="output"),
    ]
    async with services.database.session() as session:
        await RuntimeProjection(session).apply(
            RuntimeBatch(
                instance_id=instance_id,
                through_sequence=5,
                events=events,
                active_node_ids=["check"],
                variables={"password": SECRET, "user": "alice", "copy": f"x{SECRET}x"},
            )
        )
    return instance_id


async def test_services_mask_what_leaves_and_keep_what_the_engine_uses(
    services: Services,
) -> None:
    instance_id = await _instance_with_secret(services)

    detail = await services.instances.get(instance_id)
    assert detail.variables == {"password": MASK, "user": "alice", "copy": f"x{MASK}x"}
    assert await services.instances.variables(instance_id) == detail.variables

    page = await services.history.history(instance_id)
    shown = repr([event.data for event in page.events])
    assert SECRET not in shown
    assert page.events[0].data["variables"] == {"password": MASK, "user": "alice"}
    assert page.events[2].data["input"] == {"pw": MASK, "user": "alice"}

    steps = await services.history.steps(instance_id)
    check = next(step for step in steps if step.node_id == "check")
    assert check.input == {"pw": MASK, "user": "alice"}
    assert check.attempts[0].result == {"echo": f"got {MASK}"}
    assert check.variables == {"password": MASK}
    one = await services.history.step(instance_id, check.step_id)
    assert SECRET not in repr(one)

    stream = await services.live.instance_stream(instance_id)
    sent: list[LiveEvent] = []
    async for item in stream:
        if isinstance(item, LiveEvent):
            sent.append(item)
        if len(sent) == 5:
            break
    await stream.aclose()
    assert SECRET not in repr([event.data for event in sent])
    assert sent[2].data["input"]["pw"] == MASK

    # The engine's own state keeps the real values.
    async with services.database.session() as session:
        stored = await InstanceRepository(session).variables(instance_id)
    assert stored["password"] == SECRET


async def test_undeclared_instances_are_shown_as_stored(services: Services) -> None:
    document = definition("plain")
    document["process"]["variables"]["password"]["sensitive"] = False
    definition_id = await deploy_document(services, document)
    instance_id = str(uuid.uuid4())
    async with services.database.session() as session:
        await InstanceRepository(session).create(
            instance_id=instance_id,
            workflow_id=f"pi-{instance_id}",
            definition_id=definition_id,
            definition_key="plain",
            definition_version=1,
        )
        await RuntimeProjection(session).apply(
            RuntimeBatch(
                instance_id=instance_id,
                through_sequence=1,
                events=[_ev(1, "process.started", variables={"password": SECRET})],
                variables={"password": SECRET},
            )
        )
    assert (await services.instances.get(instance_id)).variables == {"password": SECRET}
    page = await services.history.history(instance_id)
    assert page.events[0].data["variables"] == {"password": SECRET}
