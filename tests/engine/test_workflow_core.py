"""Core paths: start, end, flows, exclusive / parallel / inclusive gateways, tasks, results."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError

from workflow_engine.engine.contract import (
    SIGNAL_RETRY,
    UPDATE_COMPLETE_TASK,
    CompleteTaskRequest,
    CompleteTaskResult,
    RetryRequest,
)

from .harness import doc, el, engine, eventually, flow, recording, until

pytestmark = pytest.mark.temporal


async def test_straight_line_with_script_and_initiator(temporal_client: Client) -> None:
    definition = doc(
        el("start", "startEvent", "calc", config={"initiator": "starter"}),
        el("calc", "scriptTask", "manual", config={"script": {"total": "${a + b}"}}),
        el("manual", "manualTask", "end"),
        el("end", "endEvent"),
    )
    async with engine(temporal_client) as eng:
        handle = await eng.start(definition, variables={"a": 2, "b": 3}, initiator="ann")
        result = await handle.result()
    assert result.status == "completed"
    assert result.end_node_id == "end"
    assert result.variables == {"a": 2, "b": 3, "initiator": "ann", "starter": "ann", "total": 5}
    instance = handle.id.removeprefix("pi-")
    assert eng.passed(instance) == ["start", "calc", "manual", "end"]
    types = eng.types(instance)
    assert types[0] == "process.started" and types[-1] == "process.completed"
    sequences = [e.sequence for e in eng.events(instance)]
    assert sequences == list(range(1, len(sequences) + 1))
    final = eng.last(instance)
    assert final.status == "completed" and final.ended_at is not None
    assert final.active_node_ids == []


def _exclusive(default: bool) -> dict[str, Any]:
    return doc(
        el("start", "startEvent", "gw"),
        el(
            "gw",
            "exclusiveGateway",
            "big",
            "huge",
            "small",
            name="Size?",
            config={"default_flow": "small"} if default else {},
        ),
        flow("big", "gw", "end_big", "${n > 10}"),
        flow("huge", "gw", "end_huge", "${n > 100}"),
        flow("small", "gw", "end_small", None if default else "${n < 0}"),
        el("end_big", "endEvent"),
        el("end_huge", "endEvent"),
        el("end_small", "endEvent"),
    )


@pytest.mark.parametrize(("n", "end"), [(500, "end_big"), (5, "end_small")])
async def test_exclusive_first_true_in_document_order_else_default(
    temporal_client: Client, n: int, end: str
) -> None:
    async with engine(temporal_client) as eng:
        handle = await eng.start(_exclusive(default=True), variables={"n": n})
        result = await handle.result()
    assert result.status == "completed" and result.end_node_id == end
    taken = [e for e in eng.events() if e.type == "gateway.taken"]
    assert len(taken) == 1


async def test_exclusive_without_match_is_incident_naming_gateway_then_retry(
    temporal_client: Client,
) -> None:
    async with engine(temporal_client) as eng:
        handle = await eng.start(_exclusive(default=False), variables={"n": 5})
        snap = await until(handle, lambda s: s.status == "incident")
        assert snap.incidents[0].node_id == "gw"
        assert "'gw' (Size?)" in snap.incidents[0].message
        assert "no default flow" in snap.incidents[0].message
        await eventually(lambda: any(b.status == "incident" for b in eng.batches))
        await handle.signal("set_variables", {"variables": {"n": 50}})
        await handle.signal(SIGNAL_RETRY, RetryRequest(node_id="gw"))
        result = await handle.result()
    assert result.end_node_id == "end_big"
    types = eng.types()
    assert types.index("incident.created") < types.index("incident.resolved")


async def test_parallel_fork_join_runs_branches_once_each(temporal_client: Client) -> None:
    definition = doc(
        el("start", "startEvent", "fork"),
        el("fork", "parallelGateway", "a", "b", "c"),
        el("a", "scriptTask", "join", config={"script": {"x": "${1}"}}),
        el("b", "scriptTask", "join", config={"script": {"y": "${2}"}}),
        el("c", "task", "join"),
        el("join", "parallelGateway", "after"),
        el("after", "scriptTask", "end", config={"script": {"sum": "${x + y}"}}),
        el("end", "endEvent"),
    )
    async with engine(temporal_client) as eng:
        result = await (await eng.start(definition)).result()
    assert result.variables["sum"] == 3
    assert eng.passed().count("after") == 1
    assert eng.passed().count("end") == 1


async def test_parallel_nested_and_unbalanced_joins(temporal_client: Client) -> None:
    # fork1 -> (a, fork2 -> (b, c) -> join2) ; join1 joins a and join2; plus an uncontrolled
    # merge: d has two incoming flows and runs once per token.
    definition = doc(
        el("start", "startEvent", "fork1"),
        el("fork1", "parallelGateway", "a", "fork2"),
        el("a", "task", "join1"),
        el("fork2", "parallelGateway", "b", "c"),
        el("b", "task", "join2"),
        el("c", "task", "join2"),
        el("join2", "parallelGateway", "join1"),
        el("join1", "parallelGateway", "split"),
        el("split", "parallelGateway", "d", "d2"),
        el("d2", "task", "d"),
        el("d", "scriptTask", "end", config={"script": {"count": "${count + 1}"}}),
        el("end", "endEvent"),
    )
    async with engine(temporal_client) as eng:
        result = await (await eng.start(definition, variables={"count": 0})).result()
    assert result.status == "completed"
    assert result.variables["count"] == 2
    joined = [e.activity_id for e in eng.events() if e.type == "gateway.joined"]
    assert joined == ["join2", "join1"]
    assert eng.passed().count("end") == 2


def _inclusive_partial_merge() -> dict[str, Any]:
    # Camunda #6: fork on the true conditions; the join must wait only for the branches that
    # were actually started (a token upstream), then continue once.
    return doc(
        el("start", "startEvent", "fork"),
        el("fork", "inclusiveGateway", "fa", "fb", "fc"),
        flow("fa", "fork", "a", "${wantA}"),
        flow("fb", "fork", "b", "${wantB}"),
        flow("fc", "fork", "c", "${wantC}"),
        el("a", "scriptTask", "join", config={"script": {"ran_a": "${true}"}}),
        el("b", "userTask", "join"),
        el("c", "scriptTask", "join", config={"script": {"ran_c": "${true}"}}),
        el("join", "inclusiveGateway", "after"),
        el("after", "scriptTask", "end", config={"script": {"after": "${after + 1}"}}),
        el("end", "endEvent"),
    )


async def test_inclusive_partial_merge_waits_only_for_started_branches(
    temporal_client: Client,
) -> None:
    async with engine(temporal_client) as eng:
        variables = {"wantA": True, "wantB": True, "wantC": False, "after": 0}
        handle = await eng.start(_inclusive_partial_merge(), variables=variables)
        snap = await until(handle, lambda s: bool(s.open_task_ids) and "join" in s.active_node_ids)
        assert "after" not in [e.activity_id for e in eng.events()]
        await handle.execute_update(
            UPDATE_COMPLETE_TASK,
            CompleteTaskRequest(task_id=snap.open_task_ids[0]),
            result_type=CompleteTaskResult,
        )
        result = await handle.result()
    assert result.variables["after"] == 1
    assert result.variables.get("ran_a") is True and "ran_c" not in result.variables


async def test_inclusive_default_only_when_none_true(temporal_client: Client) -> None:
    definition = doc(
        el("start", "startEvent", "fork"),
        el("fork", "inclusiveGateway", "fa", "fd", config={"default_flow": "fd"}),
        flow("fa", "fork", "a", "${go}"),
        flow("fd", "fork", "d", None),
        el("a", "task", "end"),
        el("d", "task", "end"),
        el("end", "endEvent"),
    )
    async with engine(temporal_client) as eng:
        await (await eng.start(definition, variables={"go": True})).result()
        await (await eng.start(definition, variables={"go": False})).result()
    passed = eng.passed()
    assert passed.count("a") == 1 and passed.count("d") == 1


async def test_loop_back_through_exclusive_gateway(temporal_client: Client) -> None:
    definition = doc(
        el("start", "startEvent", "inc"),
        el("inc", "scriptTask", "check", config={"script": {"i": "${i + 1}"}}),
        el("check", "exclusiveGateway", "again", "done", config={"default_flow": "done"}),
        flow("again", "check", "inc", "${i < 5}"),
        flow("done", "check", "end"),
        el("end", "endEvent"),
    )
    async with engine(temporal_client) as eng:
        result = await (await eng.start(definition, variables={"i": 0})).result()
    assert result.variables["i"] == 5


async def test_service_task_mapping_retry_and_incident_then_retry(temporal_client: Client) -> None:
    attempts: dict[str, int] = {"n": 0}

    def flaky(arg: dict[str, Any]) -> dict[str, Any]:
        attempts["n"] += 1
        if attempts["n"] <= 2:
            raise RuntimeError(f"boom {attempts['n']}")
        return {"code": arg["email"].upper(), "ok": True}

    definition = doc(
        el("start", "startEvent", "call"),
        el(
            "call",
            "serviceTask",
            "end",
            config={
                "activity_name": "Flaky",
                "retry_policy": {"max_attempts": 2, "initial_interval": "PT0.1S"},
                "timeout": "PT10S",
                "input_mapping": {"email": "${email}", "fixed": "x"},
                "output_mapping": {"code": "${result.code}"},
            },
        ),
        el("end", "endEvent"),
    )
    async with engine(temporal_client) as eng:
        activity_fn = recording("Flaky", eng.calls, flaky)
        async with engine(temporal_client, activity_fn) as eng2:
            handle = await eng2.start(definition, variables={"email": "a@b"})
            snap = await until(handle, lambda s: s.status == "incident")
            assert snap.incidents[0].node_id == "call"
            assert "boom 2" in snap.incidents[0].message
            await handle.signal(SIGNAL_RETRY, RetryRequest())
            result = await handle.result()
    assert result.variables["code"] == "A@B"
    assert "ok" not in result.variables
    assert eng.calls["Flaky"][0] == {"email": "a@b", "fixed": "x"}
    assert attempts["n"] == 3


async def test_user_task_record_and_completion_validation(temporal_client: Client) -> None:
    definition = doc(
        el("start", "startEvent", "review"),
        el(
            "review",
            "userTask",
            "end",
            name="Review",
            config={
                "assignee": "${initiator}",
                "candidate_groups": "managers, auditors",
                "candidate_users": ["${initiator}", "bob"],
                "priority": "70",
                "due_date": "PT1H",
                "form_key": "review-form",
                "category": "checks",
            },
        ),
        el("end", "endEvent"),
        variables={"approved": {"type": "boolean"}},
    )
    async with engine(temporal_client) as eng:
        handle = await eng.start(definition, initiator="ann")
        snap = await until(handle, lambda s: bool(s.open_task_ids))
        task_id = snap.open_task_ids[0]
        await eventually(lambda: task_id in eng.tasks())
        record = eng.tasks()[task_id]
        assert record.assignee == "ann" and record.state == "created"
        assert record.candidate_groups == ["managers", "auditors"]
        assert record.candidate_users == ["ann", "bob"]
        assert record.priority == 70 and record.form_key == "review-form"
        assert record.category == "checks" and record.due_date is not None
        with pytest.raises(WorkflowUpdateFailedError) as wrong_type:
            await handle.execute_update(
                UPDATE_COMPLETE_TASK,
                CompleteTaskRequest(task_id=task_id, variables={"approved": "yes"}),
                result_type=CompleteTaskResult,
            )
        assert "approved" in str(wrong_type.value.cause)
        with pytest.raises(WorkflowUpdateFailedError) as unknown:
            await handle.execute_update(
                UPDATE_COMPLETE_TASK,
                CompleteTaskRequest(task_id="nope"),
                result_type=CompleteTaskResult,
            )
        assert "does not exist" in str(unknown.value.cause)
        done = await handle.execute_update(
            UPDATE_COMPLETE_TASK,
            CompleteTaskRequest(task_id=task_id, variables={"approved": True}, user_id="ann"),
            result_type=CompleteTaskResult,
        )
        assert done.node_id == "review"
        # Rejected by the validator, or — when the first completion already ended the
        # instance — refused by Temporal because the workflow closed.
        with pytest.raises((WorkflowUpdateFailedError, RPCError)):
            await handle.execute_update(
                UPDATE_COMPLETE_TASK,
                CompleteTaskRequest(task_id=task_id),
                result_type=CompleteTaskResult,
            )
        result = await handle.result()
    assert result.variables["approved"] is True
    final = eng.tasks()[task_id]
    assert final.state == "completed" and final.completed_by == "ann"


async def test_two_concurrent_completions_second_rejected(temporal_client: Client) -> None:
    import asyncio

    definition = doc(
        el("start", "startEvent", "t"), el("t", "userTask", "end"), el("end", "endEvent")
    )
    async with engine(temporal_client) as eng:
        handle = await eng.start(definition)
        snap = await until(handle, lambda s: bool(s.open_task_ids))
        task_id = snap.open_task_ids[0]

        async def complete(user: str) -> str:
            try:
                await handle.execute_update(
                    UPDATE_COMPLETE_TASK,
                    CompleteTaskRequest(task_id=task_id, variables={"by": user}, user_id=user),
                    result_type=CompleteTaskResult,
                )
                return "ok"
            except WorkflowUpdateFailedError:
                return "rejected"

        outcomes = await asyncio.gather(complete("u1"), complete("u2"))
        result = await handle.result()
    assert sorted(outcomes) == ["ok", "rejected"]
    assert result.variables["by"] in ("u1", "u2")
    assert eng.types().count("task.completed") == 1


async def test_process_timeout_ends_timed_out(temporal_client: Client) -> None:
    definition = doc(
        el("start", "startEvent", "t"),
        el("t", "userTask", "end"),
        el("end", "endEvent"),
        timeout="PT1S",
    )
    async with engine(temporal_client) as eng:
        result = await (await eng.start(definition)).result()
    assert result.status == "timed_out"
    assert [t.state for t in eng.tasks().values()] == ["cancelled"]
    assert eng.batches[-1].status == "timed_out"
