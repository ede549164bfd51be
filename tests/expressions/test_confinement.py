"""Expressions read nothing but the variables they are given (issue 15, "What to build" 1).

Audit of `expressions/` (functions.py, operators.py, compiler.py, templates.py): no module
imports `os`, `socket`, `subprocess`, `importlib` or opens files; an expression can call exactly
the enumerated functions below, and names it uses resolve only to the variables passed in.
The one read outside the variables is cel-python's time zone argument (`getHours("Europe/
Paris")`), which loads that zone from the time zone database; zone names are checked
(no absolute paths, no `..`), so it cannot read anything else. The audit hook below records
what evaluating every function actually does.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from celpy.evaluation import base_functions

import workflow_engine.expressions as expressions_package
from tests.audit_hook import audited
from workflow_engine.expressions import (
    DEFAULT_FUNCTIONS,
    ExpressionEvaluationError,
    evaluate,
)
from workflow_engine.expressions.operators import OPERATORS
from workflow_engine.expressions.templates import render_template

#: Every `fn:` function an expression can call.
FN_FUNCTIONS = {
    "upper",
    "lower",
    "trim",
    "len",
    "substring",
    "concat",
    "join",
    "split",
    "replace",
    "coalesce",
    "isEmpty",
    "min",
    "max",
    "sum",
    "abs",
    "round",
    "floor",
    "ceil",
}
#: Every CEL function and operator (cel-python's standard set, some replaced by the engine's).
CEL_FUNCTIONS = {
    "!_", "-_", "_!=_", "_%_", "_&&_", "_*_", "_+_", "_-_", "_/_", "_<=_", "_<_", "_==_",
    "_>=_", "_>_", "_?_:_", "_[_]", "_in_", "_||_", "bool", "bytes", "contains", "double",
    "duration", "endsWith", "getDate", "getDayOfMonth", "getDayOfWeek", "getDayOfYear",
    "getFullYear", "getHours", "getMilliseconds", "getMinutes", "getMonth", "getSeconds", "int",
    "list", "map", "matches", "null_type", "size", "startsWith", "string", "timestamp", "type",
    "uint",
}  # fmt: skip
ENGINE_OPERATORS = CEL_FUNCTIONS & {
    "!_", "-_", "_!=_", "_%_", "_&&_", "_*_", "_+_", "_-_", "_/_", "_<=_", "_<_", "_==_",
    "_>=_", "_>_", "_?_:_", "_in_", "_||_",
}  # fmt: skip

#: Exercises every function above at least once.
EXPRESSIONS = [
    "${fn:upper('a') + fn:lower('B') + fn:trim(' x ') + fn:substring('abc', 1, 2)}",
    "${fn:concat('a', 'b') + fn:join(['a', 'b'], ',') + fn:replace('aa', 'a', 'b')}",
    "${fn:split('a,b', ',')}",
    "${fn:len([1, 2]) + fn:min([1, 2]) + fn:max([1, 2]) + fn:sum([1, 2]) + fn:abs(-1)}",
    "${fn:round(1.5) + fn:floor(1.5) + fn:ceil(1.5)}",
    "${fn:coalesce(null, 1) == 1 && fn:isEmpty('')}",
    "${!(1 > 2) && -1 < 0 && 1 != 2 && 3 % 2 == 1 && 4 / 2 >= 2 && 2 * 2 <= 4 && 1 - 1 == 0}",
    "${true ? 1 in [1] : false || false}",
    "${size('abc') + int('3') + int(uint(3)) + int(double('1.5'))}",
    "${string(1.5) + string(bytes('x')) + string(bool(true)) + string(type(1) == int)}",
    "${'abc'.contains('b') && 'abc'.startsWith('a') && 'abc'.endsWith('c')}",
    "${'abc'.matches('^a.c$')}",
    "${[1, 2].map(x, x * 2) == list([2, 4]) && {'a': 1}['a'] == 1 && type(null) == null_type}",
    "${timestamp('2024-03-01T10:20:30.400Z').getFullYear() + duration('1h').getHours()}",
    "${timestamp('2024-03-01T10:20:30.400Z').getMonth() + timestamp('2024-03-01T10:20:30Z')"
    ".getDate() + timestamp('2024-03-01T10:20:30Z').getDayOfMonth()"
    " + timestamp('2024-03-01T10:20:30Z').getDayOfWeek()"
    " + timestamp('2024-03-01T10:20:30Z').getDayOfYear()"
    " + timestamp('2024-03-01T10:20:30.400Z').getMilliseconds()"
    " + timestamp('2024-03-01T10:20:30Z').getMinutes()"
    " + timestamp('2024-03-01T10:20:30Z').getSeconds()}",
    "${timestamp('2024-03-01T10:20:30Z').getHours('Europe/Paris')}",
    "${order.items[0].price * 2}",
]
VARIABLES = {"order": {"items": [{"price": 21}]}}


def _tz_database(path: str) -> bool:
    parts = Path(path).parts
    return "zoneinfo" in parts


def test_the_callable_functions_are_a_fixed_set() -> None:
    assert DEFAULT_FUNCTIONS.names() == FN_FUNCTIONS
    assert DEFAULT_FUNCTIONS.frozen
    assert set(base_functions) == CEL_FUNCTIONS
    assert set(OPERATORS) == ENGINE_OPERATORS
    # Each comes from cel-python, the standard library's operator module or the engine's own
    # expression package: nothing that touches files, the environment or the network.
    for name, fn in {**base_functions, **OPERATORS}.items():
        module = getattr(fn, "__module__", None) or ""
        assert module.split(".")[0] in {"celpy", "_operator", "builtins", "workflow_engine"}, (
            name,
            module,
        )
    for name in FN_FUNCTIONS:
        fn = DEFAULT_FUNCTIONS.get(name)
        assert fn is not None
        assert fn.__module__ == "workflow_engine.expressions.functions", name


def test_the_expression_package_imports_no_io_modules() -> None:
    package = Path(expressions_package.__file__).parent
    forbidden = ("import os", "from os", "import socket", "import subprocess", "importlib")
    forbidden += ("open(", "__import__", "eval(", "exec(", "environ", "urllib", "httpx")
    for source in sorted(package.glob("*.py")):
        text = source.read_text()
        for word in forbidden:
            assert word not in text, f"{source.name} uses {word!r}"


def test_evaluating_every_function_reads_nothing_outside_the_variables() -> None:
    for text in EXPRESSIONS:  # warm-up: grammar, caches and lazy library imports load once
        render_template(text, VARIABLES)
    with audited() as events:
        results = [render_template(text, VARIABLES) for text in EXPRESSIONS]
    assert results[-1] == 42
    outside = [(e, a) for e, a in events if not (e == "open" and _tz_database(a))]
    assert outside == []


@pytest.mark.parametrize(
    "zone",
    [
        "/etc/passwd",
        "../../../../etc/passwd",
        "America/../../../etc/hostname",
        "/proc/self/environ",
    ],
)
def test_a_time_zone_argument_cannot_name_another_file(zone: str) -> None:
    with audited() as events, pytest.raises(ExpressionEvaluationError):
        evaluate(f"${{timestamp('2024-01-01T00:00:00Z').getHours('{zone}')}}", {})
    assert [a for e, a in events if e == "open" and not _tz_database(a)] == []


@pytest.mark.parametrize(
    "text",
    [
        "${PATH}",
        "${HOME}",
        "${environ}",
        "${os.environ}",
        "${__builtins__}",
        "${__import__('os')}",
        "${open('/etc/passwd')}",
        "${fn:env('HOME')}",
        "${fn:open('/etc/passwd')}",
        "${fn:getenv('HOME')}",
        "${fn:__import__('os')}",
        "${fn:eval('1')}",
        "${request.headers}",
    ],
)
def test_names_resolve_only_to_the_variables(text: str) -> None:
    with audited() as events, pytest.raises(ExpressionEvaluationError, match="unknown"):
        evaluate(text, {"x": 1})
    assert events == []


def test_a_zone_directory_does_not_show_server_paths() -> None:
    with pytest.raises(ExpressionEvaluationError) as info:
        evaluate("${timestamp('2024-01-01T00:00:00Z').getHours('America')}", {})
    assert "unknown time zone" in info.value.message
    assert "Errno" not in info.value.message
    assert "zoneinfo" not in info.value.message
