"""ISO 8601 durations, dates and cycles."""

from __future__ import annotations

import datetime

import pytest

from workflow_engine.expressions.timers import (
    Cycle,
    TimerSyntaxError,
    parse_cycle,
    parse_date,
    parse_duration,
    parse_timer,
)

UTC = datetime.UTC
H = datetime.timedelta(hours=1)


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0
) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT5M", datetime.timedelta(minutes=5)),
        ("P1DT2H", datetime.timedelta(days=1, hours=2)),
        ("PT0S", datetime.timedelta(0)),
        ("PT1H30M", datetime.timedelta(hours=1, minutes=30)),
        ("P2W", datetime.timedelta(weeks=2)),
        ("PT0.5S", datetime.timedelta(milliseconds=500)),
        (" PT1S ", datetime.timedelta(seconds=1)),
        ("P1D", datetime.timedelta(days=1)),
    ],
)
def test_parse_duration(text: str, expected: datetime.timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("-PT5M", "negative durations are not allowed"),
        ("P", "expected ISO 8601 such as 'PT5M'"),
        ("PT", "expected ISO 8601 such as 'PT5M'"),
        ("5M", "expected ISO 8601"),
        ("PT5", "expected ISO 8601"),
        ("", "expected ISO 8601"),
        ("P1Y", "years and months have no fixed length"),
        ("P1M", "years and months have no fixed length"),
        ("P99999999999999D", "out of range"),
        ("R3/PT1M", "expected ISO 8601"),
    ],
)
def test_parse_duration_errors(text: str, fragment: str) -> None:
    with pytest.raises(TimerSyntaxError) as info:
        parse_duration(text)
    assert fragment in info.value.message
    assert info.value.value == text
    assert isinstance(info.value, ValueError)


def test_calendar_duration_with_base() -> None:
    assert parse_duration("P1M", base=at(2026, 1, 31)) == datetime.timedelta(days=28)
    assert parse_duration("P1Y", base=at(2024, 1, 1)) == datetime.timedelta(days=366)
    assert parse_duration("P1M", base=datetime.datetime(2026, 3, 1)) == datetime.timedelta(31)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01T10:00:00Z", at(2026, 12, 1, 10)),
        ("2026-12-01T10:00:00+02:00", at(2026, 12, 1, 8)),
        ("2026-12-01T10:00:00", at(2026, 12, 1, 10)),
        ("2026-12-01", at(2026, 12, 1)),
        ("2026-12-01T10:00:00.250Z", at(2026, 12, 1, 10, 0, 0, 250000)),
    ],
)
def test_parse_date(text: str, expected: datetime.datetime) -> None:
    parsed = parse_date(text)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize("text", ["tomorrow", "2026-13-01T00:00:00Z", "", "PT5M", "2026-12-01T"])
def test_parse_date_errors(text: str) -> None:
    with pytest.raises(TimerSyntaxError, match="invalid date"):
        parse_date(text)


def test_parse_cycle_forms() -> None:
    assert parse_cycle("R3/PT10M") == Cycle(3, datetime.timedelta(minutes=10))
    assert parse_cycle("R/PT1H") == Cycle(None, H)
    assert parse_cycle("R2/2026-12-01T10:00:00Z/PT1H") == Cycle(2, H, start=at(2026, 12, 1, 10))
    assert parse_cycle("R/PT1H/2026-12-31T00:00:00Z") == Cycle(None, H, end=at(2026, 12, 31))
    assert parse_cycle("R5/2026-01-01T00:00:00Z/2026-01-02T00:00:00Z") == Cycle(
        5, datetime.timedelta(days=1), start=at(2026, 1, 1)
    )
    assert parse_cycle("R0/PT1M").repetitions == 0


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("PT1H", "a plain duration is not a cycle"),
        ("0 0 * * *", "cron expressions are not supported"),
        ("R/PT0S", "the interval must be longer than zero"),
        ("R3", "expected ISO 8601 such as 'R3/PT10M'"),
        ("R3/PT1H/PT2H", "two durations cannot form a cycle"),
        ("R3/2026-01-01T00:00:00Z", "the part after 'R' must be a duration"),
        ("R3/PT1X", "invalid cycle 'R3/PT1X': invalid duration 'PT1X'"),
        ("R3/-PT1H", "negative durations are not allowed"),
        ("R99999999999/PT1H", "at most 1000000000 repetitions"),
        ("R/a/b/c", "expected ISO 8601"),
        ("R/2026-01-02T00:00:00Z/2026-01-01T00:00:00Z", "longer than zero"),
    ],
)
def test_parse_cycle_errors(text: str, fragment: str) -> None:
    with pytest.raises(TimerSyntaxError) as info:
        parse_cycle(text)
    assert fragment in info.value.message


def test_parse_timer_dispatch() -> None:
    assert parse_timer("duration", "PT5M") == datetime.timedelta(minutes=5)
    assert parse_timer("timer_date", "2026-12-01T10:00:00Z") == at(2026, 12, 1, 10)
    assert parse_timer("cycle", "R/PT1H") == Cycle(None, H)
    with pytest.raises(TimerSyntaxError, match="unknown timer kind 'weekly'"):
        parse_timer("weekly", "PT1H")


def test_fire_times_without_start_count_from_arming() -> None:
    cycle = parse_cycle("R3/PT10M")
    armed = at(2026, 1, 1)
    ten = datetime.timedelta(minutes=10)
    assert cycle.fire_times(armed, 10) == [armed + ten, armed + 2 * ten, armed + 3 * ten]
    assert cycle.fire_times(armed, 2) == [armed + ten, armed + 2 * ten]
    # Continuing after the first fire keeps the same schedule and remaining repetitions.
    assert cycle.fire_times(armed + ten, 10, armed_at=armed) == [armed + 2 * ten, armed + 3 * ten]
    assert cycle.fire_times(armed + 3 * ten, 10, armed_at=armed) == []
    assert cycle.fire_times(armed, 0) == []


def test_fire_times_with_start() -> None:
    cycle = parse_cycle("R2/2026-12-01T10:00:00Z/PT1H")
    start = at(2026, 12, 1, 10)
    assert cycle.fire_times(at(2026, 11, 1), 5) == [start, start + H]
    assert cycle.fire_times(start, 5) == [start, start + H]  # arming exactly at start
    assert cycle.fire_times(start, 5, armed_at=start) == [start + H]  # continuing
    assert cycle.fire_times(start + H / 2, 5) == [start + H]  # a missed fire still counts
    assert cycle.fire_times(start + 3 * H, 5) == []


def test_fire_times_unbounded_and_with_end() -> None:
    unbounded = parse_cycle("R/PT1H")
    armed = at(2026, 1, 1)
    assert len(unbounded.fire_times(armed, 1000)) == 1000
    ending = parse_cycle("R/PT1H/2026-01-01T03:00:00Z")
    assert ending.fire_times(armed, 10) == [armed + H, armed + 2 * H, armed + 3 * H]


def test_fire_times_far_after_start_jump_directly() -> None:
    cycle = parse_cycle("R/2000-01-01T00:00:00Z/PT1S")
    after = at(2026, 1, 1)
    assert cycle.fire_times(after, 2) == [after, after + datetime.timedelta(seconds=1)]


def test_fire_time_by_index() -> None:
    cycle = parse_cycle("R2/PT1H")
    armed = at(2026, 1, 1)
    assert cycle.fire_time(0, armed_at=armed) == armed + H
    assert cycle.fire_time(1, armed_at=armed) == armed + 2 * H
    assert cycle.fire_time(2, armed_at=armed) is None
    assert cycle.fire_time(-1, armed_at=armed) is None


def test_non_string_inputs() -> None:
    with pytest.raises(TimerSyntaxError, match="must be a string"):
        parse_duration(5)  # type: ignore[arg-type]
    with pytest.raises(TimerSyntaxError, match="must be a string"):
        parse_cycle(None)  # type: ignore[arg-type]
