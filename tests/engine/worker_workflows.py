"""Tiny workflows for the worker tests: they call activities by name, like the interpreter.

Kept in their own module with nothing but temporalio imports, because the workflow sandbox
re-imports a workflow's module for every run.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError


@workflow.defn(name="CallActivitiesByName")
class CallActivitiesByName:
    """Calls each `(name, input)` in turn and returns the results (errors as their type)."""

    @workflow.run
    async def run(self, calls: list[list[Any]]) -> list[Any]:
        results: list[Any] = []
        for name, argument in calls:
            try:
                results.append(
                    await workflow.execute_activity(
                        name,
                        argument,
                        start_to_close_timeout=timedelta(seconds=20),
                        retry_policy=RetryPolicy(
                            maximum_attempts=2, initial_interval=timedelta(milliseconds=100)
                        ),
                    )
                )
            except ActivityError as exc:
                cause = exc.cause
                results.append({"error": getattr(cause, "type", None) or type(cause).__name__})
        return results


@workflow.defn(name="CallActivitiesOnQueue")
class CallActivitiesOnQueue:
    """Runs `(name, input)` activities at once on another task queue (one attempt each).

    For the lifecycle tests: the `wfe worker` under test serves only the activities, so this
    workflow runs on a worker of the test itself.
    """

    @workflow.run
    async def run(self, task_queue: str, calls: list[list[Any]]) -> None:
        await asyncio.gather(
            *(
                workflow.execute_activity(
                    name,
                    argument,
                    task_queue=task_queue,
                    start_to_close_timeout=timedelta(hours=2),
                    retry_policy=RetryPolicy(maximum_attempts=1),
                )
                for name, argument in calls
            )
        )
