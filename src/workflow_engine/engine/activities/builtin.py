"""Built-in activities: `wfe.script` (CEL assignments), `wfe.noop`, and `wfe.http` (http.py).

A service task with `implementation: script | noop | http` runs these by name on the engine's
task queue, so they behave like any user activity (retries, timeouts, history).

`wfe.script` input:

- `script`: an object `{variable: "${expr}" | literal | "text ${expr}"}` evaluated in order (a
  later assignment sees the earlier ones), or one expression string;
- `variables`: the variables expressions read (default none);
- `result_variable`: the output name for a single-expression script (default `result`).

The interpreter's form `{<variables>..., "_config": {"script": ..., "result_variable": ...}}`
is accepted too.

It returns `{variable: value}` with JSON-safe values (timestamps as ISO 8601 text, durations as
ISO 8601 `PT…S`, bytes as base64). Failures: `INVALID_INPUT` (bad input shape) and
`SCRIPT_ERROR` (an expression that does not compile or evaluate); both non-retryable, because
running the same script on the same variables again gives the same answer.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
from collections.abc import Callable, Mapping
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from workflow_engine.engine.activities.http import (
    ACTIVITY_HTTP,
    INVALID_INPUT,
    HttpActivities,
    invalid_input,
)
from workflow_engine.expressions import ExpressionError
from workflow_engine.expressions.templates import render_template

__all__ = [
    "ACTIVITY_HTTP",
    "ACTIVITY_NOOP",
    "ACTIVITY_SCRIPT",
    "BUILTIN_ACTIVITY_NAMES",
    "INVALID_INPUT",
    "SCRIPT_ERROR",
    "builtin_activities",
    "noop",
    "run_script",
    "script",
]

ACTIVITY_SCRIPT = "wfe.script"
ACTIVITY_NOOP = "wfe.noop"
BUILTIN_ACTIVITY_NAMES = frozenset({ACTIVITY_HTTP, ACTIVITY_SCRIPT, ACTIVITY_NOOP})
SCRIPT_ERROR = "SCRIPT_ERROR"


@activity.defn(name=ACTIVITY_NOOP)
async def noop(_input: Any = None) -> dict[str, Any]:
    """Do nothing and return `{}` (a placeholder step that still shows in history)."""
    return {}


@activity.defn(name=ACTIVITY_SCRIPT)
async def script(request: dict[str, Any]) -> dict[str, Any]:
    """Evaluate a CEL script (see the module docstring); returns the assigned outputs.

    Evaluation runs in a thread, never on the event loop: the worker's other activities and
    workflows (and, under `wfe dev`, the API sharing that loop) keep answering while a heavy
    expression works through its budget. When the activity times out or is cancelled, the
    await ends at once; the thread finishes within its expression budget.
    """
    return await asyncio.to_thread(run_script, request)


def run_script(request: Any) -> dict[str, Any]:
    """The body of `wfe.script`, callable directly (pure: no activity context needed).

    Raises:
        ApplicationError: `INVALID_INPUT` or `SCRIPT_ERROR`, non-retryable, naming the entry.
    """
    if not isinstance(request, Mapping):
        raise invalid_input(f"wfe.script input must be an object, got {_kind(request)}")
    if "_config" in request:
        # The interpreter's form: the variables, plus the task's config under `_config`.
        config = request["_config"]
        if not isinstance(config, Mapping):
            raise invalid_input(f"wfe.script '_config' must be an object, got {_kind(config)}")
        request = {
            "script": config.get("script"),
            "result_variable": config.get("result_variable"),
            "variables": {k: v for k, v in request.items() if k != "_config"},
        }
    body = request.get("script", request.get("expression"))
    variables = request.get("variables") or {}
    if not isinstance(variables, Mapping):
        raise invalid_input(f"wfe.script 'variables' must be an object, got {_kind(variables)}")
    if isinstance(body, str):
        name = request.get("result_variable") or "result"
        if not isinstance(name, str):
            raise invalid_input(f"wfe.script 'result_variable' must be text, got {name!r}")
        assignments: Mapping[str, Any] = {name: body}
    elif isinstance(body, Mapping) and body:
        assignments = body
    else:
        raise invalid_input(
            "wfe.script needs 'script': an object of variable -> ${expression} or one "
            f"${{expression}}, got {_kind(body) if body != {} else 'an empty object'}"
        )
    scope = dict(variables)
    outputs: dict[str, Any] = {}
    for name, template in assignments.items():
        if not isinstance(name, str) or not name:
            raise invalid_input(f"wfe.script assigns to {name!r}: names must be non-empty text")
        try:
            value = render_template(template, scope)
        except ExpressionError as exc:
            raise ApplicationError(
                f"wfe.script '{name}': {exc.message}", type=SCRIPT_ERROR, non_retryable=True
            ) from None
        value = json_safe(value)
        scope[name] = value
        outputs[name] = value
    return outputs


def json_safe(value: Any) -> Any:
    """Turn an expression result into a JSON value (CEL timestamps, durations and bytes too)."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None and value.utcoffset() == datetime.timedelta(0):
            return value.replace(tzinfo=None).isoformat() + "Z"
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        seconds = value.total_seconds()
        return f"PT{int(seconds) if seconds.is_integer() else seconds}S"
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def builtin_activities(*, http: HttpActivities) -> list[Callable[..., Any]]:
    """The built-in activities to register with a worker.

    Args:
        http: Holder of the worker's shared HTTP client (close it after the worker stops).
    """
    return [http.http, script, noop]
