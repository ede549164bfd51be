"""The container image (deployments/docker/Dockerfile), built and run with podman.

Built once per session on the local Debian 12 base (no registry here), then run as each
role: `wfe --version`, `wfe migrate` against a fresh PostgreSQL database of the machine, and
`wfe serve` answering /readyz (database, Redis and a Temporal dev server on the host) both
from the host and from its own HEALTHCHECK inside the container.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
import tomllib
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import pytest_asyncio

from tests.conftest import REDIS_TEST_URL, create_postgres_database, drop_postgres_database
from tests.deployments.conftest import SUMMARY
from tests.deployments.podman import (
    BASE_IMAGE,
    ULIMITS,
    build_image,
    ensure_debian_base,
    podman,
    require_podman,
)
from tests.temporal_fixtures import free_port
from workflow_engine.engine.devserver import TemporalDevServer

pytestmark = [pytest.mark.container, pytest.mark.postgres, pytest.mark.temporal]

ROOT = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
TAG = "localhost/workflow-engine:test"
#: The non-root user the Dockerfile creates (Kubernetes' runAsUser matches it).
IMAGE_UID = "10001"


@pytest.fixture(scope="module")
def image() -> str:
    """The image, built from this worktree on the local Debian base (cached layers reused)."""
    require_podman()
    began = time.monotonic()
    ensure_debian_base()
    based = time.monotonic()
    build_image(ROOT, TAG, build_args=[f"BASE={BASE_IMAGE}", f"VERSION={VERSION}"])
    built = time.monotonic()
    SUMMARY.append(f"container image {TAG}: base {based - began:.0f}s, build {built - based:.0f}s")
    return TAG


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database of the machine (dropped afterwards)."""
    name = create_postgres_database("wfe_image")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        drop_postgres_database(name)


def run(image: str, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    """`podman run --rm` the image with ARGS (host network); its standard output."""
    flags = [f"--env={key}={value}" for key, value in (env or {}).items()]
    return podman(
        "run", "--rm", "--network=host", *ULIMITS, *flags, image, *args, timeout=timeout
    ).stdout


def test_version_and_labels(image: str) -> None:
    assert run(image, "--version").strip() == f"wfe {VERSION}"
    labels = podman("image", "inspect", "--format", "{{json .Labels}}", image).stdout
    assert '"org.opencontainers.image.title":"workflow-engine"' in labels
    assert f'"org.opencontainers.image.version":"{VERSION}"' in labels
    user = podman("image", "inspect", "--format", "{{.User}}", image).stdout.strip()
    assert user.split(":")[0] == IMAGE_UID


def test_migrate_creates_the_schema_in_postgres(image: str, database_url: str) -> None:
    output = run(image, "migrate", env={"WFE_DATABASE_URL": database_url})
    assert "is up to date" in output
    with psycopg.connect(database_url.replace("+psycopg", "")) as conn:
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )
        }
    assert {"alembic_version", "process_instance", "process_event", "task_instance"} <= tables


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def temporal() -> AsyncIterator[TemporalDevServer]:
    """A Temporal dev server of its own on the host (the container reaches it by host network)."""
    server = TemporalDevServer(port=free_port(), headless=True, db_file=None)
    await server.start(timeout=120)
    try:
        yield server
    finally:
        await server.stop()


async def test_serve_answers_readyz_from_inside_the_container(
    image: str, database_url: str, temporal: TemporalDevServer
) -> None:
    # The schema first, as a deployment does it (idempotent when the test above ran).
    await asyncio.to_thread(run, image, "migrate", env={"WFE_DATABASE_URL": database_url})
    http_port, grpc_port = free_port(), free_port()
    name = f"wfe-test-serve-{uuid.uuid4().hex[:8]}"
    env = {
        "WFE_DATABASE_URL": database_url,
        "WFE_REDIS_URL": REDIS_TEST_URL,
        "WFE_TEMPORAL_ADDRESS": temporal.address,
        "WFE_TEMPORAL_NAMESPACE": temporal.namespace,
        "WFE_HTTP_PORT": str(http_port),
        "WFE_GRPC_PORT": str(grpc_port),
    }
    flags = [f"--env={key}={value}" for key, value in env.items()]
    # `disable`: no systemd timer (there is no systemd here); `podman healthcheck run` below
    # runs the image's HEALTHCHECK on demand.
    podman(
        "run", "-d", "--name", name, "--network=host", *ULIMITS, "--health-interval=disable",
        *flags, image, "serve",
    )  # fmt: skip
    try:
        body = await _wait_ready(f"http://127.0.0.1:{http_port}/readyz", name)
        assert body["status"] == "ready"
        assert {"database", "redis", "temporal", "grpc"} <= set(body["checks"])
        # Inside the container: the image's own HEALTHCHECK asks /readyz of the serve role.
        health = await asyncio.to_thread(podman, "healthcheck", "run", name, check=False)
        assert health.returncode == 0, health.stdout + health.stderr
        uid = await asyncio.to_thread(podman, "exec", name, "id", "-u")
        assert uid.stdout.strip() == IMAGE_UID
    finally:
        podman("rm", "-f", "-t", "10", name, check=False, timeout=60)


async def test_healthcheck_fails_while_serve_is_not_ready(
    image: str, database_url: str, temporal: TemporalDevServer
) -> None:
    await asyncio.to_thread(run, image, "migrate", env={"WFE_DATABASE_URL": database_url})
    http_port, grpc_port = free_port(), free_port()
    name = f"wfe-test-unready-{uuid.uuid4().hex[:8]}"
    env = {
        "WFE_DATABASE_URL": database_url,
        "WFE_REDIS_URL": "redis://127.0.0.1:1/0",  # nothing listens: /readyz answers 503
        "WFE_TEMPORAL_ADDRESS": temporal.address,
        "WFE_TEMPORAL_NAMESPACE": temporal.namespace,
        "WFE_HTTP_PORT": str(http_port),
        "WFE_GRPC_PORT": str(grpc_port),
    }
    flags = [f"--env={key}={value}" for key, value in env.items()]
    podman(
        "run", "-d", "--name", name, "--network=host", *ULIMITS, "--health-interval=disable",
        *flags, image, "serve",
    )  # fmt: skip
    try:
        await _wait_for_text(f"http://127.0.0.1:{http_port}/readyz", '"not_ready"', name)
        health = await asyncio.to_thread(podman, "healthcheck", "run", name, check=False)
        assert health.returncode != 0, health.stdout + health.stderr
    finally:
        podman("rm", "-f", "-t", "10", name, check=False, timeout=60)


async def test_worker_polls_its_task_queue_and_serves_metrics(
    image: str, database_url: str, temporal: TemporalDevServer
) -> None:
    await asyncio.to_thread(run, image, "migrate", env={"WFE_DATABASE_URL": database_url})
    metrics_port = free_port()
    name = f"wfe-test-worker-{uuid.uuid4().hex[:8]}"
    queue = f"image-test-{uuid.uuid4().hex[:8]}"
    env = {
        "WFE_DATABASE_URL": database_url,
        "WFE_REDIS_URL": REDIS_TEST_URL,
        "WFE_TEMPORAL_ADDRESS": temporal.address,
        "WFE_TEMPORAL_NAMESPACE": temporal.namespace,
        "WFE_TASK_QUEUE": queue,
        "WFE_METRICS_PORT": str(metrics_port),
    }
    flags = [f"--env={key}={value}" for key, value in env.items()]
    podman(
        "run", "-d", "--name", name, "--network=host", *ULIMITS, "--health-interval=disable",
        *flags, image, "worker",
    )  # fmt: skip
    try:
        polling = f'wfe_worker_pollers{{task_queue="{queue}"}} 1.0'
        await _wait_for_text(f"http://127.0.0.1:{metrics_port}/metrics", polling, name)
        health = await asyncio.to_thread(podman, "healthcheck", "run", name, check=False)
        assert health.returncode == 0, health.stdout + health.stderr
        # SIGTERM: the worker drains and exits 0 (what a rollout or `compose stop` sends).
        await asyncio.to_thread(podman, "stop", "-t", "30", name, timeout=60)
        code = await asyncio.to_thread(podman, "inspect", "--format", "{{.State.ExitCode}}", name)
        assert code.stdout.strip() == "0"
    finally:
        podman("rm", "-f", "-t", "10", name, check=False, timeout=60)


async def _wait_for_text(url: str, text: str, container: str) -> None:
    deadline = time.monotonic() + 120
    last = "no answer"
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            try:
                response = await client.get(url)
                if text in response.text:
                    return
                last = f"{response.status_code}, without {text!r}"
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            await asyncio.sleep(1)
    logs = await asyncio.to_thread(podman, "logs", container, check=False)
    pytest.fail(f"{url}: {last} after 120s:\n{logs.stdout[-2000:]}{logs.stderr[-3000:]}")


async def _wait_ready(url: str, container: str) -> dict[str, object]:
    deadline = time.monotonic() + 120
    last = "no answer"
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            state = await asyncio.to_thread(
                podman, "inspect", "--format", "{{.State.Status}}", container
            )
            if state.stdout.strip() != "running":
                logs = await asyncio.to_thread(podman, "logs", container, check=False)
                pytest.fail(f"wfe serve exited:\n{logs.stdout[-3000:]}{logs.stderr[-3000:]}")
            try:
                response = await client.get(url)
                if response.status_code == 200:
                    body: dict[str, object] = response.json()
                    return body
                last = f"{response.status_code} {response.text[:500]}"
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            await asyncio.sleep(1)
    logs = await asyncio.to_thread(podman, "logs", container, check=False)
    pytest.fail(f"{url} not ready within 120s ({last}):\n{logs.stderr[-3000:]}")


COMPOSE = ROOT / "deployments" / "compose" / "compose.yaml"
HOST_OVERRIDE = Path(__file__).with_name("compose.host.yaml")
SEED = ROOT / "examples" / "user-registration.json"


async def test_compose_engine_services_run_the_seed_example_under_podman_compose(
    image: str, database_url: str, temporal: TemporalDevServer
) -> None:
    """compose.yaml's migrate, two API replicas and two workers, run by podman-compose.

    PostgreSQL, Redis and Temporal come from the machine (tests/deployments/compose.host.yaml):
    their public images cannot be pulled here. The seed example goes end to end across both
    replicas, its activities served by the workers from the mounted examples/activities.py.
    """
    tool = shutil.which("podman-compose") or str(Path(sys.executable).with_name("podman-compose"))
    ports = {name: free_port() for name in ("API_1_PORT", "API_1_GRPC", "API_2_PORT")}
    ports |= {name: free_port() for name in ("API_2_GRPC", "WORKER_1_METRICS")}
    ports["WORKER_2_METRICS"] = free_port()
    queue = f"compose-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "WFE_IMAGE": image,
        "WFE_TEST_DATABASE_URL": database_url,
        "WFE_TEST_REDIS_URL": REDIS_TEST_URL,
        "WFE_TEST_TEMPORAL_ADDRESS": temporal.address,
        "WFE_TEST_TEMPORAL_NAMESPACE": temporal.namespace,
        "WFE_TEST_TASK_QUEUE": queue,
        **{f"WFE_TEST_{name}": str(port) for name, port in ports.items()},
    }
    project = f"wfe-test-{uuid.uuid4().hex[:8]}"
    base = [
        tool, "--podman-args=--runtime=runc", "-p", project, "-f", str(COMPOSE),
        "-f", str(HOST_OVERRIDE),
        f"--podman-run-args={' '.join(ULIMITS)} --health-interval=disable",
    ]  # fmt: skip

    def compose(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*base, *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
        )
        assert result.returncode == 0, f"{args}: {result.stdout[-3000:]}{result.stderr[-3000:]}"
        return result

    try:
        migrated = await asyncio.to_thread(compose, "up", "--no-deps", "--no-build", "migrate")
        assert "is up to date" in migrated.stdout
        services = ("api-1", "api-2", "worker-1", "worker-2")
        await asyncio.to_thread(compose, "up", "-d", "--no-deps", "--no-build", *services)
        api_1 = f"http://127.0.0.1:{ports['API_1_PORT']}"
        api_2 = f"http://127.0.0.1:{ports['API_2_PORT']}"
        for url in (api_1, api_2):
            await _wait_for_text(f"{url}/readyz", '"status":"ready"', f"{project}_api-1_1")
        for name in ("WORKER_1_METRICS", "WORKER_2_METRICS"):
            polling = f'wfe_worker_pollers{{task_queue="{queue}"}} 1.0'
            metrics = f"http://127.0.0.1:{ports[name]}/metrics"
            await _wait_for_text(metrics, polling, f"{project}_worker-1_1")
        status = await _run_seed_example(api_1, api_2)
        assert status == "completed"
    finally:
        await asyncio.to_thread(compose, "down", "-t", "30", timeout=180)


async def _run_seed_example(first: str, second: str) -> str:
    """Deploy and start through one replica, work the task and signal through the other."""
    async with httpx.AsyncClient(timeout=30) as client:
        deployed = await client.post(
            f"{first}/api/v1/definitions",
            content=SEED.read_bytes(),
            headers={"content-type": "application/json"},
        )
        assert deployed.status_code in (200, 201), deployed.text
        variables = {"user_id": "u1", "email": "u1@example.com", "username": "ann"}
        started = await client.post(
            f"{first}/api/v1/instances",
            json={"definition_key": "userRegistration", "variables": variables, "user_id": "u1"},
        )
        assert started.status_code == 201, started.text
        instance_id = started.json()["id"]
        task_id = await _poll(
            client, f"{second}/api/v1/tasks?assignee=u1&instance_id={instance_id}"
        )
        completed = await client.post(
            f"{second}/api/v1/tasks/{task_id}/complete", json={"variables": {"userValid": True}}
        )
        assert completed.status_code == 200, completed.text
        # The signal is caught once the e-mail activity (on a worker) has run.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            sent = await client.post(f"{first}/api/v1/signals", json={"name": "email_verified"})
            assert sent.status_code == 200, sent.text
            if sent.json()["delivered"] >= 1:
                break
            await asyncio.sleep(0.5)
        while time.monotonic() < deadline:
            instance = (await client.get(f"{second}/api/v1/instances/{instance_id}")).json()
            if instance["status"] != "running":
                return str(instance["status"])
            await asyncio.sleep(0.5)
    return "still running after 60s"


async def _poll(client: httpx.AsyncClient, url: str) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        items = (await client.get(url)).json()["items"]
        if items:
            return str(items[0]["id"])
        await asyncio.sleep(0.5)
    pytest.fail(f"no task at {url} within 60s")
