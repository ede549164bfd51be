"""The faster sandbox runner replays the committed histories and keeps Temporal's answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter, WithSerializationContext
from temporalio.worker import Replayer

from workflow_engine.engine import sandbox
from workflow_engine.engine.piggyback import PiggybackInterceptor
from workflow_engine.engine.sandbox import FastSandboxedWorkflowRunner, contexts_unused
from workflow_engine.engine.worker import sandbox_runner
from workflow_engine.engine.workflow import ProcessInstanceWorkflow

HISTORIES = sorted((Path(__file__).resolve().parent / "histories").glob("*.json"))


def _load(path: Path) -> dict[str, Any]:
    stored: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return stored


class _Codec(WithSerializationContext):
    """Stands in for a payload codec that uses contexts: only that matters here."""


class _ContextFreeCodec:
    """A codec without contexts (like the engine's encryption codec)."""


def test_contexts_are_skipped_only_without_context_codec_and_storage() -> None:
    assert contexts_unused(DataConverter.default)
    assert contexts_unused(DataConverter(payload_codec=_ContextFreeCodec()))  # type: ignore[arg-type]
    with_codec = DataConverter(payload_codec=_Codec())  # type: ignore[arg-type]
    assert not contexts_unused(with_codec)
    runner = sandbox_runner(data_converter=with_codec)
    assert isinstance(runner, FastSandboxedWorkflowRunner) and not runner.contexts_unused
    assert sandbox_runner(data_converter=DataConverter.default).contexts_unused
    assert not sandbox_runner().contexts_unused


@pytest.mark.parametrize("skip", [True, False], ids=["contexts-skipped", "contexts-computed"])
@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays_with_the_fast_runner(path: Path, skip: bool) -> None:
    stored = _load(path)
    history = WorkflowHistory.from_json(stored["workflow_id"], stored["history"])
    runner = sandbox_runner()
    replayer = Replayer(
        workflows=[ProcessInstanceWorkflow],
        workflow_runner=FastSandboxedWorkflowRunner(
            restrictions=runner.restrictions, contexts_unused=skip
        ),
        interceptors=[PiggybackInterceptor()],
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"


def test_entry_code_is_compiled_once() -> None:
    source = "x = 1\n"
    assert sandbox._compiled(source) is sandbox._compiled(source)
