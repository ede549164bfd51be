"""Conversion between plain Python values and cel-python (``celpy.celtypes``) values.

Callers only ever see plain Python: ``bool``, ``int``, ``float``, ``str``, ``bytes``,
``None``, ``list``, ``dict``, plus ``datetime``/``timedelta`` for CEL timestamps/durations.
"""

from __future__ import annotations

import datetime
import decimal
import math
from collections.abc import Mapping
from typing import Any

from celpy import celtypes

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


class ConversionError(Exception):
    """Internal: a value has no CEL (or no plain Python) counterpart.

    ``path`` names where inside the value the problem is (``order.items[2]``).
    """

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


def to_cel(value: Any, *, path: str) -> Any:
    """Convert a plain Python value into the matching ``celtypes`` value.

    Args:
        value: The value (nested dicts and lists are converted recursively).
        path: Where the value comes from, for error messages (e.g. the variable name).

    Raises:
        ConversionError: for unsupported types, integers outside 64 bits, bad map keys.

    """
    if value is None:
        return None
    if isinstance(value, bool):  # before int: bool is an int subclass
        return celtypes.BoolType(value)
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ConversionError(
                f"'{path}' holds {value}, an integer outside the 64-bit range", path=path
            )
        return celtypes.IntType(value)
    if isinstance(value, float):
        return celtypes.DoubleType(value)
    if isinstance(value, decimal.Decimal):
        return celtypes.DoubleType(float(value))
    if isinstance(value, str):
        return celtypes.StringType(value)
    if isinstance(value, bytes | bytearray):
        return celtypes.BytesType(bytes(value))
    if isinstance(value, datetime.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=datetime.UTC)
        return celtypes.TimestampType(aware.astimezone(datetime.UTC))
    if isinstance(value, datetime.date):
        midnight = datetime.datetime(value.year, value.month, value.day, tzinfo=datetime.UTC)
        return celtypes.TimestampType(midnight)
    if isinstance(value, datetime.timedelta):
        try:
            return celtypes.DurationType(value)
        except ValueError:
            raise ConversionError(f"'{path}' holds a duration out of range", path=path) from None
    if isinstance(value, Mapping):
        converted: dict[Any, Any] = {}
        for key, item in value.items():
            if isinstance(key, bool | int | str):
                cel_key = to_cel(key, path=f"{path}.{key}")
            else:
                raise ConversionError(
                    f"'{path}' has a key of type {type(key).__name__}; map keys must be "
                    "strings, integers or booleans",
                    path=path,
                )
            converted[cel_key] = to_cel(item, path=f"{path}.{key}")
        return celtypes.MapType(converted)
    if isinstance(value, list | tuple):
        return celtypes.ListType(
            [to_cel(item, path=f"{path}[{i}]") for i, item in enumerate(value)]
        )
    raise ConversionError(
        f"'{path}' holds a value of type {type(value).__name__}, which expressions cannot use",
        path=path,
    )


def to_python(value: Any, *, path: str = "result") -> Any:
    """Convert a ``celtypes`` value (or plain value) back into plain Python.

    Raises:
        ConversionError: when the value is not data (a type or function object).

    """
    if value is None:
        return None
    if isinstance(value, bool | celtypes.BoolType):  # before int: BoolType is an int subclass
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, datetime.datetime):
        return datetime.datetime(
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
            tzinfo=datetime.UTC if value.tzinfo is None else value.tzinfo,
        ).astimezone(datetime.UTC)
    if isinstance(value, datetime.timedelta):
        return datetime.timedelta(
            days=value.days, seconds=value.seconds, microseconds=value.microseconds
        )
    if isinstance(value, Mapping):
        return {
            to_python(key, path=path): to_python(item, path=f"{path}.{key}")
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [to_python(item, path=f"{path}[{i}]") for i, item in enumerate(value)]
    kind = "a type" if isinstance(value, type) else f"a {type(value).__name__}"
    raise ConversionError(f"{path} is {kind}, not a value", path=path)


def cel_type_name(value: Any) -> str:
    """Return the CEL name of a value's type for error messages (``int``, ``string``...)."""
    if value is None:
        return "null"
    if isinstance(value, bool | celtypes.BoolType):
        return "bool"
    if isinstance(value, celtypes.UintType):
        return "uint"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bytes):
        return "bytes"
    if isinstance(value, datetime.datetime):
        return "timestamp"
    if isinstance(value, datetime.timedelta):
        return "duration"
    if isinstance(value, Mapping):
        return "map"
    if isinstance(value, list):
        return "list"
    if isinstance(value, type):
        return "type"
    return type(value).__name__


def is_number(value: Any) -> bool:
    """Whether ``value`` is a CEL/Python number (booleans are not numbers)."""
    return isinstance(value, int | float) and not isinstance(value, bool | celtypes.BoolType)


def is_integral(value: float) -> bool:
    """Whether a float holds a whole number (used to keep ``6/3`` an int)."""
    return math.isfinite(value) and value == int(value)
