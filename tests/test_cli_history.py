"""`wfe history` and `wfe history-cleanup` against a real `wfe dev` running the seed example."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.test_cli_runtime import ROOT, Dev, dev, eventually, start_seed

__all__ = ["dev"]  # the module-scoped `wfe dev` fixture, shared from the runtime CLI tests


def _run_seed_to_end(dev: Dev, user: str) -> str:
    instance_id: str = start_seed(dev, user)["id"]
    tasks = eventually(lambda: dev.json("tasks", "--assignee", user, "--state", "created"), bool)
    dev.ok("complete", tasks[0]["id"], "--var", "userValid=false", "--user", user)
    eventually(lambda: dev.json("instance", instance_id), lambda b: b["status"] == "completed")
    return instance_id


def test_history_shows_steps_and_events_and_cleanup_expires_them(dev: Dev) -> None:
    instance_id = _run_seed_to_end(dev, "hist1")
    steps = dev.json("history", instance_id)
    assert [s["node_id"] for s in steps] == [
        "start_event",
        "validate_user_task",
        "email_gateway",
        "reject_registration_task",
        "end_event",
    ]
    assert steps[1]["user_id"] == "hist1" and steps[1]["output"] == {"userValid": False}
    assert steps[3]["attempts"][0]["activity"] == "RejectRegistrationActivity"
    table = dev.ok("history", instance_id)
    assert "reject_registration_task" in table and "completed" in table
    events = dev.json("history", instance_id, "--events")
    assert events[0]["type"] == "process.started" and events[-1]["type"] == "process.completed"
    only = dev.json("history", instance_id, "--type", "activity.*")
    assert only and all(e["type"].startswith("activity.") for e in only)

    # Retention 0 days: everything ended is expired; the instance is gone afterwards.
    env = {
        **os.environ,
        "WFE_DATA_DIR": str(dev.outbox.parent / "state"),
        "WFE_DATABASE_URL": "",
    }
    cleaned = subprocess.run(
        [sys.executable, "-m", "workflow_engine", "history-cleanup", "--ttl-days", "0"],
        capture_output=True, text=True, timeout=60, cwd=ROOT, env=env,
    )  # fmt: skip
    assert cleaned.returncode == 0, cleaned.stderr
    assert "deleted the history of" in cleaned.stdout
    gone = dev.wfe("history", instance_id)
    assert gone.returncode == 1 and "404" in gone.stderr
    no_ttl = subprocess.run(
        [sys.executable, "-m", "workflow_engine", "history-cleanup"],
        capture_output=True, text=True, timeout=60, cwd=ROOT, env=env,
    )  # fmt: skip
    assert no_ttl.returncode == 2 and "history_ttl_days" in no_ttl.stderr
