"""Execution budgets of one expression evaluation: a step budget and a size cap.

An expression is code written by whoever may deploy a definition, and it runs inside the
engine: in Temporal workflow code (conditions, mappings, script tasks), in activities (the
``script`` built-in) and in the API process. Five nested ``.map`` over ten items took 80 s; a
nested ``fn:replace`` grew a string 8x per level into hundreds of megabytes. Both limits here
are counts, never clocks, so an evaluation that fails, fails the same way on every replay.

* **Steps**: every node of the syntax tree the evaluator visits costs one step, and so does
  every element a comprehension (``map``, ``filter``, ``all``, ``exists``, ``exists_one``)
  iterates over (on top of the steps of its body). Nested comprehensions multiply, so they hit
  the budget quickly. :data:`MAX_EVALUATION_STEPS` is sized so that an evaluation that uses it
  all ends in well under a second: far below Temporal's two-second deadlock detection.
* **Size**: no string, bytes, list or map an expression builds may exceed
  :data:`MAX_VALUE_SIZE` characters / bytes / items. Operators and built-in functions compute
  the size of their result *before* building it (``fn:replace`` counts the occurrences first),
  so a value that would be too large is never allocated.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "MAX_EVALUATION_STEPS",
    "MAX_VALUE_SIZE",
    "BudgetExceededError",
    "EvaluationBudget",
    "check_size",
    "value_size",
]

#: Steps (syntax-tree visits + comprehension iterations) one evaluation may take.
MAX_EVALUATION_STEPS = 25_000

#: Largest string (characters), bytes, list or map (items) an expression may produce.
MAX_VALUE_SIZE = 1_048_576


class BudgetExceededError(Exception):
    """Internal: the evaluation ran out of steps; raised through cel-python, never returned.

    It is deliberately not a cel-python error value: those can be swallowed by ``||``, ``&&``
    and ``exists``, and an exhausted budget must end the whole evaluation.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(f"evaluation budget of {limit} steps exceeded")
        self.limit = limit


class EvaluationBudget:
    """The steps left to one evaluation, shared by the evaluators of its comprehensions."""

    __slots__ = ("limit", "remaining")

    def __init__(self, limit: int = MAX_EVALUATION_STEPS) -> None:
        """Start with `limit` steps."""
        self.limit = limit
        self.remaining = limit

    def spend(self, steps: int = 1) -> None:
        """Take `steps` steps.

        Raises:
            BudgetExceededError: when fewer than `steps` were left.
        """
        self.remaining -= steps
        if self.remaining < 0:
            raise BudgetExceededError(self.limit)


def value_size(value: Any) -> int | None:
    """The size the cap applies to: length of a str / bytes / list / map, else None."""
    if isinstance(value, str | bytes | bytearray | list | tuple | dict):
        return len(value)
    return None


def check_size(size: int, what: str) -> str | None:
    """A message when a value of `size` would exceed :data:`MAX_VALUE_SIZE`, else None.

    Args:
        size: Characters, bytes or items the value would have.
        what: What builds it, e.g. ``"fn:replace"`` or ``"operator '+'"``.
    """
    if size > MAX_VALUE_SIZE:
        return (
            f"{what} would produce a value of {size} characters / items, "
            f"more than the limit of {MAX_VALUE_SIZE}"
        )
    return None
