"""Activity module of the crash-recovery test, loaded by the worker subprocess by path.

`crash.Add` sleeps a little (so instances are mid-flight when the worker is killed) and adds
`add` to `value`: the result depends only on the input, so a retried attempt returns the same.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import activity

#: How long one step takes: long enough that a SIGKILL lands while steps run.
STEP_SECONDS = 0.4


@activity.defn(name="crash.Add")
async def add(data: dict[str, Any]) -> dict[str, Any]:
    """Return `{"value": value + add}` after a short sleep."""
    await asyncio.sleep(STEP_SECONDS)
    return {"value": int(data["value"]) + int(data["add"])}
