"""Compiling and evaluating ``${...}`` expressions (CEL, via cel-python).

``compile_expression`` parses once and caches by text; a :class:`CompiledExpression` is
immutable and can be evaluated concurrently from many threads (every evaluation builds its own
cel-python evaluator over the shared, read-only syntax tree). Evaluation is deterministic: no
clock, randomness or I/O is reachable from an expression.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import lark
from celpy.celparser import CELParser
from celpy.evaluation import (
    Activation,
    CELEvalError,
    CELSyntaxError,
    CELUnsupportedError,
    Evaluator,
    base_functions,
)
from lark.exceptions import (
    LarkError,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedToken,
)

from workflow_engine.expressions.budget import (
    BudgetExceededError,
    EvaluationBudget,
    check_size,
    value_size,
)
from workflow_engine.expressions.errors import (
    ExpressionError,
    ExpressionEvaluationError,
    ExpressionSyntaxError,
)
from workflow_engine.expressions.functions import DEFAULT_FUNCTIONS, FunctionRegistry
from workflow_engine.expressions.operators import OPERATORS, ReportedError
from workflow_engine.expressions.source import (
    FUNCTION_PREFIX,
    looks_like_expression,
    rewrite_function_calls,
    unwrap,
)
from workflow_engine.expressions.values import ConversionError, to_cel, to_python

#: Bare identifiers that name CEL types (``type(x) == int``), not variables.
_TYPE_NAMES = frozenset(
    {"int", "uint", "double", "bool", "string", "bytes", "list", "map", "null_type", "type"}
)
#: Comprehension macros: ``list.exists(x, <predicate using x>)`` binds ``x``.
_MACROS = frozenset({"map", "filter", "all", "exists", "exists_one"})

#: Human names for the grammar's terminals, used in "expected ..." hints.
_TERMINALS = {
    "RPAR": "')'",
    "RSQB": "']'",
    "RBRACE": "'}'",
    "COLON": "':'",
    "COMMA": "','",
    "LPAR": "'('",
    "IDENT": "a name",
}

# Lark's LALR parser keeps no state between parses, but cel-python's wrapper is a shared
# singleton and we make no bet on its internals: parsing is rare (results are cached), so
# serialising it costs nothing.
_parser_lock = threading.Lock()


class _BudgetedEvaluator(Evaluator):
    """cel-python's evaluator, charging every tree visit and comprehension element to a budget.

    Lark's ``Interpreter`` routes every visit (``visit`` and ``visit_children``) through
    ``_visit_tree``; comprehensions evaluate their bodies in sub-evaluators (one ``evaluate``
    per element), which share the budget.
    """

    def __init__(self, ast: lark.Tree[Any], activation: Activation, budget: EvaluationBudget):
        super().__init__(ast=ast, activation=activation)
        self._budget = budget

    def _visit_tree(self, tree: lark.Tree[Any]) -> Any:
        self._budget.spend()
        return super()._visit_tree(tree)

    def sub_evaluator(self, ast: lark.Tree[Any]) -> Evaluator:
        return _BudgetedEvaluator(ast, self.activation, self._budget)

    def evaluate(self, context: Any = None) -> Any:
        # Comprehensions evaluate their body once per element through this: one more step each.
        self._budget.spend()
        return super().evaluate(context)


def _parse(cel: str) -> lark.Tree[Any]:
    """Parse CEL source with the shared cel-python grammar (built on first use)."""
    with _parser_lock:
        CELParser()  # builds the class-level Lark singleton the first time
        parser = CELParser.CEL_PARSER
        if parser is None:  # pragma: no cover - CELParser() always sets it
            raise ExpressionSyntaxError("the CEL parser could not be initialised")
        tree: lark.Tree[Any] = parser.parse(cel)
    return tree


@dataclass(frozen=True, slots=True, eq=False)
class CompiledExpression:
    """A parsed expression, ready to evaluate any number of times from any thread.

    Attributes:
        source: The text as given (``"${a > 1}"`` or bare CEL ``"a > 1"``).
        cel: The CEL source actually compiled (``fn:x(`` rewritten to ``fn_x(``).
        variables: Top-level variable names the expression references (best effort: names
            bound by macros such as ``items.exists(i, i > 2)`` are excluded).
        function_names: Names called as ``fn:name(...)`` (without the prefix).

    """

    source: str
    cel: str
    variables: frozenset[str]
    function_names: frozenset[str]
    _ast: lark.Tree[Any] = field(repr=False)
    _display: str = field(repr=False)
    _original_cel: str = field(repr=False)

    def evaluate(
        self, variables: Mapping[str, Any], *, functions: FunctionRegistry | None = None
    ) -> Any:
        """Evaluate against ``variables`` and return a plain Python value.

        Args:
            variables: Variable name → plain Python value (nested dicts/lists allowed).
            functions: Extra ``fn:`` functions; :data:`DEFAULT_FUNCTIONS` are always available.

        Returns:
            ``bool``, ``int``, ``float``, ``str``, ``bytes``, ``None``, ``list``, ``dict``,
            ``datetime`` or ``timedelta`` — never a cel-python type.

        Raises:
            ExpressionEvaluationError: naming the expression and, when that is the cause, the
                missing variable (``missing_variable``).

        """
        if not isinstance(variables, Mapping):
            raise self._error(f"variables must be a mapping, got {type(variables).__name__}", None)
        table = _function_table(functions)
        context: dict[str, Any] = {}
        for name in self.variables:
            if name in variables:
                try:
                    context[name] = to_cel(variables[name], path=name)
                except ConversionError as exc:
                    raise self._error(exc.message, None) from None
            elif name in table or name in base_functions:
                # cel-python would silently resolve a missing variable named like a function
                # (``size``) to the function object itself.
                raise self._error(f"unknown variable '{name}'", name)
        budget = EvaluationBudget()
        evaluator = _BudgetedEvaluator(self._ast, Activation(functions=table), budget)
        try:
            value = evaluator.evaluate(context)
        except BudgetExceededError as exc:
            raise self._error(
                f"the expression needs more than {exc.limit} evaluation steps (the limit; "
                "nested map / filter / exists over lists multiply)",
                None,
            ) from None
        except CELEvalError as exc:
            raise self._translate(exc) from None
        except RecursionError:
            raise self._error("expression is nested too deeply to evaluate", None) from None
        except ExpressionError:
            raise
        except OSError:
            # A time zone name that is a directory of the zone database (`getHours('America')`):
            # the OS error would show the server's file paths.
            raise self._error("cannot evaluate: unknown time zone or resource", None) from None
        except Exception as exc:  # cel-python has a few raw raises; never leak them
            raise self._error(f"cannot evaluate: {exc}", None) from None
        if isinstance(value, CELEvalError):
            raise self._translate(value)
        size = value_size(value)
        too_large = check_size(size, "the expression") if size is not None else None
        if too_large is not None:
            raise self._error(too_large, None)
        try:
            return to_python(value)
        except ConversionError as exc:
            raise self._error(exc.message, None) from None

    def _error(self, what: str, missing: str | None) -> ExpressionEvaluationError:
        return ExpressionEvaluationError(
            f"{what} in {self._display}", expression=self.source, missing_variable=missing
        )

    def _slice(self, tree: lark.Tree[Any]) -> str | None:
        meta = tree.meta
        if getattr(meta, "empty", True):
            return None
        return self._original_cel[meta.start_pos : meta.end_pos]

    def _translate(self, error: CELEvalError) -> ExpressionEvaluationError:
        """Turn a cel-python error value into a message a workflow author understands."""
        if isinstance(error, ReportedError):
            return self._error(error.message, error.missing_variable)
        args = error.args
        cause = args[1] if len(args) > 1 else None
        detail = str(args[0]) if args else "evaluation failed"
        tree = error.tree if isinstance(error.tree, lark.Tree) else None
        token = error.token
        if tree is not None and tree.data == "primary" and cause is KeyError:
            child = tree.children[0]
            if isinstance(child, lark.Tree) and child.data == "ident":
                name = str(child.children[0])
                return self._error(f"unknown variable '{name}'", name)
        if token is not None and detail.startswith("undeclared reference"):
            name = str(token)
            if name.startswith(FUNCTION_PREFIX):
                name = "fn:" + name[len(FUNCTION_PREFIX) :]
            return self._error(f"unknown function '{name}'", None)
        where = self._slice(tree) if tree is not None else None
        if tree is not None and where is not None:
            if tree.data == "member_dot" and cause is KeyError:
                return self._error(f"unknown variable '{where}'", where)
            if tree.data == "member_index" and cause is KeyError:
                return self._error(f"no such key: '{where}'", where)
            if tree.data == "member_index" and cause is IndexError:
                return self._error(f"index out of range: '{where}'", None)
            if tree.data == "member_dot" and cause is TypeError:
                return self._error(f"cannot select a field in '{where}'", None)
            if cause is ZeroDivisionError:
                return self._error(f"division by zero in '{where}'", None)
            return self._error(f"invalid operation '{where}'", None)
        if token is not None:
            return self._error(f"cannot call '{token}' with these arguments", None)
        return self._error(detail.split("\n", 1)[0], None)


_operator_table: dict[str, Any] = {**OPERATORS, **DEFAULT_FUNCTIONS.cel_functions()}


def _function_table(functions: FunctionRegistry | None) -> dict[str, Any]:
    if functions is None or functions is DEFAULT_FUNCTIONS:
        return _operator_table
    if not isinstance(functions, FunctionRegistry):
        raise ExpressionEvaluationError(
            f"functions must be a FunctionRegistry, got {type(functions).__name__}"
        )
    return {**_operator_table, **functions.cel_functions()}


# --- compiling ---------------------------------------------------------------------------


def _display(text: str) -> str:
    stripped = text.strip()
    return stripped if stripped.startswith("${") else f"'{stripped}'"


def _syntax_error(text: str, detail: str) -> ExpressionSyntaxError:
    return ExpressionSyntaxError(f"invalid expression {_display(text)}: {detail}", expression=text)


def _position(line: int | None, column: int | None, cel: str, shift: int) -> str:
    """Describe where an error is, as a column of the text the user sees in the message."""
    if line is None or column is None or line < 1:
        return ""
    if "\n" in cel.strip():
        return f" at line {line}, column {column}"
    return f" at column {column + shift}"


def _hint(token_text: str) -> str:
    lowered = token_text.lower()
    if lowered in {"and", "or", "not"}:
        return " (CEL writes '&&', '||' and '!')"
    if token_text == "=":
        return " (use '==' to compare)"
    return ""


def _describe_parse_error(exc: LarkError, cel: str, shift: int) -> str:
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        if token.type == "$END":
            detail = "unexpected end of expression"
        elif token.type == "RESERVED":
            detail = f"'{token}' is a reserved word"
        else:
            detail = f"unexpected '{token}'"
        expected = sorted(_TERMINALS[name] for name in exc.expected if name in _TERMINALS)
        hint = _hint(str(token))
        if not hint and expected and len(expected) == len(exc.expected) and len(expected) <= 3:
            hint = f" (expected {' or '.join(expected)})"
        if token.type == "$END":
            return f"{detail}{hint}"
        return f"{detail}{_position(exc.line, exc.column, cel, shift)}{hint}"
    if isinstance(exc, UnexpectedCharacters):
        return (
            f"unexpected character '{exc.char}'{_position(exc.line, exc.column, cel, shift)}"
            f"{_hint(exc.char)}"
        )
    if isinstance(exc, UnexpectedEOF):
        return "unexpected end of expression"
    return str(exc).split("\n", 1)[0]


def _single_ident(tree: Any) -> str | None:
    """Return the name when ``tree`` is nothing but one identifier, else None."""
    while isinstance(tree, lark.Tree):
        if tree.data == "ident":
            return str(tree.children[0])
        if len(tree.children) != 1:
            return None
        tree = tree.children[0]
    return None


def _subtrees(tree: lark.Tree[Any]) -> Iterator[lark.Tree[Any]]:
    return (child for child in tree.children if isinstance(child, lark.Tree))


def _free_variables(tree: lark.Tree[Any], bound: frozenset[str], found: set[str]) -> None:
    """Collect identifiers used as variables, respecting macro-bound names."""
    if tree.data == "ident":
        name = str(tree.children[0])
        if name not in bound and name not in _TYPE_NAMES:
            found.add(name)
        return
    if tree.data == "member_dot_arg" and str(tree.children[1]) in _MACROS:
        target = tree.children[0]
        if isinstance(target, lark.Tree):
            _free_variables(target, bound, found)
        args = tree.children[2] if len(tree.children) > 2 else None
        if isinstance(args, lark.Tree):
            variable = _single_ident(args.children[0])
            inner = bound | {variable} if variable else bound
            for expr in list(_subtrees(args))[1:]:
                _free_variables(expr, inner, found)
        return
    if tree.data == "ident_arg":
        # A function call: the name is not a variable, its arguments may contain some.
        for child in _subtrees(tree):
            _free_variables(child, bound, found)
        return
    for child in _subtrees(tree):
        _free_variables(child, bound, found)


def _check_tree(tree: lark.Tree[Any], text: str) -> None:
    """Reject constructs cel-python cannot evaluate and literals that can never be valid."""
    for node in tree.iter_subtrees():
        if node.data == "member_object":
            raise _syntax_error(text, "message construction 'Type{field: value}' is not supported")
        if node.data == "dot_ident_arg":
            raise _syntax_error(text, "calls of the form '.name(...)' are not supported")
        if node.data == "member_dot_arg" and str(node.children[1]) in _MACROS:
            args = node.children[2] if len(node.children) > 2 else None
            exprs = list(_subtrees(args)) if isinstance(args, lark.Tree) else []
            if len(exprs) != 2 or _single_ident(exprs[0]) is None:
                raise _syntax_error(
                    text,
                    f"'{node.children[1]}' takes a variable name and an expression, "
                    f"e.g. items.{node.children[1]}(x, x > 0)",
                )
        if node.data == "literal":
            _check_literal(node, text)


def _check_literal(node: lark.Tree[Any], text: str) -> None:
    value: object
    try:
        value = Evaluator(ast=node, activation=Activation()).evaluate()
    except (CELEvalError, CELSyntaxError, CELUnsupportedError, ValueError, TypeError) as exc:
        value = exc
    if isinstance(value, Exception):
        literal = "".join(str(token) for token in node.children)
        reason = (
            "out of range"
            if "overflow" in str(value.args[0] if value.args else "")
            else ("invalid")
        )
        raise _syntax_error(text, f"literal {literal} is {reason}")


def compile_expression(text: str) -> CompiledExpression:
    """Compile ``"${...}"`` or bare CEL text; results are cached by text.

    Args:
        text: The expression, e.g. ``"${amount >= 1000 && category == 'vip'}"``.

    Returns:
        An immutable, thread-safe :class:`CompiledExpression`.

    Raises:
        ExpressionSyntaxError: with a plain message naming the expression and the problem.

    """
    if not isinstance(text, str):
        raise ExpressionSyntaxError(
            f"an expression must be a string, got {type(text).__name__}", expression=str(text)
        )
    return _compile_cached(text)


@functools.lru_cache(maxsize=4096)
def _compile_cached(text: str) -> CompiledExpression:
    unwrapped = unwrap(text)
    cel, function_names = rewrite_function_calls(unwrapped.cel, expression=_display(text))
    try:
        ast = _parse(cel)
    except LarkError as exc:
        # Columns in messages count in the text as displayed: after "${" when wrapped,
        # without leading blanks when bare.
        shift = 2 if unwrapped.wrapped else -(len(cel) - len(cel.lstrip()))
        raise _syntax_error(text, _describe_parse_error(exc, cel, shift)) from None
    except RecursionError:
        raise _syntax_error(text, "expression is nested too deeply") from None
    try:
        _check_tree(ast, text)
        found: set[str] = set()
        _free_variables(ast, frozenset(), found)
    except RecursionError:
        raise _syntax_error(text, "expression is nested too deeply") from None
    return CompiledExpression(
        source=text,
        cel=cel,
        variables=frozenset(found),
        function_names=function_names,
        _ast=ast,
        _display=_display(text),
        _original_cel=unwrapped.cel,
    )


# --- convenience -------------------------------------------------------------------------


def evaluate(
    text: str, variables: Mapping[str, Any], *, functions: FunctionRegistry | None = None
) -> Any:
    """Evaluate a value that may be an expression.

    A string starting with ``${`` (after stripping) is compiled and evaluated; any other
    value — a plain string, a number, ``None`` — is a literal and returned unchanged.

    Raises:
        ExpressionSyntaxError: when the ``${...}`` text does not compile.
        ExpressionEvaluationError: when it cannot be evaluated.

    """
    if not looks_like_expression(text):
        return text
    return compile_expression(text).evaluate(variables, functions=functions)


def evaluate_condition(
    text: str, variables: Mapping[str, Any], *, functions: FunctionRegistry | None = None
) -> bool:
    """Evaluate a condition (``"${a > 1}"`` or bare CEL ``"a > 1"``) to a bool.

    Raises:
        ExpressionSyntaxError: when the condition does not compile.
        ExpressionEvaluationError: when it cannot be evaluated or its value is not a bool.

    """
    if isinstance(text, bool):
        return text
    compiled = compile_expression(text)
    value = compiled.evaluate(variables, functions=functions)
    if not isinstance(value, bool):
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        kind = "null" if value is None else type(value).__name__
        raise compiled._error(f"a condition must be true or false, got {kind} {shown}", None)
    return value
