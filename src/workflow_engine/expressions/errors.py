"""Exceptions raised by the expression package.

Every failure the package can produce is one of these, so callers (validation, the engine's
incident handling, the REST layer) need exactly one ``except ExpressionError`` to turn a bad
expression into a clear message instead of a crash.
"""

from __future__ import annotations

from typing import Any


class ExpressionError(Exception):
    """Base class of every expression problem.

    Attributes:
        expression: The expression text as the user wrote it (e.g. ``"${a > 1}"``).
        message: A plain-language description that already names the expression.

    """

    def __init__(self, message: str, *, expression: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.expression = expression

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only attributes are not in ``self.args``; without this an unpickled copy
        # (e.g. crossing a process boundary) would lose ``expression``.
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))


def _rebuild(cls: type[ExpressionError], message: str, state: dict[str, Any]) -> ExpressionError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class ExpressionSyntaxError(ExpressionError):
    """The expression cannot be compiled: the message says what is wrong and where."""


class ExpressionEvaluationError(ExpressionError):
    """The expression compiled but could not be evaluated against the given variables.

    Attributes:
        missing_variable: The variable (or dotted member path such as ``user.age``) that was
            referenced but absent, when that is the cause; otherwise ``None``.

    """

    def __init__(
        self, message: str, *, expression: str = "", missing_variable: str | None = None
    ) -> None:
        super().__init__(message, expression=expression)
        self.missing_variable = missing_variable
