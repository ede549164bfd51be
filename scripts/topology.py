"""The production topology under faults, on this machine (issue 10, item 7).

    scripts/topology [--instances 300] [--timeout 600]

Starts a Temporal dev server (free port, in memory), an own PostgreSQL database, `wfe migrate`,
two `wfe serve` replicas and two `wfe worker` processes (the seed example's activities), all
sharing the database and Redis (db 9 unless `--redis-url`). Deploys the seed example and a
process of three service tasks, then runs the instances — the seed example driven to
completion through both replicas (start, complete the user task, broadcast the signal), the
service-task process started and left to the workers — while SSE clients follow the global and
per-instance streams on both replicas. Mid-run it SIGKILLs one worker and one API replica and
restarts them.

Then it checks: every instance exists once and completed once (the tables and Temporal agree,
no workflow without a row), every event log is gapless (sequence 1..N, one
`process.completed`, last), and every SSE client that was connected to the killed replica
reconnected to the other with `Last-Event-ID` and — like every other client — received every
event of the log exactly once. Stdout gets one summary line; the exit status is 1 on any loss,
duplicate, stuck instance, gap or missed event (2 when the harness itself failed). Processes
and the database are always cleaned up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis
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
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, WorkflowExecutionStatus

from workflow_engine.engine.devserver import TemporalDevServer

SEED_KEY = "userRegistration"
SERVICE_KEY = "topologyServiceSteps"
SIGNAL = "email_verified"
USER = "topology-user"
TASK_QUEUE = "workflow-engine"
ACTIVITIES = ROOT / "examples" / "activities.py"
SEED_DEFINITION = ROOT / "examples" / "user-registration.json"

SERVICE_DEFINITION: dict[str, Any] = {
    "process": {
        "id": "topology-service-steps",
        "key": SERVICE_KEY,
        "name": "Topology drill: three service tasks",
        "variables": {
            "user_id": {"type": "string", "required": True},
            "email": {"type": "string", "required": True},
            "username": {"type": "string", "required": True},
        },
    },
    "elements": [
        {"id": "start", "type": "startEvent", "outgoing": ["send"]},
        {
            "id": "send",
            "type": "serviceTask",
            "config": {
                "activity_name": "SendEmailActivity",
                "timeout": "PT10S",
                "input_mapping": {
                    "email": "${email}",
                    "template": "verification_email",
                    "user_id": "${user_id}",
                },
                "output_mapping": {"verification_code": "${result.code}"},
            },
            "outgoing": ["register"],
        },
        {
            "id": "register",
            "type": "serviceTask",
            "config": {
                "activity_name": "CompleteRegistrationActivity",
                "timeout": "PT10S",
                "input_mapping": {
                    "user_id": "${user_id}",
                    "email": "${email}",
                    "username": "${username}",
                },
                "output_mapping": {"registration_id": "${result.id}"},
            },
            "outgoing": ["noop"],
        },
        {
            "id": "noop",
            "type": "serviceTask",
            # Without a timeout the step gets the engine's default (300 s), and an attempt
            # lost with a killed worker would only be retried after it.
            "config": {"implementation": "noop", "timeout": "PT10S"},
        },
        {"id": "end", "type": "endEvent"},
    ],
}
SERVICE_DEFINITION["elements"][3]["outgoing"] = ["end"]

#: Answers that mean "this replica cannot serve now, try the other one".
RETRY_STATUSES = frozenset({502, 503, 504})


@dataclass
class Options:
    """Command-line options."""

    instances: int
    timeout: float
    concurrency: int
    redis_url: str
    kill_at: float
    start_rate: float
    stall: float
    down_seconds: float
    keep_logs: bool


class Replicas:
    """The two API replicas as a client sees them: try the preferred one, fail over."""

    def __init__(self, urls: list[str], http: httpx.AsyncClient) -> None:
        self.urls = urls
        self.http = http
        self.failovers = 0

    async def call(
        self,
        method: str,
        path: str,
        *,
        prefer: int,
        deadline: float = 60.0,
        after_transport_error: Callable[[int], Awaitable[httpx.Response | None]] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One request, on `prefer` first; on a dead replica (or 502-504) the other one.

        `after_transport_error(replica)` runs before a repeat when a request may have
        reached a replica that then died: it may find what the first attempt did and answer
        instead of repeating it.
        """
        index = prefer % len(self.urls)
        give_up = time.monotonic() + deadline
        while True:
            try:
                response = await self.http.request(method, self.urls[index] + path, **kwargs)
            except httpx.TransportError as exc:
                if time.monotonic() > give_up:
                    raise DrillError(f"{method} {path}: no replica answered: {exc!r}") from exc
                index = (index + 1) % len(self.urls)
                self.failovers += 1
                if after_transport_error is not None:
                    found = await after_transport_error(index)
                    if found is not None:
                        return found
                await asyncio.sleep(0.2)
                continue
            if response.status_code in RETRY_STATUSES and time.monotonic() < give_up:
                index = (index + 1) % len(self.urls)
                await asyncio.sleep(0.5)
                continue
            return response


@dataclass
class SseClient:
    """One SSE client that follows a stream and survives its replica.

    On a broken connection it resumes on the other replica with `Last-Event-ID`, as a
    browser's EventSource does behind a load balancer.
    """

    name: str
    path: str
    replica: int
    per_instance: bool
    events: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    resumes: list[tuple[int, str | None]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    ended: bool = False
    connected: bool = False
    first_cursor: str | None = "0"
    #: The `id:` of the last event received, as sent (the global stream's is an opaque cursor).
    last_id: str | None = None

    @property
    def cursor(self) -> str | None:
        """What `Last-Event-ID` says on reconnect: the last `id:` received, unchanged."""
        return self.last_id if self.last_id is not None else self.first_cursor

    async def follow(self, http: httpx.AsyncClient, urls: list[str], stop: asyncio.Event) -> None:
        """Read the stream until it ends (`event: end`) or `stop` is set."""
        while not stop.is_set() and not self.ended:
            cursor = self.cursor
            headers = {"Last-Event-ID": cursor} if cursor is not None else {}
            try:
                async with http.stream(
                    "GET", urls[self.replica] + self.path, headers=headers
                ) as response:
                    if response.status_code != 200:
                        body = (await response.aread()).decode(errors="replace")
                        self.errors.append(f"HTTP {response.status_code}: {body[:200]}")
                        raise httpx.RemoteProtocolError("not a stream")
                    self.connected = True
                    await self._read(response, stop)
                    if self.ended or stop.is_set():
                        return
            except (httpx.TransportError, httpx.StreamError):
                pass
            self.connected = False
            if stop.is_set():
                return
            # Broken (the replica died or dropped us): resume on the other replica.
            self.replica = (self.replica + 1) % len(urls)
            self.resumes.append((self.replica, self.cursor))
            await asyncio.sleep(0.3)

    async def _read(self, response: httpx.Response, stop: asyncio.Event) -> None:
        event_id: str | None = None
        kind = "message"
        data: list[str] = []
        async for line in response.aiter_lines():
            if stop.is_set():
                return
            if line == "":
                if kind == "end":
                    self.ended = True
                    return
                if kind == "dropped":
                    self.errors.append("dropped by the server (too slow)")
                    return
                if data and event_id is not None:
                    body = json.loads("\n".join(data))
                    # Counted by the event's own key; the global stream's `id:` is a cursor.
                    key = body["sequence"] if self.per_instance else body["id"]
                    self.events.append((key, body))
                    self.last_id = event_id
                event_id, kind, data = None, "message", []
            elif line.startswith(":"):
                continue
            else:
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "id":
                    event_id = value
                elif name == "event":
                    kind = value
                elif name == "data":
                    data.append(value)


@dataclass
class Run:
    """What the load did, for the checks."""

    business_keys: dict[str, str] = field(default_factory=dict)  # business key -> kind
    instance_ids: dict[str, str] = field(default_factory=dict)  # business key -> instance id
    start_errors: list[str] = field(default_factory=list)
    completed_tasks: set[str] = field(default_factory=set)
    task_errors: list[str] = field(default_factory=list)
    signals_sent: int = 0
    kill_time: float | None = None
    killed_replica: int = 1
    sse: list[SseClient] = field(default_factory=list)
    sse_at_kill: list[SseClient] = field(default_factory=list)


class Topology:
    """Starts, drives, breaks and checks the topology."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.workdir = Path(tempfile.mkdtemp(prefix="wfe-topology-"))
        self.processes = ProcessSet()
        self.database: Database | None = None
        self.temporal: TemporalDevServer | None = None
        self.client: Client | None = None
        self.apis: list[Proc] = []
        self.workers: list[Proc] = []
        self.urls: list[str] = []
        self.run = Run()
        self.failovers = 0

    # --- setup ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Database, Redis db, Temporal, migrate, two replicas, two workers."""
        self.database = await asyncio.to_thread(Database.create, "wfe_topology")
        log(f"database {self.database.name}; work dir {self.workdir}")
        await asyncio.to_thread(self._flush_redis)
        self.temporal = TemporalDevServer(
            port=free_port(), headless=True, db_file=None, log_file=self.workdir / "temporal.log"
        )
        await self.temporal.start(timeout=120)
        self.client = await Client.connect(self.temporal.address, namespace=self.temporal.namespace)
        log(f"temporal dev server at {self.temporal.address}")
        env = product_env(
            WFE_DATABASE_URL=self.database.url,
            WFE_REDIS_URL=self.options.redis_url,
            WFE_TEMPORAL_ADDRESS=self.temporal.address,
            WFE_DATA_DIR=str(self.workdir / "data"),
            WFE_EXAMPLES_OUTBOX=str(self.workdir / "outbox"),
            WFE_LOG_LEVEL="WARNING",
            WFE_STREAM_HEARTBEAT_SECONDS="5",
            # The drill is one client driving hundreds of instances: the per-client rate limit
            # (on by default) would answer it 429; limits are tested in tests/api/rest.
            WFE_RATE_LIMIT_PER_MINUTE="0",
        )
        await asyncio.to_thread(run_wfe, ["migrate"], env, self.workdir)
        for index in range(2):
            port = free_port()
            api_env = {
                **env,
                "WFE_HTTP_PORT": str(port),
                "WFE_GRPC_PORT": str(free_port()),
                # Which listener classes the workers implement (recorded as skipped otherwise).
                "WFE_ACTIVITY_MODULES": str(ACTIVITIES),
            }
            self.apis.append(self._proc(f"api-{index}", wfe_argv("serve"), api_env))
            self.urls.append(f"http://127.0.0.1:{port}")
        for index in range(2):
            argv = wfe_argv("worker", "-m", str(ACTIVITIES))
            self.workers.append(self._proc(f"worker-{index}", argv, env))
        for proc in [*self.apis, *self.workers]:
            proc.start()
        await asyncio.gather(
            *(self._api_ready(i) for i in range(2)), *(self._worker_ready(w) for w in self.workers)
        )
        log(f"replicas {self.urls[0]} and {self.urls[1]} ready, two workers polling")

    def _proc(self, name: str, argv: list[str], env: dict[str, str]) -> Proc:
        return self.processes.add(
            Proc(name, argv, env, cwd=self.workdir, log_path=self.workdir / f"{name}.log")
        )

    def _flush_redis(self) -> None:
        # Our own Redis database: a leftover of an earlier run must not feed this one.
        connection = redis.Redis.from_url(self.options.redis_url)
        try:
            connection.flushdb()
        finally:
            connection.close()

    async def _api_ready(self, index: int) -> None:
        # /readyz checks the database, Redis and Temporal from inside the replica.
        await asyncio.to_thread(wait_ready, self.apis[index], self.urls[index] + "/readyz")

    async def _worker_ready(self, worker: Proc, within: float = 90) -> None:
        """Wait until Temporal lists this worker process among the task queue's pollers."""
        assert self.client is not None
        identity = f"{worker.pid}@"
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if not worker.alive():
                raise DrillError(f"{worker.name} exited while starting:\n{worker.tail()}")
            answer = await self.client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=self.client.namespace,
                    task_queue=TaskQueue(name=TASK_QUEUE),
                    task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
                )
            )
            if any(p.identity.startswith(identity) for p in answer.pollers):
                return
            await asyncio.sleep(0.5)
        raise DrillError(f"{worker.name} never polled {TASK_QUEUE}:\n{worker.tail()}")

    async def deploy(self, replicas: Replicas) -> None:
        """Deploy the seed example and the service-task process."""
        for body in (SEED_DEFINITION.read_bytes(), json.dumps(SERVICE_DEFINITION).encode()):
            response = await replicas.call(
                "POST",
                "/api/v1/definitions",
                prefer=0,
                content=body,
                headers={"Content-Type": "application/json"},
            )
            if response.status_code not in (200, 201):
                raise DrillError(f"deploy failed: {response.status_code} {response.text}")

    # --- load -------------------------------------------------------------------------------

    async def drive(self) -> bool:
        """Run the instances with the fault in the middle; True when all completed in time."""
        options = self.options
        timeout = httpx.Timeout(30.0, connect=3.0)
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        async with (
            httpx.AsyncClient(timeout=timeout, limits=limits) as http,
            httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=3.0)) as sse_http,
        ):
            replicas = Replicas(self.urls, http)
            await self.deploy(replicas)
            stop = asyncio.Event()
            sse_tasks: list[asyncio.Task[None]] = []
            for replica in range(2):
                for key in (SEED_KEY, SERVICE_KEY):
                    client = SseClient(
                        name=f"stream?definition_key={key}@api-{replica}",
                        path=f"/api/v1/stream?definition_key={key}",
                        replica=replica,
                        per_instance=False,
                    )
                    self.run.sse.append(client)
                    sse_tasks.append(asyncio.create_task(client.follow(sse_http, self.urls, stop)))
            await self._wait_connected(self.run.sse)
            for index in range(options.instances):
                kind = SEED_KEY if index % 2 == 0 else SERVICE_KEY
                self.run.business_keys[f"topo-{index:04d}"] = kind
            all_started = asyncio.Event()
            workers = [
                asyncio.create_task(self._start_all(replicas, all_started)),
                asyncio.create_task(self._complete_tasks(replicas, stop)),
                asyncio.create_task(self._send_signals(replicas, stop)),
                asyncio.create_task(self._fault(sse_http, stop, sse_tasks)),
            ]
            finished = await self._wait_completed(all_started, workers)
            # Let the streams deliver the last events before they are compared with the log.
            await self._settle_streams()
            stop.set()
            for task in [*workers, *sse_tasks]:
                task.cancel()
            await asyncio.gather(*workers, *sse_tasks, return_exceptions=True)
            self.failovers = replicas.failovers
        return finished

    async def _wait_connected(self, clients: list[SseClient], within: float = 15) -> None:
        deadline = time.monotonic() + within
        while not all(c.connected for c in clients):
            if time.monotonic() > deadline:
                raise DrillError("SSE clients did not connect: " + str([c.errors for c in clients]))
            await asyncio.sleep(0.1)

    async def _start_all(self, replicas: Replicas, done: asyncio.Event) -> None:
        gate = asyncio.Semaphore(self.options.concurrency)

        async def one(index: int, key: str, kind: str) -> None:
            # Paced, so the fault lands while starts, tasks and signals are all in flight.
            await asyncio.sleep(index / self.options.start_rate)
            async with gate:
                try:
                    self.run.instance_ids[key] = await self._start_one(replicas, index, key, kind)
                except Exception as exc:  # recorded; the checks count it as lost
                    self.run.start_errors.append(f"{key}: {exc}")

        await asyncio.gather(
            *(
                one(index, key, kind)
                for index, (key, kind) in enumerate(self.run.business_keys.items())
            )
        )
        done.set()

    async def _start_one(self, replicas: Replicas, index: int, key: str, kind: str) -> str:
        # A start names itself with a request id, as a client that may retry should: a repeat
        # after a replica died mid-request (on the other replica) answers the same instance,
        # and finishes the start when the dead replica wrote the row but not the workflow.
        body = {
            "definition_key": kind,
            "business_key": key,
            "user_id": USER,
            "request_id": f"topology-start-{key}",
            "variables": {"user_id": key, "email": f"{key}@example.com", "username": key},
        }
        response = await replicas.call(
            "POST", "/api/v1/instances", prefer=(index // 2) % 2, json=body
        )
        if response.status_code == 201:
            return str(response.json()["id"])
        raise DrillError(f"start answered {response.status_code}: {response.text[:300]}")

    async def _complete_tasks(self, replicas: Replicas, stop: asyncio.Event) -> None:
        """Complete the seed's user task of every instance, alternating replicas."""
        gate = asyncio.Semaphore(8)
        turn = 0

        async def complete(task: dict[str, Any], replica: int) -> None:
            async with gate:
                try:
                    response = await replicas.call(
                        "POST",
                        f"/api/v1/tasks/{task['id']}/complete",
                        prefer=replica,
                        json={"variables": {"userValid": True}, "user_id": USER},
                    )
                except DrillError as exc:
                    self.run.task_errors.append(str(exc))
                    return
                if response.status_code == 200:
                    self.run.completed_tasks.add(task["id"])
                    return
                # 409 / 404 may mean an attempt that reached a dying replica completed it —
                # or that the task cannot be completed yet: only its state tells. A task
                # still open is tried again on the next round.
                check = await replicas.call("GET", f"/api/v1/tasks/{task['id']}", prefer=replica)
                if check.status_code == 404 or (
                    check.status_code == 200 and check.json()["state"] == "completed"
                ):
                    self.run.completed_tasks.add(task["id"])
                else:
                    self.run.task_errors.append(f"{response.status_code} {response.text[:200]}")

        while not stop.is_set():
            turn += 1
            with contextlib.suppress(DrillError, httpx.HTTPError, ValueError):
                response = await replicas.call(
                    "GET",
                    "/api/v1/tasks",
                    prefer=turn,
                    params={"assignee": USER, "page_size": 500},
                )
                if response.status_code == 200:
                    open_tasks = [
                        t
                        for t in response.json()["items"]
                        if t["id"] not in self.run.completed_tasks
                        and t["state"] in ("created", "claimed")
                    ]
                    await asyncio.gather(*(complete(t, turn + i) for i, t in enumerate(open_tasks)))
            await asyncio.sleep(1.0)

    async def _send_signals(self, replicas: Replicas, stop: asyncio.Event) -> None:
        """Broadcast the seed's signal now and then (it reaches every waiting instance)."""
        turn = 0
        while not stop.is_set():
            await asyncio.sleep(1.5)
            turn += 1
            with contextlib.suppress(DrillError, httpx.HTTPError):
                response = await replicas.call(
                    "POST",
                    "/api/v1/signals",
                    prefer=turn,
                    json={"name": SIGNAL, "request_id": f"topology-signal-{turn}"},
                )
                if response.status_code == 200:
                    self.run.signals_sent += 1

    async def _fault(
        self, sse_http: httpx.AsyncClient, stop: asyncio.Event, sse_tasks: list[asyncio.Task[None]]
    ) -> None:
        """Once enough instances started: SIGKILL worker-1 and api-1, then restart both."""
        threshold = max(2, int(self.options.instances * self.options.kill_at))
        while len(self.run.instance_ids) < threshold:  # noqa: ASYNC110 - a count, polled
            await asyncio.sleep(0.2)
        victim = self.run.killed_replica
        # Two live seed instances followed on the replica about to die.
        running = [
            instance
            for key, instance in list(self.run.instance_ids.items())[-20:]
            if self.run.business_keys[key] == SEED_KEY
        ][-2:]
        followers = []
        for instance in running:
            client = SseClient(
                name=f"instances/{instance}/stream@api-{victim}",
                path=f"/api/v1/instances/{instance}/stream",
                replica=victim,
                per_instance=True,
            )
            self.run.sse.append(client)
            followers.append(client)
            sse_tasks.append(asyncio.create_task(client.follow(sse_http, self.urls, stop)))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if all(c.events or c.ended for c in followers):
                break
            await asyncio.sleep(0.1)
        self.run.sse_at_kill = [
            c for c in self.run.sse if c.replica == victim and c.connected and not c.ended
        ]
        log(
            f"SIGKILL worker-1 (pid {self.workers[1].pid}) and api-{victim} "
            f"(pid {self.apis[victim].pid}) after {len(self.run.instance_ids)} starts; "
            f"{len(self.run.sse_at_kill)} SSE clients on it"
        )
        self.run.kill_time = time.monotonic()
        self.workers[1].kill()
        self.apis[victim].kill()
        await asyncio.sleep(self.options.down_seconds)
        self.workers[1].start()
        self.apis[victim].start()
        await asyncio.gather(self._api_ready(victim), self._worker_ready(self.workers[1]))
        log("worker-1 and the replica are back")

    async def _wait_completed(self, all_started: asyncio.Event, workers: list[Any]) -> bool:
        assert self.database is not None
        deadline = time.monotonic() + self.options.timeout
        last = ""
        progress, moved = -1, time.monotonic()
        async with await psycopg.AsyncConnection.connect(
            self.database.dsn, autocommit=True
        ) as conn:
            while time.monotonic() < deadline:
                rows = await (
                    await conn.execute("SELECT status, count(*) FROM process_instance GROUP BY 1")
                ).fetchall()
                counts: dict[str, int] = {str(k): int(v) for k, v in rows}
                line = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                if line != last:
                    log(f"instances: {line}")
                    last = line
                for task in workers:
                    if task.done() and not task.cancelled() and task.exception() is not None:
                        raise task.exception()
                fault_done = workers[3].done()
                if (
                    all_started.is_set()
                    and fault_done
                    and counts.get("completed", 0) >= len(self.run.instance_ids)
                    and sum(counts.values()) == counts.get("completed", 0)
                ):
                    return True
                # Stalled: nothing written for `stall` seconds once everything started and
                # the fault is over. Longer than any step's timeout and retry in the drill's
                # definitions, so what is left will not move by itself.
                (written,) = await (
                    await conn.execute("SELECT count(*) FROM process_event")
                ).fetchone() or (0,)
                if written != progress:
                    progress, moved = written, time.monotonic()
                elif (
                    all_started.is_set()
                    and fault_done
                    and time.monotonic() - moved > self.options.stall
                ):
                    log(f"no event written for {self.options.stall:.0f}s: giving up")
                    return False
                await asyncio.sleep(1.0)
        return False

    async def _settle_streams(self, within: float = 20) -> None:
        assert self.database is not None
        async with await psycopg.AsyncConnection.connect(
            self.database.dsn, autocommit=True
        ) as conn:
            expected = await self._expected_global(conn)
            deadline = time.monotonic() + within
            while time.monotonic() < deadline:
                if all(
                    c.ended
                    if c.per_instance
                    else expected.get(c.path.rsplit("=", 1)[1], set()) <= {i for i, _ in c.events}
                    for c in self.run.sse
                ):
                    return
                await asyncio.sleep(0.5)

    @staticmethod
    async def _expected_global(conn: psycopg.AsyncConnection[Any]) -> dict[str, set[int]]:
        rows = await (
            await conn.execute(
                "SELECT i.definition_key, e.id FROM process_event e "
                "JOIN process_instance i ON i.id = e.process_instance_id"
            )
        ).fetchall()
        expected: dict[str, set[int]] = {}
        for key, event_id in rows:
            expected.setdefault(key, set()).add(event_id)
        return expected

    # --- checks -----------------------------------------------------------------------------

    async def check(self, finished: bool, elapsed: float) -> tuple[str, bool, list[str]]:
        """Compare tables, Temporal, event logs and streams; the summary, ok, and findings."""
        assert self.database is not None and self.client is not None
        findings: list[str] = []
        async with await psycopg.AsyncConnection.connect(
            self.database.dsn, autocommit=True
        ) as conn:
            instances = await (
                await conn.execute(
                    "SELECT id, business_key, status, workflow_id FROM process_instance"
                )
            ).fetchall()
            events = await (
                await conn.execute(
                    "SELECT process_instance_id, sequence, event_type, id FROM process_event "
                    "ORDER BY process_instance_id, sequence"
                )
            ).fetchall()
            expected_global = await self._expected_global(conn)
        per_key = Counter(bk for _, bk, _, _ in instances)
        keys = self.run.business_keys
        lost = [k for k in keys if per_key[k] == 0]
        duplicated = [k for k in keys if per_key[k] > 1]
        strangers = [bk for bk in per_key if bk not in keys]
        completed = [row for row in instances if row[2] == "completed"]
        stuck = [row for row in instances if row[2] != "completed"]
        findings += [f"lost (no instance row): {k}" for k in lost]
        findings += [f"duplicated: business key {k} has {per_key[k]} instances" for k in duplicated]
        findings += [f"instance of unknown business key {k}" for k in strangers]
        findings += [f"stuck: {i} ({bk}) is {s}" for i, bk, s, _ in stuck]
        findings += self.run.start_errors

        # Temporal agrees: every row's workflow completed, and no workflow lacks a row.
        disagree = await self._temporal_disagreements(instances)
        findings += disagree

        # Event logs: sequence 1..N, exactly one process.completed, and it is the last.
        logs: dict[str, list[tuple[int, str]]] = {}
        for instance, sequence, event_type, _ in events:
            logs.setdefault(instance, []).append((sequence, event_type))
        gapless = 0
        for instance, _, _, _ in instances:
            entries = logs.get(instance, [])
            sequences = [s for s, _ in entries]
            ends = [t for _, t in entries if t == "process.completed"]
            if sequences != list(range(1, len(sequences) + 1)) or not sequences:
                findings.append(f"event log of {instance} is not 1..N: {sequences}")
            elif len(ends) != 1 or entries[-1][1] != "process.completed":
                findings.append(f"event log of {instance}: {len(ends)} process.completed")
            else:
                gapless += 1

        # Streams: every client got every event of its log once; the killed replica's resumed.
        missed = 0
        duplicates = 0
        for client in self.run.sse:
            if client.per_instance:
                instance = client.path.split("/")[4]
                want = {s for s, _ in logs.get(instance, [])}
            else:
                want = expected_global.get(client.path.rsplit("=", 1)[1], set())
            got = [i for i, _ in client.events]
            missing = want - set(got)
            repeated = len(got) - len(set(got))
            missed += len(missing)
            duplicates += repeated
            if missing or repeated:
                counts = Counter(got)
                # Which events came twice, and where in the stream (position of each copy).
                twice = [
                    (i, data.get("type"), data.get("instance_id", "")[:8], position)
                    for position, (i, data) in enumerate(client.events)
                    if counts[i] > 1
                ][:6]
                findings.append(
                    f"SSE {client.name}: {len(missing)} missed (e.g. {sorted(missing)[:5]}), "
                    f"{repeated} repeated (e.g. {twice}), of {len(got)} received; "
                    f"resumes (replica, cursor) {client.resumes}, errors {client.errors[:3]}"
                )
        victims = self.run.sse_at_kill
        resumed = [
            c for c in victims if any(r == 1 - self.run.killed_replica for r, _ in c.resumes)
        ]
        if not victims:
            findings.append("no SSE client was connected to the killed replica")
        for client in victims:
            if client not in resumed:
                findings.append(f"SSE {client.name} did not resume on the other replica")
        if not finished:
            findings.append("not every instance completed (timeout or stalled, see above)")
        ok = not findings
        summary = (
            f"topology: {len(keys)} instances, {len(completed)} completed, {len(lost)} lost, "
            f"{len(duplicated) + len(strangers)} duplicated, {len(stuck)} stuck, "
            f"{len(disagree)} Temporal disagreements, {gapless}/{len(instances)} event logs "
            f"gapless, SSE {len(resumed)}/{len(victims)} resumed, {missed} missed, "
            f"{duplicates} repeated, {elapsed:.0f}s"
        )
        return summary, ok, findings

    async def _temporal_disagreements(self, instances: list[tuple[Any, ...]]) -> list[str]:
        assert self.client is not None
        found: list[str] = []
        rows = {workflow: (instance, status) for instance, _, status, workflow in instances}
        seen: set[str] = set()
        async for execution in self.client.list_workflows():
            if not execution.id.startswith("pi-"):
                continue
            seen.add(execution.id)
            row = rows.get(execution.id)
            if row is None:
                found.append(f"workflow {execution.id} has no instance row")
            elif execution.status != WorkflowExecutionStatus.COMPLETED:
                name = execution.status.name if execution.status else "?"
                found.append(f"workflow {execution.id} is {name}, its row says {row[1]}")
        found += [f"instance row {w} has no workflow in Temporal" for w in rows if w not in seen]
        return found

    # --- teardown ---------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop every process, the dev server, and drop the database (always)."""
        await asyncio.to_thread(self.processes.stop_all)
        if self.temporal is not None:
            with contextlib.suppress(Exception):
                await self.temporal.stop()
        if self.database is not None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.database.drop)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self._flush_redis)
        if not self.options.keep_logs:
            shutil.rmtree(self.workdir, ignore_errors=True)


async def run(options: Options) -> int:
    """The whole drill; the exit status."""
    began = time.monotonic()
    topology = Topology(options)
    try:
        await topology.start()
        finished = await topology.drive()
        summary, ok, findings = await topology.check(finished, time.monotonic() - began)
        for finding in findings[:40]:
            log(f"FINDING {finding}")
        if len(findings) > 40:
            log(f"... and {len(findings) - 40} more findings")
        if not ok:
            for error in topology.run.task_errors[:10]:
                log(f"task completion answered: {error}")
            for proc in topology.processes.procs:
                log(f"--- {proc.name} log tail:\n{proc.tail(1500)}")
        print(summary, flush=True)
        return 0 if ok else 1
    except DrillError as exc:
        log(f"the drill itself failed: {exc}")
        print(f"topology: harness failure after {time.monotonic() - began:.0f}s", flush=True)
        return 2
    finally:
        await topology.close()


def _parse(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(prog="scripts/topology", description=__doc__.split("\n")[0])
    parser.add_argument("--instances", type=int, default=300, help="instances in all [300]")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to complete [600]")
    parser.add_argument("--concurrency", type=int, default=16, help="starts in flight [16]")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9", help="[db 9]")
    parser.add_argument(
        "--kill-at", type=float, default=0.4, help="fraction started before the fault [0.4]"
    )
    parser.add_argument(
        "--start-rate", type=float, default=10.0, help="instance starts per second [10]"
    )
    parser.add_argument(
        "--stall", type=float, default=180, help="give up after so long without progress [180]"
    )
    parser.add_argument("--down-seconds", type=float, default=3.0, help="kill to restart [3]")
    parser.add_argument("--keep-logs", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    if args.instances < 4:
        parser.error("--instances must be at least 4")
    return Options(
        instances=args.instances,
        timeout=args.timeout,
        concurrency=args.concurrency,
        redis_url=args.redis_url,
        kill_at=args.kill_at,
        start_rate=args.start_rate,
        stall=args.stall,
        down_seconds=args.down_seconds,
        keep_logs=args.keep_logs,
    )


def main() -> None:
    """Entry point: SIGTERM / SIGINT still clean up (they cancel the run)."""
    options = _parse(sys.argv[1:])
    loop = asyncio.new_event_loop()
    main_task = loop.create_task(run(options))
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, main_task.cancel)
    try:
        code = loop.run_until_complete(main_task)
    except asyncio.CancelledError:
        code = 130
    finally:
        loop.close()
    sys.exit(code)


if __name__ == "__main__":
    main()
