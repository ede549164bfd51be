"""ISO 8601 timer values: durations, dates and cycles.

Durations (``PT5M``), dates (``2026-12-01T10:00:00Z``) and cycles (``R3/PT10M``, ``R/PT1H``,
``R2/2026-12-01T10:00:00Z/PT1H``, ``R/PT1H/2026-12-31T00:00:00Z``).

All results are timezone-aware UTC datetimes and plain ``timedelta`` values, so they serialise
cleanly and compare deterministically inside workflow code.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Literal

import isodate

_DURATION_SHAPE = re.compile(
    r"P(?=\d|T\d)"
    r"(?:\d+(?:[.,]\d+)?Y)?(?:\d+(?:[.,]\d+)?M)?(?:\d+(?:[.,]\d+)?W)?(?:\d+(?:[.,]\d+)?D)?"
    r"(?:T(?=\d)(?:\d+(?:[.,]\d+)?H)?(?:\d+(?:[.,]\d+)?M)?(?:\d+(?:[.,]\d+)?S)?)?"
)
_REPETITIONS = re.compile(r"R(\d*)")
_MAX_REPETITIONS = 10**9

TimerKind = Literal["date", "duration", "cycle"]


class TimerSyntaxError(ValueError):
    """A timer value is not valid ISO 8601 (or uses a form the engine does not support).

    Attributes:
        value: The text as given.
        message: What is wrong, naming the value and the expected form.

    """

    def __init__(self, message: str, *, value: str) -> None:
        super().__init__(message)
        self.message = message
        self.value = value

    def __str__(self) -> str:
        return self.message


def _text(text: object, what: str) -> str:
    if not isinstance(text, str):
        raise TimerSyntaxError(
            f"a timer {what} must be a string, got {type(text).__name__}", value=str(text)
        )
    return text.strip()


def parse_duration(text: str, *, base: datetime.datetime | None = None) -> datetime.timedelta:
    """Parse an ISO 8601 duration such as ``PT5M``, ``P1DT2H``, ``P2W`` or ``PT0S``.

    Years and months have no fixed length, so ``P1M`` is only accepted together with ``base``
    (the moment the duration starts), which fixes it on the calendar: one month from January
    31st ends on the last day of February.

    Args:
        text: The duration.
        base: Start of the duration, needed only for years/months.

    Returns:
        A non-negative ``timedelta``.

    Raises:
        TimerSyntaxError: for malformed or negative durations, or years/months without a base.

    """
    value = _text(text, "duration")
    if value.startswith("-"):
        raise TimerSyntaxError(
            f"invalid duration {value!r}: negative durations are not allowed", value=text
        )
    if not _DURATION_SHAPE.fullmatch(value):
        raise TimerSyntaxError(
            f"invalid duration {value!r}: expected ISO 8601 such as 'PT5M', 'PT1H30M', "
            "'P1DT2H' or 'PT0S'",
            value=text,
        )
    try:
        parsed = isodate.parse_duration(value)
    except (OverflowError, ArithmeticError):
        raise TimerSyntaxError(f"invalid duration {value!r}: out of range", value=text) from None
    except ValueError as exc:
        raise TimerSyntaxError(f"invalid duration {value!r}: {exc}", value=text) from None
    if isinstance(parsed, datetime.timedelta):
        return parsed
    # An isodate.Duration: it has years and/or months.
    if base is None:
        raise TimerSyntaxError(
            f"invalid duration {value!r}: years and months have no fixed length; "
            "use days, hours, minutes or seconds (e.g. 'P30D', 'PT12H')",
            value=text,
        )
    start = _aware(base)
    try:
        return (start + parsed) - start  # type: ignore[no-any-return]
    except (ValueError, OverflowError, ArithmeticError) as exc:
        raise TimerSyntaxError(f"invalid duration {value!r}: {exc}", value=text) from None


def _aware(moment: datetime.datetime) -> datetime.datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC)


def parse_date(text: str) -> datetime.datetime:
    """Parse an ISO 8601 date-time (``2026-12-01T10:00:00Z``, ``...+02:00``) or date.

    A date-time without an offset is taken as UTC; a bare date means midnight UTC.

    Returns:
        A timezone-aware datetime in UTC.

    Raises:
        TimerSyntaxError: when the text is not an ISO 8601 date or date-time.

    """
    value = _text(text, "date")
    try:
        if "T" in value.upper():
            parsed = isodate.parse_datetime(value)
        else:
            day = isodate.parse_date(value)
            parsed = datetime.datetime(day.year, day.month, day.day)
    except (ValueError, OverflowError, ArithmeticError, TypeError) as exc:
        raise TimerSyntaxError(
            f"invalid date {value!r}: expected ISO 8601 such as '2026-12-01T10:00:00Z' ({exc})",
            value=text,
        ) from None
    if not isinstance(parsed, datetime.datetime):  # pragma: no cover - isodate contract
        raise TimerSyntaxError(f"invalid date {value!r}", value=text)
    try:
        return _aware(parsed)
    except (ValueError, OverflowError) as exc:
        raise TimerSyntaxError(f"invalid date {value!r}: {exc}", value=text) from None


@dataclass(frozen=True, slots=True)
class Cycle:
    """A repeating timer.

    Attributes:
        repetitions: How many times it fires; ``None`` means without limit (``R/...``).
        interval: Time between fires (always positive).
        start: First fire time (``R2/<start>/PT1H``); ``None``: one interval after arming.
        end: No fire after this moment (``R/PT1H/<end>``); ``None``: no end.

    """

    repetitions: int | None
    interval: datetime.timedelta
    start: datetime.datetime | None = None
    end: datetime.datetime | None = None

    def fire_time(self, index: int, *, armed_at: datetime.datetime) -> datetime.datetime | None:
        """Return fire time number ``index`` (0-based), or ``None`` when the cycle is exhausted.

        Args:
            index: Which fire (0 is the first).
            armed_at: When the timer was armed; the schedule starts here unless ``start`` is set.

        """
        if index < 0 or (self.repetitions is not None and index >= self.repetitions):
            return None
        try:
            if self.start is not None:
                moment = self.start + self.interval * index
            else:
                moment = _aware(armed_at) + self.interval * (index + 1)
        except OverflowError:
            return None
        if self.end is not None and moment > self.end:
            return None
        return moment

    def fire_times(
        self,
        after: datetime.datetime,
        limit: int,
        *,
        armed_at: datetime.datetime | None = None,
    ) -> list[datetime.datetime]:
        """Return the next fire times, in order, at most ``limit`` of them.

        Two uses:

        * Arming (``armed_at`` omitted): ``after`` is the arming moment; returns the fires at
          or after it. Without ``start`` the first fire is ``after + interval``; with a
          ``start`` in the past, the fires already missed count against ``repetitions``.
        * Continuing after a fire at ``t``: ``fire_times(t, n, armed_at=<arming moment>)``
          returns the fires strictly after ``t`` of the same schedule.

        Args:
            after: Lower bound (inclusive when arming, exclusive when continuing).
            limit: Maximum number of times returned.
            armed_at: The original arming moment when continuing a schedule.

        Returns:
            Ascending UTC datetimes; empty when the cycle is exhausted.

        """
        if limit <= 0:
            return []
        moment = _aware(after)
        origin = _aware(armed_at) if armed_at is not None else moment
        inclusive = armed_at is None
        # Jump straight to the first candidate instead of stepping through the past.
        anchor = self.start if self.start is not None else origin + self.interval
        index = 0
        if moment > anchor:
            index = (moment - anchor) // self.interval
        times: list[datetime.datetime] = []
        while len(times) < limit:
            fire = self.fire_time(index, armed_at=origin)
            if fire is None:
                break
            if fire > moment or (inclusive and fire == moment):
                times.append(fire)
            index += 1
        return times


def parse_cycle(text: str) -> Cycle:
    """Parse an ISO 8601 repeating interval.

    Accepted forms: ``R3/PT10M`` (3 times, every 10 minutes from arming), ``R/PT1H``
    (unbounded), ``R2/2026-12-01T10:00:00Z/PT1H`` (from a start date), ``R/PT1H/<end date>``
    (until an end date) and ``R5/<start>/<end>`` (interval = end - start). A plain duration is
    not a cycle.

    Raises:
        TimerSyntaxError: naming the value and the expected form.

    """
    value = _text(text, "cycle")
    expected = "expected ISO 8601 such as 'R3/PT10M', 'R/PT1H' or 'R2/2026-12-01T10:00:00Z/PT1H'"
    parts = value.split("/")
    repetition = _REPETITIONS.fullmatch(parts[0])
    if repetition is None or len(parts) not in {2, 3}:
        if value.startswith("P"):
            expected += "; a plain duration is not a cycle (prefix it with 'R/' or 'Rn/')"
        elif len(value.split()) in {5, 6}:
            expected += "; cron expressions are not supported"
        raise TimerSyntaxError(f"invalid cycle {value!r}: {expected}", value=text)
    digits = repetition.group(1)
    if len(digits) > 10 or (digits and int(digits) > _MAX_REPETITIONS):
        raise TimerSyntaxError(
            f"invalid cycle {value!r}: at most {_MAX_REPETITIONS} repetitions", value=text
        )
    repetitions = int(digits) if digits else None

    def part(index: int) -> datetime.timedelta | datetime.datetime:
        piece = parts[index]
        try:
            if piece.startswith(("P", "-P")):
                return parse_duration(piece)
            return parse_date(piece)
        except TimerSyntaxError as exc:
            raise TimerSyntaxError(f"invalid cycle {value!r}: {exc.message}", value=text) from None

    start: datetime.datetime | None = None
    end: datetime.datetime | None = None
    first = part(1)
    if len(parts) == 2:
        if not isinstance(first, datetime.timedelta):
            raise TimerSyntaxError(
                f"invalid cycle {value!r}: the part after 'R' must be a duration; {expected}",
                value=text,
            )
        interval = first
    else:
        second = part(2)
        if isinstance(first, datetime.datetime) and isinstance(second, datetime.timedelta):
            start, interval = first, second
        elif isinstance(first, datetime.timedelta) and isinstance(second, datetime.datetime):
            interval, end = first, second
        elif isinstance(first, datetime.datetime) and isinstance(second, datetime.datetime):
            start, interval = first, second - first
        else:
            raise TimerSyntaxError(
                f"invalid cycle {value!r}: two durations cannot form a cycle; {expected}",
                value=text,
            )
    if interval <= datetime.timedelta(0):
        raise TimerSyntaxError(
            f"invalid cycle {value!r}: the interval must be longer than zero", value=text
        )
    return Cycle(repetitions=repetitions, interval=interval, start=start, end=end)


def parse_timer(kind: str, text: str) -> datetime.timedelta | datetime.datetime | Cycle:
    """Parse a timer definition of the given kind.

    Args:
        kind: ``"date"``, ``"duration"`` or ``"cycle"`` (a ``timer_`` prefix is accepted).
        text: The ISO 8601 value.

    Raises:
        TimerSyntaxError: for an unknown kind or an invalid value.

    """
    normalized = kind.removeprefix("timer_") if isinstance(kind, str) else kind
    if normalized == "date":
        return parse_date(text)
    if normalized == "duration":
        return parse_duration(text)
    if normalized == "cycle":
        return parse_cycle(text)
    raise TimerSyntaxError(
        f"unknown timer kind {kind!r}: expected 'date', 'duration' or 'cycle'", value=str(text)
    )
