"""Services wired to the real interpreter: a worker with `ProcessInstanceWorkflow`, the engine's
activities and test stand-ins of the seed example's service-task activities.

Used by the REST and gRPC end-to-end tests (fixture `live_services` in tests/api/conftest.py).
The seed's activities are registered by name, as any user's worker would; `CALLS` records each
call (name, input) so tests can check what the process did.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.client import Client

from workflow_engine.config import load_settings
from workflow_engine.engine.worker import build_worker
from workflow_engine.services.container import Services, build_services

#: (activity name, input) of every seed activity call, in order; cleared per engine.
CALLS: list[tuple[str, dict[str, Any]]] = []


@activity.defn(name="SendEmailActivity")
async def send_email(data: dict[str, Any]) -> dict[str, Any]:
    CALLS.append(("SendEmailActivity", data))
    return {"code": "C-42", "success": True}


@activity.defn(name="CompleteRegistrationActivity")
async def complete_registration(data: dict[str, Any]) -> dict[str, Any]:
    CALLS.append(("CompleteRegistrationActivity", data))
    return {"id": f"reg-{data['user_id']}", "success": True}


@activity.defn(name="RejectRegistrationActivity")
async def reject_registration(data: dict[str, Any]) -> dict[str, Any]:
    CALLS.append(("RejectRegistrationActivity", data))
    return {"rejected": True}


@asynccontextmanager
async def running_engine(
    db_url: str, data_dir: Path, temporal_client: Client, **overrides: Any
) -> AsyncIterator[Services]:
    """Services over `db_url` with a worker on a task queue of their own, running.

    `overrides` are further settings (auth, limits).
    """
    queue = f"e2e-{uuid.uuid4().hex}"
    settings = load_settings(database_url=db_url, data_dir=data_dir, task_queue=queue, **overrides)
    services = await build_services(settings, temporal_client=temporal_client)
    worker = build_worker(
        temporal_client,
        task_queue=queue,
        activities=[
            *services.engine_activities(),
            send_email,
            complete_registration,
            reject_registration,
        ],
    )
    CALLS.clear()
    try:
        async with worker:
            yield services
    finally:
        await services.aclose()
