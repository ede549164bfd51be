"""GlobalCursor (the global stream's resume token) and GapTracker (its open ids)."""

from __future__ import annotations

import pytest

from workflow_engine.services.errors import InvalidArgumentError
from workflow_engine.services.global_cursor import (
    MAX_CURSOR_GAPS,
    MAX_OPEN_GAPS,
    GapTracker,
    GlobalCursor,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_cursor_round_trip_and_plain_ids() -> None:
    assert str(GlobalCursor(1234)) == "1234"
    assert str(GlobalCursor(1234, (1200, 1201))) == "1234~1200,1201"
    assert GlobalCursor.parse("1234~1201,1200") == GlobalCursor(1234, (1200, 1201))
    assert GlobalCursor.parse(" 77 ") == GlobalCursor(77)
    assert GlobalCursor.parse("9~") == GlobalCursor(9)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("abc", "a cursor from this stream"),
        ("5~x", "a cursor from this stream"),
        ("-3", "negative"),
        ("5~5", "below 5"),
        ("5~" + ",".join(str(n) for n in range(MAX_CURSOR_GAPS + 1)), "at most"),
    ],
)
def test_malformed_cursors_say_what_is_wrong(text: str, why: str) -> None:
    with pytest.raises(InvalidArgumentError, match=why):
        GlobalCursor.parse(text)


def test_each_id_is_taken_once_and_skipped_ids_stay_open() -> None:
    tracker = GapTracker(GlobalCursor(10), grace_seconds=30, clock=Clock())
    assert tracker.take(11)
    assert tracker.take(14)  # 12 and 13 may still commit
    assert tracker.open_gaps == [12, 13]
    assert str(tracker.cursor()) == "14~12,13"
    assert not tracker.take(14) and not tracker.take(11) and not tracker.take(9)  # repeats
    assert tracker.take(13) and not tracker.take(13)
    assert str(tracker.cursor()) == "14~12"


def test_advance_opens_only_what_is_not_present() -> None:
    tracker = GapTracker(GlobalCursor(0), grace_seconds=30, clock=Clock())
    tracker.advance(6, {1, 2, 4, 6})
    assert tracker.high == 6 and tracker.open_gaps == [3, 5]
    tracker.advance(5, set())  # behind: nothing changes
    assert tracker.open_gaps == [3, 5]


def test_gaps_close_as_absent_after_the_grace_window() -> None:
    clock = Clock()
    tracker = GapTracker(GlobalCursor(10, (7,)), grace_seconds=30, clock=clock)
    tracker.take(12)  # opens 11
    clock.now += 29
    assert tracker.expire() == [] and tracker.open_gaps == [7, 11]
    clock.now += 1
    assert sorted(tracker.expire()) == [7, 11]
    assert str(tracker.cursor()) == "12"
    assert not tracker.take(11)  # given up: a row turning up later is not sent


def test_open_gaps_and_cursors_are_bounded() -> None:
    tracker = GapTracker(GlobalCursor(0), grace_seconds=30, clock=Clock())
    tracker.take(3 * MAX_OPEN_GAPS)
    gaps = tracker.open_gaps
    assert len(gaps) == MAX_OPEN_GAPS and gaps[-1] == 3 * MAX_OPEN_GAPS - 1
    cursor = tracker.cursor()
    assert len(cursor.gaps) == MAX_CURSOR_GAPS and cursor.gaps[-1] == gaps[-1]
    assert GlobalCursor.parse(str(cursor)) == cursor
