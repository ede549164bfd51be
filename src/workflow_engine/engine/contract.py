"""The contract between the interpreter workflow and the rest of the system.

The services start and steer `ProcessInstanceWorkflow` only through the names and payloads
defined here, and the workflow reports what happened only through `RuntimeBatch`es applied by the
`apply_runtime_batch` activity. Everything is plain data (dataclasses of JSON-able values) so it
passes Temporal's default data converter and the workflow sandbox.

No `from __future__ import annotations` here, on purpose: Temporal's converter calls
`typing.get_type_hints` on a dataclass for every value it decodes (each workflow start, each
event of a batch), and string annotations are evaluated anew every time — about 4 times the
cost of resolving real ones (270 vs 60 µs for `StartInstanceInput`).
"""

from dataclasses import dataclass, field
from typing import Any

#: Temporal workflow type name of one process instance.
WORKFLOW_NAME = "ProcessInstanceWorkflow"

# Signals (fire-and-forget; durable in history, handled in arrival order).
SIGNAL_BPMN_SIGNAL = "bpmn_signal"  # payload: SignalDelivery
SIGNAL_BPMN_MESSAGE = "bpmn_message"  # payload: MessageDelivery
SIGNAL_PAUSE = "pause"  # payload: ControlRequest
SIGNAL_RESUME = "resume"  # payload: ControlRequest
SIGNAL_TERMINATE = "terminate"  # payload: ControlRequest — ends at once, status terminated
SIGNAL_CANCEL = "cancel"  # payload: ControlRequest — runs down cleanly, status cancelled
SIGNAL_RETRY = "retry_incident"  # payload: RetryRequest
SIGNAL_SET_VARIABLES = "set_variables"  # payload: SetVariablesRequest
#: A child instance passes an escalation it did not catch to its call activity (payload: dict
#: with escalation_code, child_instance_id, call_activity_id).
SIGNAL_CHILD_ESCALATION = "child_escalation"

# Updates (validated before they enter history; the caller gets the result or the rejection).
UPDATE_COMPLETE_TASK = "complete_task"  # payload: CompleteTaskRequest -> CompleteTaskResult
# Control as updates (issue 15): the workflow orders them against task completions and answers
# what really happened (a rejection names the state that refused it).
UPDATE_PAUSE = "control_pause"  # payload: ControlRequest -> ControlResult
UPDATE_RESUME = "control_resume"  # payload: ControlRequest -> ControlResult
UPDATE_TERMINATE = "control_terminate"  # payload: ControlRequest -> ControlResult (ended)
UPDATE_CANCEL = "control_cancel"  # payload: ControlRequest -> ControlResult (ended)

# Queries.
QUERY_SNAPSHOT = "snapshot"  # -> InstanceSnapshot

#: Activity that writes a RuntimeBatch to the database (implemented in engine/activities).
ACTIVITY_APPLY_RUNTIME_BATCH = "wfe.apply_runtime_batch"
#: Activity that writes the instance row of an instance started with `register=True`.
ACTIVITY_REGISTER_INSTANCE = "wfe.register_instance"

#: Prefix of every instance workflow id (`pi-<instance_id>`).
WORKFLOW_ID_PREFIX = "pi-"


def workflow_id(instance_id: str) -> str:
    """The Temporal workflow id of a process instance."""
    return f"{WORKFLOW_ID_PREFIX}{instance_id}"


def instance_id_of(workflow_id_: str) -> str | None:
    """The instance id a workflow id names (`pi-<instance_id>`), or None for another id."""
    if not workflow_id_.startswith(WORKFLOW_ID_PREFIX) or len(workflow_id_) == len(
        WORKFLOW_ID_PREFIX
    ):
        return None
    return workflow_id_[len(WORKFLOW_ID_PREFIX) :]


@dataclass
class StartInstanceInput:
    """Input of `ProcessInstanceWorkflow`; pins the definition version by content.

    Attributes:
        instance_id: The instance's id (also the row id in `process_instance`). Empty: the
            workflow derives it from its own workflow id `pi-<instance_id>` (a timer start
            schedule cannot name each instance; Temporal appends the fire time to its id).
        definition_id: The deployed version's id.
        definition_key: Its key.
        definition_version: Its version number.
        content_hash: sha256 of `document`; the workflow refuses a document that does not match.
        document: The canonical JSON document of the version (parsed inside the workflow).
        variables: Start variables, already validated against `process.variables`.
        business_key: Optional business key.
        initiator: The starting user's id (`initiator` variable and `startEvent.config.initiator`).
        tenant_id: Tenant of the instance.
        start_node_id: The start event to begin at (a message start event); None: the none start.
        parent_instance_id: The calling instance when started by a call activity.
        parent_node_id: The call activity node in the parent.
        implemented_listeners: Listener classes some worker implements (others are skipped).
        carry: Interpreter state carried over a continue-as-new; None on the first run.
        next_sequence: First event sequence number of this run (continue-as-new keeps counting).
        register: Write the `process_instance` row (activity `wfe.register_instance`) before
            the first batch: for instances not started through the instance service (call
            activity children, timer-start schedules). Ignored on continued runs.
        continue_as_new_after: History length (events) after which the run continues as new
            at the next point where every token rests (Temporal's own suggestion also counts).
        max_steps_without_wait: Steps (element executions) one workflow task may take before
            the next step becomes a `StepBudgetExceeded` incident (0: no limit).
        max_variables_bytes: Largest JSON size of one variable and of all the instance's
            variables together that a script or service task may produce (0: no limit).
    """

    instance_id: str
    definition_id: int
    definition_key: str
    definition_version: int
    content_hash: str
    document: dict[str, Any]
    variables: dict[str, Any] = field(default_factory=dict)
    business_key: str | None = None
    initiator: str | None = None
    tenant_id: str = ""
    start_node_id: str | None = None
    parent_instance_id: str | None = None
    parent_node_id: str | None = None
    implemented_listeners: list[str] = field(default_factory=list)
    carry: dict[str, Any] | None = None
    next_sequence: int = 1
    register: bool = False
    continue_as_new_after: int = 10_000
    max_steps_without_wait: int = 5_000
    max_variables_bytes: int = 1_048_576


@dataclass
class InstanceResult:
    """What the workflow returns when the instance ends."""

    status: str
    variables: dict[str, Any]
    end_node_id: str | None = None
    reason: str | None = None
    error_code: str | None = None


@dataclass
class SignalDelivery:
    """A BPMN signal delivered to one instance (broadcast is done by the signal service)."""

    name: str
    variables: dict[str, Any] = field(default_factory=dict)
    delivery_id: str = ""


@dataclass
class MessageDelivery:
    """A BPMN message correlated to this instance."""

    name: str
    correlation_key: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    delivery_id: str = ""


@dataclass
class ControlRequest:
    """Pause / resume / terminate / cancel, with who asked and why."""

    reason: str = ""
    user_id: str | None = None


@dataclass
class ControlResult:
    """Answer of a control update: the instance status once the operation took effect.

    For terminate / cancel that is the status the instance ended with (normally the one asked
    for; `cancelled` when a cancel requested earlier won).
    """

    status: str
    reason: str | None = None


@dataclass
class RetryRequest:
    """Retry the failed step of an incident (`node_id` None: every open incident)."""

    node_id: str | None = None
    user_id: str | None = None


@dataclass
class SetVariablesRequest:
    """Set instance variables from outside (operator action)."""

    variables: dict[str, Any]
    user_id: str | None = None


@dataclass
class CompleteTaskRequest:
    """Complete a user task with output variables."""

    task_id: str
    variables: dict[str, Any] = field(default_factory=dict)
    user_id: str | None = None


@dataclass
class CompleteTaskResult:
    """Answer of a completion: the task and the instance status right after it."""

    task_id: str
    node_id: str
    instance_status: str


@dataclass
class EngineEvent:
    """One entry of the event log (DESIGN §3 event types: `process.started`, …).

    `sequence` is assigned by the workflow, 1, 2, 3 … per instance, deterministically; the
    database insert ignores a repeated (instance, sequence), so batches may be retried.
    `timestamp` is ISO 8601 UTC from `workflow.now()`.
    """

    sequence: int
    type: str
    timestamp: str
    activity_id: str | None = None
    task_id: str | None = None
    name: str | None = None
    user_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class TaskRecord:
    """The state of one user task as the workflow knows it (upserted into `task_instance`)."""

    task_id: str
    node_id: str
    name: str
    state: str  # created | completed | cancelled
    created_at: str
    assignee: str | None = None
    candidate_users: list[str] = field(default_factory=list)
    candidate_groups: list[str] = field(default_factory=list)
    priority: int = 50
    due_date: str | None = None
    form_key: str | None = None
    category: str | None = None
    description: str | None = None
    execution_id: str | None = None
    ended_at: str | None = None
    completed_by: str | None = None


@dataclass
class SubscriptionRecord:
    """A wait on a signal or message, mirrored so delivery never scans Temporal."""

    kind: str  # signal | message
    name: str
    node_id: str
    execution_id: str
    correlation_key: str | None = None


@dataclass
class RuntimeBatch:
    """Everything that changed since the previous batch, applied in one transaction.

    Applying is idempotent and ordered: events are insert-or-ignore by sequence; the snapshot
    fields (status, active nodes, subscriptions) are applied only when `through_sequence` is
    newer than what the row already reflects, so a retried old batch cannot roll state back.

    Attributes:
        instance_id: The instance.
        through_sequence: The highest event sequence this batch reflects.
        events: New events, ascending by sequence.
        status: The instance status now (running, paused, incident, completed, …).
        active_node_ids: Element ids that hold a token or wait, in a stable order.
        variables: Variables set or changed since the previous batch (name → value).
        tasks: User tasks created or changed since the previous batch.
        subscriptions: The complete current set of waits (replaces the mirrored set) or None
            when unchanged.
        ended_at: ISO time the instance ended, when it did.
        end_reason: Reason of terminate / cancel / incident text.
    """

    instance_id: str
    through_sequence: int
    events: list[EngineEvent] = field(default_factory=list)
    status: str = "running"
    active_node_ids: list[str] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)
    tasks: list[TaskRecord] = field(default_factory=list)
    subscriptions: list[SubscriptionRecord] | None = None
    ended_at: str | None = None
    end_reason: str | None = None


@dataclass
class IncidentInfo:
    """An open incident: a step that failed with retries exhausted and no catching boundary."""

    node_id: str
    execution_id: str
    error_type: str
    message: str
    attempts: int


@dataclass
class InstanceSnapshot:
    """Live state answered by the `snapshot` query (for checks; lists read the database)."""

    status: str
    active_node_ids: list[str]
    variables: dict[str, Any]
    open_task_ids: list[str]
    incidents: list[IncidentInfo] = field(default_factory=list)
    paused: bool = False
