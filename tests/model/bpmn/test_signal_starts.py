"""Signal start events in BPMN XML: import, validation findings and export round trip."""

from __future__ import annotations

from lxml import etree

from tests.model.bpmn.support import bpmn_schema, comparable
from workflow_engine.model.bpmn import export_bpmn, import_bpmn
from workflow_engine.model.types import EventKind

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def _xml(process: str, *, signals: str = '<signal id="sig_order" name="Order placed"/>') -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="t">\n'
        f"{signals}\n"
        f'<process id="orders" isExecutable="true">{process}</process>\n'
        "</definitions>"
    ).encode()


#: A none start and a signal start leading to one user task.
TWO_STARTS = """
  <startEvent id="plain"/>
  <startEvent id="by_signal" name="Order placed">
    <signalEventDefinition signalRef="sig_order"/>
  </startEvent>
  <sequenceFlow id="f1" sourceRef="plain" targetRef="work"/>
  <sequenceFlow id="f2" sourceRef="by_signal" targetRef="work"/>
  <userTask id="work"/>
  <sequenceFlow id="f3" sourceRef="work" targetRef="done"/>
  <endEvent id="done"/>
"""


def test_signal_event_definition_on_a_start_event_imports_as_signal_ref() -> None:
    result = import_bpmn(_xml(TWO_STARTS))
    assert result.report.errors == () and result.report.warnings == ()
    assert result.model is not None and result.document is not None
    start = result.model.nodes["by_signal"]
    assert start.config == {"signal_ref": "sig_order"}
    assert start.event_kind is EventKind.SIGNAL
    assert start.scope is None
    assert result.model.nodes["plain"].event_kind in (None, EventKind.NONE)
    assert result.model.signal_definitions["sig_order"].name == "Order placed"
    by_id = {e["id"]: e for e in result.document["elements"]}
    assert by_id["by_signal"]["config"] == {"signal_ref": "sig_order"}


def test_signal_start_exports_valid_xml_and_round_trips() -> None:
    result = import_bpmn(_xml(TWO_STARTS))
    assert result.model is not None
    xml = export_bpmn(result.model)
    root = etree.fromstring(xml)
    assert bpmn_schema().validate(root), str(bpmn_schema().error_log)
    start = root.find(f".//{BPMN}startEvent[@id='by_signal']")
    assert start is not None
    definition = start.find(f"{BPMN}signalEventDefinition")
    assert definition is not None and definition.get("signalRef") == "sig_order"
    signal = root.find(f"{BPMN}signal[@id='sig_order']")
    assert signal is not None and signal.get("name") == "Order placed"
    again = import_bpmn(xml)
    assert again.report.errors == ()
    assert again.model is not None
    assert comparable(again.model) == comparable(result.model)


def test_message_and_signal_starts_in_one_process() -> None:
    process = """
      <startEvent id="by_message"><messageEventDefinition messageRef="m"/></startEvent>
      <startEvent id="by_signal"><signalEventDefinition signalRef="sig_order"/></startEvent>
      <sequenceFlow id="f1" sourceRef="by_message" targetRef="done"/>
      <sequenceFlow id="f2" sourceRef="by_signal" targetRef="done"/>
      <endEvent id="done"/>
    """
    signals = '<signal id="sig_order" name="Order placed"/><message id="m" name="invoice"/>'
    result = import_bpmn(_xml(process, signals=signals))
    assert result.report.errors == ()
    assert result.model is not None
    kinds = {n.id: n.event_kind for n in result.model.start_events(None)}
    assert kinds == {"by_message": EventKind.MESSAGE, "by_signal": EventKind.SIGNAL}


def test_signal_start_naming_no_signal_is_an_error_at_the_start_event() -> None:
    process = TWO_STARTS.replace('signalRef="sig_order"', 'signalRef="ghost"')
    result = import_bpmn(_xml(process))
    assert result.model is None
    [error] = result.report.errors
    assert error.code == "DANGLING_REFERENCE"
    assert error.message == (
        "signal_ref 'ghost' of startEvent 'by_signal' names no signal definition; "
        "defined signals: 'sig_order'"
    )
    assert error.path.startswith("bpmn:process[@id='orders']/bpmn:startEvent[@id='by_signal']")
    assert error.path.endswith(".config.signal_ref")


def test_two_start_events_on_one_signal_are_refused() -> None:
    process = TWO_STARTS.replace(
        '<startEvent id="plain"/>',
        '<startEvent id="plain"><signalEventDefinition signalRef="sig_order"/></startEvent>',
    )
    result = import_bpmn(_xml(process))
    assert result.model is None
    assert [i.code for i in result.report.errors] == ["INVALID_TRIGGER"]
    assert "same signal as start event 'plain'" in result.report.errors[0].message
    assert "by_signal" in result.report.errors[0].path
