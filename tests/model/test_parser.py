from __future__ import annotations

import json

import pytest

from workflow_engine.model.issues import Severity
from workflow_engine.model.parser import parse_definition, parse_json_text
from workflow_engine.model.types import (
    ConnectionType,
    EventKind,
    NodeType,
    RetryPolicy,
    TimerKind,
    TimerSpec,
    VariableType,
    implicit_flow_id,
)

from .builders import SEED_PATH, document, element, find, linear, seed


def errors_of(doc: object) -> list[tuple[str, str]]:
    _, issues = parse_definition(doc)
    return [(i.path, i.message) for i in issues if i.severity is Severity.ERROR]


def test_seed_parses_into_the_full_model() -> None:
    model, issues = parse_definition(seed())
    assert issues == []
    assert model is not None
    header = model.process
    assert (header.id, header.key, header.timeout) == (
        "user-registration-process",
        "userRegistration",
        "PT5M",
    )
    assert header.variables["email"].type is VariableType.STRING
    assert header.variables["email"].required
    assert header.variables["verification_code"].scope == "local"
    assert [x.class_name for x in header.listeners] == [
        "com.example.ProcessStartListener",
        "com.example.ProcessEndListener",
    ]
    assert len(model.nodes) == 8
    task = model.node("validate_user_task")
    assert task.type is NodeType.USER_TASK
    assert task.path == "elements[1]"
    assert task.incoming == (implicit_flow_id("start_event", "validate_user_task"),)
    assert task.outgoing == (implicit_flow_id("validate_user_task", "email_gateway"),)
    assert [x.event for x in task.listeners] == ["create", "complete"]
    gateway = model.node("email_gateway")
    assert gateway.outgoing == ("email_valid_path", "reject_path")
    flow = model.flow("email_valid_path")
    assert (flow.source, flow.target, flow.condition, flow.implicit) == (
        "email_gateway",
        "send_email_task",
        "${userValid == true}",
        False,
    )
    implicit = model.flow("start_event->validate_user_task")
    assert implicit.implicit and implicit.condition is None
    assert implicit.path == "elements[0].outgoing[0]"
    send = model.node("send_email_task")
    assert send.retry_policy == RetryPolicy(
        max_attempts=3, initial_interval="PT1S", backoff_coefficient=2.0, maximum_interval="PT30S"
    )
    assert send.input_mapping["template"] == "verification_email"
    assert send.output_mapping["verification_code"] == "${result.code}"
    assert send.config["activity_name"] == "SendEmailActivity"
    wait = model.node("wait_verification_event")
    assert wait.event_kind is EventKind.SIGNAL
    assert model.node("start_event").event_kind is EventKind.NONE
    assert model.node("end_event").incoming == (
        "complete_registration_task->end_event",
        "reject_registration_task->end_event",
    )
    assert model.signal_definitions["email_verified"].scope == "global"
    assert model.error_definitions["validation_error"].error_code == "VALIDATION_FAILED"
    assert model.message_definitions["email_verified_message"].structure["verified"] == "boolean"


def test_json_text_parses_and_reports_syntax_errors_with_position() -> None:
    model, issues = parse_json_text(SEED_PATH.read_bytes())
    assert model is not None and issues == []
    model, issues = parse_json_text('{"process": {"id": "p",}\n}')
    assert model is None
    assert [(i.path, i.code) for i in issues] == [("$", "INVALID_JSON")]
    assert "line 1, column 24" in issues[0].message
    _, issues = parse_json_text(b"\xff\xfe{")
    assert issues[0].code == "INVALID_JSON"


@pytest.mark.parametrize("garbage", [None, [], "text", 3, [{"id": "x"}]])
def test_a_document_that_is_not_an_object_gives_no_model(garbage: object) -> None:
    model, issues = parse_definition(garbage)
    assert model is None
    assert [(i.path, i.code) for i in issues] == [("$", "INVALID_DOCUMENT")]


def test_missing_header_and_elements_are_reported_but_a_model_is_built() -> None:
    model, issues = parse_definition({})
    assert model is not None
    assert {(i.path, i.code) for i in issues} == {
        ("process", "MISSING_KEY"),
        ("elements", "MISSING_KEY"),
    }


def test_header_types_are_checked_with_paths() -> None:
    doc = document(
        process={
            "id": "p",
            "key": 5,
            "executable": "yes",
            "timeout": 30,
            "candidate_starter_groups": ["ops", 7],
            "owner": "me",
        }
    )
    _, issues = parse_definition(doc)
    by_path = {i.path: i for i in issues}
    assert by_path["process.key"].code == "INVALID_TYPE"
    assert by_path["process.executable"].message == (
        "'executable' of the process must be true or false, not a string"
    )
    assert by_path["process.timeout"].code == "INVALID_TYPE"
    assert by_path["process.candidate_starter_groups[1]"].code == "INVALID_TYPE"
    assert by_path["process.owner"].severity is Severity.WARNING


def test_variable_types_accept_aliases_and_reject_unknown_ones() -> None:
    doc = document(
        process={
            "id": "p",
            "key": "p",
            "variables": {
                "a": {"type": "int"},
                "b": {"type": "Double"},
                "c": {"type": "date-time", "default": "2026-01-01"},
                "d": {},
                "email": {"type": "strng"},
                "e": "string",
                "f": {"scope": "world"},
            },
        }
    )
    model, issues = parse_definition(doc)
    assert model is not None
    variables = model.process.variables
    assert variables["a"].type is VariableType.INTEGER
    assert variables["b"].type is VariableType.NUMBER
    assert variables["c"].type is VariableType.DATETIME and variables["c"].has_default
    assert variables["d"].type is VariableType.ANY and not variables["d"].has_default
    paths = {i.path: i for i in issues}
    assert paths["process.variables.email.type"].code == "UNKNOWN_VARIABLE_TYPE"
    assert paths["process.variables.email.type"].message.startswith(
        "variable 'email' has unknown type 'strng'; known types: string, integer"
    )
    assert paths["process.variables.e"].code == "INVALID_TYPE"
    assert paths["process.variables.f.scope"].code == "INVALID_VALUE"


def test_listeners_need_event_and_class() -> None:
    doc = linear(
        element(
            "t",
            "task",
            listeners=[{"event": "start", "class": "a.B"}, {"event": "end"}, "x"],
        )
    )
    model, issues = parse_definition(doc)
    assert model is not None
    listeners = model.node("t").listeners
    assert [(x.event, x.type, x.class_name) for x in listeners] == [("start", "execution", "a.B")]
    assert {(i.path, i.code) for i in issues} == {
        ("elements[1].listeners[1].class", "MISSING_KEY"),
        ("elements[1].listeners[2]", "INVALID_TYPE"),
    }


def test_both_flow_styles_mix() -> None:
    doc = document(
        element("s", "startEvent", outgoing=["f1"]),
        element("f1", "sequenceFlow", source="s", target="g"),
        element("g", "exclusiveGateway", outgoing=["a", "f2"], config={"default_flow": "a"}),
        element("f2", "sequenceFlow", config={"source": "g", "target": "b", "condition": "${x}"}),
        element("a", "endEvent"),
        element("b", "endEvent", incoming=["f2"]),
    )
    model, issues = parse_definition(doc)
    assert issues == []
    assert model is not None
    assert model.node("g").incoming == ("f1",)
    assert model.node("g").outgoing == ("g->a", "f2")
    assert model.flow("f2").condition == "${x}"
    assert model.node("a").incoming == ("g->a",)
    assert list(model.flows) == ["f1", "g->a", "f2"]


def test_outgoing_may_be_left_out_when_flows_name_their_source() -> None:
    doc = document(
        element("s", "startEvent"),
        element("f", "sequenceFlow", source="s", target="e"),
        element("e", "endEvent"),
    )
    model, issues = parse_definition(doc)
    assert issues == [] and model is not None
    assert model.node("s").outgoing == ("f",)
    assert model.node("e").incoming == ("f",)


def test_outgoing_entries_that_name_nothing_or_the_wrong_flow() -> None:
    doc = document(
        element("s", "startEvent", outgoing=["ghost", 4, "f", "e", "e"]),
        element("x", "task", outgoing=["f"]),
        element("f", "sequenceFlow", source="x", target="e"),
        element("e", "endEvent"),
        element("m", "messageFlow", source="s", target="e"),
        element("y", "task", outgoing=["m"]),
    )
    assert errors_of(doc) == [
        ("elements[0].outgoing[0]", "outgoing 'ghost' of 's' names no sequence flow or node"),
        (
            "elements[0].outgoing[1]",
            "entries of 'outgoing' of 's' must be flow or node ids, not a number",
        ),
        (
            "elements[0].outgoing[2]",
            "'s' lists sequence flow 'f' in its outgoing, but that flow starts at 'x'",
        ),
        ("elements[0].outgoing[4]", "'s' lists 'e' twice in its outgoing"),
        (
            "elements[5].outgoing[0]",
            "outgoing 'm' of 'y' is a message flow or association, not a sequence flow or node",
        ),
    ]


def test_a_flow_missing_from_its_sources_outgoing_is_a_mismatch() -> None:
    doc = document(
        element("s", "startEvent", outgoing=["e"]),
        element("f", "sequenceFlow", source="s", target="e"),
        element("e", "endEvent"),
    )
    model, issues = parse_definition(doc)
    assert [(i.path, i.message) for i in issues] == [
        (
            "elements[0].outgoing",
            "sequence flow 'f' starts at 's', but 's' does not list it in its outgoing",
        )
    ]
    assert model is not None and model.node("s").outgoing == ("s->e", "f")


def test_incoming_must_agree_with_the_flows() -> None:
    doc = document(
        element("s", "startEvent", outgoing=["t"]),
        element("t", "task", outgoing=["e"], incoming=["e", "ghost"]),
        element("e", "endEvent", incoming=[]),
    )
    assert errors_of(doc) == [
        (
            "elements[1].incoming[0]",
            "'t' lists 'e' in its incoming, but no sequence flow leads from 'e' to 't' "
            "(add 't' to the outgoing of 'e')",
        ),
        ("elements[1].incoming[1]", "incoming 'ghost' of 't' names no sequence flow or node"),
        (
            "elements[1].incoming",
            "the sequence flow 's->t' from 's' ends at 't', but 't' does not list it "
            "(or 's') in its incoming",
        ),
        (
            "elements[2].incoming",
            "the sequence flow 't->e' from 't' ends at 'e', but 'e' does not list it "
            "(or 't') in its incoming",
        ),
    ]


def test_incoming_may_name_an_explicit_flow_or_its_source_node() -> None:
    doc = document(
        element("s", "startEvent", outgoing=["f"]),
        element("f", "sequenceFlow", source="s", target="e"),
        element("e", "endEvent", incoming=["s"]),
    )
    model, issues = parse_definition(doc)
    assert issues == [] and model is not None
    assert model.node("e").incoming == ("f",)


def test_sequence_flow_ends_must_exist_and_agree() -> None:
    doc = document(
        element("s", "startEvent", outgoing=["f1", "f2"]),
        element("f1", "sequenceFlow", source="s", target="nowhere"),
        element("f2", "sequenceFlow", source="s", config={"source": "e", "target": "e"}),
        element("f3", "sequenceFlow", target="e"),
        element("e", "endEvent"),
    )
    model, issues = parse_definition(doc)
    assert [(i.path, i.code) for i in issues] == [
        ("elements[1].target", "DANGLING_REFERENCE"),
        ("elements[2].config.source", "INVALID_VALUE"),
        ("elements[3].source", "MISSING_KEY"),
    ]
    assert issues[0].message == "sequence flow 'f1' has target 'nowhere', which names no node"
    # f1 is left out, and the reference to it from 's' stays silent (one mistake, one finding).
    assert model is not None and "f1" not in model.flows and model.node("s").outgoing == ("f2",)
    assert model.flow("f2").source == "s"


def test_duplicate_ids_name_the_first_occurrence() -> None:
    doc = linear(element("t", "task"), element("t", "userTask"))
    _, issues = parse_definition(doc)
    dup = find(issues, "elements[2].id")
    assert [(i.code, i.message) for i in dup] == [
        (
            "DUPLICATE_ID",
            "id 't' is already used by the element at elements[1]; ids must be unique across "
            "the whole definition",
        )
    ]


def test_implicit_flow_id_colliding_with_an_element_id_is_a_duplicate() -> None:
    doc = document(
        element("s", "startEvent", outgoing=["e"]),
        element("s->e", "task"),
        element("e", "endEvent"),
    )
    _, issues = parse_definition(doc)
    assert [(i.path, i.code) for i in issues] == [("elements[0].outgoing[0]", "DUPLICATE_ID")]


def test_unknown_element_type_lists_known_types_and_stays_one_finding() -> None:
    doc = linear(element("t", "foobarTask"))
    model, issues = parse_definition(doc)
    assert [(i.path, i.code) for i in issues] == [("elements[1].type", "UNKNOWN_NODE_TYPE")]
    assert issues[0].message.startswith(
        "element 't' has unknown type 'foobarTask'; known types: startEvent, endEvent,"
    )
    assert "sequenceFlow" in issues[0].message
    assert model is not None and "t" not in model.nodes


def test_elements_with_bad_id_or_type_are_reported() -> None:
    doc = document(
        "not an element",
        {"type": "task"},
        {"id": 5, "type": "task"},
        {"id": " ", "type": "task"},
        {"id": "a"},
        {"id": "b", "type": ["task"]},
        element("c", "task", config=[1], name=3, documentation=False, colour="red"),
    )
    _, issues = parse_definition(doc)
    assert [(i.path, i.code) for i in issues] == [
        ("elements[0]", "INVALID_TYPE"),
        ("elements[1].id", "MISSING_KEY"),
        ("elements[2].id", "INVALID_TYPE"),
        ("elements[3].id", "INVALID_VALUE"),
        ("elements[4].type", "MISSING_KEY"),
        ("elements[5].type", "INVALID_TYPE"),
        ("elements[6].config", "INVALID_TYPE"),
        ("elements[6].colour", "UNKNOWN_KEY"),
        ("elements[6].name", "INVALID_TYPE"),
        ("elements[6].documentation", "INVALID_TYPE"),
    ]
    assert issues[7].severity is Severity.WARNING


def test_event_kinds_timers_and_boundary_settings() -> None:
    doc = linear(
        element("w", "intermediateCatchEvent", config={"timer_duration": "PT5M"}),
        element("x", "intermediateThrowEvent", config={"message_ref": "m"}),
        element("t", "serviceTask"),
    )
    doc["elements"] += [
        element("b1", "boundaryEvent", attached_to="t", config={"timer_cycle": "R3/PT10M"}),
        element("b2", "boundaryEvent", config={"attached_to": "t", "cancel_activity": False}),
        element("b3", "boundaryEvent", config={"attached_to": "t", "error_ref": None}),
        element("e2", "endEvent", config={"terminate": True}),
        element("e3", "endEvent", config={"escalation_code": "E"}),
        element("c", "intermediateThrowEvent", event_kind="compensation"),
    ]
    model, issues = parse_definition(doc)
    assert issues == [] and model is not None
    assert model.node("w").timer == TimerSpec(TimerKind.DURATION, "PT5M")
    assert model.node("w").event_kind is EventKind.TIMER
    assert model.node("x").event_kind is EventKind.MESSAGE
    b1 = model.node("b1")
    assert (b1.attached_to, b1.event_kind, b1.cancel_activity) == ("t", EventKind.TIMER, True)
    assert b1.timer == TimerSpec(TimerKind.CYCLE, "R3/PT10M")
    b2 = model.node("b2")
    assert (b2.attached_to, b2.event_kind, b2.cancel_activity) == ("t", EventKind.ERROR, False)
    assert model.node("b3").event_kind is EventKind.ERROR
    assert model.node("e2").event_kind is EventKind.TERMINATE
    assert model.node("e3").event_kind is EventKind.ESCALATION
    assert model.node("c").event_kind is EventKind.COMPENSATION
    assert model.boundary_events("t") == (b1, b2, model.node("b3"))
    assert model.node("t").event_kind is None


def test_bad_event_kind_override_and_conflicting_attached_to() -> None:
    doc = linear(element("t", "task"), element("u", "task"))
    doc["elements"] += [
        element("b", "boundaryEvent", attached_to="t", config={"attached_to": "u"}),
        element("c", "endEvent", event_kind="sparkle"),
    ]
    model, issues = parse_definition(doc)
    assert [(i.path, i.code) for i in issues] == [
        ("elements[4].attached_to", "INVALID_VALUE"),
        ("elements[5].event_kind", "INVALID_VALUE"),
    ]
    assert model is not None and model.node("b").attached_to == "u"


def test_multi_instance_and_lenient_retry_policy() -> None:
    doc = linear(
        element(
            "t",
            "serviceTask",
            config={
                "multi_instance": {
                    "is_sequential": True,
                    "loop_cardinality": 3,
                    "element_variable": "item",
                },
                "retry_policy": {"max_attempts": "3", "backoff_coefficient": 2},
            },
        )
    )
    model, issues = parse_definition(doc)
    assert issues == [] and model is not None
    node = model.node("t")
    assert node.multi_instance is not None
    assert node.multi_instance.loop_cardinality == "3"
    assert node.multi_instance.is_sequential
    # Wrong types are the validator's to report (with their paths); the view leaves them unset.
    assert node.retry_policy == RetryPolicy(max_attempts=None, backoff_coefficient=2.0)


@pytest.mark.parametrize("style", ["config", "top"])
def test_nested_subprocess_builds_a_scope(style: str) -> None:
    children = [
        element("sub_start", "startEvent", outgoing=["inner"]),
        element("inner", "userTask", outgoing=["f_inner"]),
        element("f_inner", "sequenceFlow", source="inner", target="sub_end"),
        element("sub_end", "endEvent"),
    ]
    sub = element("sub", "subProcess", config={"triggered_by_event": False})
    if style == "config":
        sub["config"]["elements"] = children
    else:
        sub["elements"] = children
    doc = linear(sub)
    model, issues = parse_definition(doc)
    assert issues == [] and model is not None
    scope = model.scopes["sub"]
    assert scope.node_ids == ("sub_start", "inner", "sub_end")
    assert scope.flow_ids == ("sub_start->inner", "f_inner")
    assert not scope.triggered_by_event
    assert model.node("inner").scope == "sub"
    assert model.node("sub").scope is None
    assert "elements" not in model.node("sub").config
    prefix = "elements[1].config.elements" if style == "config" else "elements[1].elements"
    assert model.node("inner").path == f"{prefix}[1]"
    assert model.flow("f_inner").path == f"{prefix}[2]"
    assert [n.id for n in model.nodes_in_scope("sub")] == ["sub_start", "inner", "sub_end"]


def test_ids_are_unique_across_subprocess_levels() -> None:
    sub = element("sub", "subProcess", config={"elements": [element("start", "startEvent")]})
    _, issues = parse_definition(linear(sub))
    assert [(i.path, i.code) for i in issues] == [
        ("elements[1].config.elements[0].id", "DUPLICATE_ID")
    ]


def test_children_given_twice_is_an_error() -> None:
    sub = element("sub", "subProcess", config={"elements": []}, elements=[])
    _, issues = parse_definition(linear(sub))
    assert [(i.path, i.code) for i in issues] == [("elements[1].elements", "INVALID_VALUE")]


def test_deep_nesting_is_refused_not_crashing() -> None:
    inner: dict[str, object] = element("leaf", "task")
    for depth in range(200):
        inner = element(f"s{depth}", "subProcess", elements=[inner])
    model, issues = parse_definition(document(inner))
    assert model is not None
    assert any(i.code == "INVALID_DOCUMENT" for i in issues)


def test_connections_and_definitions() -> None:
    doc = linear(element("t", "task"))
    doc["elements"] += [
        element("mf", "messageFlow", source="t", target="outside_pool", name="note"),
        element("as", "association", config={"source": "t", "target": "end"}),
    ]
    doc["message_definitions"] = [
        {"id": "m", "name": "Msg", "correlation_key": "${id}"},
        {"id": "m"},
    ]
    doc["signal_definitions"] = [{"id": "s", "scope": "everywhere"}]
    doc["error_definitions"] = "nope"
    doc["x-editor"] = {"zoom": 2}
    model, issues = parse_definition(doc)
    assert model is not None
    assert [(c.id, c.type, c.source, c.target) for c in model.connections] == [
        ("mf", ConnectionType.MESSAGE_FLOW, "t", "outside_pool"),
        ("as", ConnectionType.ASSOCIATION, "t", "end"),
    ]
    assert model.message_definitions["m"].correlation_key == "${id}"
    assert model.extensions == {"x-editor": {"zoom": 2}}
    assert [(i.path, i.code, i.severity.value) for i in issues] == [
        ("elements[3].target", "DANGLING_REFERENCE", "warning"),
        ("message_definitions[1].id", "DUPLICATE_ID", "error"),
        ("signal_definitions[0].scope", "INVALID_VALUE", "error"),
        ("error_definitions", "INVALID_TYPE", "error"),
    ]


def test_keys_with_odd_characters_get_bracket_paths() -> None:
    doc = document(process={"id": "p", "key": "p", "variables": {"a b": {"type": "nope"}}})
    _, issues = parse_definition(doc)
    assert [i.path for i in issues] == ['process.variables["a b"].type']


def test_parse_json_text_handles_very_deep_json() -> None:
    model, issues = parse_json_text("[" * 100_000 + "]" * 100_000)
    assert model is None and issues[0].path == "$"


def test_parse_definition_accepts_json_round_tripped_seed() -> None:
    text = json.dumps(seed(), ensure_ascii=False)
    model, issues = parse_json_text(text)
    assert issues == [] and model == parse_definition(seed())[0]
