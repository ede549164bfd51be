"""Execution statistics (seed 执行统计): counts, throughput, durations, failures, open tasks.

What one report covers (see `StatsService.report`):

* a time range ``[start, end)``: explicit (``start`` / ``end``), or the last ``window``
  (ISO 8601, default ``PT1H``) up to the end of the current bucket;
* ``counts``: live statuses (running, paused, incident) are the instances in that status *now*;
  ended statuses are the instances that ended *within the range*;
* ``throughput``: started / completed / failed instances per ``bucket`` (default ``PT1M``);
* ``duration_ms``: average, p50 / p95 / p99 and max of instances completed within the range;
* ``failure_rate``: failed (terminated or timed out) / ended within the range;
* ``incidents``: instances in incident now, incidents created within the range, and incidents
  per instance started within the range;
* ``open_tasks``: user tasks waiting now, the oldest one's age and the median age.

Each figure exists per definition key and over every definition ("overall").

Authorization (issue 6): `stats:read`; a non-admin's report covers their own tenant only
(naming another tenant is refused), an admin's every tenant unless one is named.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from workflow_engine.expressions.timers import TimerSyntaxError, parse_duration
from workflow_engine.security import Permission, require
from workflow_engine.services.errors import InvalidArgumentError
from workflow_engine.store.database import Database
from workflow_engine.store.stats import (
    OVERALL,
    Percentiles,
    RawStats,
    StatsRepository,
    StatsScope,
)
from workflow_engine.store.tables import ENDED_INSTANCE_STATUSES, INSTANCE_STATUSES

#: Defaults of the query parameters.
DEFAULT_WINDOW: Final = "PT1H"
DEFAULT_BUCKET: Final = "PT1M"
#: A report holds at most this many throughput buckets (per definition).
MAX_BUCKETS: Final = 1440
#: Decimals kept in averages, percentiles, rates and ages (equal answers on both databases).
_DECIMALS: Final = 3


@dataclass(frozen=True, slots=True)
class DurationStats:
    """Durations (milliseconds) of the instances completed within the range."""

    count: int
    average: float | None
    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None


@dataclass(frozen=True, slots=True)
class ThroughputBucket:
    """Instances started / completed / failed in ``[start, start + bucket)``."""

    start: datetime
    started: int
    completed: int
    failed: int


@dataclass(frozen=True, slots=True)
class IncidentStats:
    """Incidents: open now, created within the range, per instance started within it."""

    open: int
    created: int
    rate: float | None


@dataclass(frozen=True, slots=True)
class OpenTaskStats:
    """User tasks waiting now and their ages in seconds."""

    count: int
    oldest_age_seconds: float | None
    p50_age_seconds: float | None


@dataclass(frozen=True, slots=True)
class DefinitionStats:
    """Every figure for one definition key (None: over every definition)."""

    definition_key: str | None
    counts: dict[str, int]
    started: int
    ended: int
    failed: int
    failure_rate: float | None
    duration_ms: DurationStats
    incidents: IncidentStats
    open_tasks: OpenTaskStats
    throughput: list[ThroughputBucket]


@dataclass(frozen=True, slots=True)
class StatsReport:
    """The answer of `StatsService.report`."""

    generated_at: datetime
    start: datetime
    end: datetime
    bucket_seconds: int
    definition_key: str | None
    tenant_id: str | None
    overall: DefinitionStats
    definitions: list[DefinitionStats]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, _DECIMALS)


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, _DECIMALS + 3)


def _duration(field: str, text: str) -> timedelta:
    try:
        value = parse_duration(text)
    except TimerSyntaxError as exc:
        raise InvalidArgumentError(f"{field}: {exc}") from None
    if value <= timedelta(0):
        raise InvalidArgumentError(f"{field} must be longer than zero, got {text!r}")
    return value


def _aware(field: str, moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        raise InvalidArgumentError(f"{field} needs a time zone, e.g. 2026-01-01T00:00:00Z")
    return moment.astimezone(UTC)


def _floor_seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def resolve_scope(
    *,
    now: datetime,
    window: str = DEFAULT_WINDOW,
    bucket: str = DEFAULT_BUCKET,
    start: datetime | None = None,
    end: datetime | None = None,
    definition_key: str | None = None,
    tenant_id: str | None = None,
) -> StatsScope:
    """Turn the query parameters into a range of whole buckets.

    Without `end`, the range ends with the bucket that holds `now` (buckets are aligned to
    multiples of their width since 1970, like Prometheus steps); without `start`, it begins
    `window` before its end. The end is moved forward to a whole number of buckets.

    Raises:
        InvalidArgumentError: naming the parameter: a malformed duration, a bucket that is not
            whole seconds, a time without zone, an empty range, or more than `MAX_BUCKETS`.
    """
    window_span = _duration("window", window)
    bucket_span = _duration("bucket", bucket)
    if bucket_span.microseconds or bucket_span.total_seconds() < 1:
        raise InvalidArgumentError(f"bucket must be whole seconds (PT1S or more), got {bucket!r}")
    width = int(bucket_span.total_seconds())
    begin = _aware("from", start)
    finish = _aware("to", end)
    if finish is None:
        base = begin + window_span if begin is not None else now
        seconds = math.floor(base.timestamp() / width) * width + width
        finish = datetime.fromtimestamp(seconds, UTC) if begin is None else base
    if begin is None:
        begin = finish - window_span
    begin = _floor_seconds(begin)
    if finish <= begin:
        raise InvalidArgumentError("to must be later than from")
    span = (finish - begin).total_seconds()
    count = math.ceil(span / width)
    if count > MAX_BUCKETS:
        raise InvalidArgumentError(
            f"bucket {bucket!r} splits the range into {count} buckets; at most {MAX_BUCKETS} "
            "(choose a wider bucket or a shorter window)"
        )
    finish = begin + timedelta(seconds=count * width)
    if definition_key is not None and not definition_key.strip():
        raise InvalidArgumentError("definition_key must not be blank")
    return StatsScope(
        start=begin,
        end=finish,
        bucket_seconds=width,
        definition_key=definition_key,
        tenant_id=tenant_id,
    )


class StatsService:
    """Statistics over the application database.

    Args:
        database: The application database.
    """

    def __init__(self, *, database: Database) -> None:
        self._db = database

    async def report(
        self,
        *,
        window: str = DEFAULT_WINDOW,
        bucket: str = DEFAULT_BUCKET,
        start: datetime | None = None,
        end: datetime | None = None,
        definition_key: str | None = None,
        tenant_id: str | None = None,
        now: datetime | None = None,
    ) -> StatsReport:
        """Compute the report (see the module docstring for what each figure means).

        Args:
            window: ISO 8601 duration of the range when `start` is not given.
            bucket: ISO 8601 duration of one throughput bucket (whole seconds).
            start: Start of the range (inclusive; needs a time zone).
            end: End of the range (exclusive; needs a time zone).
            definition_key: Only this definition.
            tenant_id: Only this tenant (non-admins: their own, named or not).
            now: The reference time (tests); default the current time.

        Raises:
            PermissionDeniedError: without `stats:read`; a non-admin naming another tenant.
            InvalidArgumentError: a parameter is malformed (named in the message).
        """
        tenant_id = require(Permission.STATS_READ).tenant_filter(tenant_id)
        moment = now or datetime.now(UTC)
        scope = resolve_scope(
            now=moment,
            window=window,
            bucket=bucket,
            start=start,
            end=end,
            definition_key=definition_key,
            tenant_id=tenant_id,
        )
        async with self._db.session() as session:
            raw = await StatsRepository(session).collect(scope, now=moment)
        now_ms = int(moment.timestamp() * 1000)
        return StatsReport(
            generated_at=moment,
            start=scope.start,
            end=scope.end,
            bucket_seconds=scope.bucket_seconds,
            definition_key=definition_key,
            tenant_id=tenant_id,
            overall=_assemble(raw, OVERALL, scope, now_ms),
            definitions=[_assemble(raw, key, scope, now_ms) for key in raw.definition_keys()],
        )


def _counts(raw: RawStats, key: str | None) -> dict[str, int]:
    counts = dict.fromkeys(INSTANCE_STATUSES, 0)
    sources = [raw.live_counts, raw.ended_counts]
    for source in sources:
        if key is OVERALL:
            for per_key in source.values():
                for status, n in per_key.items():
                    counts[status] += n
        else:
            for status, n in source.get(key, {}).items():
                counts[status] += n
    return counts


def _assemble(raw: RawStats, key: str | None, scope: StatsScope, now_ms: int) -> DefinitionStats:
    counts = _counts(raw, key)
    ended = sum(counts[s] for s in ENDED_INSTANCE_STATUSES)
    failed = counts["terminated"] + counts["timed_out"]
    started = raw.started.get(key, 0)
    empty = Percentiles(0, None, None, None, None, None)
    durations = raw.durations.get(key, empty)
    created = raw.incidents_created.get(key, 0)
    task_times = raw.open_task_created.get(key, empty)
    oldest = task_times.minimum
    per_bucket = raw.buckets.get(key, {})
    throughput = [
        ThroughputBucket(
            start=scope.start + timedelta(seconds=index * scope.bucket_seconds),
            started=per_bucket.get(index, [0, 0, 0])[0],
            completed=per_bucket.get(index, [0, 0, 0])[1],
            failed=per_bucket.get(index, [0, 0, 0])[2],
        )
        for index in range(scope.bucket_count)
    ]
    return DefinitionStats(
        definition_key=key,
        counts=counts,
        started=started,
        ended=ended,
        failed=failed,
        failure_rate=_rate(failed, ended),
        duration_ms=DurationStats(
            count=durations.count,
            average=_round(durations.average),
            p50=_round(durations.p50),
            p95=_round(durations.p95),
            p99=_round(durations.p99),
            max=_round(durations.maximum),
        ),
        incidents=IncidentStats(
            open=counts["incident"], created=created, rate=_rate(created, started)
        ),
        open_tasks=OpenTaskStats(
            count=task_times.count,
            oldest_age_seconds=None if oldest is None else _round((now_ms - oldest) / 1000),
            p50_age_seconds=None
            if task_times.p50 is None
            else _round((now_ms - task_times.p50) / 1000),
        ),
        throughput=throughput,
    )


__all__ = [
    "DEFAULT_BUCKET",
    "DEFAULT_WINDOW",
    "MAX_BUCKETS",
    "DefinitionStats",
    "DurationStats",
    "IncidentStats",
    "OpenTaskStats",
    "StatsReport",
    "StatsService",
    "ThroughputBucket",
    "resolve_scope",
]
