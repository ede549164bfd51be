"""feel_to_cel: the FEEL subset used by Zeebe models, and clear errors for the rest."""

from __future__ import annotations

from typing import Any

import pytest

from workflow_engine.expressions import ExpressionSyntaxError, evaluate, feel_to_cel


@pytest.mark.parametrize(
    ("feel", "cel"),
    [
        ("=price >= 0", "price >= 0"),
        ("=price = 0", "price == 0"),
        ("= var2=true", "var2 == true"),
        ("= var2=false", "var2 == false"),
        ("= counter > 3", "counter > 3"),
        ('= "benchmark-task-" + benchmark_starter_id', "'benchmark-task-' + benchmark_starter_id"),
        ("=counter", "counter"),
        ("price != null", "price != null"),
        ("=a = 1 and not(b)", "a == 1 && !(b)"),
        ("=a < 1 or a >= 10", "a < 1 || a >= 10"),
        ("=(a + b) * 2 / c - 1", "(a + b) * 2 / c - 1"),
        ('=order.customer.tier = "gold"', "order.customer.tier == 'gold'"),
        ("=-x", "-(x)"),
        ("=.5", "0.5"),
        ("=x in [1, 2]", "x in [1, 2]"),
        ('=x in ("a", "b")', "x in ['a', 'b']"),
        ('=if a > 1 then "big" else "small"', "(a > 1 ? 'big' : 'small')"),
        ('={a: 1, "b c": [true, null]}', "{'a': 1, 'b c': [true, null]}"),
        ("=string length(name) > 3", "size(name) > 3"),
        ("=count(items) = 0", "size(items) == 0"),
        ("=upper case(name)", "fn_upper(name)"),
        ('=contains(name, "x")', "(name).contains('x')"),
        ('=starts with(name, "x")', "(name).startsWith('x')"),
        ("=max(a, b)", "fn_max(a, b)"),
        ("=date and time", "date && time"),
        ('="it\'s \\"q\\"\\n"', "'it\\'s \"q\"\\n'"),
    ],
)
def test_translation(feel: str, cel: str) -> None:
    assert feel_to_cel(feel) == cel


@pytest.mark.parametrize(
    ("feel", "variables", "expected"),
    [
        ("=price >= 0", {"price": 0}, True),
        ("=price = 0", {"price": 0.0}, True),
        ("= var2=true", {"var2": True}, True),
        ("= counter > 3", {"counter": 4}, True),
        (
            '= "benchmark-task-" + benchmark_starter_id',
            {"benchmark_starter_id": "s1"},
            "benchmark-task-s1",
        ),
        ("=a = 1 and not(b)", {"a": 1, "b": False}, True),
        ('=if n > 1 then "many" else "one"', {"n": 1}, "one"),
        ("=upper case(s)", {"s": "ab"}, "AB"),
        ("=string length(s)", {"s": "abc"}, 3),
        ('="a\\"b\\\\c\\u00e9"', {}, 'a"b\\cé'),
        ("=x in (1, 2)", {"x": 2.0}, True),
        ('=ends with(s, "z")', {"s": "xyz"}, True),
    ],
)
def test_translated_cel_evaluates_like_feel(
    feel: str, variables: dict[str, Any], expected: Any
) -> None:
    assert evaluate("${" + feel_to_cel(feel) + "}", variables) == expected


@pytest.mark.parametrize(
    ("feel", "construct"),
    [
        ("=for x in items return x * 2", "'for' loops"),
        ("=some x in items satisfies x > 1", "'some' quantified expressions"),
        ("=every x in items satisfies x > 1", "'every' quantified expressions"),
        ("=[1..3]", "ranges ('..')"),
        ("=x in [1..3]", "ranges ('..')"),
        ("=items[1]", "list filters and indexing"),
        ("=items[item > 2]", "list filters and indexing"),
        ("=function(a) a + 1", "function definitions"),
        ("=x between 1 and 3", "'between' comparisons"),
        ("=x instance of number", "'instance of' type tests"),
        ("=2 ** 3", "exponentiation ('**')"),
        ("=date and time(x)", "the function 'date and time'"),
        ("=now()", "the function 'now'"),
        ("=first name", "names containing spaces ('first name')"),
        ("=x in > 3", "unary tests after 'in'"),
        ("=max(a: 1)", "named function arguments"),
        ("=a // comment", "comments"),
    ],
)
def test_unsupported_constructs_are_named(feel: str, construct: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        feel_to_cel(feel)
    assert "unsupported FEEL construct" in info.value.message
    assert construct in info.value.message
    assert info.value.expression == feel


@pytest.mark.parametrize(
    ("feel", "fragment"),
    [
        ("=", "empty FEEL expression '='"),
        ("", "empty FEEL expression"),
        ("= a +", "unexpected end of the expression"),
        ("= (a", "expected ')' but found the end of the expression"),
        ("= a )", "unexpected ')' at column 5"),
        ('= "open', "unterminated string starting at column 3"),
        ("= 'single'", 'unexpected character "\'" at column 3'),
        ('= "\\q"', "unknown escape '\\q'"),
        ("= not(a, b)", "'not' takes 1 argument, got 2"),
        ("= max()", "'max' needs at least one argument"),
        ("= a.", "expected a name after '.'"),
        ("= if a then b", "expected 'else'"),
        ("= a # b", "unexpected character '#'"),
    ],
)
def test_invalid_feel(feel: str, fragment: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        feel_to_cel(feel)
    assert fragment in info.value.message


def test_non_string_feel() -> None:
    with pytest.raises(ExpressionSyntaxError, match="must be a string"):
        feel_to_cel(None)  # type: ignore[arg-type]
