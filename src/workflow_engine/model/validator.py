"""Deploy-time rules for a `ProcessModel` (DESIGN §4, `docs/json-format.md`).

`validate` never raises and never stops at the first problem: it returns every finding, each
with the JSON path of what the author wrote, a sentence naming the ids involved, and a stable
code (`workflow_engine.model.codes.IssueCode`). Errors block deployment; warnings do not.

The parser (`workflow_engine.model.parser`) reports what a model cannot express; everything
checkable on the model itself lives here, so BPMN imports go through the same rules.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from workflow_engine.model import graph, loops
from workflow_engine.model.codes import IssueCode
from workflow_engine.model.config_checks import ConfigChecker, describe
from workflow_engine.model.config_schema import CONFIG_KEYS, TRIGGER_KEYS, ValueKind
from workflow_engine.model.escalation_checks import check_escalations
from workflow_engine.model.issues import Severity, ValidationIssue, ValidationReport
from workflow_engine.model.link_checks import check_links
from workflow_engine.model.parser import parse_definition
from workflow_engine.model.paths import index_path, key_path
from workflow_engine.model.types import (
    EventKind,
    FlowNode,
    Listener,
    NodeType,
    ProcessModel,
    SequenceFlow,
    VariableDeclaration,
    VariableType,
)

#: Event kinds a start event may have at the process level and in an embedded subprocess.
_PROCESS_START_KINDS = frozenset(
    {EventKind.NONE, EventKind.TIMER, EventKind.MESSAGE, EventKind.SIGNAL}
)
_CATCH_TRIGGERS = (
    "timer_date",
    "timer_duration",
    "timer_cycle",
    "message_ref",
    "signal_ref",
    "link_name",
)
_EVENT_GATEWAY_KINDS = frozenset({EventKind.TIMER, EventKind.MESSAGE, EventKind.SIGNAL})
#: Keys whose checks need the whole model (references, gateways), not just the value.
_CONTEXT_KEYS = frozenset({"attached_to", "default_flow", "message_ref", "signal_ref", "error_ref"})
_LISTED_LIMIT = 10
_SHAPE_CODES = frozenset(
    {IssueCode.UNREACHABLE_NODE, IssueCode.CANNOT_REACH_END, IssueCode.NO_OUTGOING_FLOW}
)


def validate(
    model: ProcessModel,
    *,
    known_listener_classes: Collection[str] | None = None,
    max_elements: int | None = None,
) -> list[ValidationIssue]:
    """Check a parsed model against every deploy-time rule.

    Args:
        model: The model from `parse_definition` or the BPMN importer.
        known_listener_classes: Listener `class` names something implements; when given, any
            other class is a warning (never an error: the definition still deploys).
        max_elements: When given, more elements (nodes, sequence flows and connections) than
            this is an error.

    Returns:
        Errors and warnings in a stable order (definition-wide rules, then per element in
        document order, then graph shape).
    """
    validator = _Validator(model, known_listener_classes, max_elements)
    try:
        validator.run()
    except RecursionError:
        validator.error(
            "$", "the definition is nested too deeply to check", IssueCode.INVALID_DOCUMENT
        )
    return validator.issues


def check_definition(
    document: object,
    *,
    known_listener_classes: Collection[str] | None = None,
    max_elements: int | None = None,
) -> tuple[ProcessModel | None, ValidationReport]:
    """Parse a decoded JSON definition and validate it: every finding of both, no duplicates.

    Args:
        document: The decoded JSON definition (any value).
        known_listener_classes: See `validate`.
        max_elements: See `validate`.

    Returns:
        The model (`None` when the document is not an object) and the report. Deploy only when
        `report.valid`.
    """
    model, issues = parse_definition(document)
    if model is not None:
        found = validate(
            model, known_listener_classes=known_listener_classes, max_elements=max_elements
        )
        if any(i.severity is Severity.ERROR for i in issues):
            # Elements the parser had to leave out would make the graph-shape warnings
            # (unreachable, dead ends) mostly echoes of those errors.
            found = [i for i in found if i.code not in _SHAPE_CODES]
        issues.extend(found)
    unique = list(dict.fromkeys(issues))
    return model, ValidationReport.of(unique)


def _label(node: FlowNode) -> str:
    return f"{node.type.value} '{node.id}'"


def _listing(items: Iterable[str]) -> str:
    shown = [f"'{i}'" for i in items]
    if not shown:
        return "none"
    if len(shown) > _LISTED_LIMIT:
        return ", ".join(shown[:_LISTED_LIMIT]) + f" and {len(shown) - _LISTED_LIMIT} more"
    return ", ".join(shown)


_TYPE_CHECKS: dict[VariableType, tuple[type[Any], ...]] = {
    VariableType.STRING: (str,),
    VariableType.INTEGER: (int,),
    VariableType.NUMBER: (int, float),
    VariableType.BOOLEAN: (bool,),
    VariableType.OBJECT: (dict,),
    VariableType.ARRAY: (list,),
    VariableType.DATE: (str,),
    VariableType.DATETIME: (str,),
}


def _fits(declaration: VariableDeclaration, value: object) -> bool:
    expected = _TYPE_CHECKS.get(declaration.type)
    if expected is None or value is None:
        return True
    if isinstance(value, bool) and bool not in expected:
        return False
    return isinstance(value, expected)


class _Validator:
    def __init__(
        self,
        model: ProcessModel,
        known_listener_classes: Collection[str] | None,
        max_elements: int | None,
    ) -> None:
        self.model = model
        self.known_classes = (
            frozenset(known_listener_classes) if known_listener_classes is not None else None
        )
        self.max_elements = max_elements
        self.issues: list[ValidationIssue] = []
        self.config = ConfigChecker(self.issues)

    def error(self, path: str, message: str, code: IssueCode) -> None:
        self.issues.append(ValidationIssue(path, message, code, Severity.ERROR))

    def warning(self, path: str, message: str, code: IssueCode) -> None:
        self.issues.append(ValidationIssue(path, message, code, Severity.WARNING))

    def run(self) -> None:
        self._size()
        self._header()
        for node in self.model.nodes.values():
            self._node(node)
        for flow in self.model.flows.values():
            self._flow(flow)
        self._starts(None)
        for scope in self.model.scopes:
            self._starts(scope)
        self._shape(None)
        for scope in self.model.scopes:
            self._shape(scope)
        self.issues.extend(check_links(self.model))
        self.issues.extend(check_escalations(self.model))

    # -- paths ------------------------------------------------------------------------------

    @staticmethod
    def _node_path(node: FlowNode) -> str:
        return node.path or f"elements[id={node.id}]"

    def _config_path(self, node: FlowNode, key: str) -> str:
        return key_path(key_path(self._node_path(node), "config"), key)

    @staticmethod
    def _flow_path(flow: SequenceFlow) -> str:
        return flow.path or f"elements[id={flow.id}]"

    # -- definition-wide --------------------------------------------------------------------

    def _size(self) -> None:
        if self.max_elements is None:
            return
        count = (
            len(self.model.nodes)
            + sum(1 for f in self.model.flows.values() if not f.implicit)
            + len(self.model.connections)
        )
        if count > self.max_elements:
            self.error(
                "elements",
                f"the definition has {count} elements; at most {self.max_elements} are allowed",
                IssueCode.TOO_MANY_ELEMENTS,
            )

    def _header(self) -> None:
        header = self.model.process
        if header.timeout is not None:
            self.config.timer(
                header.timeout, ValueKind.DURATION, "process.timeout", "'timeout' of the process"
            )
        for name, declaration in header.variables.items():
            if declaration.has_default and not _fits(declaration, declaration.default):
                path = key_path(key_path("process.variables", name), "default")
                self.error(
                    path,
                    f"the default of variable '{name}' is {describe(declaration.default)}, "
                    f"but the variable is declared as {declaration.type.value}",
                    IssueCode.INVALID_VALUE,
                )
        self._listeners(header.listeners, "process.listeners", "the process")

    def _listeners(self, listeners: Iterable[Listener], path: str, owner: str) -> None:
        if self.known_classes is None:
            return
        for index, listener in enumerate(listeners):
            if listener.class_name not in self.known_classes:
                self.warning(
                    key_path(index_path(path, index), "class"),
                    f"no handler implements listener class '{listener.class_name}' "
                    f"({listener.event} listener of {owner}); it will be skipped at run time",
                    IssueCode.LISTENER_CLASS_UNKNOWN,
                )

    # -- nodes ------------------------------------------------------------------------------

    def _node(self, node: FlowNode) -> None:
        path = self._node_path(node)
        self._node_flow_refs(node, path)
        keys = CONFIG_KEYS.get(node.type.value, {})
        self.config.check_config(
            node.config, keys, key_path(path, "config"), _label(node), skip=_CONTEXT_KEYS
        )
        self._references(node)
        self._listeners(node.listeners, key_path(path, "listeners"), _label(node))
        if node.is_event:
            self._event(node, path)
        elif node.type in (NodeType.EXCLUSIVE_GATEWAY, NodeType.INCLUSIVE_GATEWAY):
            self._branching_gateway(node)
        elif node.type is NodeType.PARALLEL_GATEWAY:
            self._parallel_gateway(node)
        elif node.type is NodeType.EVENT_BASED_GATEWAY:
            self._event_gateway(node)
        if node.type in (NodeType.SERVICE_TASK, NodeType.SEND_TASK):
            self._service_task(node)
        elif node.type is NodeType.SCRIPT_TASK:
            self._script_task(node)
        elif node.type is NodeType.SUB_PROCESS:
            self._subprocess(node, path)

    def _node_flow_refs(self, node: FlowNode, path: str) -> None:
        """`outgoing` / `incoming` name existing flows that start / end at the node."""
        for key, ids, end in (
            ("outgoing", node.outgoing, "source"),
            ("incoming", node.incoming, "target"),
        ):
            for index, flow_id in enumerate(ids):
                entry_path = index_path(key_path(path, key), index)
                flow = self.model.flows.get(flow_id)
                if flow is None:
                    self.error(
                        entry_path,
                        f"{key} '{flow_id}' of '{node.id}' names no sequence flow",
                        IssueCode.DANGLING_REFERENCE,
                    )
                elif getattr(flow, end) != node.id:
                    self.error(
                        entry_path,
                        f"'{node.id}' lists sequence flow '{flow_id}' in its {key}, but that "
                        f"flow's {end} is '{getattr(flow, end)}'",
                        IssueCode.FLOW_MISMATCH,
                    )

    def _references(self, node: FlowNode) -> None:
        """`message_ref`, `signal_ref`, `error_ref` name definitions."""
        config = node.config
        message = config.get("message_ref")
        if isinstance(message, str) and message.strip():
            names = {m.name for m in self.model.message_definitions.values() if m.name}
            if message not in self.model.message_definitions and message not in names:
                self.error(
                    self._config_path(node, "message_ref"),
                    f"message_ref '{message}' of {_label(node)} names no message definition; "
                    f"defined messages: {_listing(self.model.message_definitions)}",
                    IssueCode.DANGLING_REFERENCE,
                )
        elif message is not None:
            self.config.check_value(
                message,
                CONFIG_KEYS["receiveTask"]["message_ref"],
                self._config_path(node, "message_ref"),
                f"'message_ref' of {_label(node)}",
            )
        self._definition_ref(node, "signal_ref", self.model.signal_definitions, "signal")
        self._definition_ref(node, "error_ref", self.model.error_definitions, "error")

    def _definition_ref(
        self, node: FlowNode, key: str, definitions: Collection[str], what: str
    ) -> None:
        value = node.config.get(key)
        path = self._config_path(node, key)
        if value is None:
            return
        if not isinstance(value, str) or not value.strip():
            self.error(
                path,
                f"'{key}' of {_label(node)} must be the id of a {what} definition, "
                f"not {describe(value)}",
                IssueCode.INVALID_CONFIG_VALUE,
            )
        elif value not in definitions:
            self.error(
                path,
                f"{key} '{value}' of {_label(node)} names no {what} definition; defined "
                f"{what}s: {_listing(definitions)}",
                IssueCode.DANGLING_REFERENCE,
            )

    # -- events -----------------------------------------------------------------------------

    @staticmethod
    def _triggers(node: FlowNode) -> list[str]:
        config = node.config
        found = [k for k in TRIGGER_KEYS if config.get(k) is not None]
        if "error_ref" in config and config.get("error_ref") is None:
            found.append("error_ref")
        if "escalation_code" in config and config.get("escalation_code") is None:
            found.append("escalation_code")  # a catch-all escalation catcher
        if node.type is NodeType.END_EVENT and config.get("terminate") is True:
            found.append("terminate")
        return found

    def _event(self, node: FlowNode, path: str) -> None:
        triggers = self._triggers(node)
        if node.type is NodeType.INTERMEDIATE_CATCH_EVENT:
            catch = [t for t in triggers if t in _CATCH_TRIGGERS]
            if len(catch) != 1:
                self.error(
                    key_path(path, "config"),
                    f"{_label(node)} must wait for exactly one trigger (one of timer_date, "
                    f"timer_duration, timer_cycle, message_ref, signal_ref, link_name); it has "
                    f"{_listing(catch) if catch else 'none'}",
                    IssueCode.INVALID_TRIGGER,
                )
        elif len(triggers) > 1:
            self.error(
                key_path(path, "config"),
                f"{_label(node)} has more than one trigger ({_listing(triggers)}); an event "
                "has at most one",
                IssueCode.INVALID_TRIGGER,
            )
        if node.type in (NodeType.START_EVENT, NodeType.BOUNDARY_EVENT) and node.incoming:
            self.error(
                key_path(path, "incoming"),
                f"{_label(node)} cannot have incoming sequence flows ({_listing(node.incoming)})",
                IssueCode.INCOMING_NOT_ALLOWED,
            )
        if node.type is NodeType.END_EVENT and node.outgoing:
            self.error(
                key_path(path, "outgoing"),
                f"{_label(node)} cannot have outgoing sequence flows ({_listing(node.outgoing)})",
                IssueCode.OUTGOING_NOT_ALLOWED,
            )
        if node.type is NodeType.BOUNDARY_EVENT:
            self._boundary(node, path)

    def _boundary(self, node: FlowNode, path: str) -> None:
        # Point at where the author wrote it; when it is missing, at where the docs put it.
        written_on_top = "attached_to" not in node.config and node.attached_to is not None
        at = (
            key_path(path, "attached_to")
            if written_on_top
            else self._config_path(node, "attached_to")
        )
        host_id = node.attached_to
        if host_id is None:
            raw = node.config.get("attached_to")
            if raw is not None:
                self.config.check_value(
                    raw,
                    CONFIG_KEYS["boundaryEvent"]["attached_to"],
                    at,
                    f"'attached_to' of {_label(node)}",
                )
            else:
                self.error(
                    at,
                    f"{_label(node)} needs 'attached_to': the id of the activity it is attached to",
                    IssueCode.MISSING_CONFIG_KEY,
                )
            return
        host = self.model.nodes.get(host_id)
        if host is None:
            self.error(
                at,
                f"{_label(node)} is attached to '{host_id}', which names no node",
                IssueCode.DANGLING_REFERENCE,
            )
        elif not host.is_activity:
            self.error(
                at,
                f"{_label(node)} is attached to {_label(host)}; boundary events attach only "
                "to activities (tasks, subprocesses, call activities)",
                IssueCode.INVALID_BOUNDARY_HOST,
            )
        elif host.scope != node.scope:
            self.error(
                at,
                f"{_label(node)} is attached to '{host_id}', which is in a different "
                "(sub)process; a boundary event must sit next to its activity",
                IssueCode.INVALID_BOUNDARY_HOST,
            )
        if node.event_kind in (EventKind.NONE, EventKind.TERMINATE):
            self.error(
                key_path(path, "config"),
                f"{_label(node)} has no trigger a boundary event can catch",
                IssueCode.INVALID_TRIGGER,
            )

    def _starts(self, scope: str | None) -> None:
        starts = self.model.start_events(scope)
        subprocess = self.model.nodes.get(scope) if scope is not None else None
        triggered = bool(scope is not None and self.model.scopes[scope].triggered_by_event)
        if not starts:
            if scope is None:
                self.error(
                    "elements",
                    "the process has no start event; add a startEvent (a none start, or one "
                    "with message_ref, signal_ref or timer_*)",
                    IssueCode.NO_START_EVENT,
                )
            elif subprocess is not None:
                self.error(
                    self._node_path(subprocess),
                    f"{_label(subprocess)} has no start event among its elements",
                    IssueCode.NO_START_EVENT,
                )
            return
        none_starts = [s for s in starts if s.event_kind in (None, EventKind.NONE)]
        for extra in none_starts[1:]:
            self.error(
                self._node_path(extra),
                f"start event '{extra.id}' is a second none start event in "
                f"{self._scope_name(scope)} (the first is '{none_starts[0].id}'); keep one",
                IssueCode.MULTIPLE_NONE_START,
            )
        for start in starts:
            kind = start.event_kind or EventKind.NONE
            if triggered:
                if kind is EventKind.NONE:
                    self.error(
                        key_path(self._node_path(start), "config"),
                        f"start event '{start.id}' of event subprocess '{scope}' needs a "
                        "trigger (timer_*, message_ref, signal_ref or error_ref)",
                        IssueCode.INVALID_TRIGGER,
                    )
            elif scope is not None and kind is not EventKind.NONE:
                self.error(
                    key_path(self._node_path(start), "config"),
                    f"start event '{start.id}' of embedded subprocess '{scope}' cannot have a "
                    f"{kind.value} trigger; only event subprocesses start on events",
                    IssueCode.INVALID_TRIGGER,
                )
            elif scope is None and kind not in _PROCESS_START_KINDS:
                self.error(
                    key_path(self._node_path(start), "config"),
                    f"start event '{start.id}' has a {kind.value} trigger, which only an event "
                    "subprocess's start event may have",
                    IssueCode.INVALID_TRIGGER,
                )
        if triggered and len(starts) > 1:
            self.error(
                self._node_path(starts[1]),
                f"event subprocess '{scope}' has {len(starts)} start events; it has exactly one",
                IssueCode.INVALID_TRIGGER,
            )
        if scope is None:
            self._one_start_per_signal(starts)

    def _one_start_per_signal(self, starts: Iterable[FlowNode]) -> None:
        """A broadcast starts one instance per definition: one start event per signal.

        Signals match by definition id or name, so two starts whose signals share either
        would both catch one broadcast (Camunda refuses such a deployment too).
        """
        first_by_name: dict[str, FlowNode] = {}
        for start in starts:
            ref = start.config.get("signal_ref")
            if start.event_kind is not EventKind.SIGNAL or not isinstance(ref, str):
                continue
            declared = self.model.signal_definitions.get(ref)
            names = {ref} | ({declared.name} if declared is not None and declared.name else set())
            clash = next((first_by_name[n] for n in sorted(names) if n in first_by_name), None)
            if clash is not None:
                self.error(
                    self._config_path(start, "signal_ref"),
                    f"start event '{start.id}' catches the same signal as start event "
                    f"'{clash.id}' ('{ref}'); one broadcast starts one instance, so keep one "
                    "start event per signal",
                    IssueCode.INVALID_TRIGGER,
                )
                continue
            for name in names:
                first_by_name.setdefault(name, start)

    @staticmethod
    def _scope_name(scope: str | None) -> str:
        return "the process" if scope is None else f"subprocess '{scope}'"

    # -- gateways ---------------------------------------------------------------------------

    def _branching_gateway(self, node: FlowNode) -> None:
        outgoing = [self.model.flows[f] for f in node.outgoing if f in self.model.flows]
        default_name = node.config.get("default_flow")
        default = graph.default_flow(self.model, node.id)
        path = self._config_path(node, "default_flow")
        if default_name is not None and default is None:
            if not isinstance(default_name, str) or not default_name.strip():
                self.error(
                    path,
                    f"'default_flow' of {_label(node)} must be the id of one of its outgoing "
                    f"flows, not {describe(default_name)}",
                    IssueCode.INVALID_CONFIG_VALUE,
                )
            else:
                choices = [f.target if f.implicit else f.id for f in outgoing]
                self.error(
                    path,
                    f"default flow '{default_name}' is not an outgoing flow of '{node.id}'; its "
                    f"outgoing flows are {_listing(choices)}",
                    IssueCode.INVALID_DEFAULT_FLOW,
                )
        if len(outgoing) > 1:
            for flow in outgoing:
                if flow.condition is None and flow is not default and flow.id != default_name:
                    self.warning(
                        self._flow_path(flow),
                        f"sequence flow '{flow.id}' leaves {_label(node)} without a condition "
                        "and is not its default flow, so it is taken whenever it is reached "
                        "first; give it a condition or make it the default_flow",
                        IssueCode.MISSING_CONDITION,
                    )

    def _parallel_gateway(self, node: FlowNode) -> None:
        for flow_id in node.outgoing:
            flow = self.model.flows.get(flow_id)
            if flow is not None and flow.condition is not None:
                self.error(
                    key_path(key_path(self._flow_path(flow), "config"), "condition"),
                    f"sequence flow '{flow.id}' leaves parallel gateway '{node.id}' and has a "
                    "condition; a parallel gateway takes every outgoing flow, so use an "
                    "inclusive or exclusive gateway for conditions",
                    IssueCode.PARALLEL_FLOW_CONDITION,
                )

    def _event_gateway(self, node: FlowNode) -> None:
        for flow_id in node.outgoing:
            flow = self.model.flows.get(flow_id)
            target = self.model.nodes.get(flow.target) if flow is not None else None
            if flow is None or target is None:
                continue
            ok = target.type is NodeType.RECEIVE_TASK or (
                target.type is NodeType.INTERMEDIATE_CATCH_EVENT
                and target.event_kind in _EVENT_GATEWAY_KINDS
            )
            if not ok:
                self.error(
                    self._flow_path(flow),
                    f"event-based gateway '{node.id}' leads to {_label(target)}; its outgoing "
                    "flows must lead to intermediate catch events (timer, message, signal) or "
                    "receive tasks",
                    IssueCode.INVALID_EVENT_GATEWAY_TARGET,
                )
            if flow.condition is not None:
                self.error(
                    key_path(key_path(self._flow_path(flow), "config"), "condition"),
                    f"sequence flow '{flow.id}' leaves event-based gateway '{node.id}' and has "
                    "a condition; the first event to occur decides the path",
                    IssueCode.INVALID_CONDITION,
                )

    # -- activities -------------------------------------------------------------------------

    def _service_task(self, node: FlowNode) -> None:
        implementation = node.config.get("implementation", "temporal_activity")
        if implementation == "temporal_activity" and node.config.get("activity_name") is None:
            self.warning(
                self._config_path(node, "activity_name"),
                f"{_label(node)} uses implementation 'temporal_activity' but names no "
                "activity_name, so there is no activity to run; set activity_name or choose "
                "implementation 'http', 'script' or 'noop'",
                IssueCode.MISSING_ACTIVITY_NAME,
            )
        required = {"http": "url", "script": "script"}.get(str(implementation))
        if required is not None and node.config.get(required) is None:
            self.error(
                self._config_path(node, required),
                f"{_label(node)} uses implementation '{implementation}' and needs '{required}'",
                IssueCode.MISSING_CONFIG_KEY,
            )

    def _script_task(self, node: FlowNode) -> None:
        script = node.config.get("script")
        if isinstance(script, str) and node.config.get("result_variable") is None:
            self.error(
                self._config_path(node, "result_variable"),
                f"{_label(node)} has a single-expression script, so 'result_variable' must "
                "name the variable that receives its value",
                IssueCode.MISSING_CONFIG_KEY,
            )

    def _subprocess(self, node: FlowNode, path: str) -> None:
        scope = self.model.scopes.get(node.id)
        if scope is None or not scope.triggered_by_event:
            return
        for key, ids, code in (
            ("incoming", node.incoming, IssueCode.INCOMING_NOT_ALLOWED),
            ("outgoing", node.outgoing, IssueCode.OUTGOING_NOT_ALLOWED),
        ):
            if ids:
                self.error(
                    key_path(path, key),
                    f"event subprocess '{node.id}' cannot have {key} sequence flows "
                    f"({_listing(ids)}); it starts when its start event's trigger occurs",
                    code,
                )

    # -- sequence flows ---------------------------------------------------------------------

    def _flow(self, flow: SequenceFlow) -> None:
        path = self._flow_path(flow)
        owner = f"sequence flow '{flow.id}'"
        source = self.model.nodes.get(flow.source)
        target = self.model.nodes.get(flow.target)
        for key, end, node in (("source", flow.source, source), ("target", flow.target, target)):
            if node is None:
                end_path = (
                    key_path(key_path(path, "config"), key)
                    if key in flow.config
                    else key_path(path, key)
                )
                self.error(
                    end_path,
                    f"{owner} has {key} '{end}', which names no node",
                    IssueCode.DANGLING_REFERENCE,
                )
        if source is not None and flow.id not in source.outgoing:
            self.error(
                path,
                f"{owner} starts at '{source.id}', but '{source.id}' does not list it in its "
                "outgoing",
                IssueCode.FLOW_MISMATCH,
            )
        if target is not None and flow.id not in target.incoming:
            self.error(
                path,
                f"{owner} ends at '{target.id}', but '{target.id}' does not list it in its "
                "incoming",
                IssueCode.FLOW_MISMATCH,
            )
        scope = graph.flow_scope(self.model, flow.id)
        for node in (source, target):
            if node is not None and node.scope != scope:
                self.error(
                    path,
                    f"{owner} connects '{flow.source}' and '{flow.target}', which are not in "
                    f"the same (sub)process; sequence flows stay inside one "
                    f"{'process level' if scope is None else 'subprocess'}",
                    IssueCode.CROSS_SCOPE_FLOW,
                )
                break
        if flow.implicit:
            return
        keys = CONFIG_KEYS["sequenceFlow"]
        config_path = key_path(path, "config")
        self.config.check_config(
            flow.config, keys, config_path, owner, skip=frozenset({"condition"})
        )
        raw = flow.config.get("condition", flow.condition)
        if raw is not None:
            self.config.expression(
                raw, key_path(config_path, "condition"), f"the condition of {owner}", required=True
            )

    # -- graph shape ------------------------------------------------------------------------

    def _shape(self, scope: str | None) -> None:
        nodes = list(self.model.nodes_in_scope(scope))
        if not nodes:
            return
        has_starts = bool(graph.scope_starts(self.model, scope))
        reachable = graph.reachable_from_starts(self.model, scope)
        reaching_end = graph.nodes_reaching_end(self.model, scope)
        where = self._scope_name(scope)
        for node in nodes:
            path = self._node_path(node)
            if self._is_event_subprocess(node):
                continue
            if has_starts and node.id not in reachable:
                self.warning(
                    path,
                    f"{_label(node)} cannot be reached from any start event of {where}",
                    IssueCode.UNREACHABLE_NODE,
                )
            if node.id not in reaching_end:
                self.warning(
                    path,
                    f"no path from {_label(node)} leads to an end of {where}; a token there "
                    "would circle forever",
                    IssueCode.CANNOT_REACH_END,
                )
            elif (
                not node.outgoing
                and node.type is not NodeType.END_EVENT
                and node.event_kind is not EventKind.COMPENSATION
                and node.event_kind is not EventKind.LINK  # it jumps to its catch
            ):
                self.warning(
                    path,
                    f"{_label(node)} has no outgoing sequence flow, so its path ends there; "
                    "add an end event to make that explicit",
                    IssueCode.NO_OUTGOING_FLOW,
                )
        self._loops(scope)

    def _loops(self, scope: str | None) -> None:
        """Warn about each cycle on which a token never waits (the step budget stops it)."""
        for cycle in loops.loops_without_wait(self.model, scope):
            first = self.model.nodes[cycle[0]]
            self.warning(
                self._node_path(first),
                f"loop without a wait state in {self._scope_name(scope)}: "
                f"{' -> '.join(cycle)}; a token in it runs without pausing until a condition "
                "leads out or the engine's step budget stops the instance with an incident "
                "(add a user task, receive task, catch event, service task or call activity "
                "if it is meant to repeat)",
                IssueCode.LOOP_WITHOUT_WAIT,
            )

    def _is_event_subprocess(self, node: FlowNode) -> bool:
        scope = self.model.scopes.get(node.id)
        return node.type is NodeType.SUB_PROCESS and scope is not None and scope.triggered_by_event
