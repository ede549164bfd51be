"""Checks of variable values against `process.variables` declarations (task completion)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflow_engine.model.types import VariableDeclaration, VariableType


def _fits(kind: VariableType, value: Any) -> bool:
    if value is None or kind is VariableType.ANY:
        return True
    if kind is VariableType.STRING or kind in (VariableType.DATE, VariableType.DATETIME):
        return isinstance(value, str)
    if kind is VariableType.INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is VariableType.NUMBER:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is VariableType.BOOLEAN:
        return isinstance(value, bool)
    if kind is VariableType.OBJECT:
        return isinstance(value, dict)
    if kind is VariableType.ARRAY:
        return isinstance(value, list)
    return True


def type_errors(
    declarations: Mapping[str, VariableDeclaration], values: Mapping[str, Any]
) -> list[str]:
    """Messages for every value whose type differs from its declaration (undeclared: any)."""
    problems: list[str] = []
    for name, value in values.items():
        declaration = declarations.get(name)
        if declaration is not None and not _fits(declaration.type, value):
            problems.append(
                f"variable '{name}' must be of type {declaration.type.value}, "
                f"got {type(value).__name__}"
            )
    return problems
