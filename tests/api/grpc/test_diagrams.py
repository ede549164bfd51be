"""`DefinitionService.GetDefinitionDiagram` and `ExecutionService.GetInstanceDiagram` over a
real server (both databases): the same SVG as REST's `/diagram` routes; the instance's run-time
marks against the seed example on the real interpreter."""

from __future__ import annotations

import grpc
import httpx

from tests.api.grpc.support import refused
from tests.model.svg.geometry import classes, node_groups, parse
from tests.paths import SEED
from tests.services.support import SEED_VARIABLES, eventually
from workflow_engine.api.grpc.generated import definitions_pb2 as dpb
from workflow_engine.api.grpc.generated import execution_pb2 as epb
from workflow_engine.api.grpc.generated.definitions_pb2_grpc import DefinitionServiceStub
from workflow_engine.api.grpc.generated.execution_pb2_grpc import ExecutionServiceStub
from workflow_engine.api.rest.app import create_app
from workflow_engine.services.container import Services
from workflow_engine.services.definition_source import DefinitionFormat
from workflow_engine.store.tasks import TaskFilters

STATES = {"node-active", "node-done", "node-failed", "node-waiting"}


def _states(svg: str) -> dict[str, set[str]]:
    return {k: classes(g) & STATES for k, g in node_groups(parse(svg)).items()}


async def _rest_text(services: Services, path: str) -> str:
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get(path)
    assert response.status_code == 200, response.text
    return response.text


async def test_definition_diagram_is_rests_svg(
    services: Services, stub: DefinitionServiceStub, seed_bytes: bytes
) -> None:
    deployed = await stub.DeployDefinition(
        dpb.DeployDefinitionRequest(content=seed_bytes, format=dpb.FORMAT_JSON)
    )
    definition_id = deployed.definition.id
    diagram = await stub.GetDefinitionDiagram(dpb.GetDefinitionDiagramRequest(id=definition_id))
    assert diagram.media_type == "image/svg+xml"
    assert set(node_groups(parse(diagram.svg))) >= {"start_event", "validate_user_task"}
    assert all(not marks for marks in _states(diagram.svg).values())
    assert diagram.svg == await _rest_text(services, f"/api/v1/definitions/{definition_id}/diagram")


async def test_diagram_errors(channel: grpc.aio.Channel) -> None:
    missing = await refused(
        DefinitionServiceStub(channel).GetDefinitionDiagram(
            dpb.GetDefinitionDiagramRequest(id=999999)
        )
    )
    assert (missing.code, missing.reason) == (grpc.StatusCode.NOT_FOUND, "NOT_FOUND")
    execution = ExecutionServiceStub(channel)
    no_instance = await refused(
        execution.GetInstanceDiagram(epb.GetInstanceDiagramRequest(instance_id="no-such-one"))
    )
    assert no_instance.code == grpc.StatusCode.NOT_FOUND
    assert "no-such-one" in no_instance.message
    empty = await refused(execution.GetInstanceDiagram(epb.GetInstanceDiagramRequest()))
    assert empty.code == grpc.StatusCode.INVALID_ARGUMENT
    assert empty.violations == [
        ("instance_id", "instance_id is required: name the instance", "REQUIRED")
    ]


async def test_instance_diagram_marks_the_waiting_task(
    live_services: Services, live_channel: grpc.aio.Channel
) -> None:
    await live_services.definitions.deploy(SEED.read_bytes(), fmt=DefinitionFormat.JSON)
    record = await live_services.instances.start(
        definition_key="userRegistration", variables=SEED_VARIABLES, user_id="u1"
    )

    async def open_tasks() -> list[str]:
        page = await live_services.tasks.list(TaskFilters(instance_id=record.id, state="created"))
        return [t.id for t in page.items]

    await eventually(open_tasks, bool, within=30)
    stub = ExecutionServiceStub(live_channel)

    async def diagram() -> str:
        answer = await stub.GetInstanceDiagram(epb.GetInstanceDiagramRequest(instance_id=record.id))
        assert answer.media_type == "image/svg+xml"
        return answer.svg

    svg = await eventually(
        diagram, lambda s: _states(s)["validate_user_task"] == {"node-waiting"}, within=30
    )
    states = _states(svg)
    assert states["start_event"] == {"node-done"}
    assert {k for k, v in states.items() if v} == {"start_event", "validate_user_task"}
    # The instance waits for its task: REST draws the same picture.
    assert svg == await _rest_text(live_services, f"/api/v1/instances/{record.id}/diagram")
