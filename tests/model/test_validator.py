from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from workflow_engine.model.issues import Severity, ValidationReport
from workflow_engine.model.parser import parse_definition
from workflow_engine.model.types import (
    FlowNode,
    NodeType,
    ProcessHeader,
    ProcessModel,
    SequenceFlow,
)
from workflow_engine.model.validator import check_definition, validate

from .builders import codes, document, element, find, linear, seed

SEED_LISTENERS = [
    "com.example.ProcessStartListener",
    "com.example.ProcessEndListener",
    "com.example.TaskCreateListener",
    "com.example.TaskCompleteListener",
    "com.example.EmailStartListener",
]


def report_of(doc: Any, **opts: Any) -> ValidationReport:
    return check_definition(doc, **opts)[1]


def only(report: ValidationReport, path: str) -> tuple[str, str, Severity]:
    found = find(report, path)
    assert len(found) == 1, found
    return found[0].code, found[0].message, found[0].severity


# -- the seed ------------------------------------------------------------------------------


def test_seed_validates_clean() -> None:
    model, report = check_definition(seed())
    assert model is not None
    assert report.errors == () and report.warnings == ()
    assert report.valid


def test_seed_listener_classes_are_warnings_only_when_known_classes_are_given() -> None:
    report = report_of(seed(), known_listener_classes=[])
    assert report.errors == ()
    assert [(w.path, w.code) for w in report.warnings] == [
        ("process.listeners[0].class", "LISTENER_CLASS_UNKNOWN"),
        ("process.listeners[1].class", "LISTENER_CLASS_UNKNOWN"),
        ("elements[1].listeners[0].class", "LISTENER_CLASS_UNKNOWN"),
        ("elements[1].listeners[1].class", "LISTENER_CLASS_UNKNOWN"),
        ("elements[4].listeners[0].class", "LISTENER_CLASS_UNKNOWN"),
    ]
    assert "'com.example.TaskCreateListener'" in report.warnings[2].message
    assert report_of(seed(), known_listener_classes=SEED_LISTENERS).warnings == ()


def _mutate(change: Callable[[dict[str, Any]], None]) -> ValidationReport:
    doc = seed()
    change(doc)
    return report_of(doc)


def test_seed_with_dangling_outgoing() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["elements"][1]["outgoing"][0] = "no_such_node"

    report = _mutate(change)
    assert only(report, "elements[1].outgoing[0]") == (
        "DANGLING_REFERENCE",
        "outgoing 'no_such_node' of 'validate_user_task' names no sequence flow or node",
        Severity.ERROR,
    )


def test_seed_with_default_flow_that_is_not_outgoing() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["elements"][2]["config"]["default_flow"] = "send_email_task"

    report = _mutate(change)
    assert [(e.path, e.code) for e in report.errors] == [
        ("elements[2].config.default_flow", "INVALID_DEFAULT_FLOW")
    ]
    assert report.errors[0].message == (
        "default flow 'send_email_task' is not an outgoing flow of 'email_gateway'; its "
        "outgoing flows are 'email_valid_path', 'reject_path'"
    )


def test_seed_with_bad_timeout() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["elements"][5]["config"]["timeout"] = "PT2X"

    report = _mutate(change)
    assert [(e.path, e.code) for e in report.errors] == [
        ("elements[5].config.timeout", "TIMER_SYNTAX")
    ]
    assert report.errors[0].message.startswith(
        "'timeout' of intermediateCatchEvent 'wait_verification_event' is not a valid "
        "ISO 8601 duration: "
    )
    assert "PT2X" in report.errors[0].message


def test_seed_with_bad_condition() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["elements"][3]["config"]["condition"] = "${a >}"

    report = _mutate(change)
    assert [(e.path, e.code) for e in report.errors] == [
        ("elements[3].config.condition", "EXPRESSION_SYNTAX")
    ]
    assert report.errors[0].message.startswith(
        "the condition of sequence flow 'email_valid_path' is not a valid expression: "
    )
    assert "${a >}" in report.errors[0].message


def test_seed_with_duplicate_id() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["elements"].append({"id": "send_email_task", "type": "task", "outgoing": ["end_event"]})

    report = _mutate(change)
    assert only(report, "elements[10].id") == (
        "DUPLICATE_ID",
        "id 'send_email_task' is already used by the element at elements[4]; ids must be "
        "unique across the whole definition",
        Severity.ERROR,
    )
    assert len(report.errors) == 1


def test_seed_with_unknown_node_type() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["elements"][6]["type"] = "foobarTask"

    report = _mutate(change)
    assert [(e.path, e.code) for e in report.errors] == [("elements[6].type", "UNKNOWN_NODE_TYPE")]
    message = report.errors[0].message
    assert message.startswith("element 'complete_registration_task' has unknown type 'foobarTask'")
    assert "userTask" in message and "exclusiveGateway" in message
    # The left-out node would make everything after it look unreachable: those echoes are
    # dropped while the definition has structural errors.
    assert report.warnings == ()


def test_seed_with_unknown_variable_type() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["process"]["variables"]["email"]["type"] = "emailaddress"

    report = _mutate(change)
    assert [(e.path, e.code) for e in report.errors] == [
        ("process.variables.email.type", "UNKNOWN_VARIABLE_TYPE")
    ]


# -- references ----------------------------------------------------------------------------


def test_signal_message_and_error_references_must_resolve() -> None:
    doc = linear(
        element("w", "intermediateCatchEvent", config={"signal_ref": "nope"}),
        element("r", "receiveTask", config={"message_ref": "Order placed"}),
        element("q", "receiveTask", config={"message_ref": "order"}),
        element("x", "receiveTask", config={"message_ref": "ghost"}),
        element("t", "serviceTask", config={"activity_name": "A"}),
    )
    doc["elements"].append(
        element(
            "b", "boundaryEvent", config={"attached_to": "t", "error_ref": "bad"}, outgoing=["end"]
        )
    )
    doc["message_definitions"] = [{"id": "order", "name": "Order placed"}]
    doc["signal_definitions"] = [{"id": "sig"}]
    report = report_of(doc)
    assert [(e.path, e.code) for e in report.errors] == [
        ("elements[1].config.signal_ref", "DANGLING_REFERENCE"),
        ("elements[4].config.message_ref", "DANGLING_REFERENCE"),
        ("elements[7].config.error_ref", "DANGLING_REFERENCE"),
    ]
    assert report.errors[0].message == (
        "signal_ref 'nope' of intermediateCatchEvent 'w' names no signal definition; defined "
        "signals: 'sig'"
    )
    assert report.errors[2].message == (
        "error_ref 'bad' of boundaryEvent 'b' names no error definition; defined errors: none"
    )


def test_boundary_events_attach_to_activities_in_the_same_scope() -> None:
    sub = element(
        "sub",
        "subProcess",
        config={
            "elements": [
                element("s0", "startEvent", outgoing=["inner"]),
                element("inner", "task", outgoing=["e0"]),
                element("e0", "endEvent"),
                element("b_inner", "boundaryEvent", attached_to="t", outgoing=["e0"]),
            ]
        },
    )
    doc = linear(element("t", "task"), element("g", "exclusiveGateway"), sub)
    doc["elements"] += [
        element("b_gw", "boundaryEvent", attached_to="g", config={"timer_duration": "PT1M"}),
        element("b_none", "boundaryEvent"),
        element("b_ghost", "boundaryEvent", config={"attached_to": "ghost"}),
        element("b_in", "boundaryEvent", attached_to="t", incoming=["start"]),
    ]
    doc["elements"][0]["outgoing"].append("b_in")
    report = report_of(doc)
    by_path = {e.path: (e.code, e.message) for e in report.errors}
    assert by_path["elements[5].attached_to"] == (
        "INVALID_BOUNDARY_HOST",
        "boundaryEvent 'b_gw' is attached to exclusiveGateway 'g'; boundary events attach only "
        "to activities (tasks, subprocesses, call activities)",
    )
    assert by_path["elements[6].config.attached_to"][0] == "MISSING_CONFIG_KEY"
    assert by_path["elements[7].config.attached_to"] == (
        "DANGLING_REFERENCE",
        "boundaryEvent 'b_ghost' is attached to 'ghost', which names no node",
    )
    assert by_path["elements[8].incoming"][0] == "INCOMING_NOT_ALLOWED"
    assert by_path["elements[3].config.elements[3].attached_to"][0] == "INVALID_BOUNDARY_HOST"
    assert "different (sub)process" in by_path["elements[3].config.elements[3].attached_to"][1]


# -- events --------------------------------------------------------------------------------


def test_process_needs_a_start_event() -> None:
    doc = document(element("t", "task", outgoing=["e"]), element("e", "endEvent"))
    report = report_of(doc)
    assert only(report, "elements") == (
        "NO_START_EVENT",
        "the process has no start event; add a startEvent (a none start, or one with "
        "message_ref, signal_ref or timer_*)",
        Severity.ERROR,
    )


def test_message_and_timer_starts_count_and_two_none_starts_do_not() -> None:
    doc = document(
        element("m", "startEvent", config={"message_ref": "go"}, outgoing=["e"]),
        element("tm", "startEvent", config={"timer_cycle": "R/PT1H"}, outgoing=["e"]),
        element("e", "endEvent"),
        message_definitions=[{"id": "go"}],
    )
    assert report_of(doc).errors == ()
    doc["elements"] += [
        element("n1", "startEvent", outgoing=["e"]),
        element("n2", "startEvent", outgoing=["e"]),
        element("err", "startEvent", config={"error_ref": None}, outgoing=["e"]),
    ]
    report = report_of(doc)
    assert [(e.path, e.code) for e in report.errors] == [
        ("elements[4]", "MULTIPLE_NONE_START"),
        ("elements[5].config", "INVALID_TRIGGER"),
    ]


def test_start_has_no_incoming_and_end_no_outgoing() -> None:
    doc = document(
        element("s", "startEvent", outgoing=["e"]),
        element("e", "endEvent", outgoing=["s"]),
    )
    report = report_of(doc)
    assert only(report, "elements[0].incoming")[0] == "INCOMING_NOT_ALLOWED"
    assert only(report, "elements[1].outgoing") == (
        "OUTGOING_NOT_ALLOWED",
        "endEvent 'e' cannot have outgoing sequence flows ('e->s')",
        Severity.ERROR,
    )


@pytest.mark.parametrize(
    ("config", "ok"),
    [
        ({"timer_duration": "PT1M"}, True),
        ({"message_ref": "m"}, True),
        ({"signal_ref": "s"}, True),
        ({}, False),
        ({"timeout": "PT1M"}, False),
        ({"timer_duration": "PT1M", "signal_ref": "s"}, False),
    ],
)
def test_intermediate_catch_event_waits_for_exactly_one_trigger(
    config: dict[str, Any], ok: bool
) -> None:
    doc = linear(element("w", "intermediateCatchEvent", config=config))
    doc["message_definitions"] = [{"id": "m"}]
    doc["signal_definitions"] = [{"id": "s"}]
    report = report_of(doc)
    if ok:
        assert report.errors == ()
    else:
        assert only(report, "elements[1].config")[0] == "INVALID_TRIGGER"


def test_timeout_action_must_be_cancel_or_continue() -> None:
    doc = linear(
        element(
            "w",
            "intermediateCatchEvent",
            config={"timer_duration": "PT1M", "timeout": "PT2M", "timeout_action": "explode"},
        )
    )
    assert only(report_of(doc), "elements[1].config.timeout_action") == (
        "INVALID_CONFIG_VALUE",
        "'timeout_action' of intermediateCatchEvent 'w' is 'explode'; it must be one of "
        "cancel, continue",
        Severity.ERROR,
    )


def test_event_subprocess_rules() -> None:
    good = element(
        "esp",
        "subProcess",
        config={
            "triggered_by_event": True,
            "elements": [
                element("es", "startEvent", config={"error_ref": None}, outgoing=["ee"]),
                element("ee", "endEvent"),
            ],
        },
    )
    doc = linear(element("t", "task"))
    doc["elements"].append(good)
    report = report_of(doc)
    assert report.errors == () and report.warnings == ()

    bad = element(
        "esp2",
        "subProcess",
        config={
            "triggered_by_event": True,
            "elements": [
                element("es2", "startEvent", outgoing=["ee2"]),
                element("ee2", "endEvent"),
            ],
        },
        outgoing=["end"],
    )
    doc["elements"].append(bad)
    report = report_of(doc)
    assert [(e.path, e.code) for e in report.errors] == [
        ("elements[4].outgoing", "OUTGOING_NOT_ALLOWED"),
        ("elements[4].config.elements[0].config", "INVALID_TRIGGER"),
    ]


def test_embedded_subprocess_needs_a_none_start() -> None:
    sub = element(
        "sub",
        "subProcess",
        config={"elements": [element("x", "task")]},
    )
    report = report_of(linear(sub))
    assert only(report, "elements[1]")[0:2] == (
        "NO_START_EVENT",
        "subProcess 'sub' has no start event among its elements",
    )


# -- gateways ------------------------------------------------------------------------------


def _gateway_doc(gateway_type: str, **gateway: Any) -> dict[str, Any]:
    return document(
        element("s", "startEvent", outgoing=["g"]),
        element("g", gateway_type, outgoing=["f1", "f2", "c"], **gateway),
        element("f1", "sequenceFlow", source="g", target="a", config={"condition": "${x > 1}"}),
        element("f2", "sequenceFlow", source="g", target="b"),
        element("a", "endEvent"),
        element("b", "endEvent"),
        element("c", "endEvent"),
    )


def test_exclusive_gateway_flows_without_condition_warn_unless_default() -> None:
    report = report_of(_gateway_doc("exclusiveGateway"))
    assert report.errors == ()
    assert [(w.path, w.code) for w in report.warnings] == [
        ("elements[3]", "MISSING_CONDITION"),
        ("elements[1].outgoing[2]", "MISSING_CONDITION"),
    ]
    report = report_of(_gateway_doc("inclusiveGateway", config={"default_flow": "c"}))
    assert [(w.path, w.code) for w in report.warnings] == [("elements[3]", "MISSING_CONDITION")]
    report = report_of(_gateway_doc("exclusiveGateway", config={"default_flow": "f2"}))
    assert [(w.path, w.code) for w in report.warnings] == [
        ("elements[1].outgoing[2]", "MISSING_CONDITION")
    ]


def test_parallel_gateway_flows_carry_no_condition() -> None:
    report = report_of(_gateway_doc("parallelGateway"))
    assert only(report, "elements[2].config.condition") == (
        "PARALLEL_FLOW_CONDITION",
        "sequence flow 'f1' leaves parallel gateway 'g' and has a condition; a parallel gateway "
        "takes every outgoing flow, so use an inclusive or exclusive gateway for conditions",
        Severity.ERROR,
    )


def test_condition_must_be_an_expression() -> None:
    doc = _gateway_doc("exclusiveGateway", config={"default_flow": "c"})
    doc["elements"][3]["config"] = {"condition": "x > 1"}
    assert only(report_of(doc), "elements[3].config.condition") == (
        "INVALID_CONDITION",
        "the condition of sequence flow 'f2' must be an expression like ${amount > 100}, not the "
        "plain text 'x > 1'",
        Severity.ERROR,
    )


def test_event_based_gateway_targets() -> None:
    doc = document(
        element("s", "startEvent", outgoing=["g"]),
        element("g", "eventBasedGateway", outgoing=["w", "r", "t"]),
        element("w", "intermediateCatchEvent", config={"timer_duration": "PT1M"}, outgoing=["e"]),
        element("r", "receiveTask", config={"message_ref": "m"}, outgoing=["e"]),
        element("t", "task", outgoing=["e"]),
        element("e", "endEvent"),
        message_definitions=[{"id": "m"}],
    )
    report = report_of(doc)
    assert [(e.path, e.code) for e in report.errors] == [
        ("elements[1].outgoing[2]", "INVALID_EVENT_GATEWAY_TARGET")
    ]


# -- timers and config values --------------------------------------------------------------


@pytest.mark.parametrize(
    ("node", "path"),
    [
        (
            element("w", "intermediateCatchEvent", config={"timer_duration": "PT2X"}),
            "elements[1].config.timer_duration",
        ),
        (
            element("w", "intermediateCatchEvent", config={"timer_date": "tomorrow"}),
            "elements[1].config.timer_date",
        ),
        (
            element("w", "intermediateCatchEvent", config={"timer_cycle": "R3/PT2X"}),
            "elements[1].config.timer_cycle",
        ),
        (
            element("t", "serviceTask", config={"activity_name": "A", "timeout": "5 minutes"}),
            "elements[1].config.timeout",
        ),
        (element("t", "userTask", config={"due_date": "next week"}), "elements[1].config.due_date"),
        (
            element(
                "t",
                "serviceTask",
                config={"activity_name": "A", "retry_policy": {"initial_interval": "1s"}},
            ),
            "elements[1].config.retry_policy.initial_interval",
        ),
        (
            element(
                "t",
                "serviceTask",
                config={"activity_name": "A", "retry_policy": {"maximum_interval": "PTX"}},
            ),
            "elements[1].config.retry_policy.maximum_interval",
        ),
    ],
)
def test_bad_timers_are_reported_at_their_exact_path(node: dict[str, Any], path: str) -> None:
    report = report_of(linear(node))
    assert [(e.path, e.code) for e in report.errors] == [(path, "TIMER_SYNTAX")]


def test_due_date_accepts_a_duration_or_a_date_and_process_timeout_is_checked() -> None:
    doc = linear(
        element("a", "userTask", config={"due_date": "PT1H"}),
        element("b", "userTask", config={"due_date": "2026-12-01T10:00:00Z"}),
    )
    assert report_of(doc).errors == ()
    doc["process"]["timeout"] = "forever"
    assert only(report_of(doc), "process.timeout")[0] == "TIMER_SYNTAX"


@pytest.mark.parametrize(
    ("priority", "ok"), [("50", True), (7, True), ("high", False), (True, False), (1.5, False)]
)
def test_user_task_priority_is_numeric(priority: object, ok: bool) -> None:
    report = report_of(linear(element("t", "userTask", config={"priority": priority})))
    if ok:
        assert report.errors == ()
    else:
        assert only(report, "elements[1].config.priority")[0] == "INVALID_CONFIG_VALUE"


def test_multi_instance_needs_cardinality_or_collection() -> None:
    bad = element("t", "task", config={"multi_instance": {"is_sequential": True}})
    assert only(report_of(linear(bad)), "elements[1].config.multi_instance") == (
        "INVALID_MULTI_INSTANCE",
        "'multi_instance' of task 't' needs 'loop_cardinality' (how many instances) or "
        "'collection' (one instance per item)",
        Severity.ERROR,
    )
    for spec in ({"loop_cardinality": "${n}"}, {"collection": "${items}", "element_variable": "i"}):
        assert report_of(linear(element("t", "task", config={"multi_instance": spec}))).errors == ()
    wrong = element("t", "task", config={"multi_instance": {"loop_cardinality": "${n >}"}})
    assert (
        only(report_of(linear(wrong)), "elements[1].config.multi_instance.loop_cardinality")[0]
        == "EXPRESSION_SYNTAX"
    )


def test_expressions_in_mappings_and_assignees_compile() -> None:
    doc = linear(
        element(
            "t",
            "userTask",
            config={
                "assignee": "${initiator",
                "candidate_groups": ["ops", "${group +}"],
                "input_mapping": {"a": "${a.}", "b": "literal", "c": 3},
            },
        )
    )
    report = report_of(doc)
    assert [(e.path, e.code) for e in report.errors] == [
        ("elements[1].config.assignee", "EXPRESSION_SYNTAX"),
        ("elements[1].config.candidate_groups[1]", "EXPRESSION_SYNTAX"),
        ("elements[1].config.input_mapping.a", "EXPRESSION_SYNTAX"),
    ]


def test_unknown_config_keys_warn_and_wrong_types_error() -> None:
    doc = linear(
        element(
            "t",
            "serviceTask",
            config={
                "activity_name": 5,
                "defaultFlow": "x",
                "implementation": "carrier-pigeon",
                "retry_policy": {"max_attempts": -1, "backoff_coefficient": 0.5, "jitter": 1},
            },
        )
    )
    report = report_of(doc)
    assert [(e.path, e.code) for e in report.errors] == [
        ("elements[1].config.activity_name", "INVALID_CONFIG_VALUE"),
        ("elements[1].config.implementation", "INVALID_CONFIG_VALUE"),
        ("elements[1].config.retry_policy.max_attempts", "INVALID_CONFIG_VALUE"),
        ("elements[1].config.retry_policy.backoff_coefficient", "INVALID_CONFIG_VALUE"),
    ]
    assert [(w.path, w.code) for w in report.warnings] == [
        ("elements[1].config.defaultFlow", "UNKNOWN_CONFIG_KEY"),
        ("elements[1].config.retry_policy.jitter", "UNKNOWN_CONFIG_KEY"),
    ]


def test_service_script_and_call_activity_requirements() -> None:
    doc = linear(
        element("a", "serviceTask"),
        element("b", "serviceTask", config={"implementation": "http"}),
        element("c", "scriptTask", config={"script": "${1 + 1}"}),
        element("d", "scriptTask", config={"script": {"total": "${a + b}"}}),
        element("e", "callActivity"),
        element(
            "f",
            "businessRuleTask",
            config={
                "decision_table": {
                    "hit_policy": "ANY",
                    "rules": [{"when": ["${x >"], "then": {"y": 1}}],
                }
            },
        ),
    )
    report = report_of(doc)
    assert [(e.path, e.code) for e in report.errors] == [
        ("elements[2].config.url", "MISSING_CONFIG_KEY"),
        ("elements[3].config.result_variable", "MISSING_CONFIG_KEY"),
        ("elements[5].config.called_element", "MISSING_CONFIG_KEY"),
        ("elements[6].config.decision_table.hit_policy", "INVALID_CONFIG_VALUE"),
        ("elements[6].config.decision_table.rules[0].when[0]", "EXPRESSION_SYNTAX"),
    ]
    assert [(w.path, w.code) for w in report.warnings] == [
        ("elements[1].config.activity_name", "MISSING_ACTIVITY_NAME"),
    ]


def test_variable_default_must_match_its_type() -> None:
    doc = linear()
    doc["process"]["variables"] = {
        "n": {"type": "integer", "default": "three"},
        "ok": {"type": "number", "default": 2},
        "flag": {"type": "integer", "default": True},
    }
    report = report_of(doc)
    assert [(e.path, e.code) for e in report.errors] == [
        ("process.variables.n.default", "INVALID_VALUE"),
        ("process.variables.flag.default", "INVALID_VALUE"),
    ]
    assert report.errors[0].message == (
        "the default of variable 'n' is a string, but the variable is declared as integer"
    )


def test_max_elements_counts_every_element() -> None:
    doc = seed()
    assert report_of(doc, max_elements=10).errors == ()
    assert only(report_of(doc, max_elements=9), "elements") == (
        "TOO_MANY_ELEMENTS",
        "the definition has 10 elements; at most 9 are allowed",
        Severity.ERROR,
    )


# -- graph shape ---------------------------------------------------------------------------


def test_unreachable_and_dead_end_nodes_warn() -> None:
    doc = linear(element("t", "task"))
    doc["elements"] += [
        element("island", "task", outgoing=["end"]),
        element("loop_a", "task", outgoing=["loop_b"]),
        element("loop_b", "task", outgoing=["loop_a"]),
        element("dangling", "task"),
    ]
    doc["elements"][1]["outgoing"] = ["end", "loop_a", "dangling"]
    report = report_of(doc)
    assert report.errors == ()
    assert [(w.path, w.code) for w in report.warnings] == [
        ("elements[3]", "UNREACHABLE_NODE"),
        ("elements[4]", "CANNOT_REACH_END"),
        ("elements[5]", "CANNOT_REACH_END"),
        ("elements[6]", "NO_OUTGOING_FLOW"),
        ("elements[4]", "LOOP_WITHOUT_WAIT"),
    ]
    assert report.warnings[0].message == (
        "task 'island' cannot be reached from any start event of the process"
    )


def test_boundary_events_are_reachable_through_their_host() -> None:
    doc = linear(element("t", "task"))
    doc["elements"] += [
        element(
            "b",
            "boundaryEvent",
            attached_to="t",
            config={"timer_duration": "PT1M"},
            outgoing=["late"],
        ),
        element("late", "endEvent"),
    ]
    report = report_of(doc)
    assert report.errors == () and report.warnings == ()


def test_cross_scope_flows_are_errors() -> None:
    sub = element(
        "sub",
        "subProcess",
        config={
            "elements": [
                element("s0", "startEvent", outgoing=["e0"]),
                element("e0", "endEvent"),
                element("f", "sequenceFlow", source="s0", target="end"),
            ]
        },
    )
    doc = linear(sub)
    doc["elements"][1]["config"]["elements"][0]["outgoing"].append("f")
    report = report_of(doc)
    assert [(e.path, e.code) for e in report.errors] == [
        ("elements[1].config.elements[2]", "CROSS_SCOPE_FLOW")
    ]


# -- models that did not come from the parser ----------------------------------------------


def test_validate_checks_hand_built_models_for_consistency() -> None:
    model, _ = parse_definition(linear(element("t", "task")))
    assert model is not None
    nodes = dict(model.nodes)
    nodes["t"] = replace(nodes["t"], outgoing=("ghost", "start->t"))
    flows = dict(model.flows)
    flows["orphan"] = SequenceFlow(id="orphan", source="nobody", target="end", path="elements[9]")
    broken = replace(model, nodes=nodes, flows=flows)
    issues = validate(broken)
    assert [(i.path, i.code) for i in issues if i.severity is Severity.ERROR] == [
        ("elements[1].outgoing[0]", "DANGLING_REFERENCE"),
        ("elements[1].outgoing[1]", "FLOW_MISMATCH"),
        # The implicit flow t->end is located at the outgoing entry that created it.
        ("elements[1].outgoing[0]", "FLOW_MISMATCH"),
        ("elements[9].source", "DANGLING_REFERENCE"),
        ("elements[9]", "FLOW_MISMATCH"),
    ]


def test_validate_without_paths_still_names_elements() -> None:
    model = ProcessModel(
        process=ProcessHeader(id="p", key="p"),
        nodes={"t": FlowNode(id="t", type=NodeType.TASK)},
        flows={},
    )
    issues = validate(model)
    assert [(i.path, i.code) for i in issues] == [
        ("elements", "NO_START_EVENT"),
        ("elements[id=t]", "NO_OUTGOING_FLOW"),
    ]


def test_codes_are_stable_upper_snake() -> None:
    doc = _gateway_doc("parallelGateway")
    assert all(c.isupper() or c == "_" for code in codes(report_of(doc)) for c in code)


# -- loops without a wait state (issue 15, finding 2) ---------------------------------------


def _script_gateway_loop(*middle: dict[str, Any]) -> dict[str, Any]:
    """start -> inc -> [middle...] -> gw; gw loops back to inc or leaves to end."""
    first_after_inc = middle[0]["id"] if middle else "gw"
    return document(
        element("start", "startEvent", outgoing=["inc"]),
        element(
            "inc", "scriptTask", config={"script": {"n": "${n + 1}"}}, outgoing=[first_after_inc]
        ),
        *middle,
        element("gw", "exclusiveGateway", config={"default_flow": "out"}),
        element("end", "endEvent"),
        element("out", "sequenceFlow", source="gw", target="end"),
        element(
            "back", "sequenceFlow", source="gw", target="inc", config={"condition": "${n < 10}"}
        ),
    )


def test_loop_without_wait_state_warns_with_the_cycle() -> None:
    report = report_of(_script_gateway_loop())
    assert report.errors == ()
    assert [(w.path, w.code) for w in report.warnings] == [("elements[1]", "LOOP_WITHOUT_WAIT")]
    assert report.warnings[0].message.startswith(
        "loop without a wait state in the process: inc -> gw -> inc;"
    )


@pytest.mark.parametrize(
    "wait",
    [
        element("ask", "userTask", outgoing=["gw"]),
        element(
            "pause", "intermediateCatchEvent", config={"timer_duration": "PT1M"}, outgoing=["gw"]
        ),
        element("call", "serviceTask", config={"activity_name": "Work"}, outgoing=["gw"]),
    ],
    ids=["user task", "timer", "service task"],
)
def test_loop_through_a_wait_state_does_not_warn(wait: dict[str, Any]) -> None:
    report = report_of(_script_gateway_loop(wait))
    assert report.errors == ()
    assert report.warnings == ()


def test_inner_loop_without_wait_is_found_beside_a_waiting_one() -> None:
    doc = _script_gateway_loop(element("ask", "userTask", outgoing=["gw"]))
    # A second way back that skips the user task: inc -> check -> inc never waits.
    doc["elements"][1]["outgoing"] = ["ask", "check"]
    doc["elements"].insert(
        3,
        element("check", "exclusiveGateway", config={"default_flow": "inc"}, outgoing=["inc"]),
    )
    report = report_of(doc)
    loops = [w for w in report.warnings if w.code == "LOOP_WITHOUT_WAIT"]
    assert [w.message.split(";")[0] for w in loops] == [
        "loop without a wait state in the process: inc -> check -> inc"
    ]
