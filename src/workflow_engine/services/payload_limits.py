"""Limits on variable payloads that enter the engine from outside.

A start, a task completion, a set-variables call, a signal or a message carries variables that
end up in Temporal's history, the event log and the variable table: an unbounded payload would
bloat all three (and Temporal refuses blobs over a few MB anyway, far later and less clearly).
Each entry point checks its payload once, here, before anything is written or sent:

* a value that cannot be stored unchanged (NaN, infinity, an integer beyond 64 bits, a NUL
  character or lone surrogate; `model.json_values`) -> 400 naming its path (gRPC Structs
  reach the services without the REST edge's check);
* nesting deeper than `max_depth` -> 422 LIMIT_EXCEEDED naming the variable (checked first,
  without recursion, so a hostile 100,000-deep value cannot blow the stack);
* one value larger than `max_value_bytes` (compact JSON, UTF-8) -> 413 naming the variable;
* the whole payload larger than `max_total_bytes` -> 413 naming the largest variable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workflow_engine.model.issues import ValidationIssue
from workflow_engine.model.json_values import first_unstorable
from workflow_engine.services.errors import (
    InvalidArgumentError,
    LimitExceededError,
    PayloadTooLargeError,
)

if TYPE_CHECKING:
    from workflow_engine.config import Settings

__all__ = ["PayloadLimits", "json_size", "nesting_depth"]


def json_size(value: Any) -> int:
    """Bytes of `value` as compact UTF-8 JSON (what is stored and sent).

    Values JSON cannot represent natively (dates from a gRPC Struct, ...) count as their
    string form, which is how they are stored.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return len(text.encode("utf-8"))


def nesting_depth(value: Any, *, stop_after: int | None = None) -> int:
    """How deeply objects / arrays nest in `value` (a scalar is 0, `[1]` is 1, `{"a": []}` 2).

    Args:
        value: A JSON-like value.
        stop_after: Return as soon as the depth exceeds this (the exact depth of a hostile
            value is not worth walking all of it).
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, Mapping):
            children: Any = current.values()
        elif isinstance(current, list | tuple):
            children = current
        else:
            continue
        depth += 1
        if depth > deepest:
            deepest = depth
            if stop_after is not None and deepest > stop_after:
                return deepest
        stack.extend((child, depth) for child in children)
    return deepest


@dataclass(frozen=True, slots=True)
class PayloadLimits:
    """The configured limits (`Settings.max_variables_bytes`, ...).

    Attributes:
        max_total_bytes: Largest JSON size of a whole payload.
        max_value_bytes: Largest JSON size of one variable's value.
        max_depth: Deepest nesting of objects / arrays in one value.
    """

    max_total_bytes: int = 524_288
    max_value_bytes: int = 262_144
    max_depth: int = 32

    @classmethod
    def from_settings(cls, settings: Settings) -> PayloadLimits:
        """The limits of a `Settings` object."""
        return cls(
            max_total_bytes=settings.max_variables_bytes,
            max_value_bytes=settings.max_variable_value_bytes,
            max_depth=settings.max_variable_depth,
        )

    def check(self, variables: Mapping[str, Any], *, path: str = "variables") -> None:
        """Refuse a payload over a limit; the error names the variable and the limit.

        Args:
            variables: The payload (name -> value), already checked to be a mapping.
            path: Where the payload sits in the request (`variables`), for the details.

        Raises:
            InvalidArgumentError: a value cannot be stored unchanged: NaN / infinite or
                overflowing numbers, integers beyond 64 bits, NUL characters or lone
                surrogates in strings (400, naming the value's path).
            LimitExceededError: a value nests deeper than `max_depth` (422).
            PayloadTooLargeError: a value, or the whole payload, is too large (413).
        """
        for name, value in variables.items():
            depth = nesting_depth(value, stop_after=self.max_depth)
            if depth > self.max_depth:
                message = (
                    f"variable '{name}' nests objects / arrays more than {self.max_depth} "
                    "levels deep"
                )
                raise LimitExceededError(
                    f"{path}.{name}: {message}",
                    details=[ValidationIssue(f"{path}.{name}", message, "VARIABLE_TOO_DEEP")],
                )
        problem = first_unstorable(dict(variables), path)
        if problem is not None:
            raise InvalidArgumentError(
                f"{problem.path}: {problem.message}",
                details=[ValidationIssue(problem.path, problem.message, "UNSTORABLE_VALUE")],
            )
        sizes = {name: json_size(value) for name, value in variables.items()}
        for name, size in sizes.items():
            if size > self.max_value_bytes:
                message = (
                    f"variable '{name}' is {size} bytes as JSON; at most "
                    f"{self.max_value_bytes} bytes are allowed per variable"
                )
                raise PayloadTooLargeError(
                    f"{path}.{name}: {message}",
                    details=[ValidationIssue(f"{path}.{name}", message, "VARIABLE_TOO_LARGE")],
                )
        total = json_size(dict(variables)) if sizes else 2
        if total > self.max_total_bytes:
            largest = max(sizes, key=lambda n: sizes[n])
            message = (
                f"the variables are {total} bytes as JSON; at most {self.max_total_bytes} bytes "
                f"are allowed (largest: '{largest}', {sizes[largest]} bytes)"
            )
            raise PayloadTooLargeError(
                f"{path}: {message}",
                details=[ValidationIssue(path, message, "VARIABLES_TOO_LARGE")],
            )
