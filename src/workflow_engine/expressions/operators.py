"""CEL operator implementations with the numeric behaviour workflow authors expect.

Plain CEL refuses to mix ``int`` and ``double`` (``3 > 2.5`` is an error) and divides integers
with truncation (``3 / 5 == 0``). Process variables arrive from JSON, where ``4`` and ``4.0``
are the same number, and conditions such as ``nrOfCompletedInstances / nrOfInstances >= 0.5``
come from Camunda/JUEL, where division is exact. So these operators replace cel-python's:

* ``int`` and ``double`` mix freely in ``+ - * % < <= > >= == !=``; a mixed result is a double.
* ``/`` is exact division: ``6 / 3 == 2`` (an int, because it divides evenly) and
  ``3 / 5 == 0.6`` (a double). Division or modulo by zero is an error, never ``inf``.
* Integer arithmetic stays 64-bit and reports overflow as an error.
* ``==`` / ``!=`` between values of unrelated types (``'1' == 1``, ``x == null``) is simply
  false / true instead of an error, so null checks work.
* Every failure becomes an error whose message says which operator failed on which types.

Errors are returned (not raised) as :class:`ReportedError` values: cel-python propagates
error values through the expression so ``true || <error>`` can still be ``true``.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Mapping
from typing import Any

from celpy import celtypes
from celpy.evaluation import CELEvalError

from workflow_engine.expressions.budget import check_size
from workflow_engine.expressions.values import (
    ConversionError,
    cel_type_name,
    is_number,
    to_python,
)

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_UINT64_MAX = 2**64 - 1


class ReportedError(CELEvalError):
    """An evaluation error whose message is already written for the user.

    Attributes:
        message: What went wrong (without the expression; that is added by the caller).
        missing_variable: The absent variable or member path, when that is the cause.

    """

    def __init__(self, message: str, *, missing_variable: str | None = None) -> None:
        super().__init__(message, TypeError, (message,))
        self.message = message
        self.missing_variable = missing_variable


def _first_error(*values: Any) -> CELEvalError | None:
    for value in values:
        if isinstance(value, CELEvalError):
            return value
    return None


def _types(*values: Any) -> str:
    return " and ".join(cel_type_name(v) for v in values)


def _make_int(value: int, *, unsigned: bool) -> Any:
    if unsigned:
        if not 0 <= value <= _UINT64_MAX:
            return ReportedError("unsigned integer overflow")
        return celtypes.UintType(value)
    if not _INT64_MIN <= value <= _INT64_MAX:
        return ReportedError("integer overflow: the result does not fit in 64 bits")
    return celtypes.IntType(value)


def _both_unsigned(a: Any, b: Any) -> bool:
    return isinstance(a, celtypes.UintType) and isinstance(b, celtypes.UintType)


def _numeric(symbol: str, a: Any, b: Any) -> Any:
    """Apply an arithmetic operator to two numbers (ints stay ints unless mixed with doubles)."""
    if isinstance(a, float) or isinstance(b, float):
        x, y = float(a), float(b)
        if symbol == "+":
            return celtypes.DoubleType(x + y)
        if symbol == "-":
            return celtypes.DoubleType(x - y)
        if symbol == "*":
            return celtypes.DoubleType(x * y)
        if y == 0:
            return ReportedError("division by zero" if symbol == "/" else "modulo by zero")
        if symbol == "/":
            return celtypes.DoubleType(x / y)
        return celtypes.DoubleType(math.fmod(x, y))
    i, j = int(a), int(b)
    unsigned = _both_unsigned(a, b)
    if symbol == "+":
        return _make_int(i + j, unsigned=unsigned)
    if symbol == "-":
        return _make_int(i - j, unsigned=unsigned)
    if symbol == "*":
        return _make_int(i * j, unsigned=unsigned)
    if j == 0:
        return ReportedError("division by zero" if symbol == "/" else "modulo by zero")
    if symbol == "/":
        if i % j == 0:
            return _make_int(i // j, unsigned=unsigned)
        return celtypes.DoubleType(i / j)
    # CEL (like C and Java) truncates: the remainder has the sign of the dividend.
    remainder = abs(i) % abs(j)
    return _make_int(-remainder if i < 0 else remainder, unsigned=unsigned)


def _arithmetic(symbol: str) -> Callable[[Any, Any], Any]:
    def operate(a: Any, b: Any) -> Any:
        error = _first_error(a, b)
        if error is not None:
            return error
        if is_number(a) and is_number(b):
            return _numeric(symbol, a, b)
        if symbol in "+-" and _temporal_pair(a, b):
            try:
                return a + b if symbol == "+" else a - b
            except (TypeError, ValueError, OverflowError) as exc:
                return ReportedError(f"operator '{symbol}' failed on {_types(a, b)}: {exc}")
        if symbol == "+":
            if isinstance(a, str | bytes | list) and type(a) is type(b):
                too_large = check_size(len(a) + len(b), "operator '+'")
                if too_large is not None:
                    return ReportedError(too_large)
            if isinstance(a, str) and isinstance(b, str):
                return celtypes.StringType(str(a) + str(b))
            if isinstance(a, bytes) and isinstance(b, bytes):
                return celtypes.BytesType(bytes(a) + bytes(b))
            if isinstance(a, list) and isinstance(b, list):
                return celtypes.ListType([*a, *b])
        hint = ""
        if symbol == "+" and (isinstance(a, str) or isinstance(b, str)):
            hint = " (convert with string(x) to concatenate)"
        return ReportedError(f"operator '{symbol}' cannot be applied to {_types(a, b)}{hint}")

    return operate


def _temporal_pair(a: Any, b: Any) -> bool:
    temporal = (datetime.datetime, datetime.timedelta)
    return isinstance(a, temporal) and isinstance(b, temporal)


def _negate(a: Any) -> Any:
    if isinstance(a, CELEvalError):
        return a
    if is_number(a):
        if isinstance(a, float):
            return celtypes.DoubleType(-float(a))
        if isinstance(a, celtypes.UintType):
            return ReportedError("operator '-' cannot be applied to uint")
        return _make_int(-int(a), unsigned=False)
    if isinstance(a, datetime.timedelta):
        return celtypes.DurationType(-a)
    return ReportedError(f"operator '-' cannot be applied to {cel_type_name(a)}")


def _plain(value: Any) -> Any:
    return to_python(value, path="value")


def _plain_equal(a: Any, b: Any) -> bool:
    """Deep equality of plain values where 1 == 1.0 but True != 1 and '1' != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if is_number(a) and is_number(b):
        return bool(a == b)
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        if len(a) != len(b):
            return False
        for key, item in a.items():
            match = [k for k in b if _plain_equal(k, key)]
            if not match or not _plain_equal(item, b[match[0]]):
                return False
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_plain_equal(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is not type(b):
        return False
    return bool(a == b)


def values_equal(a: Any, b: Any) -> Any:
    """CEL ``==`` with numeric promotion and heterogeneous comparisons being false."""
    error = _first_error(a, b)
    if error is not None:
        return error
    if isinstance(a, type) or isinstance(b, type):
        # Type values (``type(x) == int``) are compared by identity.
        return celtypes.BoolType(a is b or a == b)
    try:
        return celtypes.BoolType(_plain_equal(_plain(a), _plain(b)))
    except ConversionError:
        return celtypes.BoolType(a is b)


def _not_equal(a: Any, b: Any) -> Any:
    result = values_equal(a, b)
    if isinstance(result, CELEvalError):
        return result
    return celtypes.BoolType(not result)


_ORDERED_KINDS: tuple[type, ...] = (str, bytes, datetime.datetime, datetime.timedelta)


def _ordering(symbol: str, test: Callable[[Any, Any], bool]) -> Callable[[Any, Any], Any]:
    def compare(a: Any, b: Any) -> Any:
        error = _first_error(a, b)
        if error is not None:
            return error
        if is_number(a) and is_number(b):
            return celtypes.BoolType(test(_plain(a), _plain(b)))
        is_bool = (bool, celtypes.BoolType)
        if isinstance(a, is_bool) and isinstance(b, is_bool):
            return celtypes.BoolType(test(bool(a), bool(b)))
        for kind in _ORDERED_KINDS:
            if isinstance(a, kind) and isinstance(b, kind):
                try:
                    return celtypes.BoolType(test(_plain(a), _plain(b)))
                except TypeError:
                    break  # e.g. naive vs aware datetimes
        return ReportedError(f"cannot compare {_types(a, b)} with '{symbol}'")

    return compare


def _holds(result: Any) -> bool:
    return _is_bool(result) and bool(result)


def _membership(item: Any, container: Any) -> Any:
    error = _first_error(item, container)
    if error is not None:
        return error
    if isinstance(container, list):
        return celtypes.BoolType(any(_holds(values_equal(item, x)) for x in container))
    if isinstance(container, Mapping):
        return celtypes.BoolType(any(_holds(values_equal(item, key)) for key in container))
    return ReportedError(
        f"operator 'in' needs a list or map on its right, got {cel_type_name(container)}"
    )


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool | celtypes.BoolType)


def _logical(symbol: str, native: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def combine(a: Any, b: Any) -> Any:
        if not _is_bool(a) and not _is_bool(b):
            error = _first_error(a, b)
            if error is not None:
                return error
            return ReportedError(f"operator '{symbol}' needs bool operands, got {_types(a, b)}")
        result = native(a, b)
        if not _is_bool(result) and not isinstance(result, CELEvalError):
            # CEL is commutative: "x && true" is x, which must itself be a bool.
            return ReportedError(f"operator '{symbol}' needs bool operands, got {_types(a, b)}")
        return result

    return combine


def _logical_not(a: Any) -> Any:
    if isinstance(a, CELEvalError):
        return a
    if _is_bool(a):
        return celtypes.BoolType(not a)
    return ReportedError(f"operator '!' needs a bool, got {cel_type_name(a)}")


def _conditional(condition: Any, when_true: Any, when_false: Any) -> Any:
    if isinstance(condition, CELEvalError):
        return condition
    if not _is_bool(condition):
        return ReportedError(
            f"the condition before '?' must be a bool, got {cel_type_name(condition)}"
        )
    return when_true if condition else when_false


#: Replacements for cel-python's operator functions, keyed by its internal operator names.
OPERATORS: dict[str, Callable[..., Any]] = {
    "_+_": _arithmetic("+"),
    "_-_": _arithmetic("-"),
    "_*_": _arithmetic("*"),
    "_/_": _arithmetic("/"),
    "_%_": _arithmetic("%"),
    "-_": _negate,
    "!_": _logical_not,
    "_==_": values_equal,
    "_!=_": _not_equal,
    "_<_": _ordering("<", lambda a, b: bool(a < b)),
    "_<=_": _ordering("<=", lambda a, b: bool(a <= b)),
    "_>_": _ordering(">", lambda a, b: bool(a > b)),
    "_>=_": _ordering(">=", lambda a, b: bool(a >= b)),
    "_in_": _membership,
    "_&&_": _logical("&&", celtypes.logical_and),
    "_||_": _logical("||", celtypes.logical_or),
    "_?_:_": _conditional,
}
