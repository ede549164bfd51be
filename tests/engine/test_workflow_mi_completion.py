"""A multi-instance user task ended by its completion condition: the rest are cancelled."""

from __future__ import annotations

import pytest
from temporalio.client import Client

from workflow_engine.engine.contract import (
    UPDATE_COMPLETE_TASK,
    CompleteTaskRequest,
    CompleteTaskResult,
    InstanceSnapshot,
)

from .harness import doc, el, engine, eventually, until

pytestmark = pytest.mark.temporal


def _approvals(*, sequential: bool) -> dict[str, object]:
    return doc(
        el("start", "startEvent", "approve"),
        el(
            "approve",
            "userTask",
            "after",
            config={
                "multi_instance": {
                    "is_sequential": sequential,
                    "loop_cardinality": 3,
                    "completion_condition": "${nrOfCompletedInstances >= 1}",
                },
            },
        ),
        el("after", "userTask", "end"),
        el("end", "endEvent"),
    )


async def test_completion_condition_cancels_the_remaining_tasks(temporal_client: Client) -> None:
    async with engine(temporal_client) as eng:
        handle = await eng.start(_approvals(sequential=False))
        snap = await until(handle, lambda s: len(s.open_task_ids) == 3)
        first = snap.open_task_ids[0]
        await handle.execute_update(
            UPDATE_COMPLETE_TASK,
            CompleteTaskRequest(task_id=first, variables={}),
            result_type=CompleteTaskResult,
        )

        def moved_on(s: InstanceSnapshot) -> bool:
            return "after" in s.active_node_ids

        after = await until(handle, moved_on)
        assert len(after.open_task_ids) == 1
        # The batch that shows `after` waiting already carries the two cancellations.
        await eventually(lambda: len(eng.tasks()) == 4)
        states = sorted((record.node_id, record.state) for record in eng.tasks().values())
        assert states == [
            ("after", "created"),
            ("approve", "cancelled"),
            ("approve", "cancelled"),
            ("approve", "completed"),
        ]
        types = eng.types()
        assert types.count("task.cancelled") == 2, types
