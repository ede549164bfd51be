"""Zeebe/FEEL expressions (a leading `=`) → the engine's `${CEL}` form.

The translation itself lives in `workflow_engine.expressions` (`feel_to_cel`); this module only
decides *when* a BPMN attribute is a FEEL expression and wraps the result.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflow_engine.expressions import ExpressionError, feel_to_cel


@dataclass(frozen=True, slots=True)
class Converted:
    """A converted value: `value` as the engine stores it, or `error` saying why not.

    `was_feel` tells callers the source used Zeebe's `=` syntax (some places want a note).
    """

    value: str
    error: str | None = None
    was_feel: bool = False


def is_feel(text: str) -> bool:
    """Whether a Zeebe attribute value is a FEEL expression (written with a leading `=`)."""
    return text.lstrip().startswith("=")


def convert(text: str) -> Converted:
    """Normalise an expression-or-literal attribute value.

    `= a > 1` (FEEL) becomes `${a > 1}` in CEL; anything else is kept as written (`${...}` from
    Camunda 7 is already our syntax; other strings are literals).
    """
    stripped = text.strip()
    if not stripped.startswith("="):
        return Converted(stripped)
    source = stripped[1:].strip()
    if not source:
        return Converted(stripped, "the FEEL expression after '=' is empty", was_feel=True)
    try:
        cel = feel_to_cel(source)
    except ExpressionError as exc:
        return Converted(
            stripped,
            f"FEEL expression '{source}' cannot be translated: {exc.message}",
            was_feel=True,
        )
    return Converted(f"${{{cel}}}", was_feel=True)
