"""`wfe reencrypt`: move every sealed value in the database to the active key.

Walks the tables that hold sealed values (`process_variable`, `historic_variable_instance`,
`process_event`) in primary-key order, one transaction per batch. A row is rewritten only
when it holds an envelope of another key, and only if it still holds exactly what was read
(a concurrent write wins; the next run picks the row up). Rows already under the active key
are left alone, so a run is idempotent, and an interrupted run resumes by running again
(`after_id` skips what an earlier run reported as done).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, Text, cast, select, update

from workflow_engine.crypto.envelope import ENVELOPE_MARK, rekey_tree
from workflow_engine.crypto.keyring import KeyRing
from workflow_engine.store.database import Database
from workflow_engine.store.tables import HistoricVariableInstance, ProcessEvent, ProcessVariable

__all__ = ["ReencryptReport", "TableProgress", "reencrypt"]

_VARIABLE: Table = ProcessVariable.__table__  # type: ignore[assignment]
_HVARIABLE: Table = HistoricVariableInstance.__table__  # type: ignore[assignment]
_EVENT: Table = ProcessEvent.__table__  # type: ignore[assignment]

#: (table, column holding values, column naming the value or None for whole documents).
_TARGETS: tuple[tuple[Table, str, str | None], ...] = (
    (_VARIABLE, "value", "name"),
    (_HVARIABLE, "value", "name"),
    (_EVENT, "event_data", None),
)


@dataclass
class TableProgress:
    """What one table's pass did."""

    table: str
    scanned: int = 0
    rewritten: int = 0
    skipped_changed: int = 0
    last_id: int = 0


@dataclass
class ReencryptReport:
    """The outcome of a run, per table."""

    active_key: str
    tables: list[TableProgress] = field(default_factory=list)

    @property
    def rewritten(self) -> int:
        """Rows rewritten in all tables."""
        return sum(t.rewritten for t in self.tables)


async def reencrypt(
    database: Database,
    ring: KeyRing,
    *,
    batch_size: int = 500,
    after_id: dict[str, int] | None = None,
    on_batch: Callable[[TableProgress], None] | None = None,
) -> ReencryptReport:
    """Re-seal every value sealed by a key other than `ring.active_id`.

    Args:
        database: The application database.
        ring: Holds the active key and every key found in the data.
        batch_size: Rows per transaction.
        after_id: Per table name, the last id an earlier (interrupted) run finished.
        on_batch: Called after each committed batch (progress output).

    Raises:
        UnknownKeyError: a value names a key the ring does not hold (nothing of that batch
            is written; earlier batches stay done).
        ValueError: `batch_size` is not positive.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    report = ReencryptReport(active_key=ring.active_id)
    for table, column, name_column in _TARGETS:
        progress = TableProgress(table=table.name, last_id=(after_id or {}).get(table.name, 0))
        report.tables.append(progress)
        while True:
            done = await _batch(database, ring, table, column, name_column, progress, batch_size)
            if on_batch is not None:
                on_batch(progress)
            if done:
                break
    return report


async def _batch(
    database: Database,
    ring: KeyRing,
    table: Table,
    column: str,
    name_column: str | None,
    progress: TableProgress,
    batch_size: int,
) -> bool:
    """One batch; True when the table has no rows after it."""
    value = table.c[column]
    raw = cast(value, Text)
    names = [table.c[name_column]] if name_column is not None else []
    async with database.session() as session:
        rows = (
            await session.execute(
                select(table.c.id, table.c.process_instance_id, raw, *names)
                .where(table.c.id > progress.last_id)
                .order_by(table.c.id)
                .limit(batch_size)
            )
        ).all()
        for row in rows:
            row_id, instance_id, text = row[0], row[1], row[2]
            progress.scanned += 1
            if text is None or ENVELOPE_MARK not in text:
                continue
            name = row[3] if name_column is not None else ""
            data: Any = json.loads(text)
            rekeyed, changed = rekey_tree(ring, data, instance_id=instance_id, name=name)
            if not changed:
                continue
            # Only if the row still holds what was read: a concurrent writer wins.
            result = await session.execute(
                update(table).where(table.c.id == row_id, raw == text).values({column: rekeyed})
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                progress.rewritten += 1
            else:
                progress.skipped_changed += 1
        if rows:
            progress.last_id = rows[-1][0]
    return len(rows) < batch_size
