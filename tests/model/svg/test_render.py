"""Diagrams of every example and conformance model: well-formed, complete, nothing overlapping."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import pytest
from lxml import etree

from tests.model.builders import document, element, seed
from tests.model.svg.geometry import (
    SVG,
    classes,
    drawn_bounds,
    flow_groups,
    node_groups,
    parse,
)
from tests.paths import CONFORMANCE, EXAMPLES
from workflow_engine.model.bpmn import Bounds, DiagramLayout, auto_layout, import_bpmn
from workflow_engine.model.parser import parse_definition
from workflow_engine.model.svg import DiagramMarks, render_svg
from workflow_engine.model.types import NodeType, ProcessModel


def _parsed(raw: object) -> ProcessModel:
    model, issues = parse_definition(raw)
    assert model is not None, issues
    return model


def _models() -> Iterator[tuple[str, ProcessModel]]:
    for path in sorted(EXAMPLES.glob("*.json")):
        yield f"examples/{path.name}", _parsed(json.loads(path.read_text(encoding="utf-8")))
    files = sorted(p for p in CONFORMANCE.rglob("*") if p.name.endswith((".bpmn", ".bpmn20.xml")))
    for path in files:
        data = path.read_bytes()
        result = import_bpmn(data)
        if result.model is not None:
            yield f"{path.parent.name}/{path.name}", result.model
        for process_id in result.process_ids if result.model is None else ():
            chosen = import_bpmn(data, process_id=process_id)
            if chosen.model is not None:
                yield f"{path.parent.name}/{path.name}#{process_id}", chosen.model


MODELS = list(_models())


@pytest.mark.conformance
def test_the_corpus_is_there() -> None:
    names = [name for name, _ in MODELS]
    assert "examples/user-registration.json" in names
    # 28 conformance files import on their own, B.2.0 yields one supported process of four.
    assert len([n for n in names if not n.startswith("examples/")]) >= 29


def _ancestors(model: ProcessModel, node_id: str) -> set[str]:
    found: set[str] = set()
    scope = model.nodes[node_id].scope
    while scope is not None:
        found.add(scope)
        scope = model.nodes[scope].scope
    return found


def overlapping(model: ProcessModel, shapes: dict[str, Bounds]) -> list[tuple[str, str]]:
    """Pairs of drawn node shapes sharing area, apart from boundary-on-host and child-in-parent."""
    pairs: list[tuple[str, str]] = []
    ids = sorted(shapes)
    for index, first in enumerate(ids):
        for second in ids[index + 1 :]:
            a, b = model.nodes[first], model.nodes[second]
            if first in _ancestors(model, second) or second in _ancestors(model, first):
                continue
            if a.attached_to == second or b.attached_to == first:
                continue
            if shapes[first].overlaps(shapes[second]):
                pairs.append((first, second))
    return pairs


@pytest.mark.parametrize(("name", "model"), MODELS, ids=[n for n, _ in MODELS])
def test_every_model_renders_well_formed_without_overlaps(name: str, model: ProcessModel) -> None:
    root = parse(render_svg(model))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-label")
    assert root.find(f"{SVG}title") is not None
    assert root.find(f"{SVG}style") is not None
    left, top, width, height = (float(v) for v in (root.get("viewBox") or "").split())
    nodes = node_groups(root)
    assert set(nodes) == set(model.nodes)
    for group in nodes.values():
        assert group.find(f"{SVG}title") is not None
        assert group.get("data-element-type") in {t.value for t in NodeType}
    shapes = {node_id: drawn_bounds(group) for node_id, group in nodes.items()}
    assert overlapping(model, shapes) == []
    view = Bounds(left, top, width, height)
    for node_id, bounds in shapes.items():
        assert view.x <= bounds.x and bounds.right <= view.right, node_id
        assert view.y <= bounds.y and bounds.bottom <= view.bottom, node_id
    assert set(flow_groups(root)) >= set(model.flows)


@pytest.mark.parametrize(("name", "model"), MODELS, ids=[n for n, _ in MODELS])
def test_boundary_events_sit_on_their_host_and_children_inside_their_subprocess(
    name: str, model: ProcessModel
) -> None:
    shapes = {k: drawn_bounds(g) for k, g in node_groups(parse(render_svg(model))).items()}
    for node in model.nodes.values():
        box = shapes[node.id]
        if node.attached_to is not None:
            assert box.overlaps(shapes[node.attached_to]), node.id
        if node.scope is not None:
            outer = shapes[node.scope]
            assert outer.x <= box.x and box.right <= outer.right, node.id
            assert outer.y <= box.y and box.bottom <= outer.bottom, node.id


def test_the_overlap_check_finds_overlaps() -> None:
    model = _parsed(seed())
    layout = auto_layout(model)
    moved = dict(layout.shapes)
    moved["send_email_task"] = moved["validate_user_task"].moved(20, 10)
    svg = render_svg(model, layout=DiagramLayout(moved, layout.edges))
    shapes = {k: drawn_bounds(g) for k, g in node_groups(parse(svg)).items()}
    assert overlapping(model, shapes) == [("send_email_task", "validate_user_task")]


def test_imported_diagram_coordinates_are_kept() -> None:
    path = CONFORMANCE / "camunda-8-benchmark" / "typical_process.bpmn"
    result = import_bpmn(path.read_bytes())
    assert result.model is not None
    given = result.model.extensions["diagram"]["shapes"]
    shapes = {k: drawn_bounds(g) for k, g in node_groups(parse(render_svg(result.model))).items()}
    for node_id, raw in given.items():
        assert shapes[node_id] == Bounds(raw["x"], raw["y"], raw["width"], raw["height"])
    assert shapes != dict(auto_layout(result.model).shapes)


def test_shapes_follow_bpmn_notation() -> None:
    root = parse(render_svg(_parsed(seed())))
    nodes = node_groups(root)

    def outline(node_id: str) -> str:
        return etree_name(next(c for c in nodes[node_id] if "shape" in classes(c)))

    assert outline("start_event") == "ellipse"
    assert outline("end_event") == "ellipse"
    assert "shape-end" in classes(next(c for c in nodes["end_event"] if "shape" in classes(c)))
    assert outline("validate_user_task") == "rect"
    assert outline("email_gateway") == "polygon"
    # An intermediate event has a double ring and its signal marker.
    catch = nodes["wait_verification_event"]
    assert len(catch.findall(f"{SVG}ellipse")) == 2
    assert catch.find(f".//{SVG}g[@class='marker marker-signal']") is not None
    assert nodes["validate_user_task"].find(f".//{SVG}g[@class='icon icon-userTask']") is not None
    assert nodes["send_email_task"].find(f".//{SVG}g[@class='icon icon-serviceTask']") is not None
    gateway = nodes["email_gateway"]
    assert gateway.find(f".//{SVG}g[@class='marker marker-exclusiveGateway']") is not None
    # The gateway's default flow carries a slash; names are drawn as flow labels.
    flows = flow_groups(root)
    default = [k for k, g in flows.items() if "flow-default" in classes(g)]
    assert default == ["reject_path"]
    assert flows["reject_path"].find(f"{SVG}line[@class='flow-slash']") is not None
    labels = {
        t.get("data-element-id"): "".join(str(part) for part in t.itertext())
        for t in root.iter(f"{SVG}text")
    }
    assert labels["email_valid_path"] == "邮箱有效路径"


def etree_name(item: etree._Element) -> str:
    return str(etree.QName(item).localname)


def test_task_types_multi_instance_call_and_boundaries() -> None:
    doc = document(
        element("s", "startEvent", outgoing=["mi"]),
        element(
            "mi",
            "businessRuleTask",
            name="Decide",
            config={"multi_instance": {"collection": "${items}", "is_sequential": True}},
            outgoing=["call"],
        ),
        element("call", "callActivity", config={"called_element": "child"}, outgoing=["e"]),
        element(
            "timer",
            "boundaryEvent",
            config={"attached_to": "call", "timer_duration": "PT1H", "cancel_activity": False},
            outgoing=["e"],
        ),
        element("e", "endEvent", config={"terminate": True}),
    )
    model = _parsed(doc)
    root = parse(render_svg(model))
    nodes = node_groups(root)
    assert nodes["mi"].find(f".//{SVG}g[@class='marker marker-sequential']") is not None
    call_shape = next(c for c in nodes["call"] if "shape" in classes(c))
    assert "shape-call" in classes(call_shape)
    timer = nodes["timer"]
    assert timer.find(f".//{SVG}g[@class='marker marker-timer']") is not None
    assert "non-interrupting" in classes(timer.findall(f"{SVG}ellipse")[0])
    assert nodes["e"].find(f".//{SVG}g[@class='marker marker-terminate']") is not None
    # The boundary event is drawn after (above) its host.
    order = [g.get("data-element-id") for g in root.iter(f"{SVG}g") if "node" in classes(g)]
    assert order.index("timer") > order.index("call")


def test_marks_become_state_classes_and_titles() -> None:
    model = _parsed(seed())
    marks = DiagramMarks(
        active={"send_email_task"},
        done={"start_event", "validate_user_task", "send_email_task"},
        failed={"reject_registration_task"},
        waiting={"wait_verification_event"},
        taken_flows={"email_valid_path"},
    )
    root = parse(render_svg(model, marks=marks))
    nodes = node_groups(root)
    state = {k: classes(g) & {"node-active", "node-done", "node-failed", "node-waiting"}
             for k, g in nodes.items()}  # fmt: skip
    assert state["send_email_task"] == {"node-active"}  # active wins over done
    assert state["start_event"] == {"node-done"}
    assert state["reject_registration_task"] == {"node-failed"}
    assert state["wait_verification_event"] == {"node-waiting"}
    assert state["end_event"] == set()
    title = nodes["wait_verification_event"].find(f"{SVG}title")
    assert title is not None and str(title.text).endswith("waiting")
    flows = flow_groups(root)
    assert "flow-taken" in classes(flows["email_valid_path"])
    assert "flow-taken" not in classes(flows["reject_path"])
    line = flows["email_valid_path"].find(f"{SVG}path")
    assert line is not None and line.get("marker-end") == "url(#wfe-arrow-taken)"
    style = root.find(f"{SVG}style")
    assert style is not None and ".node-waiting" in str(style.text)


def test_names_are_escaped_and_unrepresentable_characters_dropped() -> None:
    raw = seed()
    raw["process"]["name"] = 'A <b>"quoted"</b> & more'
    raw["elements"][1]["name"] = "Check <script>alert(1)</script> & \x01 go"
    model = _parsed(raw)
    svg = render_svg(model)
    assert "<script>" not in svg and "<b>" not in svg
    root = parse(svg)
    assert root.get("aria-label") == 'BPMN diagram of process A <b>"quoted"</b> & more'
    task = node_groups(root)["validate_user_task"]
    title = task.find(f"{SVG}title")
    assert title is not None and "<script>alert(1)</script> &  go" in str(title.text)


def test_a_layout_missing_nodes_is_refused_by_name() -> None:
    model = _parsed(seed())
    layout = auto_layout(model)
    partial = {k: v for k, v in layout.shapes.items() if k != "end_event"}
    with pytest.raises(ValueError, match="end_event"):
        render_svg(model, layout=DiagramLayout(partial, layout.edges))


def test_an_incomplete_document_diagram_falls_back_to_the_automatic_layout() -> None:
    model = _parsed(seed())
    partial = {"shapes": {"start_event": {"x": 0, "y": 0, "width": 36, "height": 36}}}
    with_diagram = dataclasses.replace(model, extensions={"diagram": partial})
    assert render_svg(with_diagram) == render_svg(model)
