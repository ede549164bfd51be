"""Custom functions callable from expressions as ``fn:name(arg, ...)``.

Functions receive and return plain Python values. They run inside Temporal workflow code, so
they must be deterministic: no clocks, randomness or I/O (which is why there is no ``fn:now``).
"""

from __future__ import annotations

import decimal
import math
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from workflow_engine.expressions.budget import check_size
from workflow_engine.expressions.operators import ReportedError
from workflow_engine.expressions.source import FUNCTION_PREFIX
from workflow_engine.expressions.values import ConversionError, to_cel, to_python

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

#: Signature of a callable as cel-python calls it (celtypes in, celtypes or error out).
CelCallable = Callable[..., Any]


def _adapt(name: str, fn: Callable[..., Any]) -> CelCallable:
    """Wrap a plain-Python function so cel-python can call it and every failure is reported."""

    def call(*args: Any) -> Any:
        try:
            plain = [to_python(arg, path=f"argument {i + 1}") for i, arg in enumerate(args)]
        except ConversionError as exc:
            return ReportedError(f"fn:{name}: {exc.message}")
        try:
            result = fn(*plain)
        except Exception as exc:  # a user function must never crash the evaluation
            detail = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            return ReportedError(f"fn:{name} failed: {detail}")
        try:
            return to_cel(result, path=f"the result of fn:{name}")
        except ConversionError as exc:
            return ReportedError(exc.message)

    call.__name__ = FUNCTION_PREFIX + name
    return call


class FunctionRegistry:
    """Named functions for ``fn:name(...)`` calls.

    A registry is mutable until frozen; :meth:`register` returns the registry so calls chain.
    Evaluating with a registry also sees :data:`DEFAULT_FUNCTIONS` (the registry's own
    functions win on a name clash).

    Example:
        >>> registry = FunctionRegistry().register("double", lambda x: x * 2)
        >>> "double" in registry
        True

    """

    def __init__(
        self,
        functions: Mapping[str, Callable[..., Any]] | None = None,
        *,
        frozen: bool = False,
    ) -> None:
        """Create a registry.

        Args:
            functions: Initial name → callable entries.
            frozen: Refuse later :meth:`register` calls (used for shared registries).

        """
        self._lock = threading.Lock()
        self._functions: dict[str, Callable[..., Any]] = {}
        self._adapted: dict[str, CelCallable] = {}
        self._frozen = False
        for name, fn in (functions or {}).items():
            self.register(name, fn)
        self._frozen = frozen

    @staticmethod
    def _check_name(name: object) -> str:
        if not isinstance(name, str):
            raise TypeError(f"function name must be a string, got {type(name).__name__}")
        bare = name.removeprefix("fn:")
        if not _NAME.fullmatch(bare):
            raise ValueError(
                f"invalid function name {name!r}: use letters, digits and '_' "
                "(not starting with a digit)"
            )
        return bare

    def register(self, name: str, fn: Callable[..., Any]) -> FunctionRegistry:
        """Add (or replace) a function.

        Args:
            name: The name used in expressions as ``fn:<name>``; a leading ``fn:`` is allowed.
            fn: A deterministic callable taking and returning plain Python values.

        Returns:
            This registry, for chaining.

        Raises:
            ValueError: for an invalid name or a frozen registry.
            TypeError: when ``fn`` is not callable.

        """
        bare = self._check_name(name)
        if not callable(fn):
            raise TypeError(f"function {bare!r} must be callable, got {type(fn).__name__}")
        if self._frozen:
            raise ValueError(
                f"cannot register {bare!r}: this function registry is frozen; "
                "register on a copy() instead"
            )
        with self._lock:
            self._functions[bare] = fn
            self._adapted[FUNCTION_PREFIX + bare] = _adapt(bare, fn)
        return self

    def names(self) -> frozenset[str]:
        """Return the registered names (without the ``fn:`` prefix)."""
        with self._lock:
            return frozenset(self._functions)

    def get(self, name: str) -> Callable[..., Any] | None:
        """Return the function registered as ``name`` (``fn:`` prefix optional), or ``None``."""
        with self._lock:
            return self._functions.get(name.removeprefix("fn:"))

    def copy(self) -> FunctionRegistry:
        """Return a mutable copy with the same functions."""
        with self._lock:
            return FunctionRegistry(dict(self._functions))

    @property
    def frozen(self) -> bool:
        """Whether :meth:`register` is refused."""
        return self._frozen

    def cel_functions(self) -> dict[str, CelCallable]:
        """Return the functions as cel-python calls them, keyed by their rewritten names."""
        with self._lock:
            return dict(self._adapted)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        with self._lock:
            return name.removeprefix("fn:") in self._functions

    def __len__(self) -> int:
        with self._lock:
            return len(self._functions)

    def __repr__(self) -> str:
        return f"FunctionRegistry({sorted(self.names())})"


# --- built-in functions ------------------------------------------------------------------


def _require_str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, got {_kind(value)}")
    return value


def _require_number(value: Any, what: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{what} must be a number, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _upper(text: Any) -> str:
    return _require_str(text, "the argument").upper()


def _lower(text: Any) -> str:
    return _require_str(text, "the argument").lower()


def _trim(text: Any) -> str:
    return _require_str(text, "the argument").strip()


def _len(value: Any) -> int:
    if isinstance(value, str | list | dict | bytes):
        return len(value)
    raise TypeError(f"the argument must be a string, list or map, got {_kind(value)}")


def _substring(text: Any, start: Any, end: Any = None) -> str:
    value = _require_str(text, "the first argument")
    first = int(_require_number(start, "start"))
    if end is None:
        return value[first:]
    return value[first : int(_require_number(end, "end"))]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e16 else repr(value)
    return str(value)


def _limit(size: int, what: str) -> None:
    """Refuse to build a value of `size` characters beyond the expression size cap."""
    too_large = check_size(size, what)
    if too_large is not None:
        raise ValueError(too_large)


def _concat(*parts: Any) -> str:
    texts = [_text(part) for part in parts]
    _limit(sum(len(text) for text in texts), "fn:concat")
    return "".join(texts)


def _join(items: Any, separator: Any = "") -> str:
    if not isinstance(items, list):
        raise TypeError(f"the first argument must be a list, got {_kind(items)}")
    sep = _require_str(separator, "the separator")
    texts = [_text(item) for item in items]
    _limit(sum(len(text) for text in texts) + len(sep) * max(len(texts) - 1, 0), "fn:join")
    return sep.join(texts)


def _split(text: Any, separator: Any) -> list[str]:
    sep = _require_str(separator, "the separator")
    if not sep:
        raise ValueError("the separator must not be empty")
    return _require_str(text, "the first argument").split(sep)


def _replace(text: Any, old: Any, new: Any) -> str:
    value = _require_str(text, "the first argument")
    pattern = _require_str(old, "the second argument")
    replacement = _require_str(new, "the third argument")
    # The result's length, known before building it: an empty pattern matches between every
    # two characters and at both ends.
    hits = value.count(pattern) if pattern else len(value) + 1
    _limit(len(value) + hits * (len(replacement) - len(pattern)), "fn:replace")
    return value.replace(pattern, replacement)


def _coalesce(*values: Any) -> Any:
    return next((value for value in values if value is not None), None)


def _numbers(values: tuple[Any, ...]) -> list[int | float]:
    items: Iterable[Any] = values[0] if len(values) == 1 and isinstance(values[0], list) else values
    numbers = [_require_number(item, "every argument") for item in items]
    if not numbers:
        raise ValueError("needs at least one number")
    return numbers


def _min(*values: Any) -> int | float:
    return min(_numbers(values))


def _max(*values: Any) -> int | float:
    return max(_numbers(values))


def _sum(*values: Any) -> int | float:
    items: Iterable[Any] = values[0] if len(values) == 1 and isinstance(values[0], list) else values
    return sum(_require_number(item, "every argument") for item in items)


def _abs(value: Any) -> int | float:
    return abs(_require_number(value, "the argument"))


def _round(value: Any, digits: Any = 0) -> int | float:
    number = _require_number(value, "the first argument")
    places = int(_require_number(digits, "digits"))
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError("cannot round a non-finite number")
    # Half-up, as people round by hand (Python's round() is half-to-even: round(2.5) == 2).
    quantum = decimal.Decimal(1).scaleb(-places)
    rounded = decimal.Decimal(str(number)).quantize(quantum, rounding=decimal.ROUND_HALF_UP)
    return int(rounded) if places <= 0 else float(rounded)


def _floor(value: Any) -> int:
    return math.floor(_require_number(value, "the argument"))


def _ceil(value: Any) -> int:
    return math.ceil(_require_number(value, "the argument"))


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str | list | dict | bytes):
        return len(value) == 0
    raise TypeError(f"the argument must be a string, list, map or null, got {_kind(value)}")


#: Built-in functions available in every evaluation (a frozen registry: ``copy()`` to extend).
DEFAULT_FUNCTIONS = FunctionRegistry(
    {
        "upper": _upper,
        "lower": _lower,
        "trim": _trim,
        "len": _len,
        "substring": _substring,
        "concat": _concat,
        "join": _join,
        "split": _split,
        "replace": _replace,
        "coalesce": _coalesce,
        "isEmpty": _is_empty,
        "min": _min,
        "max": _max,
        "sum": _sum,
        "abs": _abs,
        "round": _round,
        "floor": _floor,
        "ceil": _ceil,
    },
    frozen=True,
)
