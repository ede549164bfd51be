"""Restore drill for the application database (issue 10, item 8; docs/operations.md).

    scripts/restore-drill [--keep-logs]

What an operator does after losing the database, performed end to end on this machine:

1. A source database in use: `wfe migrate`, `wfe serve` and `wfe worker` on a Temporal dev
   server; the seed example deployed, one instance driven to completion (user task, signal),
   one left waiting in its user task, and a second version of the definition deployed.
2. Backup: `pg_dump --format=custom` of the source database, taken while it serves.
3. Restore: a new, empty database, `pg_restore --no-owner --exit-on-error` into it, then
   `wfe migrate` (a no-op on a current dump, brings an older one up to date).
4. A `wfe serve` on the restored database must serve the same data: every definition (key,
   version, id, source), every instance (id, status, business key), the event log of each
   instance, the ended instance in history, the open task, and `/readyz`.

Prints one summary line; exits 1 when the restored server serves anything different, 2 when
the drill itself could not run. Both databases and every process are always cleaned up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from drill_support import (
    ROOT,
    Database,
    DrillError,
    Proc,
    ProcessSet,
    free_port,
    log,
    product_env,
    run_wfe,
    wait_ready,
    wfe_argv,
)

from workflow_engine.engine.devserver import TemporalDevServer

ACTIVITIES = ROOT / "examples" / "activities.py"
SEED = ROOT / "examples" / "user-registration.json"
USER = "drill-user"


def _pg(tool: str, *args: str) -> None:
    done = subprocess.run([tool, *args], capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise DrillError(f"{tool} exited {done.returncode}: {done.stderr[-2000:]}")


class Drill:
    """The source system, the backup, the restored system, and the comparison."""

    def __init__(self, keep_logs: bool) -> None:
        self.keep_logs = keep_logs
        self.workdir = Path(tempfile.mkdtemp(prefix="wfe-restore-drill-"))
        self.processes = ProcessSet()
        self.databases: list[Database] = []
        self.temporal: TemporalDevServer | None = None

    def _serve(self, name: str, env: dict[str, str]) -> tuple[Proc, str]:
        port = free_port()
        proc_env = {**env, "WFE_HTTP_PORT": str(port), "WFE_GRPC_PORT": str(free_port())}
        proc = self.processes.add(
            Proc(name, wfe_argv("serve"), proc_env, self.workdir, self.workdir / f"{name}.log")
        )
        proc.start()
        url = f"http://127.0.0.1:{port}"
        wait_ready(proc, url + "/readyz")
        return proc, url

    async def run(self) -> tuple[str, list[str]]:
        """The drill; the summary line and the differences found."""
        source = Database.create("wfe_drill_source")
        self.databases.append(source)
        self.temporal = TemporalDevServer(port=free_port(), headless=True, db_file=None)
        await self.temporal.start(timeout=120)
        env = product_env(
            WFE_TEMPORAL_ADDRESS=self.temporal.address,
            WFE_DATA_DIR=str(self.workdir / "data"),
            WFE_EXAMPLES_OUTBOX=str(self.workdir / "outbox"),
            WFE_LOG_LEVEL="WARNING",
            WFE_ACTIVITY_MODULES=str(ACTIVITIES),
        )
        source_env = {**env, "WFE_DATABASE_URL": source.url}
        run_wfe(["migrate"], source_env, self.workdir)
        _, source_url = self._serve("api-source", source_env)
        worker = self.processes.add(
            Proc("worker", wfe_argv("worker"), source_env, self.workdir, self.workdir / "w.log")
        )
        worker.start()
        log(f"source database {source.name} serving at {source_url}")
        async with httpx.AsyncClient(base_url=source_url, timeout=30) as api:
            await self._make_data(api)
            # 2. Backup while the source keeps serving (pg_dump reads one consistent snapshot).
            dump = self.workdir / "wfe.dump"
            _pg("pg_dump", "--format=custom", f"--file={dump}", f"--dbname={source.dsn}")
            log(f"pg_dump: {dump.stat().st_size} bytes")
            before = await self._snapshot(api)
        # 3. Restore into a new database, then bring its schema to the running version.
        restored = Database.create("wfe_drill_restored")
        self.databases.append(restored)
        _pg("pg_restore", "--no-owner", "--exit-on-error", f"--dbname={restored.dsn}", str(dump))
        restored_env = {**env, "WFE_DATABASE_URL": restored.url}
        run_wfe(["migrate"], restored_env, self.workdir)
        _, restored_url = self._serve("api-restored", restored_env)
        log(f"restored database {restored.name} serving at {restored_url}")
        async with httpx.AsyncClient(base_url=restored_url, timeout=30) as api:
            after = await self._snapshot(api)
        differences = [
            f"{what}: source {json.dumps(before[what])[:300]} != restored "
            f"{json.dumps(after.get(what))[:300]}"
            for what in before
            if before[what] != after.get(what)
        ]
        events = sum(len(v) for v in before["event_logs"].values())
        summary = (
            f"{len(before['definitions'])} definitions, {len(before['instances'])} instances, "
            f"{events} events, {len(before['history'])} ended, {len(before['tasks'])} tasks"
        )
        return summary, differences

    async def _make_data(self, api: httpx.AsyncClient) -> None:
        """The seed example: deploy, one instance completed, one waiting, a second version."""
        seed = SEED.read_bytes()
        response = await api.post(
            "/api/v1/definitions", content=seed, headers={"Content-Type": "application/json"}
        )
        _expect(response, 201)
        ids = []
        for n in (1, 2):
            body = {
                "definition_key": "userRegistration",
                "business_key": f"drill-{n}",
                "user_id": USER,
                "variables": {"user_id": f"u{n}", "email": f"u{n}@example.com", "username": "a"},
            }
            response = await api.post("/api/v1/instances", json=body)
            _expect(response, 201)
            ids.append(response.json()["id"])
        first = await self._open_task(api, ids[0])
        _expect(
            await api.post(
                f"/api/v1/tasks/{first}/complete",
                json={"variables": {"userValid": True}, "user_id": USER},
            ),
            200,
        )
        await self._until(api, ids[0], "completed", signal=True)
        await self._open_task(api, ids[1])  # the second waits in its user task
        # A second version of the definition (a changed name): versions must survive too.
        changed = json.loads(seed)
        changed["process"]["name"] = "User registration (v2)"
        response = await api.post("/api/v1/definitions", json=changed)
        _expect(response, 201)

    @staticmethod
    async def _open_task(api: httpx.AsyncClient, instance_id: str) -> str:
        for _ in range(240):
            response = await api.get("/api/v1/tasks", params={"instance_id": instance_id})
            items = response.json().get("items", []) if response.status_code == 200 else []
            if items:
                return str(items[0]["id"])
            await asyncio.sleep(0.25)
        raise DrillError(f"instance {instance_id} never reached its user task")

    @staticmethod
    async def _until(api: httpx.AsyncClient, instance_id: str, status: str, signal: bool) -> None:
        for turn in range(240):
            if signal and turn % 4 == 0:
                await api.post("/api/v1/signals", json={"name": "email_verified"})
            response = await api.get(f"/api/v1/instances/{instance_id}")
            if response.status_code == 200 and response.json()["status"] == status:
                return
            await asyncio.sleep(0.25)
        raise DrillError(f"instance {instance_id} never became {status}")

    @staticmethod
    async def _snapshot(api: httpx.AsyncClient) -> dict[str, Any]:
        """What the API serves, in comparable form."""
        definitions = (await api.get("/api/v1/definitions", params={"page_size": 500})).json()
        instances = (await api.get("/api/v1/instances", params={"page_size": 500})).json()
        history = (await api.get("/api/v1/history/instances", params={"page_size": 500})).json()
        tasks = (await api.get("/api/v1/tasks", params={"page_size": 500})).json()
        sources = {}
        for d in definitions["items"]:
            sources[str(d["id"])] = (await api.get(f"/api/v1/definitions/{d['id']}")).json()
        logs: dict[str, list[Any]] = {}
        for i in instances["items"]:
            page = await api.get(f"/api/v1/instances/{i['id']}/history", params={"page_size": 500})
            logs[i["id"]] = [(e["sequence"], e["type"]) for e in page.json()["events"]]
        return {
            "definitions": sorted((d["id"], d["key"], d["version"]) for d in definitions["items"]),
            "definition_documents": sources,
            "instances": sorted(
                (i["id"], i["status"], i["business_key"]) for i in instances["items"]
            ),
            "event_logs": logs,
            "history": sorted((h["id"], h["status"]) for h in history["items"]),
            "tasks": sorted((t["id"], t["instance_id"], t["state"]) for t in tasks["items"]),
        }

    async def close(self) -> None:
        """Stop everything, drop both databases."""
        await asyncio.to_thread(self.processes.stop_all)
        if self.temporal is not None:
            with contextlib.suppress(Exception):
                await self.temporal.stop()
        for database in self.databases:
            with contextlib.suppress(Exception):
                database.drop()
        if not self.keep_logs:
            shutil.rmtree(self.workdir, ignore_errors=True)


def _expect(response: httpx.Response, status: int) -> None:
    if response.status_code != status:
        raise DrillError(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code} (expected {status}): {response.text[:500]}"
        )


async def main(keep_logs: bool) -> int:
    """Run the drill; the exit status."""
    began = time.monotonic()
    drill = Drill(keep_logs)
    try:
        summary, differences = await drill.run()
    except DrillError as exc:
        log(f"the drill itself failed: {exc}")
        for proc in drill.processes.procs:
            log(f"--- {proc.name}:\n{proc.tail(1500)}")
        print(f"restore-drill: harness failure after {time.monotonic() - began:.0f}s")
        return 2
    finally:
        await drill.close()
    for difference in differences:
        log(f"DIFFERENCE {difference}")
    verdict = "restored server serves the same" if not differences else "DIFFERS"
    print(
        f"restore-drill: pg_dump -> pg_restore -> wfe migrate -> wfe serve: {verdict}: "
        f"{summary}, {len(differences)} differences, {time.monotonic() - began:.0f}s",
        flush=True,
    )
    return 0 if not differences else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        prog="scripts/restore-drill", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the work directory")
    sys.exit(asyncio.run(main(parser.parse_args().keep_logs)))
