"""JSON values the engine can store and send back unchanged.

JSON text may carry values that no store round-trips: Python's `json` reads `NaN`, `Infinity`
and `-Infinity` (not JSON at all), turns `1e400` into infinity, builds integers of any size
(and refuses more than 4,300 digits with a bare ValueError); PostgreSQL rejects NUL characters
in text and JSONB; a lone UTF-16 surrogate cannot even be encoded as UTF-8. Such values were
stored as `null`, became floats or failed deep in the database with a 500. Here they are
found at the edge, with the path of the first offending value:

* numbers: finite doubles, and integers within 64-bit signed range (-2^63 .. 2^63-1; what
  PostgreSQL's BIGINT, SQLite's INTEGER and JSON Schema validators hold exactly);
* strings (values and object keys): no NUL character and no lone surrogate.

`loads_strict` parses JSON text and checks it; `first_unstorable` checks an already decoded
value (a gRPC Struct, a dict built in code).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from workflow_engine.model.paths import ROOT, index_path, key_path

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "JsonValueError",
    "UnstorableValue",
    "first_unstorable",
    "loads_strict",
    "string_problem",
]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

#: More digits than any 64-bit integer has: refused before `int()` converts them.
_MAX_INT_DIGITS = 19

_BAD_CHARACTER = re.compile("[\x00\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class UnstorableValue:
    """Where a value that cannot be stored is, and why.

    Attributes:
        path: Path of the value (`variables.n`, `items[2]`; `$` for the whole document).
        message: What is wrong with it.
    """

    path: str
    message: str


class JsonValueError(ValueError):
    """JSON text holds a value that cannot be stored (see `UnstorableValue`)."""

    def __init__(self, problem: UnstorableValue) -> None:
        super().__init__(f"{problem.path}: {problem.message}")
        self.problem = problem


@dataclass(frozen=True, slots=True)
class _Refused:
    """A number token the strict parser did not convert (NaN, an overflow, too many digits)."""

    reason: str


def _constant(token: str) -> _Refused:
    return _Refused(f"{token} is not a JSON number; send a finite number or null")


def _float(token: str) -> float | _Refused:
    value = float(token)
    if math.isinf(value):
        return _Refused(
            f"the number {_abbreviated(token)} is too large for a double-precision number"
        )
    return value


def _int(token: str) -> int | _Refused:
    if len(token.lstrip("-")) > _MAX_INT_DIGITS:
        return _Refused(_int_range_message(_abbreviated(token)))
    return int(token)


def _abbreviated(token: str) -> str:
    return token if len(token) <= 24 else f"{token[:10]}...{token[-4:]} ({len(token)} digits)"


def _int_range_message(shown: str) -> str:
    return (
        f"the integer {shown} is outside the 64-bit range {INT64_MIN} .. {INT64_MAX}; "
        "send larger numbers as strings"
    )


def string_problem(text: str) -> str | None:
    """Why `text` cannot be stored (a NUL character, a lone surrogate), or None."""
    bad = _BAD_CHARACTER.search(text)
    if bad is None:
        return None
    if bad.group() == "\x00":
        return f"contains a NUL character (\\u0000) at position {bad.start()}"
    return f"contains a lone UTF-16 surrogate (\\u{ord(bad.group()):04x}) at position {bad.start()}"


def _scalar_problem(value: object) -> str | None:
    if isinstance(value, _Refused):
        return value.reason
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if INT64_MIN <= value <= INT64_MAX else _int_range_message(str(value))
    if isinstance(value, float):
        return None if math.isfinite(value) else _constant(repr(value)).reason
    if isinstance(value, str):
        return string_problem(value)
    return None


def first_unstorable(value: Any, path: str = ROOT) -> UnstorableValue | None:
    """The first value (depth first, in document order) that cannot be stored, or None.

    Walks without recursion, so a deeply nested value cannot exhaust the stack.

    Args:
        value: A decoded JSON value (dicts, lists, scalars).
        path: The path of `value` itself.
    """
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        current, where = stack.pop()
        if isinstance(current, Mapping):
            children: list[tuple[Any, str]] = []
            for key, child in current.items():
                if isinstance(key, str):
                    problem = string_problem(key)
                    if problem is not None:
                        return UnstorableValue(where, f"the key {_safe_repr(key)} {problem}")
                children.append((child, key_path(where, _safe_key(key))))
            stack.extend(reversed(children))
        elif isinstance(current, list | tuple):
            stack.extend(
                reversed([(child, index_path(where, i)) for i, child in enumerate(current)])
            )
        else:
            problem = _scalar_problem(current)
            if problem is not None:
                return UnstorableValue(where, problem)
    return None


def loads_strict(text: str | bytes) -> Any:
    """Parse JSON text, refusing values that cannot be stored.

    Raises:
        json.JSONDecodeError: the text is not JSON.
        JsonValueError: a value cannot be stored; names its path.
    """
    document = json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    problem = first_unstorable(document)
    if problem is not None:
        raise JsonValueError(problem)
    return document


def _safe_key(key: object) -> str:
    # A path must be encodable as UTF-8 in the error answer itself.
    text = str(key)
    return (
        text if string_problem(text) is None else text.encode("utf-8", "backslashreplace").decode()
    )


def _safe_repr(text: str) -> str:
    return json.dumps(text[:40])
