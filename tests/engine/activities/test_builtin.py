"""wfe.script and wfe.noop (run directly and inside Temporal's ActivityEnvironment)."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

import pytest
from temporalio.activity import _Definition
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from tests.audit_hook import audited
from workflow_engine.engine.activities.builtin import (
    ACTIVITY_HTTP,
    ACTIVITY_NOOP,
    ACTIVITY_SCRIPT,
    BUILTIN_ACTIVITY_NAMES,
    INVALID_INPUT,
    SCRIPT_ERROR,
    builtin_activities,
    json_safe,
    noop,
    run_script,
    script,
)
from workflow_engine.engine.activities.http import HttpActivities


async def test_script_assignments_run_in_order() -> None:
    result = await ActivityEnvironment().run(
        script,
        {
            "script": {
                "total": "${price * qty}",
                "vip": "${total >= 100.0}",
                "label": "order ${id}: ${total}",
                "constant": 5,
            },
            "variables": {"price": 12.5, "qty": 8, "id": "o-1"},
        },
    )
    assert result == {"total": 100.0, "vip": True, "label": "order o-1: 100", "constant": 5}


def test_single_expression_script_uses_result_variable() -> None:
    assert run_script({"script": "${a + 1}", "variables": {"a": 1}}) == {"result": 2}
    assert run_script(
        {"expression": "${fn:upper(s)}", "variables": {"s": "x"}, "result_variable": "big"}
    ) == {"big": "X"}


def test_script_results_are_json_safe() -> None:
    result = run_script(
        {
            "script": {
                "when": "${timestamp('2026-01-02T03:04:05Z')}",
                "span": "${duration('90s')}",
                "raw": "${b'hi'}",
            }
        }
    )
    assert result == {"when": "2026-01-02T03:04:05Z", "span": "PT90S", "raw": "aGk="}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            datetime.datetime(
                2026, 1, 1, 12, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
            ),
            "2026-01-01T12:00:00+02:00",
        ),
        (datetime.timedelta(milliseconds=1500), "PT1.5S"),
        ({"a": (1, b"\x00")}, {"a": [1, "AA=="]}),
    ],
)
def test_json_safe(value: Any, expected: Any) -> None:
    assert json_safe(value) == expected


def test_script_errors_name_the_assignment() -> None:
    with pytest.raises(ApplicationError) as info:
        run_script({"script": {"ok": "${1}", "bad": "${missing + 1}"}, "variables": {}})
    assert info.value.type == SCRIPT_ERROR
    assert info.value.non_retryable
    assert "'bad'" in info.value.message
    assert "missing" in info.value.message
    with pytest.raises(ApplicationError) as info:
        run_script({"script": "${1 +}"})
    assert info.value.type == SCRIPT_ERROR


@pytest.mark.parametrize(
    ("request_input", "fragment"),
    [
        ("x", "input must be an object"),
        ({}, "needs 'script'"),
        ({"script": {}}, "an empty object"),
        ({"script": 3}, "got int"),
        ({"script": "${1}", "variables": [1]}, "'variables' must be an object"),
        ({"script": "${1}", "result_variable": 3}, "'result_variable'"),
        ({"script": {"": "${1}"}}, "non-empty"),
    ],
)
def test_script_input_errors(request_input: Any, fragment: str) -> None:
    with pytest.raises(ApplicationError) as info:
        run_script(request_input)
    assert info.value.type == INVALID_INPUT
    assert info.value.non_retryable
    assert fragment in info.value.message


async def test_noop_returns_an_empty_object() -> None:
    env = ActivityEnvironment()
    assert await env.run(noop, {"anything": 1}) == {}
    assert await env.run(noop) == {}


async def test_builtin_activities_carry_their_names() -> None:
    http = HttpActivities()
    try:
        names = {_Definition.must_from_callable(fn).name for fn in builtin_activities(http=http)}
    finally:
        await http.aclose()
    assert names == BUILTIN_ACTIVITY_NAMES == {ACTIVITY_HTTP, ACTIVITY_SCRIPT, ACTIVITY_NOOP}


def test_script_accepts_the_interpreter_form() -> None:
    assert run_script(
        {"a": 2, "_config": {"implementation": "script", "script": {"b": "${a * 3}"}}}
    ) == {"b": 6}
    assert run_script({"a": 2, "_config": {"script": "${a + 1}", "result_variable": "c"}}) == {
        "c": 3
    }
    with pytest.raises(ApplicationError) as info:
        run_script({"_config": []})
    assert info.value.type == INVALID_INPUT


@pytest.mark.parametrize(
    "expression",
    ["${PATH}", "${environ}", "${__builtins__}", "${fn:env('HOME')}", "${fn:open('/etc/hosts')}"],
)
def test_script_reads_only_the_variables_it_is_given(expression: str) -> None:
    """The script built-in evaluates against its `variables` and nothing else (issue 15)."""
    with audited() as events, pytest.raises(ApplicationError) as info:
        run_script({"script": {"x": expression}, "variables": {"a": 1}})
    assert info.value.type == SCRIPT_ERROR
    assert "unknown" in info.value.message
    assert events == []
    with audited() as events:
        assert run_script({"script": {"b": "${a + 1}"}, "variables": {"a": 1}}) == {"b": 2}
    assert events == []


# -- execution budgets (issue 15, finding 3) -------------------------------------------------

_FIVE_NESTED_MAPS = (
    "${items" + "".join(f".map(x{i}, items" for i in range(4)) + ".map(z, z + 1)" + ")" * 4 + "}"
)


async def test_slow_script_fails_with_the_budget_and_never_blocks_the_event_loop() -> None:
    """Five nested `.map` over ten items froze `wfe dev` (API and worker share one loop)."""
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            await asyncio.sleep(0.001)
            ticks += 1

    running = asyncio.create_task(ticker())
    try:
        with pytest.raises(ApplicationError) as info:
            await ActivityEnvironment().run(
                script,
                {"script": {"grid": _FIVE_NESTED_MAPS}, "variables": {"items": list(range(10))}},
            )
    finally:
        done.set()
        await running
    assert info.value.type == SCRIPT_ERROR
    assert "'grid'" in info.value.message
    assert "evaluation steps" in info.value.message
    # The loop went on serving other work while the expression ran (on the loop: no tick).
    assert ticks >= 3


def test_script_growing_a_string_fails_before_building_it() -> None:
    """Nested fn:replace grows 8x per level; ten levels would need gigabytes."""
    text = "s"
    for _ in range(10):
        text = f'fn:replace({text}, "a", "aaaaaaaa")'
    with pytest.raises(ApplicationError) as info:
        run_script({"script": {"big": "${" + text + "}"}, "variables": {"s": "a" * 8}})
    assert info.value.type == SCRIPT_ERROR
    assert "fn:replace would produce a value of" in info.value.message
