"""An activity module for the worker tests: a slow activity that records that it finished."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from temporalio import activity

#: Names of the slow activities that ran to completion (this process).
FINISHED: list[str] = []


@activity.defn(name="test.Slow")
async def slow(data: dict[str, Any]) -> dict[str, Any]:
    await asyncio.sleep(float(data["seconds"]))
    FINISHED.append(str(data["tag"]))
    return {"slept": data["seconds"]}


@activity.defn(name="test.SyncAdd")
def sync_add(data: dict[str, Any]) -> int:
    time.sleep(0.01)  # a blocking body: runs in the worker's thread pool
    return int(data["a"]) + int(data["b"])
