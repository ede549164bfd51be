from __future__ import annotations

from workflow_engine.model import graph
from workflow_engine.model.parser import parse_definition
from workflow_engine.model.types import ProcessModel

from .builders import document, element, linear, seed


def model_of(doc: dict[str, object]) -> ProcessModel:
    model, _ = parse_definition(doc)
    assert model is not None
    return model


def test_neighbours_follow_flows_in_order() -> None:
    model = model_of(seed())
    assert graph.successors(model, "email_gateway") == (
        "send_email_task",
        "reject_registration_task",
    )
    assert graph.predecessors(model, "end_event") == (
        "complete_registration_task",
        "reject_registration_task",
    )
    assert graph.successors(model, "end_event") == ()
    assert graph.successors(model, "no_such_node") == ()


def test_default_flow_resolves_flow_ids_and_implicit_targets() -> None:
    model = model_of(seed())
    flow = graph.default_flow(model, "email_gateway")
    assert flow is not None and flow.id == "reject_path"
    short = document(
        element("s", "startEvent", outgoing=["g"]),
        element("g", "exclusiveGateway", outgoing=["a", "b"], config={"default_flow": "b"}),
        element("a", "endEvent"),
        element("b", "endEvent"),
    )
    flow = graph.default_flow(model_of(short), "g")
    assert flow is not None and flow.id == "g->b"
    assert graph.default_flow(model, "send_email_task") is None


def test_reachability_per_scope() -> None:
    model = model_of(seed())
    assert graph.reachable_from_starts(model) == frozenset(model.nodes)
    assert graph.nodes_reaching_end(model) == frozenset(model.nodes)
    doc = linear(element("t", "task"))
    doc["elements"] += [
        element("b", "boundaryEvent", attached_to="t", outgoing=["x"]),
        element("x", "task", outgoing=["y"]),
        element("y", "task", outgoing=["x"]),
        element("island", "task"),
    ]
    model = model_of(doc)
    assert graph.reachable_from_starts(model) == {"start", "t", "end", "b", "x", "y"}
    assert graph.nodes_reaching_end(model) == {"start", "t", "end", "island"}


def test_can_reach_follows_flows_boundaries_and_subprocesses() -> None:
    sub = element(
        "sub",
        "subProcess",
        config={
            "elements": [
                element("s0", "startEvent", outgoing=["inner"]),
                element("inner", "task", outgoing=["e0"]),
                element("e0", "endEvent"),
            ]
        },
    )
    doc = linear(element("a", "task"), sub, element("after", "task"))
    doc["elements"] += [
        element("b", "boundaryEvent", attached_to="sub", outgoing=["handler"]),
        element("handler", "task", outgoing=["end"]),
    ]
    model = model_of(doc)
    assert graph.can_reach(model, "a", "end")
    assert graph.can_reach(model, "a", "inner")
    assert graph.can_reach(model, "inner", "after")
    assert graph.can_reach(model, "inner", "handler")
    assert graph.can_reach(model, "sub", "handler")
    assert not graph.can_reach(model, "after", "a")
    assert not graph.can_reach(model, "a", "a")
    assert not graph.can_reach(model, "handler", "after")
    assert not graph.can_reach(model, "ghost", "a")
    # Memoized per model: the same answer again, and another model is independent.
    assert graph.can_reach(model, "a", "end")
    other = model_of(linear(element("a", "task")))
    assert not graph.can_reach(other, "a", "inner")


def test_loops_reach_themselves() -> None:
    doc = linear(
        element("a", "task", outgoing=["g"]),
        element("g", "exclusiveGateway", outgoing=["a", "end"]),
    )
    model = model_of(doc)
    assert graph.can_reach(model, "a", "a")
    assert graph.can_reach(model, "g", "a")


def test_flow_scope() -> None:
    sub = element(
        "sub",
        "subProcess",
        elements=[element("s0", "startEvent", outgoing=["e0"]), element("e0", "endEvent")],
    )
    model = model_of(linear(sub))
    assert graph.flow_scope(model, "s0->e0") == "sub"
    assert graph.flow_scope(model, "start->sub") is None
    assert graph.scope_starts(model, "sub") == ("s0",)
