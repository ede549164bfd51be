"""Validator rules of signal start events (JSON definitions)."""

from __future__ import annotations

from typing import Any

from workflow_engine.model.json_export import to_document
from workflow_engine.model.types import EventKind
from workflow_engine.model.validator import check_definition

from .builders import document, element


def _starts(*starts: dict[str, Any], signals: list[dict[str, Any]]) -> dict[str, Any]:
    return document(*starts, element("end", "endEvent"), signal_definitions=signals)


def _start(node_id: str, **config: Any) -> dict[str, Any]:
    return element(node_id, "startEvent", config=config, outgoing=["end"])


def test_signal_start_with_none_and_message_starts_is_valid() -> None:
    doc = _starts(
        _start("plain"),
        _start("by_signal", signal_ref="sig"),
        _start("by_message", message_ref="m"),
        signals=[{"id": "sig", "name": "go"}],
    )
    doc["message_definitions"] = [{"id": "m"}]
    model, report = check_definition(doc)
    assert report.errors == () and report.warnings == ()
    assert model is not None
    assert model.nodes["by_signal"].event_kind is EventKind.SIGNAL


def test_signal_start_must_name_a_signal_definition() -> None:
    _, report = check_definition(_starts(_start("s", signal_ref="nope"), signals=[{"id": "sig"}]))
    assert [(e.path, e.code, e.message) for e in report.errors] == [
        (
            "elements[0].config.signal_ref",
            "DANGLING_REFERENCE",
            "signal_ref 'nope' of startEvent 's' names no signal definition; defined signals: "
            "'sig'",
        )
    ]


def test_signal_start_cannot_have_a_second_trigger() -> None:
    doc = _starts(_start("s", signal_ref="sig", timer_duration="PT1M"), signals=[{"id": "sig"}])
    _, report = check_definition(doc)
    assert [(e.path, e.code) for e in report.errors] == [("elements[0].config", "INVALID_TRIGGER")]


def test_two_start_events_on_one_signal_by_id_or_name_are_an_error() -> None:
    signals = [{"id": "a", "name": "go"}, {"id": "b", "name": "go"}, {"id": "c"}]
    doc = _starts(
        _start("first", signal_ref="a"),
        _start("same_id", signal_ref="a"),
        _start("same_name", signal_ref="b"),
        _start("other", signal_ref="c"),
        signals=signals,
    )
    _, report = check_definition(doc)
    assert [(e.path, e.code) for e in report.errors] == [
        ("elements[1].config.signal_ref", "INVALID_TRIGGER"),
        ("elements[2].config.signal_ref", "INVALID_TRIGGER"),
    ]
    assert report.errors[1].message == (
        "start event 'same_name' catches the same signal as start event 'first' ('b'); one "
        "broadcast starts one instance, so keep one start event per signal"
    )


def test_event_subprocess_signal_starts_are_not_counted_with_the_process_starts() -> None:
    sub = element(
        "events",
        "subProcess",
        config={
            "triggered_by_event": True,
            "elements": [
                element(
                    "sub_start",
                    "startEvent",
                    config={"signal_ref": "sig", "is_interrupting": False},
                    outgoing=["sub_end"],
                ),
                element("sub_end", "endEvent"),
            ],
        },
    )
    doc = _starts(_start("by_signal", signal_ref="sig"), signals=[{"id": "sig"}])
    doc["elements"].append(sub)
    _, report = check_definition(doc)
    assert report.errors == ()


def test_signal_start_survives_the_canonical_json_round_trip() -> None:
    doc = _starts(
        _start("plain"),
        _start("by_signal", signal_ref="sig"),
        signals=[{"id": "sig", "name": "go"}],
    )
    model, report = check_definition(doc)
    assert model is not None and report.valid
    again, again_report = check_definition(to_document(model))
    assert again is not None and again_report.errors == ()
    assert again.nodes["by_signal"].config == {"signal_ref": "sig"}
    assert again.nodes["by_signal"].event_kind is EventKind.SIGNAL
    assert again.signal_definitions == model.signal_definitions
