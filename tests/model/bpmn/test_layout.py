from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.model.bpmn.support import MUST_IMPORT, SEED, file_id
from workflow_engine.model.bpmn import Bounds, auto_layout, export_bpmn, import_bpmn
from workflow_engine.model.parser import parse_definition
from workflow_engine.model.types import NodeType, ProcessModel


def _ancestors(model: ProcessModel, node_id: str) -> set[str]:
    found: set[str] = set()
    scope = model.nodes[node_id].scope
    while scope is not None:
        found.add(scope)
        scope = model.nodes[scope].scope
    return found


def _assert_no_overlaps(model: ProcessModel, shapes: dict[str, Bounds]) -> None:
    assert set(shapes) == set(model.nodes)
    ids = sorted(shapes)
    for index, first in enumerate(ids):
        for second in ids[index + 1 :]:
            a, b = model.nodes[first], model.nodes[second]
            if first in _ancestors(model, second) or second in _ancestors(model, first):
                continue  # a child sits inside its subprocess
            if a.attached_to == second or b.attached_to == first:
                continue  # a boundary event sits on its host's edge
            assert not shapes[first].overlaps(shapes[second]), (first, second)


def _layout_shapes(model: ProcessModel) -> dict[str, Bounds]:
    return dict(auto_layout(model).shapes)


@pytest.mark.parametrize("path", MUST_IMPORT, ids=file_id)
def test_auto_layout_has_no_overlapping_shapes(path: Path) -> None:
    model = import_bpmn(path.read_bytes()).model
    assert model is not None
    _assert_no_overlaps(model, _layout_shapes(model))


def test_seed_example_layout_has_no_overlaps_and_round_trips_its_layout() -> None:
    model, _ = parse_definition(json.loads(SEED.read_text(encoding="utf-8")))
    assert model is not None
    shapes = _layout_shapes(model)
    _assert_no_overlaps(model, shapes)
    again = import_bpmn(export_bpmn(model))
    assert again.document is not None
    exported = again.document["diagram"]["shapes"]
    assert set(exported) == set(model.nodes)
    for node_id, bounds in shapes.items():
        assert exported[node_id] == {
            "x": bounds.x,
            "y": bounds.y,
            "width": bounds.width,
            "height": bounds.height,
        }


def test_sizes_boundary_placement_and_subprocess_containment() -> None:
    path = next(p for p in MUST_IMPORT if "testCatchErrorOnEmbeddedSubprocess" in p.name)
    model = import_bpmn(path.read_bytes()).model
    assert model is not None
    shapes = _layout_shapes(model)
    assert (shapes["theStart"].width, shapes["theStart"].height) == (36, 36)
    assert (shapes["taskAfterErrorCatch"].width, shapes["taskAfterErrorCatch"].height) == (100, 80)
    host, boundary = shapes["subprocess"], shapes["catchError"]
    assert boundary.center[1] == host.bottom
    assert host.x <= boundary.x and boundary.right <= host.right
    for child in ("subprocessStart", "subprocessTask", "subprocessEnd"):
        inner = shapes[child]
        assert host.x < inner.x and inner.right < host.right
        assert host.y < inner.y and inner.bottom < host.bottom


def test_layers_run_left_to_right_and_loops_do_not_break_layering() -> None:
    path = next(p for p in MUST_IMPORT if p.name == "simple-count-loop.bpmn")
    model = import_bpmn(path.read_bytes()).model
    assert model is not None
    layout = auto_layout(model)
    xs = [
        layout.shapes[n].x
        for n in ("StartEvent_1", "id-increaseCounter", "Gateway_0uoffqk", "Event_1as901w")
    ]
    assert xs == sorted(xs) and len(set(xs)) == 4
    # The loop back edge runs below the shapes and enters its target from below.
    back = layout.edges["flow_default"]
    assert back[-1][1] == layout.shapes["id-increaseCounter"].bottom


def test_event_subprocess_sits_below_the_main_flow() -> None:
    path = next(p for p in MUST_IMPORT if "MessageEventSubprocess" in p.name)
    model = import_bpmn(path.read_bytes()).model
    assert model is not None
    shapes = _layout_shapes(model)
    main_bottom = max(shapes[n].bottom for n in ("theStart", "task", "theEnd"))
    assert shapes["subProcess"].y > main_bottom
    assert model.nodes["subProcess"].type is NodeType.SUB_PROCESS
