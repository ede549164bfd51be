"""Column types shared by the tables: UTC timestamps that behave the same on both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC (every timestamp column's default)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp stored in UTC.

    PostgreSQL keeps the offset itself (``timestamptz``) but SQLite stores a bare string and
    hands back naive values; converting to UTC on the way in and tagging UTC on the way out
    makes both databases return the same aware datetimes, and keeps SQLite's string
    ordering equal to time ordering.

    Naive datetimes are rejected: guessing their zone would silently shift times.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Normalise to UTC; refuse naive values with a clear message."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}: {value!r}")
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            raise ValueError(
                f"naive datetime {value.isoformat()} given for a timestamp column; "
                "pass a timezone-aware datetime (e.g. datetime.now(UTC))"
            )
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime whatever the driver produced."""
        if value is None:
            return None
        # SQLite without type detection may hand back the stored string.
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
