"""Statistics queries: counts, throughput, durations, incidents and open tasks, in SQL.

Every figure is computed by the database over indexed ranges, never by loading instances:

* live instances (running / paused / incident) come from ``process_instance`` by status;
* ended instances come from ``historic_process_instance`` (written when an instance ends, and
  the table ended runtime rows move to), so the figures hold whether or not ended runtime rows
  are kept;
* time ranges are half-open ``[start, end)`` over indexed timestamp columns.

Percentiles follow PostgreSQL's ``percentile_cont`` (linear interpolation between the two
closest ranks). PostgreSQL computes them itself; SQLite has no such aggregate, so the two
ranks are picked with window functions and interpolated here with the same formula: both
databases give the same answers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    Table,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from workflow_engine.store.tables import (
    ACTIVE_INSTANCE_STATUSES,
    ENDED_INSTANCE_STATUSES,
    OPEN_TASK_STATES,
    HistoricProcessInstance,
    ProcessDefinition,
    ProcessEvent,
    ProcessInstance,
    TaskInstance,
)

_INSTANCE: Table = ProcessInstance.__table__  # type: ignore[assignment]
_HISTORY: Table = HistoricProcessInstance.__table__  # type: ignore[assignment]
_EVENT: Table = ProcessEvent.__table__  # type: ignore[assignment]
_TASK: Table = TaskInstance.__table__  # type: ignore[assignment]
_DEFINITION: Table = ProcessDefinition.__table__  # type: ignore[assignment]

#: Statuses of an instance that failed: it did not reach an end event on its own (it timed
#: out, or an operator had to terminate it). ``cancelled`` is a deliberate clean run-down.
FAILED_STATUSES: Final = ("terminated", "timed_out")
#: The percentiles reported for durations.
PERCENTILES: Final = (0.5, 0.95, 0.99)

#: Key of the figures over every definition in the maps below.
OVERALL: Final = None


@dataclass(frozen=True, slots=True)
class StatsScope:
    """Which instances count.

    Attributes:
        start: Start of the range (inclusive), aware UTC, whole seconds.
        end: End of the range (exclusive), aware UTC, whole seconds.
        bucket_seconds: Width of one throughput bucket; `end - start` is a multiple of it.
        definition_key: Only this definition.
        tenant_id: Only this tenant.
    """

    start: datetime
    end: datetime
    bucket_seconds: int
    definition_key: str | None = None
    tenant_id: str | None = None

    @property
    def bucket_count(self) -> int:
        """How many buckets the range holds."""
        return int((self.end - self.start).total_seconds()) // self.bucket_seconds


@dataclass(frozen=True, slots=True)
class Percentiles:
    """Summary of a set of values (milliseconds or seconds); None values when it is empty."""

    count: int
    average: float | None
    p50: float | None
    p95: float | None
    p99: float | None
    maximum: float | None
    minimum: float | None = None


@dataclass(slots=True)
class RawStats:
    """What the queries found, per definition key (None: over every definition)."""

    live_counts: dict[str | None, dict[str, int]] = field(default_factory=dict)
    ended_counts: dict[str | None, dict[str, int]] = field(default_factory=dict)
    started: dict[str | None, int] = field(default_factory=dict)
    #: key -> bucket index -> (started, completed, failed)
    buckets: dict[str | None, dict[int, list[int]]] = field(default_factory=dict)
    durations: dict[str | None, Percentiles] = field(default_factory=dict)
    incidents_created: dict[str | None, int] = field(default_factory=dict)
    #: key -> open tasks' creation times (epoch milliseconds): count, min, p50, ...
    open_task_created: dict[str | None, Percentiles] = field(default_factory=dict)

    def definition_keys(self) -> list[str]:
        """Every definition key seen by any query, sorted."""
        found: set[str | None] = set()
        for part in (
            self.live_counts,
            self.ended_counts,
            self.started,
            self.buckets,
            self.incidents_created,
            self.open_task_created,
        ):
            found.update(part)
        return sorted(k for k in found if k is not None)


def percentile_cont(sorted_values: Sequence[float], fraction: float) -> float:
    """PostgreSQL's ``percentile_cont`` over values already in ascending order.

    Raises:
        ValueError: when `sorted_values` is empty or `fraction` is outside [0, 1].
    """
    if not sorted_values:
        raise ValueError("percentile_cont of no values")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be within [0, 1], got {fraction}")
    position = fraction * (len(sorted_values) - 1)
    low = math.floor(position)
    high = math.ceil(position)
    lower = float(sorted_values[low])
    return lower + (position - low) * (float(sorted_values[high]) - lower)


def _interpolate(count: int, fraction: float, ranked: dict[int, float]) -> float:
    # Same arithmetic as percentile_cont, over the two ranks the query returned.
    position = fraction * (count - 1)
    low = math.floor(position)
    high = math.ceil(position)
    lower = ranked[low]
    return lower + (position - low) * (ranked[high] - lower)


class StatsRepository:
    """Runs the statistics queries in the caller's session.

    Args:
        session: A read session.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._postgres = session.get_bind().dialect.name == "postgresql"

    # --- dialect helpers -------------------------------------------------------------------

    def _epoch_seconds(self, column: Any) -> ColumnElement[int]:
        """Whole seconds since 1970 (floor), exact on both databases."""
        if self._postgres:
            # date_part is double precision (fast); extract() is numeric (slow to aggregate).
            # Timestamps have microseconds: + 1e-7 never crosses a second, but absorbs the
            # rounding of the binary fraction.
            return cast(func.floor(func.date_part("epoch", column) + 1e-7), BigInteger)
        return cast(func.strftime("%s", column), Integer)

    def _epoch_millis(self, column: Any) -> ColumnElement[int]:
        """Milliseconds since 1970 (floor), exact on both databases."""
        if self._postgres:
            return cast(func.floor(func.date_part("epoch", column) * 1000 + 1e-4), BigInteger)
        seconds = cast(func.strftime("%s", column), Integer)
        millis = cast(func.substr(func.strftime("%f", column), 4, 3), Integer)
        return seconds * 1000 + millis

    def _bucket(self, column: Any, scope: StatsScope) -> ColumnElement[int]:
        start = int(scope.start.timestamp())
        offset = self._epoch_seconds(column) - start
        if self._postgres:
            return cast(func.floor(offset / float(scope.bucket_seconds)), Integer)
        # Offsets are never negative inside the range: integer division is the floor.
        return cast(offset / scope.bucket_seconds, Integer)

    # --- filters -----------------------------------------------------------------------------

    @staticmethod
    def _where(key_col: Any, tenant_col: Any, scope: StatsScope) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if scope.definition_key is not None:
            where.append(key_col == scope.definition_key)
        if scope.tenant_id is not None:
            where.append(tenant_col == scope.tenant_id)
        return where

    def _live_where(self, scope: StatsScope) -> list[ColumnElement[bool]]:
        return [
            _INSTANCE.c.status.in_(ACTIVE_INSTANCE_STATUSES),
            *self._where(_INSTANCE.c.definition_key, _INSTANCE.c.tenant_id, scope),
        ]

    def _history_where(self, scope: StatsScope) -> list[ColumnElement[bool]]:
        return [
            _HISTORY.c.status.in_(ENDED_INSTANCE_STATUSES),
            *self._where(_HISTORY.c.process_definition_key, _HISTORY.c.tenant_id, scope),
        ]

    # --- queries -------------------------------------------------------------------------------

    async def collect(self, scope: StatsScope, *, now: datetime) -> RawStats:
        """Run every query for `scope`; `now` is the reference for task ages."""
        raw = RawStats()
        if self._postgres:
            # The queries read index ranges of a few thousand rows: starting parallel workers
            # costs more (~20 ms measured) than the scans they would share.
            await self._session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
        await self._counts(scope, raw)
        await self._throughput(scope, raw)
        await self._durations(scope, raw)
        await self._incidents(scope, raw)
        await self._open_tasks(scope, raw)
        return raw

    async def _counts(self, scope: StatsScope, raw: RawStats) -> None:
        live = (
            select(_INSTANCE.c.definition_key, _INSTANCE.c.status, func.count())
            .where(*self._live_where(scope))
            .group_by(_INSTANCE.c.definition_key, _INSTANCE.c.status)
        )
        for key, status, count in (await self._session.execute(live)).all():
            raw.live_counts.setdefault(key, {})[status] = int(count)
        h = _HISTORY.c
        ended = (
            select(h.process_definition_key, h.status, func.count())
            .where(*self._history_where(scope), h.end_time >= scope.start, h.end_time < scope.end)
            .group_by(h.process_definition_key, h.status)
        )
        for key, status, count in (await self._session.execute(ended)).all():
            raw.ended_counts.setdefault(key, {})[status] = int(count)

    async def _throughput(self, scope: StatsScope, raw: RawStats) -> None:
        h = _HISTORY.c
        i = _INSTANCE.c
        zero = literal(0)
        one = literal(1)
        # Started: live instances from the runtime table plus ended ones from history (an
        # instance is in exactly one of the two sets); completed / failed: by end time.
        parts: list[Select[Any]] = [
            select(
                i.definition_key.label("key"),
                self._bucket(i.start_time, scope).label("bucket"),
                one.label("started"),
                zero.label("completed"),
                zero.label("failed"),
            ).where(
                *self._live_where(scope), i.start_time >= scope.start, i.start_time < scope.end
            ),
            select(
                h.process_definition_key.label("key"),
                self._bucket(h.start_time, scope).label("bucket"),
                one.label("started"),
                zero.label("completed"),
                zero.label("failed"),
            ).where(
                *self._history_where(scope), h.start_time >= scope.start, h.start_time < scope.end
            ),
            select(
                h.process_definition_key.label("key"),
                self._bucket(h.end_time, scope).label("bucket"),
                zero.label("started"),
                case((h.status == "completed", 1), else_=0).label("completed"),
                case((h.status.in_(FAILED_STATUSES), 1), else_=0).label("failed"),
            ).where(*self._history_where(scope), h.end_time >= scope.start, h.end_time < scope.end),
        ]
        rows = union_all(*parts).subquery("moves")
        stmt = select(
            rows.c.key,
            rows.c.bucket,
            func.sum(rows.c.started),
            func.sum(rows.c.completed),
            func.sum(rows.c.failed),
        ).group_by(rows.c.key, rows.c.bucket)
        for key, bucket, started, completed, failed in (await self._session.execute(stmt)).all():
            figures = [int(started), int(completed), int(failed)]
            for target in (key, OVERALL):
                slot = raw.buckets.setdefault(target, {}).setdefault(int(bucket), [0, 0, 0])
                for n, value in enumerate(figures):
                    slot[n] += value
                raw.started[target] = raw.started.get(target, 0) + figures[0]

    async def _durations(self, scope: StatsScope, raw: RawStats) -> None:
        h = _HISTORY.c
        where = [
            h.status == "completed",
            h.duration.is_not(None),
            h.end_time >= scope.start,
            h.end_time < scope.end,
            *self._where(h.process_definition_key, h.tenant_id, scope),
        ]
        found = await self._percentiles(h.duration, h.process_definition_key, where)
        raw.durations.update(found)

    async def _incidents(self, scope: StatsScope, raw: RawStats) -> None:
        e = _EVENT.c
        # Driven by the (event_type, timestamp) index: incidents are few; each one finds its
        # instance's definition through a primary-key / unique lookup.
        key = func.coalesce(_INSTANCE.c.definition_key, _HISTORY.c.process_definition_key)
        tenant = func.coalesce(_INSTANCE.c.tenant_id, _HISTORY.c.tenant_id)
        stmt = (
            select(key, func.count())
            .select_from(
                _EVENT.outerjoin(_INSTANCE, _INSTANCE.c.id == e.process_instance_id).outerjoin(
                    _HISTORY, _HISTORY.c.process_instance_id == e.process_instance_id
                )
            )
            .where(
                e.event_type == "incident.created",
                e.timestamp >= scope.start,
                e.timestamp < scope.end,
                *self._where(key, tenant, scope),
            )
            .group_by(key)
        )
        total = 0
        for definition_key, count in (await self._session.execute(stmt)).all():
            if definition_key is None:
                continue  # the instance is gone altogether (deleted with its definition)
            raw.incidents_created[definition_key] = int(count)
            total += int(count)
        raw.incidents_created[OVERALL] = total

    async def _open_tasks(self, scope: StatsScope, raw: RawStats) -> None:
        t = _TASK.c
        # The key through the definition (a handful of rows), not through the instances: an
        # open task belongs to a live instance whose definition exists.
        joined = _TASK.join(_DEFINITION, _DEFINITION.c.id == t.process_definition_id)
        where = [
            t.state.in_(OPEN_TASK_STATES),
            *self._where(_DEFINITION.c.key, t.tenant_id, scope),
        ]
        created = self._epoch_millis(t.create_time)
        found = await self._percentiles(created, _DEFINITION.c.key, where, select_from=joined)
        raw.open_task_created.update(found)

    async def _percentiles(
        self,
        value: Any,
        group: Any,
        where: list[ColumnElement[bool]],
        *,
        select_from: Any = None,
    ) -> dict[str | None, Percentiles]:
        """Count, average, p50 / p95 / p99 and max of `value` per `group` and overall."""
        if self._postgres:
            return await self._percentiles_postgres(value, group, where, select_from)
        return await self._percentiles_sqlite(value, group, where, select_from)

    async def _percentiles_postgres(
        self, value: Any, group: Any, where: list[ColumnElement[bool]], select_from: Any
    ) -> dict[str | None, Percentiles]:
        # One scan and one sort per grouping set: per definition and over all of them.
        ranks = [func.percentile_cont(p).within_group(value) for p in PERCENTILES]
        stmt = select(
            group,
            func.grouping(group),
            func.count(value),
            func.avg(value),
            *ranks,
            func.max(value),
            func.min(value),
        ).where(*where)
        if select_from is not None:
            stmt = stmt.select_from(select_from)
        stmt = stmt.group_by(func.grouping_sets(group, literal_column("()")))
        found: dict[str | None, Percentiles] = {}
        for row in (await self._session.execute(stmt)).all():
            key = OVERALL if row[1] else row[0]
            count = int(row[2])
            found[key] = Percentiles(
                count=count,
                average=None if row[3] is None else float(row[3]),
                p50=None if row[4] is None else float(row[4]),
                p95=None if row[5] is None else float(row[5]),
                p99=None if row[6] is None else float(row[6]),
                maximum=None if row[7] is None else float(row[7]),
                minimum=None if row[8] is None else float(row[8]),
            )
        found.setdefault(OVERALL, Percentiles(0, None, None, None, None, None))
        return found

    async def _percentiles_sqlite(
        self, value: Any, group: Any, where: list[ColumnElement[bool]], select_from: Any
    ) -> dict[str | None, Percentiles]:
        found: dict[str | None, Percentiles] = {}
        for partition in (group, None):
            part_key = group if partition is not None else literal(None)
            order = value.asc()
            over_kw: dict[str, Any] = {"order_by": order}
            count_kw: dict[str, Any] = {}
            if partition is not None:
                over_kw["partition_by"] = partition
                count_kw["partition_by"] = partition
            inner = select(
                part_key.label("key"),
                value.label("v"),
                (func.row_number().over(**over_kw) - 1).label("i"),
                func.count().over(**count_kw).label("n"),
                func.avg(value).over(**count_kw).label("a"),
                func.max(value).over(**count_kw).label("m"),
                func.min(value).over(**count_kw).label("lo"),
            ).where(*where)
            if select_from is not None:
                inner = inner.select_from(select_from)
            ranked = inner.subquery("ranked")
            # The two ranks around each percentile's position (floor and floor + 1).
            wanted = []
            for p in PERCENTILES:
                low = cast(p * (ranked.c.n - 1), Integer)
                wanted.append(ranked.c.i == low)
                wanted.append(ranked.c.i == low + 1)
            stmt = select(
                ranked.c.key,
                ranked.c.i,
                ranked.c.v,
                ranked.c.n,
                ranked.c.a,
                ranked.c.m,
                ranked.c.lo,
            ).where(or_(*wanted))
            per_key: dict[str | None, tuple[int, float, float, float, dict[int, float]]] = {}
            for key, index, v, n, a, m, lo in (await self._session.execute(stmt)).all():
                entry = per_key.setdefault(key, (int(n), float(a), float(m), float(lo), {}))
                entry[4][int(index)] = float(v)
            for key, (n, a, m, lo, ranks) in per_key.items():
                target = key if partition is not None else OVERALL
                p50, p95, p99 = (_interpolate(n, p, ranks) for p in PERCENTILES)
                found[target] = Percentiles(n, a, p50, p95, p99, m, lo)
        found.setdefault(OVERALL, Percentiles(0, None, None, None, None, None))
        return found


__all__ = [
    "FAILED_STATUSES",
    "OVERALL",
    "PERCENTILES",
    "Percentiles",
    "RawStats",
    "StatsRepository",
    "StatsScope",
    "percentile_cont",
]
