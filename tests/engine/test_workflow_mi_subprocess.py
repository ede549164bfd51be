"""Parallel multi-instance embedded subprocess over a collection."""

from __future__ import annotations

from collections.abc import Callable

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

REVIEWERS = ["ann", "bob", "cid"]


def _per_reviewer(*, sequential: bool = False) -> dict[str, object]:
    return doc(
        el("start", "startEvent", "each"),
        el(
            "each",
            "subProcess",
            "end",
            config={
                "multi_instance": {
                    "is_sequential": sequential,
                    "collection": "reviewers",
                    "element_variable": "reviewer",
                },
                "elements": [
                    el("s_start", "startEvent", "s_review"),
                    el("s_review", "userTask", "s_end", config={"assignee": "${reviewer}"}),
                    el("s_end", "endEvent"),
                ],
            },
        ),
        el("end", "endEvent"),
    )


def _open_count(n: int) -> Callable[[InstanceSnapshot], bool]:
    return lambda s: len(s.open_task_ids) == n


async def test_parallel_multi_instance_subprocess(temporal_client: Client) -> None:
    async with engine(temporal_client) as eng:
        handle = await eng.start(_per_reviewer(), variables={"reviewers": REVIEWERS})

        def all_open(s: InstanceSnapshot) -> bool:
            return len(s.open_task_ids) == len(REVIEWERS)

        snap = await until(handle, all_open)
        await eventually(lambda: len(eng.tasks()) == len(REVIEWERS))
        records = eng.tasks()
        # Each instance's task got its own element value (parallel: all open at once).
        by_assignee = {records[t].assignee or "": t for t in snap.open_task_ids}
        assert sorted(by_assignee) == REVIEWERS
        assert all(records[t].node_id == "s_review" for t in snap.open_task_ids)
        for done, reviewer in enumerate(["cid", "ann"], start=1):
            await handle.execute_update(
                UPDATE_COMPLETE_TASK,
                CompleteTaskRequest(
                    task_id=by_assignee[reviewer], variables={f"vote_{reviewer}": "yes"}
                ),
                result_type=CompleteTaskResult,
            )
            after = await until(handle, _open_count(len(REVIEWERS) - done))
            assert after.status == "running" and "end" not in after.active_node_ids
        await handle.execute_update(
            UPDATE_COMPLETE_TASK,
            CompleteTaskRequest(task_id=by_assignee["bob"], variables={"vote_bob": "no"}),
            result_type=CompleteTaskResult,
        )
        result = await handle.result()
    assert result.status == "completed" and result.end_node_id == "end"
    assert result.variables == {
        "reviewers": REVIEWERS,
        "vote_ann": "yes",
        "vote_bob": "no",
        "vote_cid": "yes",
    }
    assert sorted(t.state for t in eng.tasks().values()) == ["completed"] * 3
    started = next(e for e in eng.events() if e.type == "multi_instance.started")
    assert started.data == {"instances": 3, "sequential": False, "node_type": "subProcess"}
    passed = eng.passed()
    assert passed.count("s_end") == 3 and passed[-2:] == ["each", "end"]


async def test_sequential_multi_instance_subprocess(temporal_client: Client) -> None:
    async with engine(temporal_client) as eng:
        handle = await eng.start(_per_reviewer(sequential=True), variables={"reviewers": REVIEWERS})
        order: list[str] = []
        for _ in REVIEWERS:
            # One instance at a time: exactly one open task, a new one each round.
            snap = await until(
                handle, lambda s: len(s.open_task_ids) == 1 and s.open_task_ids[0] not in order
            )
            order.append(snap.open_task_ids[0])
            await handle.execute_update(
                UPDATE_COMPLETE_TASK,
                CompleteTaskRequest(task_id=order[-1]),
                result_type=CompleteTaskResult,
            )
        result = await handle.result()
    assert result.status == "completed" and result.variables == {"reviewers": REVIEWERS}
    records = eng.tasks()
    assert [records[t].assignee for t in order] == REVIEWERS
    started = next(e for e in eng.events() if e.type == "multi_instance.started")
    assert started.data["sequential"] is True
