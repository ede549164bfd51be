"""Prometheus metrics of the engine and the API (one process-wide registry).

Engine-side figures are recorded where the projection applies a batch (the workflow itself
must stay deterministic), from the events that batch *inserted* — a retried batch counts
nothing twice. Gauges that describe the database (open tasks, live instances) are computed on
scrape by `refresh_database_gauges`, with cheap indexed counts.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Final

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy import func, select

from workflow_engine.engine.contract import EngineEvent
from workflow_engine.store.database import Database
from workflow_engine.store.tables import (
    ACTIVE_INSTANCE_STATUSES,
    OPEN_TASK_STATES,
    ProcessEvent,
    ProcessInstance,
    TaskInstance,
)

#: Statuses counted as failed (as in the stats API).
FAILED_STATUSES: Final = ("terminated", "timed_out")

_DURATION_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
_LAG_BUCKETS: Final = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

INSTANCES_STARTED = Counter(
    "wfe_instances_started", "Process instances started.", ["definition"], registry=REGISTRY
)
INSTANCES_COMPLETED = Counter(
    "wfe_instances_completed",
    "Process instances that reached an end on their own (status completed).",
    ["definition"],
    registry=REGISTRY,
)
INSTANCES_FAILED = Counter(
    "wfe_instances_failed",
    "Process instances that failed (terminated or timed out).",
    ["definition", "status"],
    registry=REGISTRY,
)
INSTANCES_ENDED = Counter(
    "wfe_instances_ended",
    "Process instances that ended, by final status.",
    ["definition", "status"],
    registry=REGISTRY,
)
RECONCILER_REPAIRS = Counter(
    "wfe_reconciler_repairs",
    "Instances whose end the reconciler wrote (their workflow had ended outside the engine), "
    "by the status written.",
    ["status"],
    registry=REGISTRY,
)
INCIDENTS = Counter(
    "wfe_incidents", "Incidents created (a step failed with retries exhausted).", ["definition"]
)
STEP_DURATION = Histogram(
    "wfe_step_duration_seconds",
    "Duration of a step (activity.started to activity.completed), by BPMN node type.",
    ["node_type"],
    buckets=_DURATION_BUCKETS,
)
EVENT_LOG_LAG = Histogram(
    "wfe_event_log_write_lag_seconds",
    "Time from an engine event (workflow time) to its write in the event log.",
    buckets=_LAG_BUCKETS,
)
API_LATENCY = Histogram(
    "wfe_api_request_duration_seconds",
    "REST request latency by method, route template and status code.",
    ["method", "route", "status"],
    buckets=_DURATION_BUCKETS,
)
OPEN_TASKS = Gauge("wfe_open_tasks", "User tasks waiting in an inbox (computed on scrape).")
LIVE_INSTANCES = Gauge(
    "wfe_live_instances",
    "Instances that have not ended, by status (computed on scrape).",
    ["status"],
)
OPEN_INCIDENTS = Gauge(
    "wfe_open_incidents", "Instances waiting in an incident now (computed on scrape)."
)

TEMPORAL_REACHABLE = Gauge(
    "wfe_temporal_reachable",
    "1 when this replica's last readiness check (/readyz) reached Temporal, else 0.",
)
WORKER_POLLERS = Gauge(
    "wfe_worker_pollers",
    "Workers of this process polling a task queue (1 while `wfe worker` runs).",
    ["task_queue"],
)


class _StartTimes:
    """Recent ``activity.started`` times, so a step's duration needs no database read.

    Bounded (oldest forgotten first): a step whose start is not here any more (another worker
    applied it, or this one restarted) is looked up in the event log instead.
    """

    def __init__(self, capacity: int = 50_000) -> None:
        self._capacity = capacity
        self._times: OrderedDict[tuple[str, str, str], datetime] = OrderedDict()

    def put(self, key: tuple[str, str, str], moment: datetime) -> None:
        self._times[key] = moment
        self._times.move_to_end(key)
        while len(self._times) > self._capacity:
            self._times.popitem(last=False)

    def pop(self, key: tuple[str, str, str]) -> datetime | None:
        return self._times.pop(key, None)


_STARTS = _StartTimes()


def _moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _step_key(instance_id: str, event: EngineEvent) -> tuple[str, str, str]:
    return (instance_id, event.activity_id or "", str(event.data.get("execution_id", "")))


async def record_batch(
    *,
    database: Database,
    instance_id: str,
    definition_key: str | None,
    events: Iterable[EngineEvent],
    written_at: float | None = None,
) -> None:
    """Record the metrics of events just written to the log (call after the commit).

    Args:
        database: For the start of a step whose start this process did not see.
        instance_id: Their instance.
        definition_key: Their definition ("" when unknown).
        events: The events the batch inserted (not the duplicates of a retry).
        written_at: When they were written (epoch seconds); default now.
    """
    key = definition_key or ""
    now = time.time() if written_at is None else written_at
    missing: list[tuple[EngineEvent, datetime]] = []
    for event in events:
        moment = _moment(event.timestamp)
        if moment is not None:
            EVENT_LOG_LAG.observe(max(0.0, now - moment.timestamp()))
        kind = event.type
        if kind == "process.started":
            INSTANCES_STARTED.labels(key).inc()
        elif kind.startswith("process.") and kind[8:] in (
            "completed",
            "terminated",
            "cancelled",
            "timed_out",
        ):
            status = kind[8:]
            INSTANCES_ENDED.labels(key, status).inc()
            if status == "completed":
                INSTANCES_COMPLETED.labels(key).inc()
            elif status in FAILED_STATUSES:
                INSTANCES_FAILED.labels(key, status).inc()
        elif kind == "incident.created":
            INCIDENTS.labels(key).inc()
        elif kind == "activity.started" and moment is not None:
            _STARTS.put(_step_key(instance_id, event), moment)
        elif kind == "activity.completed" and moment is not None:
            started = _STARTS.pop(_step_key(instance_id, event))
            if started is None:
                missing.append((event, moment))
            else:
                _observe_step(event, (moment - started).total_seconds())
    if missing:
        await _steps_from_log(database, instance_id, missing)


def _observe_step(event: EngineEvent, seconds: float) -> None:
    node_type = str(event.data.get("node_type", "unknown"))
    STEP_DURATION.labels(node_type).observe(max(0.0, seconds))


async def _steps_from_log(
    database: Database, instance_id: str, missing: list[tuple[EngineEvent, datetime]]
) -> None:
    # The latest start before each completion, through the (instance, sequence) index.
    e = ProcessEvent
    async with database.session() as session:
        for event, ended in missing:
            stmt = (
                select(e.timestamp)
                .where(
                    e.process_instance_id == instance_id,
                    e.activity_id == event.activity_id,
                    e.event_type == "activity.started",
                    e.sequence < event.sequence,
                )
                .order_by(e.sequence.desc())
                .limit(1)
            )
            started = (await session.execute(stmt)).scalar_one_or_none()
            if started is not None:
                _observe_step(event, (ended - started).total_seconds())


async def refresh_database_gauges(database: Database) -> None:
    """Set the gauges that describe the database (one grouped count each, indexed)."""
    async with database.session() as session:
        tasks = (
            await session.execute(
                select(func.count()).where(TaskInstance.state.in_(OPEN_TASK_STATES))
            )
        ).scalar_one()
        rows = (
            await session.execute(
                select(ProcessInstance.status, func.count())
                .where(ProcessInstance.status.in_(ACTIVE_INSTANCE_STATUSES))
                .group_by(ProcessInstance.status)
            )
        ).all()
    OPEN_TASKS.set(int(tasks))
    counts = {status: 0 for status in ACTIVE_INSTANCE_STATUSES}
    counts.update({status: int(n) for status, n in rows})
    for status, n in counts.items():
        LIVE_INSTANCES.labels(status).set(n)
    OPEN_INCIDENTS.set(counts["incident"])


def sample(
    name: str, labels: dict[str, str] | None = None, registry: CollectorRegistry = REGISTRY
) -> float:
    """The current value of one sample (0 when absent): for tests and diagnostics."""
    value = registry.get_sample_value(name, labels or {})
    return 0.0 if value is None else float(value)
