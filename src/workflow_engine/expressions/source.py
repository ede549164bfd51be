"""Source-level handling of expression text: the ``${...}`` wrapper and ``fn:`` calls.

CEL itself knows neither ``${...}`` nor ``fn:name(...)``. Both are peeled off / rewritten here
with a scanner that understands CEL string literals, so a ``}`` or ``fn:`` *inside a string*
is never mistaken for syntax.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflow_engine.expressions.errors import ExpressionSyntaxError

#: Prefix a ``fn:name`` call is rewritten to; CEL identifiers cannot contain ``:``.
#: ``fn:`` and ``fn_`` have the same length, so error columns stay valid after the rewrite.
FUNCTION_PREFIX = "fn_"

_IDENT_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_IDENT_CHARS = _IDENT_START | frozenset("0123456789")


class UnterminatedStringError(Exception):
    """Internal: a string literal opened at ``start`` is never closed."""

    def __init__(self, start: int) -> None:
        super().__init__(start)
        self.start = start


def skip_string(text: str, start: int) -> int:
    """Return the index just past the CEL string literal that begins at ``start``.

    ``start`` points at the opening quote or at an ``r``/``b`` prefix. Handles single, double
    and triple quotes; a backslash always protects the next character from closing it.

    Raises:
        UnterminatedStringError: when the literal never closes.

    """
    i = start
    while i < len(text) and text[i] in "rRbB":
        i += 1
    quote = text[i]
    if text.startswith(quote * 3, i):
        delimiter = quote * 3
        i += 3
    else:
        delimiter = quote
        i += 1
    while i < len(text):
        if text.startswith(delimiter, i):
            return i + len(delimiter)
        char = text[i]
        if char == "\\":
            # Even in raw strings a backslash keeps the next quote from closing the literal
            # (as in Python, and as cel-python's lexer does); only its *meaning* differs.
            i += 2
            continue
        if char in "\r\n" and len(delimiter) == 1:
            break  # single-quoted CEL strings cannot span lines
        i += 1
    raise UnterminatedStringError(start)


def string_start(text: str, i: int) -> bool:
    """Whether a string literal (possibly ``r``/``b``-prefixed) starts at index ``i``."""
    char = text[i]
    if char in "'\"":
        return True
    if char not in "rRbB" or (i > 0 and text[i - 1] in _IDENT_CHARS):
        return False
    j = i
    while j < len(text) and j - i < 2 and text[j] in "rRbB":
        j += 1
    return j < len(text) and text[j] in "'\""


@dataclass(frozen=True, slots=True)
class Unwrapped:
    """The CEL body of an expression text and where it sits in the original text."""

    cel: str
    offset: int
    wrapped: bool


def _closing_brace(text: str, open_index: int) -> int | None:
    """Index of the ``}`` matching the ``{`` at ``open_index`` (string-literal aware)."""
    depth = 0
    i = open_index
    while i < len(text):
        char = text[i]
        if string_start(text, i):
            try:
                i = skip_string(text, i)
            except UnterminatedStringError:
                return None
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def is_expression(text: object) -> bool:
    """Whether ``text`` is a string that is exactly one ``${...}`` expression.

    Surrounding whitespace is ignored. ``"Hello ${name}"`` and ``"${a} ${b}"`` are not
    expressions (there is no string interpolation); neither is an unbalanced ``"${a"``.

    Args:
        text: Any value; non-strings are never expressions.

    Returns:
        True when the stripped string starts with ``${`` whose matching ``}`` is its last
        character.

    """
    if not isinstance(text, str):
        return False
    stripped = text.strip()
    if not stripped.startswith("${"):
        return False
    return _closing_brace(stripped, 1) == len(stripped) - 1


def looks_like_expression(text: object) -> bool:
    """Whether ``text`` is meant as an expression: a string starting with ``${`` (stripped).

    Unlike :func:`is_expression` this is also true for malformed text such as ``"${a"``, so
    callers evaluate it and get a clear syntax error rather than a silent literal.
    """
    return isinstance(text, str) and text.strip().startswith("${")


def unwrap(text: str) -> Unwrapped:
    """Peel the ``${...}`` wrapper off ``text``; bare CEL is returned as is.

    Raises:
        ExpressionSyntaxError: for an empty expression, a ``${`` without its ``}``, or text
            after the closing ``}``.

    """
    leading = len(text) - len(text.lstrip())
    stripped = text.strip()
    if not stripped.startswith("${"):
        if not stripped:
            raise ExpressionSyntaxError("empty expression", expression=text)
        return Unwrapped(cel=text, offset=0, wrapped=False)
    close = _closing_brace(stripped, 1)
    if close is None:
        raise ExpressionSyntaxError(
            f"unbalanced expression {text.strip()!r}: '${{' has no matching '}}'",
            expression=text,
        )
    if close != len(stripped) - 1:
        raise ExpressionSyntaxError(
            f"unexpected text {stripped[close + 1 :]!r} after the closing '}}' of "
            f"{stripped[: close + 1]!r}: a value holds exactly one ${{...}} expression "
            "(there is no string interpolation)",
            expression=text,
        )
    body = stripped[2:close]
    if not body.strip():
        raise ExpressionSyntaxError(
            f"empty expression {stripped!r}: write a CEL expression between '${{' and '}}'",
            expression=text,
        )
    return Unwrapped(cel=body, offset=leading + 2, wrapped=True)


def rewrite_function_calls(cel: str, *, expression: str) -> tuple[str, frozenset[str]]:
    """Rewrite ``fn:name(`` to ``fn_name(`` outside string literals.

    Args:
        cel: CEL source that may contain ``fn:`` calls.
        expression: The original text, for error messages.

    Returns:
        The rewritten source and the set of ``fn:`` function names it calls.

    Raises:
        ExpressionSyntaxError: for an unterminated string literal or a malformed ``fn:`` call.

    """
    out: list[str] = []
    names: set[str] = set()
    i = 0
    while i < len(cel):
        char = cel[i]
        if string_start(cel, i):
            try:
                end = skip_string(cel, i)
            except UnterminatedStringError as exc:
                raise ExpressionSyntaxError(
                    f"unterminated string literal at column {exc.start + 1} in {expression}",
                    expression=expression,
                ) from None
            out.append(cel[i:end])
            i = end
            continue
        if (
            cel.startswith("fn:", i)
            and (i == 0 or cel[i - 1] not in _IDENT_CHARS | {"."})
            and i + 3 < len(cel)
            and cel[i + 3] in _IDENT_START
        ):
            j = i + 3
            while j < len(cel) and cel[j] in _IDENT_CHARS:
                j += 1
            name = cel[i + 3 : j]
            k = j
            while k < len(cel) and cel[k] in " \t\r\n":
                k += 1
            if k >= len(cel) or cel[k] != "(":
                raise ExpressionSyntaxError(
                    f"'fn:{name}' must be called with arguments, e.g. fn:{name}(x), "
                    f"in {expression}",
                    expression=expression,
                )
            names.add(name)
            out.append(FUNCTION_PREFIX + name)
            i = j
            continue
        if char in _IDENT_START:
            # Copy a whole identifier so "myfn:x" never matches the fn: check mid-word.
            j = i
            while j < len(cel) and cel[j] in _IDENT_CHARS:
                j += 1
            out.append(cel[i:j])
            i = j
            continue
        out.append(char)
        i += 1
    return "".join(out), frozenset(names)
