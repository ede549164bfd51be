"""Activities that never end on their own: a worker must still stop within seconds of SIGTERM.

`test.Spin` busy-loops on the CPU in the worker's thread pool and swallows the cancellation
the SDK raises into its thread (like user code with a catch-all); `test.Block` blocks in one
long C call, where no cancellation reaches it; `test.SleepLong` awaits (cancellable).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from temporalio import activity


@activity.defn(name="test.Spin")
def spin(data: dict[str, Any]) -> None:
    deadline = time.monotonic() + float(data.get("seconds", 3600))
    while time.monotonic() < deadline:
        try:
            while time.monotonic() < deadline:
                pass
        except BaseException:  # the point: it ignores the cancellation
            continue


@activity.defn(name="test.Block")
def block(data: dict[str, Any]) -> None:
    time.sleep(float(data.get("seconds", 3600)))


@activity.defn(name="test.SleepLong")
async def sleep_long(data: dict[str, Any]) -> None:
    await asyncio.sleep(float(data.get("seconds", 3600)))
