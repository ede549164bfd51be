"""`workflow_engine.v1.DefinitionService` over a real server, database and client stub."""

from __future__ import annotations

import json
from typing import Any

import grpc
import pytest
from sqlalchemy import insert

from tests.api.grpc.support import refused
from tests.paths import CONFORMANCE
from workflow_engine.api.grpc.generated import definitions_pb2 as pb
from workflow_engine.api.grpc.generated.definitions_pb2_grpc import DefinitionServiceStub
from workflow_engine.services.container import Services
from workflow_engine.store.tables import ProcessInstance

from .conftest import MAX_DEFINITION_BYTES

JSON = pb.FORMAT_JSON


def _seed(seed_bytes: bytes) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(seed_bytes)
    return loaded


def _bytes(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()


async def _deploy(
    stub: DefinitionServiceStub, content: bytes, fmt: int = JSON
) -> pb.DeployDefinitionResponse:
    response: pb.DeployDefinitionResponse = await stub.DeployDefinition(
        pb.DeployDefinitionRequest(content=content, format=fmt)
    )
    return response


async def test_deploy_seed_example_then_identical_then_changed(
    stub: DefinitionServiceStub, seed_bytes: bytes
) -> None:
    first = await _deploy(stub, seed_bytes)
    assert first.created is True
    v1 = first.definition
    assert (v1.key, v1.version, v1.name) == ("userRegistration", 1, "用户注册流程")
    assert v1.category == "user-management"
    assert v1.has_start_form is True
    assert v1.resource_type == pb.FORMAT_JSON
    assert v1.element_count > 0
    assert len(v1.content_hash) == 64
    assert v1.deploy_time.seconds > 0

    # Same content, other whitespace: the existing version, not created.
    again = await _deploy(stub, _bytes(_seed(seed_bytes)))
    assert again.created is False
    assert again.definition.id == v1.id
    assert again.definition.version == 1

    changed = _seed(seed_bytes)
    changed["process"]["name"] = "Registration v2"
    second = await _deploy(stub, _bytes(changed))
    assert second.created is True
    assert second.definition.version == 2

    by_id = await stub.GetDefinition(pb.GetDefinitionRequest(id=v1.id))
    assert by_id == v1
    latest = await stub.GetDefinition(pb.GetDefinitionRequest(key="userRegistration"))
    assert latest.version == 2
    assert latest.id == second.definition.id
    pinned = await stub.GetDefinition(pb.GetDefinitionRequest(key="userRegistration", version=1))
    assert pinned.id == v1.id

    missing = await refused(
        stub.GetDefinition(pb.GetDefinitionRequest(key="userRegistration", version=9))
    )
    assert missing.code == grpc.StatusCode.NOT_FOUND
    assert missing.reason == "NOT_FOUND"
    assert "version 9" in missing.message


async def test_validate_seed_is_valid(stub: DefinitionServiceStub, seed_bytes: bytes) -> None:
    report = await stub.ValidateDefinition(
        pb.ValidateDefinitionRequest(content=seed_bytes, format=JSON)
    )
    assert report.valid is True
    assert list(report.errors) == []


@pytest.mark.parametrize(
    ("mutate", "path", "fragment"),
    [
        (
            lambda d: d["elements"][0]["outgoing"].__setitem__(0, "nowhere"),
            "elements[0].outgoing[0]",
            "nowhere",
        ),
        (
            lambda d: d["elements"][5]["config"].__setitem__("timeout", "PT2X"),
            "elements[5].config.timeout",
            "PT2X",
        ),
        (
            lambda d: d["elements"][1].__setitem__("type", "foobarTask"),
            "elements[1].type",
            "foobarTask",
        ),
    ],
    ids=["dangling", "bad-duration", "unknown-type"],
)
async def test_broken_copies_are_rejected_with_paths(
    stub: DefinitionServiceStub, seed_bytes: bytes, mutate: Any, path: str, fragment: str
) -> None:
    doc = _seed(seed_bytes)
    mutate(doc)
    report = await stub.ValidateDefinition(
        pb.ValidateDefinitionRequest(content=_bytes(doc), format=JSON)
    )
    assert report.valid is False
    matching = [e for e in report.errors if e.path == path]
    assert matching, report.errors
    assert fragment in matching[0].message
    assert matching[0].code

    refusal = await refused(
        stub.DeployDefinition(pb.DeployDefinitionRequest(content=_bytes(doc), format=JSON))
    )
    assert refusal.code == grpc.StatusCode.INVALID_ARGUMENT
    assert refusal.reason == "VALIDATION_FAILED"
    assert "invalid" in refusal.message
    violation = [v for v in refusal.violations if v[0] == path]
    assert violation, refusal.violations
    assert fragment in violation[0][1]
    assert violation[0][2] == matching[0].code
    listed = await stub.ListDefinitions(pb.ListDefinitionsRequest())
    assert list(listed.items) == []  # nothing was stored


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(b"{not json", "invalid JSON at line 1"), (b"\xff\xfe\x00", "not UTF-8")],
)
async def test_garbage_content_gets_clear_errors(
    stub: DefinitionServiceStub, content: bytes, fragment: str
) -> None:
    refusal = await refused(
        stub.DeployDefinition(pb.DeployDefinitionRequest(content=content, format=JSON))
    )
    assert refusal.code == grpc.StatusCode.INVALID_ARGUMENT
    assert refusal.reason == "VALIDATION_FAILED"
    assert fragment in refusal.violations[0][1]
    assert refusal.violations[0][0] == "$"


async def test_request_shape_errors_name_the_field(
    stub: DefinitionServiceStub, seed_bytes: bytes
) -> None:
    unspecified = await refused(
        stub.DeployDefinition(pb.DeployDefinitionRequest(content=seed_bytes))
    )
    assert unspecified.code == grpc.StatusCode.INVALID_ARGUMENT
    assert unspecified.reason == "INVALID_ARGUMENT"
    assert "FORMAT_JSON" in unspecified.message and "FORMAT_BPMN" in unspecified.message
    assert [v[0] for v in unspecified.violations] == ["format"]

    unknown = await refused(
        stub.ValidateDefinition(pb.ValidateDefinitionRequest(content=seed_bytes, format=7))
    )
    assert unknown.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a known Format" in unknown.message

    empty = await refused(
        stub.DeployDefinition(pb.DeployDefinitionRequest(content=b"  \n", format=JSON))
    )
    assert empty.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v[0] for v in empty.violations] == ["content"]

    no_selector = await refused(stub.GetDefinition(pb.GetDefinitionRequest()))
    assert no_selector.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "id" in no_selector.message and "key" in no_selector.message

    id_and_version = await refused(stub.GetDefinition(pb.GetDefinitionRequest(id=1, version=2)))
    assert id_and_version.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v[0] for v in id_and_version.violations] == ["version"]

    # Non-ASCII text survives the status message (percent-encoded on the wire).
    unknown_key = await refused(stub.GetDefinition(pb.GetDefinitionRequest(key="用户注册")))
    assert unknown_key.code == grpc.StatusCode.NOT_FOUND
    assert "'用户注册'" in unknown_key.message

    bad_version = await refused(
        stub.GetDefinition(pb.GetDefinitionRequest(key="userRegistration", version=0))
    )
    assert bad_version.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "version" in bad_version.message


async def test_too_large_is_resource_exhausted(stub: DefinitionServiceStub) -> None:
    # Over the definition limit but within the message headroom: the service names the limit.
    big = b'{"process": {"id": "p", "key": "p", "description": "' + b"x" * MAX_DEFINITION_BYTES
    refusal = await refused(
        stub.DeployDefinition(pb.DeployDefinitionRequest(content=big + b'"}}', format=JSON))
    )
    assert refusal.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert refusal.reason == "PAYLOAD_TOO_LARGE"
    assert f"at most {MAX_DEFINITION_BYTES} bytes" in refusal.message

    validate = await refused(
        stub.ValidateDefinition(pb.ValidateDefinitionRequest(content=big, format=JSON))
    )
    assert validate.code == grpc.StatusCode.RESOURCE_EXHAUSTED

    # Far beyond: grpc itself refuses the message before it is parsed, same status code.
    huge = b"x" * (MAX_DEFINITION_BYTES * 3)
    transport = await refused(
        stub.DeployDefinition(pb.DeployDefinitionRequest(content=huge, format=JSON))
    )
    assert transport.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    listed = await stub.ListDefinitions(pb.ListDefinitionsRequest())
    assert list(listed.items) == []


async def test_resource_is_returned_as_uploaded(
    stub: DefinitionServiceStub, seed_bytes: bytes
) -> None:
    deployed = await _deploy(stub, seed_bytes)
    resource = await stub.GetDefinitionResource(
        pb.GetDefinitionResourceRequest(id=deployed.definition.id)
    )
    assert resource.content == seed_bytes
    assert resource.format == pb.FORMAT_JSON
    assert resource.media_type == "application/json"


async def test_bpmn_xml_deploys(stub: DefinitionServiceStub) -> None:
    xml = (CONFORMANCE / "camunda7" / "ParallelGatewayTest.testForkJoin.bpmn20.xml").read_bytes()
    deployed = await _deploy(stub, xml, pb.FORMAT_BPMN)
    assert deployed.created is True
    assert deployed.definition.resource_type == pb.FORMAT_BPMN
    resource = await stub.GetDefinitionResource(
        pb.GetDefinitionResourceRequest(id=deployed.definition.id)
    )
    assert resource.content == xml
    assert resource.media_type == "application/xml"
    assert resource.format == pb.FORMAT_BPMN

    broken = await refused(
        stub.DeployDefinition(pb.DeployDefinitionRequest(content=b"<definitions", format=2))
    )
    assert broken.code == grpc.StatusCode.INVALID_ARGUMENT
    assert broken.violations


async def test_list_filters_and_page_tokens(stub: DefinitionServiceStub, seed_bytes: bytes) -> None:
    for i in range(5):
        doc = _seed(seed_bytes)
        doc["process"]["name"] = f"reg {i}"
        await _deploy(stub, _bytes(doc))
    other = _seed(seed_bytes)
    other["process"]["key"] = "otherKey"
    other["process"]["category"] = "other"
    other["process"]["name"] = "Something else"
    await _deploy(stub, _bytes(other))

    seen: list[int] = []
    token = ""
    pages = 0
    while True:
        page = await stub.ListDefinitions(pb.ListDefinitionsRequest(page_size=2, page_token=token))
        pages += 1
        assert len(page.items) <= 2
        seen += [d.id for d in page.items]
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == 6 and len(set(seen)) == 6
    assert pages >= 3

    default_size = await stub.ListDefinitions(pb.ListDefinitionsRequest())
    assert [d.id for d in default_size.items] == seen
    assert default_size.next_page_token == ""

    by_key = await stub.ListDefinitions(pb.ListDefinitionsRequest(key="userRegistration"))
    assert [d.version for d in by_key.items] == [1, 2, 3, 4, 5]
    latest = await stub.ListDefinitions(pb.ListDefinitionsRequest(latest_only=True))
    assert sorted((d.key, d.version) for d in latest.items) == [
        ("otherKey", 1),
        ("userRegistration", 5),
    ]
    category = await stub.ListDefinitions(pb.ListDefinitionsRequest(category="other"))
    assert [d.key for d in category.items] == ["otherKey"]
    named = await stub.ListDefinitions(pb.ListDefinitionsRequest(name="reg 3"))
    assert [d.version for d in named.items] == [4]

    bad_token = await refused(stub.ListDefinitions(pb.ListDefinitionsRequest(page_token="x!")))
    assert bad_token.code == grpc.StatusCode.INVALID_ARGUMENT
    too_big = await refused(stub.ListDefinitions(pb.ListDefinitionsRequest(page_size=100000)))
    assert too_big.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "page_size" in too_big.message
    negative = await refused(stub.ListDefinitions(pb.ListDefinitionsRequest(page_size=-1)))
    assert negative.code == grpc.StatusCode.INVALID_ARGUMENT


async def test_update_suspend_activate_delete(
    stub: DefinitionServiceStub, services: Services, seed_bytes: bytes
) -> None:
    v1 = (await _deploy(stub, seed_bytes)).definition
    doc = _seed(seed_bytes)
    doc["process"]["description"] = "changed"
    updated = await stub.UpdateDefinition(
        pb.UpdateDefinitionRequest(id=v1.id, content=_bytes(doc), format=JSON)
    )
    assert updated.created is True
    assert updated.definition.version == 2
    assert updated.definition.description == "changed"
    same = await stub.UpdateDefinition(
        pb.UpdateDefinitionRequest(id=v1.id, content=_bytes(doc), format=JSON)
    )
    assert same.created is False
    assert same.definition.id == updated.definition.id

    doc["process"]["key"] = "somethingElse"
    wrong_key = await refused(
        stub.UpdateDefinition(pb.UpdateDefinitionRequest(id=v1.id, content=_bytes(doc), format=1))
    )
    assert wrong_key.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "somethingElse" in wrong_key.message
    assert [v[0] for v in wrong_key.violations] == ["process.key"]
    no_such = await refused(
        stub.UpdateDefinition(pb.UpdateDefinitionRequest(id=987654, content=seed_bytes, format=1))
    )
    assert no_such.code == grpc.StatusCode.NOT_FOUND

    suspended = await stub.SuspendDefinition(pb.SuspendDefinitionRequest(id=v1.id))
    assert suspended.suspended is True
    only_suspended = await stub.ListDefinitions(pb.ListDefinitionsRequest(suspended=True))
    assert [d.id for d in only_suspended.items] == [v1.id]
    only_active = await stub.ListDefinitions(pb.ListDefinitionsRequest(suspended=False))
    assert [d.id for d in only_active.items] == [updated.definition.id]
    activated = await stub.ActivateDefinition(pb.ActivateDefinitionRequest(id=v1.id))
    assert activated.suspended is False
    for call in (
        stub.SuspendDefinition(pb.SuspendDefinitionRequest(id=987654)),
        stub.ActivateDefinition(pb.ActivateDefinitionRequest(id=987654)),
        stub.GetDefinitionResource(pb.GetDefinitionResourceRequest(id=987654)),
    ):
        assert (await refused(call)).code == grpc.StatusCode.NOT_FOUND

    # A running instance blocks deletion unless cascade.
    async with services.database.session() as session:
        await session.execute(
            insert(ProcessInstance).values(
                id="00000000-0000-0000-0000-000000000001",
                workflow_id="pi-00000000-0000-0000-0000-000000000001",
                process_definition_id=v1.id,
                definition_key=v1.key,
                definition_version=v1.version,
                status="running",
            )
        )
    blocked = await refused(stub.DeleteDefinition(pb.DeleteDefinitionRequest(id=v1.id)))
    assert blocked.code == grpc.StatusCode.FAILED_PRECONDITION
    assert blocked.reason == "CONFLICT"
    assert "cascade" in blocked.message
    still_there = await stub.GetDefinition(pb.GetDefinitionRequest(id=v1.id))
    assert still_there.id == v1.id

    await stub.DeleteDefinition(pb.DeleteDefinitionRequest(id=v1.id, cascade=True))
    gone = await refused(stub.GetDefinition(pb.GetDefinitionRequest(id=v1.id)))
    assert gone.code == grpc.StatusCode.NOT_FOUND
    assert gone.message == f"definition {v1.id} does not exist"
    assert gone.violations == []
    again = await refused(stub.DeleteDefinition(pb.DeleteDefinitionRequest(id=v1.id)))
    assert again.code == grpc.StatusCode.NOT_FOUND
    remaining = await stub.ListDefinitions(pb.ListDefinitionsRequest())
    assert [d.id for d in remaining.items] == [updated.definition.id]
