"""`wfe history-cleanup` run from the command line is audited as a CLI action."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.test_cli_runtime import ROOT
from workflow_engine.security import Principal, acting_as
from workflow_engine.services.audit import AuditService
from workflow_engine.store.audit import AuditFilters
from workflow_engine.store.database import Database


async def test_cli_history_cleanup_leaves_a_cli_entry(db_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "WFE_DATABASE_URL": db_url, "WFE_DATA_DIR": str(tmp_path)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "workflow_engine", "history-cleanup", "--ttl-days", "30",
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, stderr.decode()
    database = Database.from_url(db_url)
    try:
        with acting_as(Principal(user_id="root", roles=frozenset({"admin"}))):
            page = await AuditService(database=database).list(AuditFilters())
    finally:
        await database.dispose()
    [entry] = page.items
    assert (entry.action, entry.transport, entry.actor_kind) == ("history.cleanup", "cli", "system")
    assert entry.user_agent is not None and entry.user_agent.startswith("wfe/")
    assert entry.details["ttl_days"] == 30 and entry.details["instances_deleted"] == 0
