"""The `wfe` command line: run the product, and talk to a running server.

`wfe dev` runs everything embedded; `wfe serve` / `wfe migrate` are the production parts;
`wfe validate` checks a file locally (no server needed); `wfe deploy` and `wfe definitions` talk
to a running server's REST API (`--server`, env `WFE_SERVER_URL`).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from workflow_engine.config import Settings, load_settings
from workflow_engine.logging import configure_logging
from workflow_engine.model.issues import ValidationIssue
from workflow_engine.services.definition_source import check_upload, format_from_filename
from workflow_engine.services.errors import ServiceError

app = typer.Typer(
    name="wfe",
    help="workflow-engine: BPMN 2.0 processes on Temporal.",
    no_args_is_help=True,
    add_completion=False,
)
_out = Console()
_err = Console(stderr=True)

ServerOpt = Annotated[
    str,
    typer.Option("--server", envvar="WFE_SERVER_URL", help="Base URL of a running wfe server."),
]
DEFAULT_SERVER = "http://127.0.0.1:8080"


def _settings(**overrides: Any) -> Settings:
    try:
        settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:
        _err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    return settings


@app.command()
def dev(
    http_port: Annotated[int | None, typer.Option(help="REST port [8080].")] = None,
    grpc_port: Annotated[int | None, typer.Option(help="gRPC port [9090].")] = None,
    temporal_port: Annotated[
        int | None, typer.Option(help="Temporal frontend port [7233].")
    ] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Where state is kept [.wfe].")] = None,
) -> None:
    """Run everything embedded: Temporal dev server, SQLite, REST, gRPC, the examples."""
    from workflow_engine.dev import PortInUseError, run_dev

    settings = _settings(
        http_port=http_port, grpc_port=grpc_port, temporal_port=temporal_port, data_dir=data_dir
    )
    try:
        asyncio.run(run_dev(settings))
    except PortInUseError as exc:
        _err.print(f"[red]cannot start:[/red] {exc}")
        raise typer.Exit(1) from None


@app.command()
def serve() -> None:
    """Serve REST and gRPC against the configured database (production API replica)."""
    from workflow_engine.server import serve_api
    from workflow_engine.services.container import build_services

    settings = _settings()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        services = await build_services(settings)
        try:
            await serve_api(services, stop=stop)
        finally:
            await services.aclose()

    asyncio.run(main())


@app.command()
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
) -> None:
    """Run a Temporal worker: process instances plus built-in, engine and user activities."""
    from workflow_engine.engine.activities.registry import ActivityLoadError
    from workflow_engine.engine.worker import WorkerSetupError, run_worker

    settings = _settings(task_queue=task_queue)
    if activity_module:
        settings = settings.model_copy(
            update={"activity_modules": [*settings.activity_modules, *activity_module]}
        )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(settings, stop=stop)

    try:
        asyncio.run(main())
    except (ActivityLoadError, WorkerSetupError) as exc:
        _err.print(f"[red]cannot start the worker:[/red] {exc}")
        raise typer.Exit(1) from None
    except RuntimeError as exc:
        # temporalio reports an unreachable server as a RuntimeError from its core.
        _err.print(
            f"[red]worker failed:[/red] {exc} (Temporal at {settings.effective_temporal_address})"
        )
        raise typer.Exit(1) from None


@app.command()
def migrate() -> None:
    """Upgrade the configured database schema to the newest revision."""
    from workflow_engine.store.migrations import migrate as run_migrations

    settings = _settings()
    asyncio.run(run_migrations(settings.effective_database_url))
    _out.print(f"database at {_redact(settings.effective_database_url)} is up to date")


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    process_id: Annotated[str | None, typer.Option(help="BPMN: which process.")] = None,
) -> None:
    """Validate a JSON or BPMN definition file locally; exit 1 when it has errors."""
    settings = _settings()
    try:
        fmt = format_from_filename(file.name)
    except ServiceError as exc:
        _err.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from None
    content = file.read_bytes()
    if len(content) > settings.max_definition_bytes:
        _err.print(f"[red]{file} is larger than {settings.max_definition_bytes} bytes[/red]")
        raise typer.Exit(1)
    checked = check_upload(
        content,
        fmt=fmt,
        process_id=process_id,
        max_elements=settings.max_definition_elements,
    )
    _print_issues("error", checked.report.errors)
    _print_issues("warning", checked.report.warnings)
    if not checked.report.valid:
        _err.print(f"[red]✗ {file}: {len(checked.report.errors)} error(s)[/red]")
        raise typer.Exit(1)
    key = checked.model.process.key if checked.model else "?"
    _out.print(f"[green]✓ {file} is valid[/green] (process key '{key}')")


@app.command()
def deploy(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    server: ServerOpt = DEFAULT_SERVER,
    process_id: Annotated[str | None, typer.Option(help="BPMN: which process.")] = None,
) -> None:
    """Deploy a definition file to a running server."""
    try:
        fmt = format_from_filename(file.name)
    except ServiceError as exc:
        _err.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from None
    params = {"process_id": process_id} if process_id else {}
    body = _request(
        "POST",
        server,
        "/api/v1/definitions",
        content=file.read_bytes(),
        headers={"content-type": fmt.media_type},
        params=params,
    )
    state = "deployed" if body["created"] else "unchanged (identical to an existing version)"
    _out.print(f"[green]✓ {body['key']} v{body['version']}[/green] {state}, id {body['id']}")
    for warning in body.get("warnings", []):
        _out.print(f"  [yellow]warning[/yellow] {warning['path']}: {warning['message']}")


@app.command()
def definitions(
    server: ServerOpt = DEFAULT_SERVER,
    key: Annotated[str | None, typer.Option(help="Only this key.")] = None,
    latest: Annotated[bool, typer.Option(help="Only the latest version of each key.")] = False,
    output: Annotated[str, typer.Option("--output", "-o", help="table or json")] = "table",
) -> None:
    """List deployed definitions (all pages)."""
    items: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        params: dict[str, Any] = {"page_size": 200, "latest": str(latest).lower()}
        if key:
            params["key"] = key
        if token:
            params["page_token"] = token
        page = _request("GET", server, "/api/v1/definitions", params=params)
        items.extend(page["items"])
        token = page.get("next_page_token")
        if not token:
            break
    if output == "json":
        _out.print_json(json.dumps(items))
        return
    table = Table("id", "key", "version", "name", "category", "suspended", "deployed")
    for d in items:
        table.add_row(
            str(d["id"]),
            d["key"],
            str(d["version"]),
            d["name"],
            d["category"],
            "yes" if d["suspended"] else "",
            d["deploy_time"],
        )
    _out.print(table)


def _request(method: str, server: str, path: str, **kwargs: Any) -> dict[str, Any]:
    try:
        response = httpx.request(method, server.rstrip("/") + path, timeout=30, **kwargs)
    except httpx.HTTPError as exc:
        _err.print(f"[red]cannot reach {server}:[/red] {exc}")
        raise typer.Exit(2) from None
    try:
        body: Any = response.json()
    except ValueError:
        body = {}
    if response.is_error:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        message = error.get("message", response.text)
        _err.print(f"[red]{response.status_code} {error.get('code', '')}:[/red] {message}")
        for detail in error.get("details", []):
            _err.print(f"  {detail.get('path')}: {detail.get('message')}")
        raise typer.Exit(1)
    if not isinstance(body, dict):
        _err.print(f"[red]unexpected answer from {server}[/red]")
        raise typer.Exit(1)
    return body


def _print_issues(kind: str, issues: tuple[ValidationIssue, ...]) -> None:
    color = "red" if kind == "error" else "yellow"
    for issue in issues:
        _out.print(
            f"[{color}]{kind}[/{color}] {issue.path}: {issue.message} [dim]({issue.code})[/dim]"
        )


def _redact(url: str) -> str:
    """Hide a password in a database URL before printing it."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url


def main() -> None:
    """Entry point for `python -m workflow_engine`."""
    app(prog_name="wfe")
    sys.exit(0)
