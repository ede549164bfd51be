"""Workflows and activities of the benchmark (imported by the worker's sandbox by name).

`NativeThreeSteps` is the hand-written Temporal workflow the engine is compared with: it calls
the same three activities the engine definition names, one after the other, with the same
input (the variables) and merges each result into the variables, as the interpreter does.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

#: The three steps, by activity name (the engine definition names the same ones).
STEPS = ("bench.step1", "bench.step2", "bench.step3")


def _step(name: str) -> Any:
    @activity.defn(name=name)
    async def step(data: dict[str, Any]) -> dict[str, Any]:
        return {name.replace("bench.", ""): int(data.get("n", 0)) + 1}

    return step


#: Noop-ish activities: one small dict in, one out.
STEP_ACTIVITIES = [_step(name) for name in STEPS]


def typical_activities(starter_id: str) -> list[Any]:
    """The Camunda 8 typical process's job types for `benchmark_starter_id = starter_id`."""

    def job(name: str) -> Any:
        @activity.defn(name=name)
        async def run(data: dict[str, Any]) -> dict[str, Any]:
            return {}

        return run

    base = f"benchmark-task-{starter_id}"
    return [job(base), job(f"{base}-completed")]


@workflow.defn(name="BenchNativeThreeSteps")
class NativeThreeSteps:
    """Three activities in sequence, variables in, variables out."""

    @workflow.run
    async def run(self, variables: dict[str, Any]) -> dict[str, Any]:
        """Run the three steps."""
        current = dict(variables)
        for name in STEPS:
            result = await workflow.execute_activity(
                name,
                current,
                start_to_close_timeout=timedelta(minutes=5),
                retry_policy=RetryPolicy(maximum_attempts=3),
            )
            if isinstance(result, dict):
                current.update(result)
        return current
