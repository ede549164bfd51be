"""The global stream's cursor and the bookkeeping behind it: which row ids are still open.

Event row ids (`process_event.id`) come from one database sequence, but concurrent
transactions commit in any order, a rolled-back transaction leaves its ids unused, and a worker
killed between its commit and its publish never publishes. So "the highest id sent" alone says
nothing about the ids below it. A :class:`GapTracker` keeps:

* `high`: every id up to it has been accounted for — sent, seen and left out by the filter,
  found absent, or still listed as open;
* the open gaps: ids at or below `high` that were neither sent nor seen, each with a deadline.
  A gap is closed when its row turns up (sent if it passes the filter) or, once the deadline
  passes, as absent (a row may never exist: sequences skip on rollback). The deadline — the
  grace window — must be longer than any transaction that writes events may stay open.

Every id is sent at most once: an id at or below `high` is sent only while it is an open gap.

The cursor a client resumes with (the SSE event id) carries both: `"1234"` when nothing is
open, `"1234~1200,1201"` otherwise (`high`, then the open gaps). A plain integer is accepted as
before (no gaps). Resuming on any replica re-reads exactly the ids that could still be missing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from workflow_engine.services.errors import InvalidArgumentError

__all__ = ["MAX_CURSOR_GAPS", "MAX_OPEN_GAPS", "GapTracker", "GlobalCursor"]

#: Open gaps one stream tracks; beyond that the oldest are given up (closed as absent).
MAX_OPEN_GAPS = 10_000
#: Open gaps a cursor carries (the newest ones: older ones are the likeliest to be final).
MAX_CURSOR_GAPS = 100

_SEPARATOR = "~"


@dataclass(frozen=True, slots=True)
class GlobalCursor:
    """Where a global stream stands: the highest id accounted for and the ids still open."""

    high: int
    gaps: tuple[int, ...] = ()

    @classmethod
    def parse(cls, text: str) -> GlobalCursor:
        """Read a cursor written by :meth:`__str__` (or a plain event id).

        Raises:
            InvalidArgumentError: naming what is wrong with it.
        """
        head, _, tail = text.strip().partition(_SEPARATOR)
        high = _non_negative(head, text)
        gaps = tuple(sorted({_non_negative(part, text) for part in tail.split(",") if part}))
        if len(gaps) > MAX_CURSOR_GAPS:
            raise InvalidArgumentError(
                f"last_event_id lists {len(gaps)} open ids; at most {MAX_CURSOR_GAPS} are allowed"
            )
        if gaps and gaps[-1] >= high:
            raise InvalidArgumentError(
                f"last_event_id {text!r}: the open ids after '~' must be below {high}"
            )
        return cls(high=high, gaps=gaps)

    def __str__(self) -> str:
        if not self.gaps:
            return str(self.high)
        return f"{self.high}{_SEPARATOR}{','.join(map(str, self.gaps))}"


def _non_negative(part: str, text: str) -> int:
    try:
        value = int(part)
    except ValueError:
        raise InvalidArgumentError(
            f"last_event_id must be a cursor from this stream (an event id, optionally "
            f"followed by '~' and the ids still open), got {text!r}"
        ) from None
    if value < 0:
        raise InvalidArgumentError(f"last_event_id must not hold negative ids, got {text!r}")
    return value


class GapTracker:
    """Which ids a global stream has accounted for, and which are still open (see module doc).

    Args:
        start: The cursor to continue from.
        grace_seconds: How long an open id may take to turn up before it is given up.
        clock: Monotonic seconds (tests pass their own).
    """

    def __init__(
        self,
        start: GlobalCursor,
        *,
        grace_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._grace = grace_seconds
        self.high = start.high
        deadline = clock() + grace_seconds
        self._open: dict[int, float] = dict.fromkeys(start.gaps, deadline)

    @property
    def open_gaps(self) -> list[int]:
        """The open ids, lowest first."""
        return sorted(self._open)

    def cursor(self) -> GlobalCursor:
        """The cursor of what has been accounted for (the newest open ids, bounded)."""
        return GlobalCursor(high=self.high, gaps=tuple(self.open_gaps[-MAX_CURSOR_GAPS:]))

    def take(self, event_id: int) -> bool:
        """Account for `event_id`; True when it is new (send it), False for a repeat."""
        if event_id > self.high:
            self._open_range(self.high + 1, event_id - 1, present=())
            self.high = event_id
            return True
        return self._open.pop(event_id, None) is not None

    def advance(self, through: int, present: Iterable[int]) -> None:
        """Account for every id up to `through`: those not `present` become open gaps.

        `present` are the ids known to exist in `(high, through]` (the caller sends the ones
        that pass its filter); the others may still commit.
        """
        if through <= self.high:
            return
        self._open_range(self.high + 1, through, present=set(present))
        self.high = through

    def expire(self) -> list[int]:
        """Close the gaps whose grace has passed (as absent); returns them."""
        now = self._clock()
        gone = [gap for gap, deadline in self._open.items() if deadline <= now]
        for gap in gone:
            del self._open[gap]
        return gone

    def _open_range(self, first: int, last: int, *, present: set[int] | tuple[()]) -> None:
        if last < first:
            return
        # A huge jump (a cursor far behind, another tenant's burst) opens only the newest ids.
        first = max(first, last - MAX_OPEN_GAPS + 1)
        deadline = self._clock() + self._grace
        for gap in range(first, last + 1):
            if gap not in present:
                self._open[gap] = deadline
        if len(self._open) > MAX_OPEN_GAPS:
            for gap in sorted(self._open)[: len(self._open) - MAX_OPEN_GAPS]:
                del self._open[gap]
