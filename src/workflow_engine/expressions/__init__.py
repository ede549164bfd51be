"""Expressions: ``${...}`` CEL conditions and mappings, FEEL import, ISO 8601 timers.

Pure and deterministic (safe inside Temporal workflow code): no I/O, clocks or randomness.
"""

from workflow_engine.expressions.compiler import (
    CompiledExpression,
    compile_expression,
    evaluate,
    evaluate_condition,
)
from workflow_engine.expressions.errors import (
    ExpressionError,
    ExpressionEvaluationError,
    ExpressionSyntaxError,
)
from workflow_engine.expressions.feel import feel_to_cel
from workflow_engine.expressions.functions import DEFAULT_FUNCTIONS, FunctionRegistry
from workflow_engine.expressions.mapping import apply_input_mapping, apply_output_mapping
from workflow_engine.expressions.source import is_expression, looks_like_expression

__all__ = [
    "DEFAULT_FUNCTIONS",
    "CompiledExpression",
    "ExpressionError",
    "ExpressionEvaluationError",
    "ExpressionSyntaxError",
    "FunctionRegistry",
    "apply_input_mapping",
    "apply_output_mapping",
    "compile_expression",
    "evaluate",
    "evaluate_condition",
    "feel_to_cel",
    "is_expression",
    "looks_like_expression",
]
