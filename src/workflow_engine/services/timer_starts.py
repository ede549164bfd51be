"""Timer start events at process level, run by Temporal Schedules.

Design
======

* **Who fires.** When the LATEST version of a (tenant, key) has process-level timer start
  events, the engine keeps one Temporal Schedule per start node, id
  ``timer-start:<tenant>:<key>:<node>`` (``:`` separates because keys and node ids may hold
  ``-``). Older versions never fire: only the latest version of a key is started by a timer,
  as with every BPMN engine.
* **What fires.** The schedule's action starts ``ProcessInstanceWorkflow`` with a
  ``StartInstanceInput`` of that version (its canonical document pinned, `start_node_id` = the
  timer start node, declared defaults as variables, ``register=True`` so the workflow writes its
  own ``process_instance`` row before its first batch). No service runs at fire time.
* **Instance id.** A schedule action has a fixed workflow id to which Temporal appends the
  nominal fire time (``-2026-01-02T03:04:05Z``, 20 characters). The action's id is
  ``pi-<12 hex>`` (a hash of the schedule id and the definition id), so every started workflow
  id is ``pi-<12 hex>-<fire time>`` and keeps the engine-wide rule *workflow id =
  ``pi-<instance_id>``*: the workflow takes its instance id from its own workflow id when the
  input's ``instance_id`` is empty (33 characters, within the 36 of the id column). Signals,
  updates and queries therefore reach timer-started instances like any other.
* **Timer kinds.**

  - ``timer_cycle`` ``R3/PT10M``: an interval schedule (``every`` = the interval, ``offset``
    aligning it to the deployment moment, or to the cycle's own start date) limited to 3
    actions; ``R/...`` is unlimited; ``R2/<start>/PT1H`` starts at ``<start>`` (fires already
    missed count against the repetitions); ``R/PT1H/<end>`` sets the spec's ``end_at``.
  - ``timer_duration`` ``PT5M``: one start 5 minutes after deployment; ``timer_date``: one
    start at that date (a date already past fires at once, like an overdue timer). Both are a
    calendar spec matching that exact second, limited to one action. A schedule rather than a
    workflow started with ``start_delay``: it has the same life cycle as the cycles — paused
    when the definition is suspended, replaced or deleted by id — and no instance exists (no
    workflow, no row) before it fires.

* **Policies.** Overlap ``ALLOW_ALL``: instances are long-running (user tasks), a running one
  must not suppress the next start. Catch-up window one minute: after a Temporal outage an
  overdue start still fires, but a long outage does not replay a burst of missed cycles.
* **Life cycle** (`sync`, called by the definition service after every deploy, update,
  suspend, activate and delete): the schedules are made to match the key's latest version —
  schedules of start nodes the latest version does not have (looked up in the previous
  version and a just-deleted one) are deleted; a schedule of the latest version is kept as is
  (only its paused state follows ``suspended``); one of an older version is replaced (deleted
  and created: the new version's timers count from its deployment). So: deploying a newer
  version replaces (or deletes) the schedules; suspend pauses, activate unpauses; deleting the
  latest version deletes its schedules and restores those of the version that is latest again.
  Every step is idempotent, so a repeated deploy also repairs a schedule an outage left
  missing.
* **Failures** never lose a deployment: each node's failure is logged and returned as a
  warning (code ``TIMER_START_NOT_SCHEDULED``) that the deploy result carries.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleDescription,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.service import RPCError, RPCStatusCode

from workflow_engine.engine.contract import (
    WORKFLOW_NAME,
    StartInstanceInput,
    workflow_id,
)
from workflow_engine.expressions.timers import (
    TimerSyntaxError,
    parse_cycle,
    parse_date,
    parse_duration,
)
from workflow_engine.model.issues import ValidationIssue
from workflow_engine.model.parser import parse_definition
from workflow_engine.model.types import EventKind, FlowNode, ProcessModel, TimerKind, TimerSpec
from workflow_engine.services.variables import with_defaults
from workflow_engine.store.database import Database
from workflow_engine.store.definitions import DefinitionRecord, DefinitionRepository

logger = logging.getLogger(__name__)

#: Prefix of every timer start schedule id.
SCHEDULE_ID_PREFIX = "timer-start"
#: Code of the deploy warning when a timer start could not be scheduled.
NOT_SCHEDULED = "TIMER_START_NOT_SCHEDULED"
#: Hex characters of the action's workflow id hash: with Temporal's appended
#: ``-YYYY-MM-DDTHH:MM:SSZ`` the instance id is 12 + 21 = 33 characters (column: 36).
ACTION_HASH_CHARS = 12
#: How late an overdue start may still fire (after a Temporal outage).
CATCHUP_WINDOW = datetime.timedelta(minutes=1)
#: Bound on each Temporal call, so a deploy never hangs on an unreachable server.
RPC_TIMEOUT = datetime.timedelta(seconds=10)
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_SECOND = datetime.timedelta(seconds=1)


class TimerStartError(ValueError):
    """A timer start event cannot be scheduled (the message says why)."""


def schedule_id(tenant_id: str, key: str, node_id: str) -> str:
    """The id of the schedule of one timer start event of a key."""
    return f"{SCHEDULE_ID_PREFIX}:{tenant_id}:{key}:{node_id}"


def action_workflow_id(schedule: str, definition_id: int) -> str:
    """The workflow id prefix of a schedule's starts (Temporal appends the fire time)."""
    digest = hashlib.sha256(f"{schedule}\n{definition_id}".encode()).hexdigest()
    return workflow_id(digest[:ACTION_HASH_CHARS])


def timer_start_events(model: ProcessModel) -> list[FlowNode]:
    """The process-level start events with a timer, in document order."""
    return [
        node
        for node in model.start_events(None)
        if node.event_kind is EventKind.TIMER and node.timer is not None
    ]


@dataclass(frozen=True, slots=True)
class TimerPlan:
    """How a timer becomes a schedule.

    Attributes:
        spec: When the schedule fires.
        remaining_actions: How many starts are left; None: without limit.
        first_fire: The first start (UTC).
        description: The timer in words (kept in the schedule's memo and note).
    """

    spec: ScheduleSpec
    remaining_actions: int | None
    first_fire: datetime.datetime
    description: str


def plan_timer(timer: TimerSpec, *, now: datetime.datetime) -> TimerPlan:
    """Translate a timer start event's timer into a schedule spec, armed at `now`.

    Args:
        timer: The start event's timer.
        now: The arming moment (deployment); a naive value is taken as UTC.

    Raises:
        TimerStartError: the value is malformed, the cycle's interval is under one second, or
            the cycle has no start left (its end lies in the past).
    """
    armed = _whole_second(now)
    description = f"{timer.kind.value} {timer.value}"
    try:
        if timer.kind is TimerKind.CYCLE:
            return _plan_cycle(timer.value, armed, description)
        if timer.kind is TimerKind.DURATION:
            at = _ceil_second(armed + parse_duration(timer.value, base=armed))
        else:
            # An overdue date fires at once (next second), like any overdue timer.
            at = max(_ceil_second(parse_date(timer.value)), armed + _SECOND)
    except TimerSyntaxError as exc:
        raise TimerStartError(f"timer_{timer.kind.value}: {exc.message}") from None
    return TimerPlan(_once_at(at), 1, at, description)


def _plan_cycle(text: str, armed: datetime.datetime, description: str) -> TimerPlan:
    cycle = parse_cycle(text)
    if cycle.interval < _SECOND:
        raise TimerStartError(
            f"timer_cycle {text!r}: a timer start repeats at most once a second "
            "(Temporal schedules have one-second resolution)"
        )
    upcoming = cycle.fire_times(armed, 1)
    if not upcoming:
        raise TimerStartError(f"timer_cycle {text!r}: the cycle has no start left (it ended)")
    anchor = cycle.start if cycle.start is not None else armed
    remaining = cycle.repetitions
    if remaining is not None and cycle.start is not None and armed > cycle.start:
        # Starts missed before the deployment count against the repetitions.
        missed = -((cycle.start - armed) // cycle.interval)  # ceil((armed - start) / interval)
        remaining = max(remaining - missed, 0)
    half = cycle.interval / 2
    spec = ScheduleSpec(
        intervals=[
            ScheduleIntervalSpec(every=cycle.interval, offset=(anchor - _EPOCH) % cycle.interval)
        ],
        # Half an interval before the first wanted start: excludes the arming moment itself
        # (R3/PT10M first fires one interval after deployment) without guessing whether
        # Temporal's start_at is inclusive.
        start_at=upcoming[0] - half,
        end_at=cycle.end,
    )
    return TimerPlan(spec, remaining, upcoming[0], description)


def _once_at(moment: datetime.datetime) -> ScheduleSpec:
    # A calendar entry matching exactly one second (the year included): fires once at most.
    return ScheduleSpec(
        calendars=[
            ScheduleCalendarSpec(
                second=(ScheduleRange(moment.second),),
                minute=(ScheduleRange(moment.minute),),
                hour=(ScheduleRange(moment.hour),),
                day_of_month=(ScheduleRange(moment.day),),
                month=(ScheduleRange(moment.month),),
                year=(ScheduleRange(moment.year),),
                comment=f"once at {moment.isoformat()}",
            )
        ],
        start_at=moment - _SECOND,
        time_zone_name="UTC",
    )


def _whole_second(moment: datetime.datetime) -> datetime.datetime:
    aware = moment.replace(tzinfo=datetime.UTC) if moment.tzinfo is None else moment
    return aware.astimezone(datetime.UTC).replace(microsecond=0)


def _ceil_second(moment: datetime.datetime) -> datetime.datetime:
    whole = _whole_second(moment)
    return whole if whole == moment else whole + _SECOND


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class TimerStartSchedules:
    """Keeps the Temporal Schedules of timer start events in line with the definitions.

    Args:
        client: A connected Temporal client.
        database: The application database (to find a key's latest version).
        task_queue: The engine's task queue (where the started workflows run).
        implemented_listeners: Listener classes some worker implements (passed to instances).
        clock: The current time (tests); UTC.
        max_steps_without_wait: The started instances' step budget (docs/security.md).
        max_instance_variables_bytes: The started instances' variables budget.
    """

    def __init__(
        self,
        *,
        client: Client,
        database: Database,
        task_queue: str,
        implemented_listeners: Collection[str] = (),
        clock: Callable[[], datetime.datetime] = _utcnow,
        max_steps_without_wait: int = StartInstanceInput.max_steps_without_wait,
        max_instance_variables_bytes: int = StartInstanceInput.max_variables_bytes,
    ) -> None:
        self._max_steps = max_steps_without_wait
        self._max_variables_bytes = max_instance_variables_bytes
        self._client = client
        self._db = database
        self._task_queue = task_queue
        self._listeners = sorted(set(implemented_listeners))
        self._clock = clock

    async def sync(
        self, tenant_id: str, key: str, *, retired: DefinitionRecord | None = None
    ) -> tuple[ValidationIssue, ...]:
        """Make the key's schedules match its latest version (see the module docstring).

        Args:
            tenant_id: The key's tenant.
            key: The definition key.
            retired: A version that was just deleted: its timer start schedules are removed
                unless the (new) latest version has the same start nodes.

        Returns:
            One warning per timer start event that could not be (un)scheduled; each is logged.
        """
        async with self._db.session() as session:
            recent, _ = await DefinitionRepository(session).list(
                tenant_id=tenant_id, key=key, descending=True, page_size=2
            )
        latest = recent[0] if recent else None
        wanted: dict[str, FlowNode] = {}
        model: ProcessModel | None = None
        if latest is not None:
            model = _model(latest)
            if model is not None and model.process.executable:
                wanted = {node.id: node for node in timer_start_events(model)}
        older = [*recent[1:], *([retired] if retired is not None else [])]
        stale = sorted(
            {node_id for record in older for node_id in _timer_start_ids(record)} - wanted.keys()
        )
        warnings: list[ValidationIssue] = []
        for node_id in stale:
            sid = schedule_id(tenant_id, key, node_id)
            try:
                await self._delete(sid)
            except (RPCError, OSError, RuntimeError) as exc:
                warnings.append(self._failed(sid, node_id, f"could not delete it: {exc}", None))
        for node in wanted.values():
            assert latest is not None and model is not None
            sid = schedule_id(tenant_id, key, node.id)
            try:
                await self._ensure(sid, latest, model, node)
            except TimerStartError as exc:
                warnings.append(self._failed(sid, node.id, str(exc), node))
            except (RPCError, ScheduleAlreadyRunningError, OSError, RuntimeError) as exc:
                warnings.append(self._failed(sid, node.id, f"Temporal refused: {exc}", node))
        return tuple(warnings)

    async def describe(self, tenant_id: str, key: str, node_id: str) -> ScheduleDescription | None:
        """The schedule of one timer start event, or None when there is none."""
        try:
            return await self._client.get_schedule_handle(
                schedule_id(tenant_id, key, node_id)
            ).describe(rpc_timeout=RPC_TIMEOUT)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return None
            raise

    # --- steps ----------------------------------------------------------------------------

    async def _ensure(
        self, sid: str, record: DefinitionRecord, model: ProcessModel, node: FlowNode
    ) -> None:
        handle = self._client.get_schedule_handle(sid)
        for _ in range(2):  # a second round when a concurrent sync created it meanwhile
            current = await self._describe(sid)
            if current is not None:
                if await current.memo_value("definition_id", None) == record.id:
                    await self._follow_suspension(sid, current, record)
                    return
                await handle.delete(rpc_timeout=RPC_TIMEOUT)
                logger.info("timer start %s: replaced by version %s", sid, record.version)
            try:
                await self._create(sid, record, model, node)
                return
            except ScheduleAlreadyRunningError:
                continue
        raise RuntimeError(f"schedule {sid} keeps being recreated concurrently")

    async def _create(
        self, sid: str, record: DefinitionRecord, model: ProcessModel, node: FlowNode
    ) -> None:
        assert node.timer is not None
        plan = plan_timer(node.timer, now=self._clock())
        start = StartInstanceInput(
            instance_id="",  # the workflow takes it from its id (module docstring)
            definition_id=record.id,
            definition_key=record.key,
            definition_version=record.version,
            content_hash=record.content_hash,
            document=json.loads(record.model_json),
            variables=with_defaults(model.process.variables, {}),
            tenant_id=record.tenant_id,
            start_node_id=node.id,
            implemented_listeners=list(self._listeners),
            register=True,
            max_steps_without_wait=self._max_steps,
            max_variables_bytes=self._max_variables_bytes,
        )
        note = (
            f"timer start '{node.id}' of '{record.key}' version {record.version}: "
            f"{plan.description}"
        )
        schedule = Schedule(
            action=ScheduleActionStartWorkflow(
                WORKFLOW_NAME,
                start,
                id=action_workflow_id(sid, record.id),
                task_queue=self._task_queue,
            ),
            spec=plan.spec,
            policy=SchedulePolicy(
                overlap=ScheduleOverlapPolicy.ALLOW_ALL, catchup_window=CATCHUP_WINDOW
            ),
            state=ScheduleState(
                note=note + (" (definition suspended)" if record.suspended else ""),
                paused=record.suspended,
                limited_actions=plan.remaining_actions is not None,
                remaining_actions=plan.remaining_actions or 0,
            ),
        )
        await self._client.create_schedule(
            sid,
            schedule,
            memo={
                "definition_id": record.id,
                "definition_version": record.version,
                "node_id": node.id,
                "timer": plan.description,
            },
            rpc_timeout=RPC_TIMEOUT,
        )
        logger.info("%s: scheduled, first start at %s", note, plan.first_fire.isoformat())

    async def _follow_suspension(
        self, sid: str, current: ScheduleDescription, record: DefinitionRecord
    ) -> None:
        if current.schedule.state.paused == record.suspended:
            return
        handle = self._client.get_schedule_handle(sid)
        if record.suspended:
            await handle.pause(
                note=f"definition '{record.key}' version {record.version} suspended",
                rpc_timeout=RPC_TIMEOUT,
            )
        else:
            await handle.unpause(
                note=f"definition '{record.key}' version {record.version} activated",
                rpc_timeout=RPC_TIMEOUT,
            )
        logger.info("timer start %s: %s", sid, "paused" if record.suspended else "unpaused")

    async def _describe(self, sid: str) -> ScheduleDescription | None:
        try:
            return await self._client.get_schedule_handle(sid).describe(rpc_timeout=RPC_TIMEOUT)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return None
            raise

    async def _delete(self, sid: str) -> None:
        try:
            await self._client.get_schedule_handle(sid).delete(rpc_timeout=RPC_TIMEOUT)
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            return
        logger.info("timer start %s: schedule deleted", sid)

    @staticmethod
    def _failed(sid: str, node_id: str, why: str, node: FlowNode | None) -> ValidationIssue:
        message = f"timer start event '{node_id}' is not scheduled (schedule {sid}): {why}"
        logger.error("%s", message)
        path = node.path if node is not None and node.path else f"elements[{node_id}]"
        return ValidationIssue(path, message, NOT_SCHEDULED)


def _model(record: DefinitionRecord) -> ProcessModel | None:
    if '"timer_' not in record.model_json:
        return None  # no timer at all: spare parsing the document
    try:
        model, _ = parse_definition(json.loads(record.model_json))
    except ValueError:
        model = None
    if model is None:  # stored models were valid when deployed: only a bug gets here
        logger.error(
            "definition %s (%s v%s): its stored model does not parse; timer starts ignored",
            record.id,
            record.key,
            record.version,
        )
    return model


def _timer_start_ids(record: DefinitionRecord) -> Iterable[str]:
    model = _model(record)
    return [] if model is None else [node.id for node in timer_start_events(model)]
