from __future__ import annotations

from pathlib import Path

import pytest

from tests.model.bpmn.support import ALL_FILES, CONFORMANCE, MUST_IMPORT, file_id
from workflow_engine.model.bpmn import BpmnImport, import_bpmn
from workflow_engine.model.types import EventKind, NodeType, TimerKind

B20 = CONFORMANCE / "bpmn-miwg" / "B.2.0.bpmn"


def _import(path: Path, **kwargs: str) -> BpmnImport:
    return import_bpmn(path.read_bytes(), **kwargs)


def _xml(body: str, *, extra_ns: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
        f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" {extra_ns} '
        f'targetNamespace="t">\n{body}\n</definitions>'
    ).encode()


@pytest.mark.parametrize("path", ALL_FILES, ids=file_id)
def test_every_conformance_file_imports_or_is_rejected_with_reasons(path: Path) -> None:
    result = _import(path)
    assert isinstance(result, BpmnImport)
    assert "IMPORT_FAILED" not in [e.code for e in result.report.errors]
    if result.model is None:
        assert result.report.errors
        for issue in result.report.errors:
            assert issue.path and issue.message and issue.code
    else:
        assert result.report.valid


@pytest.mark.parametrize("path", MUST_IMPORT, ids=file_id)
def test_executable_models_import_cleanly(path: Path) -> None:
    result = _import(path)
    assert result.report.errors == (), [(i.path, i.message) for i in result.report.errors]
    assert result.model is not None
    assert result.document is not None
    assert result.model.process.id == result.document["process"]["id"]
    assert result.model.process.key == result.model.process.id


def test_corpus_is_complete() -> None:
    assert len(ALL_FILES) == 30
    assert len(MUST_IMPORT) == 29


def test_b20_without_process_id_lists_the_processes() -> None:
    result = _import(B20)
    assert result.model is None and result.document is None
    assert result.process_ids == (
        "Process_ba16239e-181e-4b9f-bc5b-0bb2ee973450",
        "WFP-6-1",
        "WFP-6-2",
        "WFP-0-",
    )
    (error,) = result.report.errors
    assert error.code == "PROCESS_AMBIGUOUS"
    assert "process_id" in error.message
    for process_id in result.process_ids:
        assert f"'{process_id}'" in error.message


def test_b20_processes_are_rejected_naming_the_unsupported_elements() -> None:
    messages = {
        pid: [(i.path, i.message) for i in _import(B20, process_id=pid).report.errors]
        for pid in ("WFP-6-1", "WFP-6-2")
    }
    wfp2 = " ".join(m for _, m in messages["WFP-6-2"])
    # Link and escalation events are supported: the link pair imports; the escalation throws
    # are refused only because they name no escalation (hence no code to throw).
    assert "linkEventDefinition" not in wfp2
    assert "bpmn:escalationEventDefinition" not in wfp2
    assert wfp2.count("throws no code: its escalationRef must name a bpmn:escalation") == 2
    assert "bpmn:conditionalEventDefinition" in wfp2
    wfp1 = messages["WFP-6-1"]
    assert any("bpmn:standardLoopCharacteristics" in m for _, m in wfp1)
    for pid, issues in messages.items():
        assert issues
        for path, _ in issues:
            assert path.startswith(f"bpmn:process[@id='{pid}']")
            assert "(line " in path


def test_b20_small_process_imports_as_not_executable() -> None:
    result = _import(B20, process_id="WFP-0-")
    assert result.model is not None
    assert result.model.process.executable is False
    assert [w.code for w in result.report.warnings] == ["NOT_EXECUTABLE"]


def test_miwg_a10_is_not_executable_but_imports_with_its_diagram() -> None:
    result = _import(CONFORMANCE / "bpmn-miwg" / "A.1.0.bpmn")
    assert result.model is not None and result.document is not None
    assert result.document["process"]["executable"] is False
    assert any(w.code == "NOT_EXECUTABLE" for w in result.report.warnings)
    assert [n.type for n in result.model.nodes.values()].count(NodeType.TASK) == 3
    shapes = result.document["diagram"]["shapes"]
    assert shapes["_93c466ab-b271-4376-a427-f4c353d55ce8"] == {
        "x": 186,
        "y": 336,
        "width": 30,
        "height": 30,
    }
    assert len(result.document["diagram"]["edges"]) == 4


def test_text_input_with_an_encoding_declaration_is_read() -> None:
    text = (CONFORMANCE / "bpmn-miwg" / "A.1.0.bpmn").read_bytes().decode("iso-8859-1")
    assert import_bpmn(text).model is not None


def test_camunda_gateway_conditions_default_flow_and_order() -> None:
    result = _import(
        CONFORMANCE / "camunda7" / "ExclusiveGatewayTest.testDefaultSequenceFlow.bpmn20.xml"
    )
    model = result.model
    assert model is not None
    gateway = next(n for n in model.nodes.values() if n.type is NodeType.EXCLUSIVE_GATEWAY)
    assert gateway.config["default_flow"] == "flow3"
    conditions = [model.flows[f].condition for f in gateway.outgoing]
    assert conditions.count(None) == 1
    assert all(c is None or c.startswith("${") for c in conditions)


def test_zeebe_feel_conditions_io_mapping_and_messages_are_translated() -> None:
    loop = _import(CONFORMANCE / "lib-bpmn-engine" / "simple-count-loop.bpmn").model
    assert loop is not None
    condition = loop.flows["greater_then_3"].condition
    assert condition is not None and condition.startswith("${") and "counter" in condition
    task = loop.nodes["id-increaseCounter"]
    assert task.config["activity_name"] == "increaseCounter"
    assert task.config["output_mapping"] == {"counter": "${counter}"}
    events = _import(CONFORMANCE / "lib-bpmn-engine" / "message-intermediate-timer-event.bpmn")
    assert events.model is not None
    message_event = events.model.nodes["message"]
    assert message_event.config["message_ref"] == "Message_1ah4t8u"
    definition = events.model.message_definitions["Message_1ah4t8u"]
    assert definition.name == "message"
    assert definition.correlation_key == "${message}"
    assert events.model.nodes["timer1"].timer is not None
    assert events.model.nodes["timer1"].timer.value == "PT1S"


def test_feel_job_type_becomes_an_expression_activity_name_with_a_note() -> None:
    result = _import(CONFORMANCE / "camunda-8-benchmark" / "typical_process.bpmn")
    assert result.model is not None
    name = result.model.nodes["task10"].config["activity_name"]
    assert name.startswith("${") and "benchmark_starter_id" in name and "-completed" in name
    notes = [w for w in result.report.warnings if w.code == "DYNAMIC_ACTIVITY_NAME"]
    assert len(notes) == 10
    assert "task10" in notes[-1].path


def test_events_subprocesses_and_multi_instance() -> None:
    c7 = CONFORMANCE / "camunda7"
    error = _import(c7 / "BoundaryErrorEventTest.testCatchErrorOnEmbeddedSubprocess.bpmn20.xml")
    assert error.model is not None
    assert error.model.nodes["subprocessEnd"].config["error_ref"] == "myError"
    assert error.model.error_definitions["myError"].error_code == "123"
    catch = error.model.nodes["catchError"]
    assert catch.attached_to == "subprocess" and "error_ref" not in catch.config
    assert error.model.nodes["subprocessTask"].scope == "subprocess"

    cycle = _import(c7 / "BoundaryTimerNonInterruptingEventTest.testTimerWithCycle.bpmn20.xml")
    assert cycle.model is not None
    boundary = next(n for n in cycle.model.nodes.values() if n.type is NodeType.BOUNDARY_EVENT)
    assert boundary.timer is not None and boundary.timer.kind is TimerKind.CYCLE
    assert boundary.cancel_activity is False

    sub = _import(
        c7 / "MessageEventSubprocessTest.testNonInterruptingUnderProcessDefinition.bpmn20.xml"
    )
    assert sub.model is not None
    assert sub.model.scopes["subProcess"].triggered_by_event is True
    start = sub.model.nodes["eventProcessStart"]
    assert start.config["is_interrupting"] is False
    assert start.event_kind is EventKind.MESSAGE
    # Flows without an id get a stable generated one.
    assert "theStart_to_task" in sub.model.flows

    mi = _import(c7 / "MultiInstanceTest.testParallelUserTasksCompletionCondition.bpmn20.xml")
    assert mi.model is not None
    spec = mi.model.nodes["miTasks"].multi_instance
    assert spec is not None and spec.is_sequential is False
    assert spec.loop_cardinality == "${5}"
    assert spec.completion_condition == "${nrOfCompletedInstances/nrOfInstances >= 0.5}"

    terminate = _import(c7 / "TerminateEndEventTest.testProcessTerminate.bpmn")
    assert terminate.model is not None
    assert any(n.event_kind is EventKind.TERMINATE for n in terminate.model.nodes.values())

    call = _import(c7 / "CallActivity.testCallSimpleSubProcess.bpmn20.xml")
    assert call.model is not None
    activity = next(n for n in call.model.nodes.values() if n.type is NodeType.CALL_ACTIVITY)
    assert activity.config["called_element"] == "simpleSubProcess"


def test_camunda_extensions_are_read() -> None:
    xml = _xml(
        """
        <process id="p" name="P" camunda:versionTag="v7" camunda:candidateStarterGroups="a, b">
          <documentation>About P</documentation>
          <startEvent id="s" camunda:initiator="starter"/>
          <sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
          <userTask id="t" camunda:assignee="${starter}" camunda:candidateGroups="mgmt,ops"
                    camunda:formKey="form1" camunda:dueDate="PT1H" camunda:priority="7">
            <extensionElements>
              <camunda:taskListener event="create" class="com.example.L"/>
              <camunda:inputOutput>
                <camunda:inputParameter name="x">${a + 1}</camunda:inputParameter>
                <camunda:outputParameter name="y">${result.z}</camunda:outputParameter>
              </camunda:inputOutput>
            </extensionElements>
          </userTask>
          <sequenceFlow id="f2" sourceRef="t" targetRef="w"/>
          <serviceTask id="w" camunda:type="external" camunda:topic="charge-card">
            <extensionElements>
              <zeebe:taskDefinition type="ignored-later" retries="5"/>
            </extensionElements>
          </serviceTask>
          <sequenceFlow id="f3" sourceRef="w" targetRef="e"/>
          <endEvent id="e"/>
        </process>
        """
    )
    result = import_bpmn(xml)
    assert result.report.errors == ()
    assert result.document is not None
    header = result.document["process"]
    assert header["version"] == "v7" and header["description"] == "About P"
    assert header["candidate_starter_groups"] == ["a", "b"]
    model = result.model
    assert model is not None
    task = model.nodes["t"]
    assert task.config["assignee"] == "${starter}"
    assert task.config["candidate_groups"] == ["mgmt", "ops"]
    assert task.config["form_key"] == "form1" and task.config["priority"] == "7"
    assert task.input_mapping == {"x": "${a + 1}"}
    assert task.output_mapping == {"y": "${result.z}"}
    assert task.listeners[0].class_name == "com.example.L"
    assert model.nodes["s"].config["initiator"] == "starter"
    service = model.nodes["w"]
    assert service.config["activity_name"] == "ignored-later"
    assert service.retry_policy is not None and service.retry_policy.max_attempts == 5


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('<complexGateway id="x"/>', "bpmn:complexGateway 'x' is not supported by this engine"),
        ('<transaction id="x"/>', "bpmn:transaction 'x' is not supported by this engine"),
        ('<adHocSubProcess id="x"/>', "bpmn:adHocSubProcess 'x' is not supported"),
        (
            '<scriptTask id="x" scriptFormat="groovy"><script>1</script></scriptTask>',
            "scriptFormat 'groovy' is not supported",
        ),
        (
            '<businessRuleTask id="x" camunda:decisionRef="dish"/>',
            "external DMN decision 'dish'",
        ),
        (
            '<intermediateThrowEvent id="x"><compensateEventDefinition/></intermediateThrowEvent>',
            "bpmn:compensateEventDefinition on bpmn:intermediateThrowEvent 'x' is not supported",
        ),
        (
            '<task id="x"><standardLoopCharacteristics/></task>',
            "bpmn:standardLoopCharacteristics on 'x' is not supported",
        ),
    ],
)
def test_unsupported_elements_are_precise_errors(body: str, expected: str) -> None:
    xml = _xml(f'<process id="p"><startEvent id="s"/>{body}</process>')
    result = import_bpmn(xml)
    assert result.model is None
    matching = [i for i in result.report.errors if expected in i.message]
    assert matching, [i.message for i in result.report.errors]
    assert matching[0].path.startswith("bpmn:process[@id='p']/")
    assert "(line 3)" in matching[0].path


def test_artifacts_and_data_are_skipped_silently() -> None:
    xml = _xml(
        """<process id="p"><laneSet id="ls"><lane id="l"/></laneSet>
        <dataObject id="d"/><textAnnotation id="ta"><text>x</text></textAnnotation>
        <group id="g"/><startEvent id="s"/><sequenceFlow id="f" sourceRef="s" targetRef="e"/>
        <endEvent id="e"/><association id="a" sourceRef="ta" targetRef="s"/></process>"""
    )
    result = import_bpmn(xml)
    assert result.report.errors == () and result.report.warnings == ()
    assert result.model is not None and set(result.model.nodes) == {"s", "e"}


def test_parser_and_validator_findings_point_into_the_xml() -> None:
    xml = _xml(
        """<process id="p">
        <startEvent id="s"/>
        <sequenceFlow id="f1" sourceRef="s" targetRef="g"/>
        <exclusiveGateway id="g"/>
        <sequenceFlow id="f2" sourceRef="g" targetRef="e">
          <conditionExpression>${a &gt;&gt; 1}</conditionExpression></sequenceFlow>
        <endEvent id="e"/></process>"""
    )
    result = import_bpmn(xml)
    assert result.model is None
    (error,) = [i for i in result.report.errors if i.code == "EXPRESSION_SYNTAX"]
    assert (
        error.path == "bpmn:process[@id='p']/bpmn:sequenceFlow[@id='f2'] (line 7).config.condition"
    )


def test_feel_condition_that_cannot_be_translated_is_an_error_at_the_flow() -> None:
    xml = _xml(
        """<process id="p"><startEvent id="s"/>
        <sequenceFlow id="f1" sourceRef="s" targetRef="e">
          <conditionExpression>= a &gt; (</conditionExpression></sequenceFlow>
        <endEvent id="e"/></process>"""
    )
    result = import_bpmn(xml)
    assert result.model is None
    assert any(
        "sequenceFlow[@id='f1']" in i.path and "FEEL" in i.message for i in result.report.errors
    )


def test_process_selection() -> None:
    two = _xml(
        '<process id="empty" isExecutable="false"/>'
        '<process id="real"><startEvent id="s"/></process>'
    )
    picked = import_bpmn(two)
    assert picked.model is not None and picked.model.process.id == "real"
    assert picked.process_ids == ("empty", "real")
    missing = import_bpmn(two, process_id="nope")
    assert [e.code for e in missing.report.errors] == ["PROCESS_NOT_FOUND"]
    assert "'empty', 'real'" in missing.report.errors[0].message
    assert import_bpmn(_xml("")).report.errors[0].code == "NO_PROCESS"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "XML_MALFORMED"),
        (b"\x00\xff\xfe garbage", "XML_MALFORMED"),
        (b"<a><b></a>", "XML_MALFORMED"),
        (b"<html/>", "NOT_BPMN"),
        (b'<?xml version="1.0" encoding="nope"?><a/>', "XML_MALFORMED"),
    ],
)
def test_garbage_is_rejected(data: bytes, code: str) -> None:
    result = import_bpmn(data)
    assert result.model is None and result.document is None
    assert [e.code for e in result.report.errors] == [code]


def test_non_text_input_is_rejected() -> None:
    result = import_bpmn(12345)  # type: ignore[arg-type]
    assert result.report.errors[0].code == "XML_MALFORMED"


def test_xxe_is_refused_without_reading_the_file() -> None:
    xml = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"><process id="p">'
        b'<startEvent id="s" name="&x;"/></process></definitions>'
    )
    result = import_bpmn(xml)
    assert result.document is None and result.model is None
    assert [e.code for e in result.report.errors] == ["XML_DTD_FORBIDDEN"]
    assert "root:" not in repr(result)


def test_billion_laughs_is_refused_without_expansion() -> None:
    entities = '<!ENTITY a0 "lol">' + "".join(
        f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    )
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE d [{entities}]>'
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"><process id="p">'
        '<startEvent id="s" name="&a9;"/></process></definitions>'
    ).encode()
    result = import_bpmn(xml)
    assert [e.code for e in result.report.errors] == ["XML_DTD_FORBIDDEN"]
    assert len(repr(result)) < 2000


def test_external_dtd_is_refused() -> None:
    xml = b'<!DOCTYPE definitions SYSTEM "http://example.invalid/x.dtd"><definitions/>'
    assert [e.code for e in import_bpmn(xml).report.errors] == ["XML_DTD_FORBIDDEN"]
