"""`wfe dev`, `serve`, `worker` and `migrate`: the commands that run the product itself.

Heavy imports (Temporal, the server, the store) happen inside the commands so that the client
commands start quickly.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Annotated

import typer

from workflow_engine.cli.console import err, load_cli_settings, out


def dev(
    http_port: Annotated[int | None, typer.Option(help="REST port [8080].")] = None,
    grpc_port: Annotated[int | None, typer.Option(help="gRPC port [9090].")] = None,
    temporal_port: Annotated[
        int | None, typer.Option(help="Temporal frontend port [7233].")
    ] = None,
    temporal_http_port: Annotated[
        int | None, typer.Option(help="Temporal's HTTP API port [frontend port + 10].")
    ] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Where state is kept [.wfe].")] = None,
) -> None:
    """Run everything embedded: Temporal dev server, SQLite, REST, gRPC, the examples."""
    from workflow_engine.dev import PortInUseError, run_dev
    from workflow_engine.engine.devserver import TemporalDevServerError
    from workflow_engine.lifecycle import exit_promptly, run_bounded

    settings = load_cli_settings(
        http_port=http_port,
        grpc_port=grpc_port,
        temporal_port=temporal_port,
        temporal_http_port=temporal_http_port,
        data_dir=data_dir,
    )
    try:
        run_bounded(run_dev(settings))
    except (PortInUseError, TemporalDevServerError) as exc:
        err.print(f"[red]cannot start:[/red] {exc}")
        raise typer.Exit(1) from None
    exit_promptly(0)


def serve() -> None:
    """Serve REST and gRPC against the configured database and Temporal (API replica)."""
    from temporalio.client import Client

    from workflow_engine.crypto.codec import client_encryption_options
    from workflow_engine.dev import log_auth_mode
    from workflow_engine.engine.worker import implemented_listener_names
    from workflow_engine.observability.tracing import configure_tracing, temporal_interceptors
    from workflow_engine.server import serve_api
    from workflow_engine.services.container import build_services
    from workflow_engine.services.reconciler import reconcile_periodically
    from workflow_engine.store.sealing import (
        EncryptionRequiredError,
        refuse_sensitive_without_keys,
    )

    settings = load_cli_settings()
    log_auth_mode(settings)
    # Listener classes the workers implement (their activity modules / listener_classes):
    # instances started here record the others as skipped instead of waiting for them.
    listeners = implemented_listener_names(settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        configure_tracing(endpoint=settings.otel_exporter_otlp_endpoint)
        address = settings.effective_temporal_address
        try:
            client = await Client.connect(
                address,
                namespace=settings.temporal_namespace,
                interceptors=temporal_interceptors(),
                **client_encryption_options(settings.encryption_key_ring()),
            )
        except Exception as exc:
            err.print(
                f"[red]cannot reach Temporal at {address}[/red] (namespace "
                f"'{settings.temporal_namespace}'): {exc} — set WFE_TEMPORAL_ADDRESS"
            )
            raise typer.Exit(1) from None
        services = await build_services(
            settings,
            temporal_client=client,
            implemented_listeners=listeners,
            sensitive_needs_keys=True,
        )
        try:
            await refuse_sensitive_without_keys(services.database)
        except EncryptionRequiredError as exc:
            await services.aclose()
            err.print(f"[red]cannot start:[/red] {exc}")
            raise typer.Exit(1) from None
        reconcile_stop = asyncio.Event()
        reconciling = None
        if settings.reconcile_interval_seconds > 0:
            # Every replica may run it: a repair is written only while the row is open.
            reconciling = asyncio.create_task(
                reconcile_periodically(
                    services.reconciler,
                    interval_seconds=settings.reconcile_interval_seconds,
                    stop=reconcile_stop,
                )
            )
        try:
            await serve_api(services, stop=stop)
        finally:
            reconcile_stop.set()
            if reconciling is not None:
                await reconciling
            await services.aclose()

    asyncio.run(main())


def worker(
    task_queue: Annotated[
        str | None, typer.Option(help="Task queue to poll (default: the task_queue setting).")
    ] = None,
    activity_module: Annotated[
        list[str] | None,
        typer.Option(
            "--activity-module",
            "-m",
            help="User activity module (dotted name or .py path); repeatable; adds to "
            "settings.activity_modules.",
        ),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve this worker's Prometheus metrics on this port (/metrics)."),
    ] = None,
    health_port: Annotated[
        int | None,
        typer.Option(help="Serve /livez and /readyz on this port (worker_health_port)."),
    ] = None,
) -> None:
    """Run a Temporal worker: process instances plus built-in, engine and user activities.

    Before polling it checks its activity modules, database (schema at the newest migration)
    and Temporal namespace, and exits 1 naming what failed. SIGTERM / SIGINT stop it within
    `worker_graceful_shutdown_seconds` plus a few seconds; see docs/operations.md.
    """
    from workflow_engine.engine.activities.registry import ActivityLoadError
    from workflow_engine.engine.worker import WorkerSetupError
    from workflow_engine.lifecycle import StopSignals, exit_promptly, run_bounded
    from workflow_engine.worker_health import (
        PreflightError,
        run_worker_process,
        stop_deadline_seconds,
    )

    settings = load_cli_settings(
        task_queue=task_queue, metrics_port=metrics_port, worker_health_port=health_port
    )
    if activity_module:
        settings = settings.model_copy(
            update={"activity_modules": [*settings.activity_modules, *activity_module]}
        )

    async def main() -> str | None:
        stop = asyncio.Event()
        with StopSignals(stop, deadline_seconds=stop_deadline_seconds(settings)):
            return await run_worker_process(settings, stop=stop)

    try:
        lost = run_bounded(main())
    except PreflightError as exc:
        err.print("[red]cannot start the worker: it would take work it cannot do[/red]")
        for name, why in exc.failures.items():
            err.print(f"  {name}: {why}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    except (ActivityLoadError, WorkerSetupError) as exc:
        err.print(f"[red]cannot start the worker:[/red] {exc}")
        raise typer.Exit(1) from None
    except RuntimeError as exc:
        # temporalio reports an unreachable server as a RuntimeError from its core.
        err.print(
            f"[red]worker failed:[/red] {exc} (Temporal at {settings.effective_temporal_address})"
        )
        raise typer.Exit(1) from None
    if lost is not None:
        err.print(f"[red]worker stopped:[/red] {lost}", highlight=False)
        exit_promptly(1)
        raise typer.Exit(1)
    exit_promptly(0)


def migrate() -> None:
    """Upgrade the configured database schema to the newest revision."""
    from workflow_engine.store.migrations import migrate as run_migrations

    settings = load_cli_settings()
    asyncio.run(run_migrations(settings.effective_database_url))
    out.print(f"database at {redact_url(settings.effective_database_url)} is up to date")


def redact_url(url: str) -> str:
    """Hide a password in a database URL before printing it."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url


def reencrypt(
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Rows per transaction.")] = 500,
) -> None:
    """Re-encrypt every stored sensitive value with the active key (after a key rotation).

    Idempotent and resumable: values already under `encryption_active_key` are left alone,
    so an interrupted run is simply run again. Keep the old keys in `encryption_keys` until
    it has finished (and until Temporal histories sealed with them are gone).
    """
    from workflow_engine.crypto.keyring import UnknownKeyError
    from workflow_engine.store.database import Database, create_engine
    from workflow_engine.store.reencrypt import TableProgress
    from workflow_engine.store.reencrypt import reencrypt as run_reencrypt

    settings = load_cli_settings()
    ring = settings.encryption_key_ring()
    if ring is None:
        err.print("[red]no encryption_keys configured[/red]: nothing to re-encrypt with")
        raise typer.Exit(1)

    def progress(table: TableProgress) -> None:
        err.print(
            f"{table.table}: {table.scanned} scanned, {table.rewritten} re-encrypted "
            f"(through id {table.last_id})"
        )

    async def main() -> None:
        database = Database(create_engine(settings.effective_database_url))
        try:
            report = await run_reencrypt(database, ring, batch_size=batch_size, on_batch=progress)
        finally:
            await database.dispose()
        skipped = sum(t.skipped_changed for t in report.tables)
        out.print(
            f"re-encrypted {report.rewritten} value(s) to key {report.active_key}"
            + (f"; {skipped} changed meanwhile: run again" if skipped else "")
        )

    try:
        asyncio.run(main())
    except UnknownKeyError as exc:
        err.print(f"[red]cannot re-encrypt:[/red] {exc}")
        raise typer.Exit(1) from None
