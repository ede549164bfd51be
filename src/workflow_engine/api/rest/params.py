"""Bounded request parameters: what the database can hold, checked before it is asked.

An unbounded `int` path or query parameter let 2^63 through to a BIGINT column (PostgreSQL:
"bigint out of range", SQLite: "Python int too large") and a date such as
`0001-01-01T00:00:00+23:59` through to the UTC conversion (OverflowError): each was a 500.
These annotated types make them a 400 naming the parameter, and document the range in the
OpenAPI document.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator

from workflow_engine.model.json_values import INT64_MAX

__all__ = [
    "INT32_MAX",
    "DatabaseId",
    "OptionalDatabaseIdQuery",
    "OptionalMoment",
    "OptionalNonNegativeQuery",
    "OptionalVersionQuery",
]

#: Largest value of a 32-bit INTEGER column (definition versions).
INT32_MAX = 2**31 - 1


def _storable_moment(value: datetime | None) -> datetime | None:
    """Refuse a moment that has no UTC equivalent within the years 1 .. 9999."""
    if value is None or value.tzinfo is None:
        return value  # a missing time zone is reported by the route, naming the parameter
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError(
            "the date-time is outside the years 1 .. 9999 once converted to UTC"
        ) from None
    return value


#: A row id in the path (BIGINT): 1 .. 2^63-1.
DatabaseId = Annotated[int, Path(ge=1, le=INT64_MAX)]
#: A row id filter in the query (BIGINT).
OptionalDatabaseIdQuery = Annotated[int | None, Query(ge=1, le=INT64_MAX)]
#: A definition version filter (INTEGER).
OptionalVersionQuery = Annotated[int | None, Query(ge=1, le=INT32_MAX)]
#: A count or duration in the query (BIGINT).
OptionalNonNegativeQuery = Annotated[int | None, Query(ge=0, le=INT64_MAX)]
#: A date-time filter whose UTC equivalent exists.
OptionalMoment = Annotated[datetime | None, AfterValidator(_storable_moment)]
