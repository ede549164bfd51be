"""Determinism: the committed histories replay against the current interpreter.

Regenerate them with `python -m tests.engine.record_histories` after an intended change of
behaviour; an unintended change fails here with a nondeterminism error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workflow_engine.engine.workflow import ProcessInstanceWorkflow

HISTORIES = sorted((Path(__file__).resolve().parent / "histories").glob("*.json"))


def test_corpus_exists() -> None:
    assert len(HISTORIES) >= 5


def _load(path: Path) -> dict[str, Any]:
    stored: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return stored


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays(path: Path) -> None:
    stored = _load(path)
    history = WorkflowHistory.from_json(stored["workflow_id"], stored["history"])
    replayer = Replayer(workflows=[ProcessInstanceWorkflow])
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"
