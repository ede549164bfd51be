"""The process model: immutable types every other layer reads.

One `ProcessModel` is what a JSON definition (seed §5) or an imported BPMN 2.0 XML file becomes.
It is plain data — no I/O, no Temporal, no SQLAlchemy — so it passes through the Temporal
workflow sandbox and is safe to cache and share between threads.

Design choices worth knowing:

* Every node keeps its raw `config` mapping exactly as written, so a definition round-trips and
  the engine can read keys this module does not model. The keys the engine relies on are
  documented per node type in `CONFIG_KEYS` and checked by the validator.
* Sequence flows are always explicit `SequenceFlow` objects. A node's `outgoing` entry that
  names another node directly (the seed's short style) becomes an *implicit* flow whose id is
  `implicit_flow_id(source, target)`; it carries no condition.
* Embedded and event subprocesses own their child nodes and flows (`SubProcessScope`); ids are
  unique across the whole definition, so `ProcessModel.node(id)` finds a node at any depth.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class NodeType(StrEnum):
    """Every flow-node type of seed §5.2 plus the BPMN containers the engine runs."""

    START_EVENT = "startEvent"
    END_EVENT = "endEvent"
    INTERMEDIATE_CATCH_EVENT = "intermediateCatchEvent"
    INTERMEDIATE_THROW_EVENT = "intermediateThrowEvent"
    BOUNDARY_EVENT = "boundaryEvent"
    USER_TASK = "userTask"
    SERVICE_TASK = "serviceTask"
    SCRIPT_TASK = "scriptTask"
    BUSINESS_RULE_TASK = "businessRuleTask"
    RECEIVE_TASK = "receiveTask"
    MANUAL_TASK = "manualTask"
    SEND_TASK = "sendTask"
    TASK = "task"
    EXCLUSIVE_GATEWAY = "exclusiveGateway"
    PARALLEL_GATEWAY = "parallelGateway"
    INCLUSIVE_GATEWAY = "inclusiveGateway"
    EVENT_BASED_GATEWAY = "eventBasedGateway"
    SUB_PROCESS = "subProcess"
    CALL_ACTIVITY = "callActivity"


class ConnectionType(StrEnum):
    """Connecting objects: only sequence flows move tokens."""

    SEQUENCE_FLOW = "sequenceFlow"
    MESSAGE_FLOW = "messageFlow"
    ASSOCIATION = "association"


EVENT_TYPES: frozenset[NodeType] = frozenset(
    {
        NodeType.START_EVENT,
        NodeType.END_EVENT,
        NodeType.INTERMEDIATE_CATCH_EVENT,
        NodeType.INTERMEDIATE_THROW_EVENT,
        NodeType.BOUNDARY_EVENT,
    }
)
GATEWAY_TYPES: frozenset[NodeType] = frozenset(
    {
        NodeType.EXCLUSIVE_GATEWAY,
        NodeType.PARALLEL_GATEWAY,
        NodeType.INCLUSIVE_GATEWAY,
        NodeType.EVENT_BASED_GATEWAY,
    }
)
#: Nodes that do work and may carry boundary events, multi-instance and retry policies.
ACTIVITY_TYPES: frozenset[NodeType] = frozenset(
    {
        NodeType.USER_TASK,
        NodeType.SERVICE_TASK,
        NodeType.SCRIPT_TASK,
        NodeType.BUSINESS_RULE_TASK,
        NodeType.RECEIVE_TASK,
        NodeType.MANUAL_TASK,
        NodeType.SEND_TASK,
        NodeType.TASK,
        NodeType.SUB_PROCESS,
        NodeType.CALL_ACTIVITY,
    }
)


class VariableType(StrEnum):
    """Types a declared process variable may have (`process.variables.*.type`)."""

    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    OBJECT = "object"
    ARRAY = "array"
    DATE = "date"
    DATETIME = "datetime"
    ANY = "any"


#: Spellings people use for the canonical types above (Camunda, Java, JSON Schema habits).
VARIABLE_TYPE_ALIASES: Mapping[str, VariableType] = {
    "str": VariableType.STRING,
    "int": VariableType.INTEGER,
    "long": VariableType.INTEGER,
    "float": VariableType.NUMBER,
    "double": VariableType.NUMBER,
    "decimal": VariableType.NUMBER,
    "bool": VariableType.BOOLEAN,
    "json": VariableType.OBJECT,
    "map": VariableType.OBJECT,
    "dict": VariableType.OBJECT,
    "list": VariableType.ARRAY,
    "date-time": VariableType.DATETIME,
}


class EventKind(StrEnum):
    """The event definition an event node carries (BPMN's `*EventDefinition`)."""

    NONE = "none"
    TIMER = "timer"
    MESSAGE = "message"
    SIGNAL = "signal"
    ERROR = "error"
    TERMINATE = "terminate"
    ESCALATION = "escalation"
    COMPENSATION = "compensation"
    CONDITIONAL = "conditional"
    LINK = "link"


class TimerKind(StrEnum):
    """ISO 8601 timer flavours: a point in time, a duration, or a repeating cycle."""

    DATE = "date"
    DURATION = "duration"
    CYCLE = "cycle"


@dataclass(frozen=True, slots=True)
class TimerSpec:
    """A timer definition: `kind` and its ISO 8601 text (`PT5M`, `R3/PT10M`, a date-time)."""

    kind: TimerKind
    value: str


@dataclass(frozen=True, slots=True)
class VariableDeclaration:
    """One entry of `process.variables`."""

    name: str
    type: VariableType = VariableType.ANY
    scope: str = "global"
    required: bool = False
    default: Any = None
    has_default: bool = False
    sensitive: bool = False
    description: str = ""


@dataclass(frozen=True, slots=True)
class Listener:
    """An execution (`start` / `end` / `take`) or task (`create` / `complete` / …) listener."""

    event: str
    type: str
    class_name: str
    config: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retry settings of an activity; intervals stay ISO 8601 text, parsed by `expressions`."""

    max_attempts: int | None = None
    initial_interval: str | None = None
    backoff_coefficient: float | None = None
    maximum_interval: str | None = None
    non_retryable_error_types: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MultiInstanceSpec:
    """Multi-instance characteristics of an activity (BPMN `multiInstanceLoopCharacteristics`)."""

    is_sequential: bool = False
    loop_cardinality: str | None = None
    collection: str | None = None
    element_variable: str | None = None
    completion_condition: str | None = None


@dataclass(frozen=True, slots=True)
class ProcessHeader:
    """The `process` object of a definition."""

    id: str
    key: str
    name: str = ""
    description: str = ""
    version: str = ""
    category: str = ""
    tenant_id: str = ""
    start_form_key: str = ""
    executable: bool = True
    timeout: str | None = None
    variables: Mapping[str, VariableDeclaration] = field(default_factory=dict)
    listeners: tuple[Listener, ...] = ()
    candidate_starter_users: tuple[str, ...] = ()
    candidate_starter_groups: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SequenceFlow:
    """A directed connection between two nodes of the same scope.

    `implicit` flows come from an `outgoing` entry naming a node directly; they never carry a
    condition. `index` is the flow's position among its source's outgoing flows (document order,
    which decides the exclusive gateway's "first true condition wins").
    """

    id: str
    source: str
    target: str
    condition: str | None = None
    name: str = ""
    implicit: bool = False
    config: Mapping[str, Any] = field(default_factory=dict)
    #: Where it was written (provenance only: not part of equality, so a model exported and
    #: parsed again compares equal even though its elements moved).
    path: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Connection:
    """A `messageFlow` or `association`: parsed and kept, no run-time effect."""

    id: str
    type: ConnectionType
    source: str
    target: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class FlowNode:
    """One node of the graph (event, task, gateway, subprocess, call activity).

    `config` is the raw mapping as written; typed views (`event_kind`, `timer`, `multi_instance`,
    `retry_policy`) are resolved once by the parser so the engine never re-parses on a hot path.
    `incoming` / `outgoing` hold sequence-flow ids (implicit flows included) in document order.
    `scope` is the id of the enclosing subprocess, `None` at process level. `path` locates the
    node in its source document (`elements[3]` for JSON, an XPath-like string for BPMN XML) so
    validation messages point at what the author wrote.
    """

    id: str
    type: NodeType
    name: str = ""
    config: Mapping[str, Any] = field(default_factory=dict)
    incoming: tuple[str, ...] = ()
    outgoing: tuple[str, ...] = ()
    listeners: tuple[Listener, ...] = ()
    scope: str | None = None
    event_kind: EventKind | None = None
    timer: TimerSpec | None = None
    attached_to: str | None = None
    cancel_activity: bool = True
    retry_policy: RetryPolicy | None = None
    multi_instance: MultiInstanceSpec | None = None
    input_mapping: Mapping[str, Any] = field(default_factory=dict)
    output_mapping: Mapping[str, Any] = field(default_factory=dict)
    documentation: str = ""
    #: Where it was written (provenance only: not part of equality, so a model exported and
    #: parsed again compares equal even though its elements moved).
    path: str = field(default="", compare=False)

    @property
    def is_activity(self) -> bool:
        """Whether the node does work (may carry boundaries, multi-instance, retries)."""
        return self.type in ACTIVITY_TYPES

    @property
    def is_gateway(self) -> bool:
        """Whether the node is a gateway."""
        return self.type in GATEWAY_TYPES

    @property
    def is_event(self) -> bool:
        """Whether the node is an event."""
        return self.type in EVENT_TYPES


@dataclass(frozen=True, slots=True)
class SubProcessScope:
    """The contents of an embedded or event subprocess (a `subProcess` node's children).

    `triggered_by_event` marks an event subprocess: it has no incoming flow and starts when its
    start event's trigger occurs while the enclosing scope is active.
    """

    id: str
    triggered_by_event: bool = False
    node_ids: tuple[str, ...] = ()
    flow_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MessageDefinition:
    """An entry of `message_definitions`."""

    id: str
    name: str = ""
    structure: Mapping[str, Any] = field(default_factory=dict)
    correlation_key: str | None = None


@dataclass(frozen=True, slots=True)
class SignalDefinition:
    """An entry of `signal_definitions` (`scope`: `global` or `process_instance`)."""

    id: str
    name: str = ""
    scope: str = "global"


@dataclass(frozen=True, slots=True)
class ErrorDefinition:
    """An entry of `error_definitions`; `error_code` matches activity failure types."""

    id: str
    name: str = ""
    error_code: str = ""


@dataclass(frozen=True, slots=True)
class ProcessModel:
    """A whole, parsed process definition.

    `nodes` and `flows` hold every node and sequence flow at any depth, in document order;
    `scopes` maps each subprocess id to its contents. Lookups by id are O(1).
    """

    process: ProcessHeader
    nodes: Mapping[str, FlowNode]
    flows: Mapping[str, SequenceFlow]
    scopes: Mapping[str, SubProcessScope] = field(default_factory=dict)
    connections: tuple[Connection, ...] = ()
    message_definitions: Mapping[str, MessageDefinition] = field(default_factory=dict)
    signal_definitions: Mapping[str, SignalDefinition] = field(default_factory=dict)
    error_definitions: Mapping[str, ErrorDefinition] = field(default_factory=dict)
    extensions: Mapping[str, Any] = field(default_factory=dict)

    def node(self, node_id: str) -> FlowNode:
        """The node with that id; raises `KeyError` naming it when there is none."""
        try:
            return self.nodes[node_id]
        except KeyError:
            raise KeyError(f"no node with id '{node_id}'") from None

    def flow(self, flow_id: str) -> SequenceFlow:
        """The sequence flow with that id; raises `KeyError` naming it when there is none."""
        try:
            return self.flows[flow_id]
        except KeyError:
            raise KeyError(f"no sequence flow with id '{flow_id}'") from None

    def outgoing_flows(self, node_id: str) -> tuple[SequenceFlow, ...]:
        """The node's outgoing sequence flows in document order."""
        return tuple(self.flows[f] for f in self.nodes[node_id].outgoing)

    def incoming_flows(self, node_id: str) -> tuple[SequenceFlow, ...]:
        """The node's incoming sequence flows in document order."""
        return tuple(self.flows[f] for f in self.nodes[node_id].incoming)

    def nodes_in_scope(self, scope: str | None) -> Iterator[FlowNode]:
        """Nodes directly inside `scope` (`None`: the process level), in document order."""
        return (n for n in self.nodes.values() if n.scope == scope)

    def start_events(self, scope: str | None = None) -> tuple[FlowNode, ...]:
        """Start events directly inside `scope` (`None`: the process level)."""
        return tuple(n for n in self.nodes_in_scope(scope) if n.type is NodeType.START_EVENT)

    def boundary_events(self, activity_id: str) -> tuple[FlowNode, ...]:
        """Boundary events attached to an activity, in document order."""
        return tuple(
            n
            for n in self.nodes.values()
            if n.type is NodeType.BOUNDARY_EVENT and n.attached_to == activity_id
        )


def implicit_flow_id(source: str, target: str) -> str:
    """The id given to a flow written as a bare node id in `outgoing` / `incoming`."""
    return f"{source}->{target}"
