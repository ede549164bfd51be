"""Issue 15, finding 12: a failing activity's sensitive value never reaches any log output.

A real `wfe worker` subprocess (both log formats, DEBUG level) runs an instance whose activity
raises with the sensitive value in its arguments, its locals and its message. Everything the
worker writes (stdout and stderr) is searched: the value appears nowhere, while the failure
itself is logged (with the value masked).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from tests.crypto.support import new_key_text
from tests.engine.test_worker import ROOT
from tests.services.support import eventually
from workflow_engine.api.rest.app import create_app
from workflow_engine.config import load_settings
from workflow_engine.crypto.codec import client_encryption_options
from workflow_engine.engine.devserver import TemporalDevServer
from workflow_engine.services.container import build_services

CARD = "5500-0000-0000-0004-log-secret"

ACTIVITY_MODULE = """
from temporalio import activity


@activity.defn(name="LeakyCharge")
async def leaky_charge(data: dict) -> dict:
    card = data["card"]
    reversed_card = card[::-1]  # a local holding a form of the secret
    raise ValueError(f"card {card} declined ({len(reversed_card)})")
"""


def definition() -> dict[str, Any]:
    return {
        "process": {
            "id": "leaky",
            "key": "leaky",
            "name": "leaky",
            "executable": True,
            "variables": {"card": {"type": "string", "sensitive": True, "required": True}},
        },
        "elements": [
            {"id": "start", "type": "startEvent", "outgoing": ["charge"]},
            {
                "id": "charge",
                "type": "serviceTask",
                "config": {
                    "implementation": "temporal_activity",
                    "activity_name": "LeakyCharge",
                    "timeout": "PT30S",
                    "retry_policy": {"max_attempts": 2, "initial_interval": "PT0.1S"},
                    "input_mapping": {"card": "${card}"},
                },
                "incoming": ["start"],
                "outgoing": ["end"],
            },
            {"id": "end", "type": "endEvent", "incoming": ["charge"]},
        ],
    }


@pytest.mark.parametrize("fmt", ["console", "json"])
async def test_a_failing_activity_leaks_no_sensitive_value_into_any_output(
    fmt: str, tmp_path: Path, temporal_server: TemporalDevServer, temporal_client: Client
) -> None:
    (tmp_path / "leaky_activities.py").write_text(ACTIVITY_MODULE)
    keys = {"k1": new_key_text()}
    queue = f"leaky-{uuid.uuid4().hex}"
    settings = load_settings(
        data_dir=tmp_path,
        task_queue=queue,
        temporal_address=temporal_server.address,
        encryption_keys=keys,
    )
    config = temporal_client.config()
    config.update(client_encryption_options(settings.encryption_key_ring()))
    services = await build_services(settings, run_migrations=True, temporal_client=Client(**config))
    env = {
        **os.environ,
        "WFE_TEMPORAL_ADDRESS": temporal_server.address,
        "WFE_TEMPORAL_NAMESPACE": temporal_server.namespace,
        "WFE_DATA_DIR": str(tmp_path),
        "WFE_TASK_QUEUE": queue,
        "WFE_ACTIVITY_MODULES": str(tmp_path / "leaky_activities.py"),
        "WFE_LOG_FORMAT": fmt,
        "WFE_LOG_LEVEL": "DEBUG",
        "WFE_ENCRYPTION_KEYS": json.dumps(keys),
        # Rich and friends would print locals in colour on a terminal: pretend there is one.
        "FORCE_COLOR": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    stdout_file = tmp_path / "worker.out"
    stderr_file = tmp_path / "worker.err"
    with stdout_file.open("w") as out, stderr_file.open("w") as err:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "workflow_engine",
            "worker",
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=err,
        )
    try:
        output = lambda: stdout_file.read_text() + stderr_file.read_text()  # noqa: E731

        async def started() -> str:
            return output()

        await eventually(started, lambda text: "worker_starting" in text, within=120)
        transport = httpx.ASGITransport(app=create_app(services))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
            deployed = await api.post(
                "/api/v1/definitions",
                content=json.dumps(definition()),
                headers={"content-type": "application/json"},
            )
            assert deployed.status_code == 201, deployed.text
            started_instance = await api.post(
                "/api/v1/instances", json={"definition_key": "leaky", "variables": {"card": CARD}}
            )
            assert started_instance.status_code == 201, started_instance.text
            instance_id = started_instance.json()["id"]

            async def status() -> str:
                body = (await api.get(f"/api/v1/instances/{instance_id}")).json()
                return str(body["status"])

            await eventually(status, lambda s: s == "incident", within=120)
            history = (await api.get(f"/api/v1/instances/{instance_id}/history")).json()
            assert CARD not in json.dumps(history)
        await asyncio.sleep(0.5)  # the worker's last log lines
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()
        await services.aclose()
    everything = stdout_file.read_text() + stderr_file.read_text()
    assert "LeakyCharge" in everything  # the failure was logged ...
    assert "declined" in everything
    assert "card *** declined" in everything  # ... its message masked
    assert CARD not in everything  # ... and the value is nowhere at all
    assert CARD[::-1] not in everything
