"""Reading one BPMN flow node into its JSON-format `config` (plus listeners and documentation).

`node_config` is the single source of truth for "what does this XML element mean in our
format": the importer calls it for every node, and the exporter calls it on the XML it has just
written to find which config keys survived the BPMN form and which must travel in our own
`wfe:config` extension. Camunda 7 (`camunda:*`) and Zeebe (`zeebe:*`) vendor extensions are both
read; FEEL expressions (`=...`) become `${CEL}`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from lxml import etree

from workflow_engine.model.bpmn.context import ImportContext, qualified_name
from workflow_engine.model.bpmn.feel import convert
from workflow_engine.model.bpmn.namespaces import BPMN, CAMUNDA, WFE, ZEEBE, q, split_tag
from workflow_engine.model.types import ACTIVITY_TYPES, NodeType

#: Event definitions this engine runs, by BPMN local name.
_SUPPORTED_EVENT_DEFINITIONS = frozenset(
    {
        "timerEventDefinition",
        "messageEventDefinition",
        "signalEventDefinition",
        "errorEventDefinition",
        "terminateEventDefinition",
        "escalationEventDefinition",
        "linkEventDefinition",
    }
)
#: Event types that throw an escalation (the others catch one).
_ESCALATION_THROWERS = frozenset({NodeType.INTERMEDIATE_THROW_EVENT, NodeType.END_EVENT})
_TIMER_KEYS = {
    "timeDate": "timer_date",
    "timeDuration": "timer_duration",
    "timeCycle": "timer_cycle",
}
#: Script languages whose text is (or translates to) a CEL expression.
_CEL_SCRIPT_FORMATS = frozenset({"cel", "feel", "juel", "el", "expression"})
#: Key inside `wfe:config` listing config keys the BPMN form implies but the model lacks.
UNSET_KEY = "$unset"


def children(element: etree._Element, namespace: str, local: str) -> Iterator[etree._Element]:
    """Direct children with that qualified name, in document order."""
    return (c for c in element if split_tag(c.tag) == (namespace, local))


def child(element: etree._Element, namespace: str, local: str) -> etree._Element | None:
    """The first direct child with that qualified name."""
    return next(children(element, namespace, local), None)


def extensions(element: etree._Element) -> list[etree._Element]:
    """The children of `bpmn:extensionElements` (vendor extensions), in document order."""
    ext = child(element, BPMN, "extensionElements")
    return [] if ext is None else [c for c in ext if isinstance(c.tag, str)]


def extension(element: etree._Element, namespace: str, local: str) -> etree._Element | None:
    """The first vendor extension element with that name."""
    for item in extensions(element):
        if split_tag(item.tag) == (namespace, local):
            return item
    return None


def local_ref(value: str | None) -> str | None:
    """A QName reference without its prefix (`tns:msg` → `msg`)."""
    if value is None:
        return None
    value = value.strip()
    return value.rpartition(":")[2] if value else None


def text_of(element: etree._Element | None) -> str:
    """All text inside an element (CDATA included), stripped."""
    if element is None:
        return ""
    return "".join(str(t) for t in element.itertext()).strip()


def split_list(value: str) -> list[str]:
    """`"a, b,c"` → `["a", "b", "c"]` (Camunda's comma-separated user / group lists)."""
    return [part.strip() for part in value.split(",") if part.strip()]


def _expression(ctx: ImportContext, element: etree._Element, value: str, what: str) -> str:
    converted = convert(value)
    if converted.error is not None:
        ctx.error(element, f"{what}: {converted.error}", "EXPRESSION_SYNTAX")
    return converted.value


def documentation(element: etree._Element) -> str:
    """The element's `bpmn:documentation` texts joined by blank lines."""
    texts = [text_of(d) for d in children(element, BPMN, "documentation")]
    return "\n\n".join(t for t in texts if t)


def wfe_json(ctx: ImportContext, holder: etree._Element) -> dict[str, Any]:
    """The JSON object of our `wfe:config` extension under `holder`, `{}` when absent or bad."""
    found = extension(holder, WFE, "config")
    if found is None:
        return {}
    try:
        value = json.loads(text_of(found) or "{}")
    except ValueError as exc:
        ctx.error(found, f"wfe:config is not valid JSON: {exc}", "INVALID_EXTENSION")
        return {}
    if not isinstance(value, dict):
        ctx.error(found, "wfe:config must hold a JSON object", "INVALID_EXTENSION")
        return {}
    return value


def merge_residual(config: dict[str, Any], residual: dict[str, Any]) -> list[str]:
    """Apply a `wfe:config` object to a derived config; returns the keys it unset."""
    unset = residual.pop(UNSET_KEY, [])
    removed: list[str] = []
    if isinstance(unset, list):
        for key in unset:
            if isinstance(key, str) and key in config:
                del config[key]
                removed.append(key)
    config.update(residual)
    return removed


def listeners(ctx: ImportContext, element: etree._Element) -> list[dict[str, Any]]:
    """`camunda:executionListener` / `camunda:taskListener` as JSON-format listeners."""
    found: list[dict[str, Any]] = []
    for item in extensions(element):
        namespace, local = split_tag(item.tag)
        if namespace != CAMUNDA or local not in ("executionListener", "taskListener"):
            continue
        kind = item.get(q(WFE, "type")) or ("task" if local == "taskListener" else "execution")
        handler = item.get("class") or item.get("delegateExpression") or item.get("expression")
        event = item.get("event")
        if not handler or not event:
            ctx.warning(
                item,
                f"camunda:{local} without event and class/delegateExpression/expression "
                "is ignored (script listeners are not supported)",
                "UNSUPPORTED_LISTENER",
            )
            continue
        listener: dict[str, Any] = {"event": event, "type": kind, "class": handler}
        raw_config = item.get(q(WFE, "config"))
        if raw_config:
            try:
                parsed = json.loads(raw_config)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                listener["config"] = parsed
            else:
                ctx.error(
                    item, "wfe:config of a listener must be a JSON object", "INVALID_EXTENSION"
                )
        found.append(listener)
    return found


# --- event definitions -------------------------------------------------------------------


def _event_config(
    ctx: ImportContext, element: etree._Element, node_type: NodeType, config: dict[str, Any]
) -> None:
    definitions = [
        c
        for c in element
        if split_tag(c.tag)[0] == BPMN and split_tag(c.tag)[1].endswith("EventDefinition")
    ]
    for ref in children(element, BPMN, "eventDefinitionRef"):
        ctx.unsupported(ref, f"eventDefinitionRef on '{element.get('id')}'")
    if len(definitions) > 1:
        ctx.error(
            element,
            f"{qualified_name(element)} '{element.get('id')}' has {len(definitions)} event "
            "definitions (a multiple / parallel multiple event), which this engine does not run",
            "UNSUPPORTED_ELEMENT",
        )
        return
    if not definitions:
        return
    definition = definitions[0]
    local = split_tag(definition.tag)[1]
    if local not in _SUPPORTED_EVENT_DEFINITIONS:
        ctx.unsupported(
            definition,
            f"bpmn:{local} on {qualified_name(element)} '{element.get('id')}'",
        )
        return
    if local == "timerEventDefinition":
        _timer(ctx, element, definition, config)
    elif local == "messageEventDefinition":
        _reference(ctx, element, definition, "messageRef", "message_ref", config)
    elif local == "signalEventDefinition":
        _reference(ctx, element, definition, "signalRef", "signal_ref", config)
    elif local == "errorEventDefinition":
        error_ref = local_ref(definition.get("errorRef"))
        if error_ref:
            config["error_ref"] = error_ref
        elif node_type is NodeType.END_EVENT:
            ctx.error(
                definition,
                f"error end event '{element.get('id')}' needs an errorRef naming a bpmn:error",
                "MISSING_REFERENCE",
            )
    elif local == "escalationEventDefinition":
        _escalation(ctx, element, definition, node_type, config)
    elif local == "linkEventDefinition":
        name = definition.get("name")
        if not name:
            ctx.error(
                definition,
                f"link event '{element.get('id')}' needs a name on its bpmn:linkEventDefinition "
                "(the name pairs a link throw with its catch)",
                "MISSING_KEY",
            )
        config["link_name"] = name or ""
    elif node_type is NodeType.END_EVENT:  # terminateEventDefinition
        config["terminate"] = True
    else:
        ctx.unsupported(definition, f"bpmn:{local} on {qualified_name(element)}")


def _escalation(
    ctx: ImportContext,
    element: etree._Element,
    definition: etree._Element,
    node_type: NodeType,
    config: dict[str, Any],
) -> None:
    """`escalationRef` → the referenced `bpmn:escalation`'s code (no code: catch any)."""
    ref = local_ref(definition.get("escalationRef"))
    code: str | None = None
    if ref:
        if ref not in ctx.escalation_codes:
            ctx.error(
                definition,
                f"escalationRef '{ref}' of '{element.get('id')}' names no bpmn:escalation",
                "DANGLING_REFERENCE",
            )
            return
        code = ctx.escalation_codes[ref]
    if code is None and node_type in _ESCALATION_THROWERS:
        ctx.error(
            definition,
            f"escalation event '{element.get('id')}' throws no code: its escalationRef must name "
            "a bpmn:escalation with an escalationCode",
            "MISSING_REFERENCE",
        )
        return
    config["escalation_code"] = code


def _timer(
    ctx: ImportContext,
    element: etree._Element,
    definition: etree._Element,
    config: dict[str, Any],
) -> None:
    for local, key in _TIMER_KEYS.items():
        spec = child(definition, BPMN, local)
        if spec is None:
            continue
        value = text_of(spec)
        if not value:
            ctx.error(spec, f"bpmn:{local} of timer '{element.get('id')}' is empty", "TIMER_SYNTAX")
            return
        config[key] = _expression(ctx, spec, value, f"bpmn:{local}")
        return
    ctx.error(
        definition,
        f"timer '{element.get('id')}' needs one of bpmn:timeDate, bpmn:timeDuration, "
        "bpmn:timeCycle",
        "TIMER_SYNTAX",
    )


def _reference(
    ctx: ImportContext,
    element: etree._Element,
    definition: etree._Element,
    attribute: str,
    key: str,
    config: dict[str, Any],
) -> None:
    ref = local_ref(definition.get(attribute))
    if ref:
        config[key] = ref
    else:
        ctx.error(
            definition,
            f"{qualified_name(definition)} of '{element.get('id')}' needs a {attribute}",
            "MISSING_REFERENCE",
        )


# --- activities ----------------------------------------------------------------------------


def _user_task(ctx: ImportContext, element: etree._Element, config: dict[str, Any]) -> None:
    for attribute, key in (
        ("assignee", "assignee"),
        ("formKey", "form_key"),
        ("dueDate", "due_date"),
        ("priority", "priority"),
    ):
        value = element.get(q(CAMUNDA, attribute))
        if value is not None:
            config[key] = value
    for attribute, key in (
        ("candidateUsers", "candidate_users"),
        ("candidateGroups", "candidate_groups"),
    ):
        value = element.get(q(CAMUNDA, attribute))
        if value is not None:
            config[key] = split_list(value)
    assignment = extension(element, ZEEBE, "assignmentDefinition")
    if assignment is not None:
        if assignment.get("assignee"):
            config["assignee"] = _expression(
                ctx, assignment, assignment.get("assignee", ""), "zeebe assignee"
            )
        for attribute, key in (
            ("candidateUsers", "candidate_users"),
            ("candidateGroups", "candidate_groups"),
        ):
            value = assignment.get(attribute)
            if value:
                config[key] = (
                    _expression(ctx, assignment, value, f"zeebe {attribute}")
                    if value.lstrip().startswith("=")
                    else split_list(value)
                )
    form = extension(element, ZEEBE, "formDefinition")
    if form is not None:
        form_key = form.get("formKey") or form.get("formId") or form.get("externalReference")
        if form_key:
            config["form_key"] = form_key
    schedule = extension(element, ZEEBE, "taskSchedule")
    if schedule is not None and schedule.get("dueDate"):
        config["due_date"] = _expression(
            ctx, schedule, schedule.get("dueDate", ""), "zeebe dueDate"
        )
    priority = extension(element, ZEEBE, "priorityDefinition")
    if priority is not None and priority.get("priority"):
        config["priority"] = priority.get("priority")
    fields = _form_fields(element)
    if fields:
        config["form_fields"] = fields


def _form_fields(element: etree._Element) -> list[dict[str, Any]]:
    form_data = extension(element, CAMUNDA, "formData")
    if form_data is None:
        return []
    fields: list[dict[str, Any]] = []
    for item in children(form_data, CAMUNDA, "formField"):
        field: dict[str, Any] = {"id": item.get("id", "")}
        if item.get("label") is not None:
            field["label"] = item.get("label")
        if item.get("type") is not None:
            field["type"] = item.get("type")
        validation = child(item, CAMUNDA, "validation")
        if validation is not None and any(
            c.get("name") == "required" for c in children(validation, CAMUNDA, "constraint")
        ):
            field["required"] = True
        fields.append(field)
    return fields


def _service_task(ctx: ImportContext, element: etree._Element, config: dict[str, Any]) -> None:
    if element.get(q(CAMUNDA, "type")) == "external" and element.get(q(CAMUNDA, "topic")):
        config["activity_name"] = element.get(q(CAMUNDA, "topic"))
    for attribute in ("class", "delegateExpression", "expression"):
        value = element.get(q(CAMUNDA, attribute))
        if value:
            config["activity_name"] = value
            break
    if element.get(q(CAMUNDA, "type")) not in (None, "external"):
        ctx.error(
            element,
            f"camunda:type '{element.get(q(CAMUNDA, 'type'))}' connectors are not supported; "
            'use camunda:type="external" with a camunda:topic (the activity name)',
            "UNSUPPORTED_ELEMENT",
        )
    task = extension(element, ZEEBE, "taskDefinition")
    if task is None:
        return
    job_type = task.get("type")
    if job_type:
        converted = convert(job_type)
        if converted.error is not None:
            ctx.error(task, f"zeebe:taskDefinition type: {converted.error}", "EXPRESSION_SYNTAX")
        elif converted.was_feel:
            ctx.warning(
                task,
                f"job type '{job_type}' is a FEEL expression: the activity name is computed "
                f"per instance as {converted.value}",
                "DYNAMIC_ACTIVITY_NAME",
            )
        config["activity_name"] = converted.value
    retries = task.get("retries")
    if retries:
        try:
            attempts = int(retries.strip())
        except ValueError:
            ctx.warning(
                task,
                f"zeebe retries '{retries}' is not a whole number; ignored",
                "INVALID_CONFIG_VALUE",
            )
        else:
            config["retry_policy"] = {"max_attempts": attempts}


def _script_task(ctx: ImportContext, element: etree._Element, config: dict[str, Any]) -> None:
    zeebe_script = extension(element, ZEEBE, "script")
    if zeebe_script is not None:
        if zeebe_script.get("expression"):
            config["script_format"] = "cel"
            config["script"] = _expression(
                ctx, zeebe_script, zeebe_script.get("expression", ""), "zeebe:script expression"
            )
        if zeebe_script.get("resultVariable"):
            config["result_variable"] = zeebe_script.get("resultVariable")
        return
    script = child(element, BPMN, "script")
    script_format = (element.get("scriptFormat") or "").strip()
    if element.get(q(CAMUNDA, "resultVariable")):
        config["result_variable"] = element.get(q(CAMUNDA, "resultVariable"))
    if script is None and element.get(q(CAMUNDA, "resource")):
        ctx.error(
            element,
            "external script resources (camunda:resource) are not supported",
            "UNSUPPORTED_ELEMENT",
        )
        return
    if script is None:
        return
    if script_format.lower() not in _CEL_SCRIPT_FORMATS:
        ctx.error(
            element,
            f"scriptFormat '{script_format}' is not supported: scripts must be CEL "
            '(scriptFormat="cel") or FEEL',
            "UNSUPPORTED_SCRIPT_FORMAT",
        )
        return
    body = text_of(script)
    config["script_format"] = "cel"
    if script_format.lower() == "feel" and not body.startswith("="):
        body = "=" + body
    converted = _expression(ctx, script, body, "script")
    config["script"] = converted if converted.startswith("${") else f"${{{converted}}}"


def _call_activity(ctx: ImportContext, element: etree._Element, config: dict[str, Any]) -> None:
    if element.get("calledElement"):
        config["called_element"] = element.get("calledElement")
    if element.get(q(CAMUNDA, "calledElementVersion")):
        config["version"] = element.get(q(CAMUNDA, "calledElementVersion"))
    in_mapping: dict[str, Any] = {}
    out_mapping: dict[str, Any] = {}
    for item in extensions(element):
        namespace, local = split_tag(item.tag)
        if namespace != CAMUNDA or local not in ("in", "out"):
            continue
        if item.get("variables") == "all":
            config["propagate_all_variables"] = True
            continue
        target = item.get("target")
        source = item.get("source")
        source_expression = item.get("sourceExpression")
        if not target or not (source or source_expression):
            ctx.warning(
                item,
                f"camunda:{local} needs a target and a source; ignored",
                "INVALID_CONFIG_VALUE",
            )
            continue
        value = source_expression if source_expression else f"${{{source}}}"
        (in_mapping if local == "in" else out_mapping)[target] = value
    called = extension(element, ZEEBE, "calledElement")
    if called is not None:
        if called.get("processId"):
            config["called_element"] = _expression(
                ctx, called, called.get("processId", ""), "zeebe processId"
            )
        if called.get("propagateAllChildVariables") == "true":
            config["propagate_all_variables"] = True
    if in_mapping:
        config["in_mapping"] = in_mapping
    if out_mapping:
        config["out_mapping"] = out_mapping


def _business_rule_task(
    ctx: ImportContext, element: etree._Element, config: dict[str, Any]
) -> None:
    if element.get(q(CAMUNDA, "resultVariable")):
        config["result_variable"] = element.get(q(CAMUNDA, "resultVariable"))
    decision = element.get(q(CAMUNDA, "decisionRef"))
    zeebe_decision = extension(element, ZEEBE, "calledDecision")
    if decision or zeebe_decision is not None:
        name = decision or (zeebe_decision.get("decisionId") if zeebe_decision is not None else "")
        # Kept so the finding is precise; a decision table embedded in wfe:config replaces it.
        config["$decision_ref"] = name or ""
    if zeebe_decision is not None and zeebe_decision.get("resultVariable"):
        config["result_variable"] = zeebe_decision.get("resultVariable")


def _io_mappings(ctx: ImportContext, element: etree._Element, config: dict[str, Any]) -> None:
    inputs: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    camunda_io = extension(element, CAMUNDA, "inputOutput")
    if camunda_io is not None:
        for item in camunda_io:
            namespace, local = split_tag(item.tag)
            if namespace != CAMUNDA or local not in ("inputParameter", "outputParameter"):
                continue
            name = item.get("name")
            if not name:
                ctx.warning(
                    item, f"camunda:{local} without a name is ignored", "INVALID_CONFIG_VALUE"
                )
                continue
            if any(isinstance(c.tag, str) for c in item):
                ctx.error(
                    item,
                    f"camunda:{local} '{name}' uses a list, map or script value, which is not "
                    "supported; write a literal or a ${...} expression",
                    "UNSUPPORTED_ELEMENT",
                )
                continue
            (inputs if local == "inputParameter" else outputs)[name] = text_of(item)
    zeebe_io = extension(element, ZEEBE, "ioMapping")
    if zeebe_io is not None:
        for item in zeebe_io:
            namespace, local = split_tag(item.tag)
            if namespace != ZEEBE or local not in ("input", "output"):
                continue
            target = item.get("target")
            source = item.get("source", "")
            if not target:
                ctx.warning(
                    item, f"zeebe:{local} without a target is ignored", "INVALID_CONFIG_VALUE"
                )
                continue
            value = _expression(ctx, item, source, f"zeebe:{local} '{target}'")
            (inputs if local == "input" else outputs)[target] = value
    if inputs:
        config["input_mapping"] = inputs
    if outputs:
        config["output_mapping"] = outputs


def _multi_instance(ctx: ImportContext, element: etree._Element, config: dict[str, Any]) -> None:
    if child(element, BPMN, "standardLoopCharacteristics") is not None:
        loop = child(element, BPMN, "standardLoopCharacteristics")
        assert loop is not None
        ctx.unsupported(loop, f"bpmn:standardLoopCharacteristics on '{element.get('id')}'")
    characteristics = child(element, BPMN, "multiInstanceLoopCharacteristics")
    if characteristics is None:
        return
    spec: dict[str, Any] = {"is_sequential": characteristics.get("isSequential") == "true"}
    cardinality = child(characteristics, BPMN, "loopCardinality")
    if cardinality is not None and text_of(cardinality):
        spec["loop_cardinality"] = _expression(
            ctx, cardinality, text_of(cardinality), "loopCardinality"
        )
    if characteristics.get(q(CAMUNDA, "collection")):
        spec["collection"] = characteristics.get(q(CAMUNDA, "collection"))
    if characteristics.get(q(CAMUNDA, "elementVariable")):
        spec["element_variable"] = characteristics.get(q(CAMUNDA, "elementVariable"))
    zeebe_loop = extension(characteristics, ZEEBE, "loopCharacteristics")
    if zeebe_loop is not None:
        if zeebe_loop.get("inputCollection"):
            spec["collection"] = _expression(
                ctx, zeebe_loop, zeebe_loop.get("inputCollection", ""), "zeebe inputCollection"
            )
        if zeebe_loop.get("inputElement"):
            spec["element_variable"] = zeebe_loop.get("inputElement")
        if zeebe_loop.get("outputCollection"):
            ctx.warning(
                zeebe_loop,
                "zeebe outputCollection / outputElement are not supported; ignored",
                "UNSUPPORTED_ELEMENT",
            )
    condition = child(characteristics, BPMN, "completionCondition")
    if condition is not None and text_of(condition):
        spec["completion_condition"] = _expression(
            ctx, condition, text_of(condition), "completionCondition"
        )
    config["multi_instance"] = spec


# --- entry point -----------------------------------------------------------------------------


def node_config(ctx: ImportContext, element: etree._Element, node_type: NodeType) -> dict[str, Any]:
    """The JSON-format `config` the BPMN form of `element` implies (without `wfe:config`).

    Subprocess children (`elements`) are not included: the scope reader adds them.
    """
    config: dict[str, Any] = {}
    if element.get("isForCompensation") == "true":
        ctx.unsupported(element, f"compensation activity '{element.get('id')}'")
    if node_type in (
        NodeType.START_EVENT,
        NodeType.END_EVENT,
        NodeType.BOUNDARY_EVENT,
        NodeType.INTERMEDIATE_CATCH_EVENT,
        NodeType.INTERMEDIATE_THROW_EVENT,
    ):
        _event_config(ctx, element, node_type, config)
    if node_type is NodeType.START_EVENT:
        if element.get("isInterrupting") is not None:
            config["is_interrupting"] = element.get("isInterrupting") != "false"
        if element.get(q(CAMUNDA, "initiator")):
            config["initiator"] = element.get(q(CAMUNDA, "initiator"))
        if element.get(q(CAMUNDA, "formKey")):
            config["form_key"] = element.get(q(CAMUNDA, "formKey"))
        fields = _form_fields(element)
        if fields:
            config["form_fields"] = fields
    elif node_type is NodeType.BOUNDARY_EVENT:
        attached = local_ref(element.get("attachedToRef"))
        if attached:
            config["attached_to"] = attached
        else:
            ctx.error(
                element,
                f"boundary event '{element.get('id')}' needs an attachedToRef",
                "MISSING_REFERENCE",
            )
        if element.get("cancelActivity") is not None:
            config["cancel_activity"] = element.get("cancelActivity") != "false"
    elif node_type is NodeType.USER_TASK:
        _user_task(ctx, element, config)
    elif node_type in (NodeType.SERVICE_TASK, NodeType.SEND_TASK):
        _service_task(ctx, element, config)
    elif node_type is NodeType.SCRIPT_TASK:
        _script_task(ctx, element, config)
    elif node_type is NodeType.BUSINESS_RULE_TASK:
        _business_rule_task(ctx, element, config)
    elif node_type is NodeType.RECEIVE_TASK:
        ref = local_ref(element.get("messageRef"))
        if ref:
            config["message_ref"] = ref
    elif node_type is NodeType.CALL_ACTIVITY:
        _call_activity(ctx, element, config)
    elif node_type in (NodeType.EXCLUSIVE_GATEWAY, NodeType.INCLUSIVE_GATEWAY):
        if element.get("default"):
            config["default_flow"] = element.get("default")
    elif node_type is NodeType.EVENT_BASED_GATEWAY:
        if element.get("instantiate") == "true" or element.get("eventGatewayType") == "Parallel":
            ctx.unsupported(
                element, f"instantiating / parallel event-based gateway '{element.get('id')}'"
            )
    elif node_type is NodeType.SUB_PROCESS and element.get("triggeredByEvent") == "true":
        config["triggered_by_event"] = True
    if node_type in ACTIVITY_TYPES:
        _io_mappings(ctx, element, config)
        _multi_instance(ctx, element, config)
    return config
