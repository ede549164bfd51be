"""The `wfe` command line: run the product, and talk to a running server.

`wfe dev` runs everything embedded; `wfe serve` / `wfe migrate` are the production parts;
`wfe validate` checks a file locally (no server needed); `wfe deploy`, `wfe definitions` and the
runtime commands (`wfe start`, `instances`, `instance`, `tasks`, `claim`, `complete`, `signal`,
`message`, `pause`, `resume`, `retry`, `terminate`, `cancel`) talk to a running server's REST
API (`--server`, env `WFE_SERVER_URL`).
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

#: Bearer token sent by every command that talks to a server (global `--token` / WFE_TOKEN).
_auth: dict[str, str | None] = {"token": None}


@app.callback()
def _global_options(
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="WFE_TOKEN",
            help="Bearer token sent to the server (see `wfe token`); env WFE_TOKEN.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """workflow-engine: BPMN 2.0 processes on Temporal."""
    _auth["token"] = token.strip() if token and token.strip() else None


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
    """Serve REST and gRPC against the configured database and Temporal (API replica)."""
    from temporalio.client import Client

    from workflow_engine.dev import log_auth_mode
    from workflow_engine.engine.worker import implemented_listener_names
    from workflow_engine.observability.tracing import configure_tracing, temporal_interceptors
    from workflow_engine.server import serve_api
    from workflow_engine.services.container import build_services

    settings = _settings()
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
                address, namespace=settings.temporal_namespace, interceptors=temporal_interceptors()
            )
        except Exception as exc:
            _err.print(
                f"[red]cannot reach Temporal at {address}[/red] (namespace "
                f"'{settings.temporal_namespace}'): {exc} — set WFE_TEMPORAL_ADDRESS"
            )
            raise typer.Exit(1) from None
        services = await build_services(
            settings, temporal_client=client, implemented_listeners=listeners
        )
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
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve this worker's Prometheus metrics on this port (/metrics)."),
    ] = None,
) -> None:
    """Run a Temporal worker: process instances plus built-in, engine and user activities."""
    from workflow_engine.engine.activities.registry import ActivityLoadError
    from workflow_engine.engine.worker import WorkerSetupError, run_worker
    from workflow_engine.services.history_cleanup import run_cleanup_job

    settings = _settings(task_queue=task_queue, metrics_port=metrics_port)
    if activity_module:
        settings = settings.model_copy(
            update={"activity_modules": [*settings.activity_modules, *activity_module]}
        )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        # With a retention set, the worker also expires old history now and then.
        await asyncio.gather(run_worker(settings, stop=stop), run_cleanup_job(settings, stop=stop))

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


VarOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--var",
        "-v",
        help="A variable NAME=VALUE; repeatable. VALUE is JSON when it parses as JSON "
        '(3, true, null, [1,2], {"a":1}), else text.',
    ),
]
OutputOpt = Annotated[str, typer.Option("--output", "-o", help="table or json")]
UserOpt = Annotated[str | None, typer.Option("--user", help="The acting user id.")]


def _reject_constant(name: str) -> Any:
    # NaN / Infinity parse in Python but are not JSON: keep them as text.
    raise ValueError(name)


def parse_var(text: str) -> tuple[str, Any]:
    """Split `NAME=VALUE`; VALUE is JSON when it parses as JSON, else the text itself.

    Raises:
        ValueError: when there is no `=` or the name is empty (the message says so).
    """
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise ValueError(f"--var {text!r} must be NAME=VALUE, e.g. --var email=bob@example.com")
    try:
        value: Any = json.loads(raw, parse_constant=_reject_constant)
    except ValueError:
        value = raw
    return name, value


def _variables(items: list[str] | None) -> dict[str, Any]:
    variables: dict[str, Any] = {}
    for item in items or []:
        try:
            name, value = parse_var(item)
        except ValueError as exc:
            _err.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
        variables[name] = value
    return variables


def _output(output: str) -> str:
    if output not in ("table", "json"):
        _err.print(f"[red]--output must be table or json, got {output!r}[/red]")
        raise typer.Exit(2)
    return output


def _all_pages(server: str, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    # httpx would send a None as an empty value, which the server reads as a filter.
    query = {k: v for k, v in params.items() if v is not None}
    items: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        paging = {"page_size": 200, **({"page_token": token} if token else {})}
        page = _request("GET", server, path, params={**query, **paging})
        items.extend(page["items"])
        token = page.get("next_page_token")
        if not token:
            return items


def _print_instance(body: dict[str, Any]) -> None:
    _out.print(f"[bold]instance {body['id']}[/bold]")
    rows = [
        ("definition", f"{body['definition_key']} v{body['definition_version']}"),
        ("status", body["status"]),
        ("business key", body.get("business_key") or ""),
        ("started by", body.get("start_user_id") or ""),
        ("started", body["start_time"]),
        ("ended", body.get("end_time") or ""),
        ("end reason", body.get("end_reason") or ""),
        ("active", ", ".join(body.get("active_element_ids", []))),
    ]
    for label, value in rows:
        if value:
            _out.print(f"  {label:<13}{value}")
    variables = body.get("variables") or {}
    if variables:
        _out.print("  variables")
        for name in sorted(variables):
            _out.print(f"    {name} = {json.dumps(variables[name], ensure_ascii=False)}")
    for incident in body.get("incidents", []):
        _out.print(f"  [red]incident[/red] at {incident.get('node_id')}: {incident.get('message')}")


@app.command()
def start(
    key: Annotated[str, typer.Argument(help="Definition key.")],
    var: VarOpt = None,
    business_key: Annotated[str | None, typer.Option(help="Business key.")] = None,
    version: Annotated[
        int | None, typer.Option(min=1, help="This version instead of the latest.")
    ] = None,
    user: UserOpt = None,
    server: ServerOpt = DEFAULT_SERVER,
    output: OutputOpt = "table",
) -> None:
    """Start an instance of a deployed definition."""
    fmt = _output(output)
    body: dict[str, Any] = {"definition_key": key, "variables": _variables(var)}
    if business_key is not None:
        body["business_key"] = business_key
    if version is not None:
        body["version"] = version
    if user is not None:
        body["user_id"] = user
    started = _request("POST", server, "/api/v1/instances", json=body)
    if fmt == "json":
        _out.print_json(json.dumps(started))
        return
    _out.print(
        f"[green]✓ started {started['id']}[/green] "
        f"({started['definition_key']} v{started['definition_version']}, {started['status']})"
    )


@app.command()
def instances(
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    key: Annotated[str | None, typer.Option(help="Only this definition key.")] = None,
    business_key: Annotated[str | None, typer.Option(help="Only this business key.")] = None,
    server: ServerOpt = DEFAULT_SERVER,
    output: OutputOpt = "table",
) -> None:
    """List process instances (all pages), oldest first."""
    fmt = _output(output)
    params = {"status": status, "definition_key": key, "business_key": business_key}
    items = _all_pages(server, "/api/v1/instances", params)
    if fmt == "json":
        _out.print_json(json.dumps(items))
        return
    table = Table("id", "definition", "status", "business key", "active", "started")
    for i in items:
        table.add_row(
            i["id"],
            f"{i['definition_key']} v{i['definition_version']}",
            i["status"],
            i.get("business_key") or "",
            ", ".join(i.get("active_element_ids", [])),
            i["start_time"],
        )
    _out.print(table)


@app.command()
def instance(
    instance_id: Annotated[str, typer.Argument(help="Instance id.")],
    server: ServerOpt = DEFAULT_SERVER,
    output: OutputOpt = "table",
) -> None:
    """Show one instance: status, active elements, variables, incidents."""
    fmt = _output(output)
    body = _request("GET", server, f"/api/v1/instances/{instance_id}")
    if fmt == "json":
        _out.print_json(json.dumps(body))
        return
    _print_instance(body)


@app.command()
def tasks(
    assignee: Annotated[str | None, typer.Option(help="Only tasks of this assignee.")] = None,
    candidate_user: Annotated[
        str | None, typer.Option(help="Only tasks this user is a candidate for.")
    ] = None,
    candidate_group: Annotated[
        str | None, typer.Option(help="Only tasks of this candidate group.")
    ] = None,
    state: Annotated[str | None, typer.Option(help="Only this state.")] = None,
    instance_id: Annotated[
        str | None, typer.Option("--instance", help="Only this instance.")
    ] = None,
    server: ServerOpt = DEFAULT_SERVER,
    output: OutputOpt = "table",
) -> None:
    """List user tasks (all pages), oldest first."""
    fmt = _output(output)
    params = {
        "assignee": assignee,
        "candidate_user": candidate_user,
        "candidate_group": candidate_group,
        "state": state,
        "instance_id": instance_id,
    }
    items = _all_pages(server, "/api/v1/tasks", params)
    if fmt == "json":
        _out.print_json(json.dumps(items))
        return
    table = Table("id", "name", "element", "state", "assignee", "candidates", "instance")
    for t in items:
        candidates = [
            *t.get("candidate_users", []),
            *(f"@{g}" for g in t.get("candidate_groups", [])),
        ]
        table.add_row(
            t["id"],
            t["name"],
            t["element_id"],
            t["state"],
            t.get("assignee") or "",
            ", ".join(candidates),
            t["instance_id"],
        )
    _out.print(table)


@app.command()
def claim(
    task_id: Annotated[str, typer.Argument(help="Task id.")],
    user: Annotated[str, typer.Option("--user", help="Who claims the task.")],
    server: ServerOpt = DEFAULT_SERVER,
) -> None:
    """Claim an unassigned task."""
    body = _request("POST", server, f"/api/v1/tasks/{task_id}/claim", json={"user_id": user})
    _out.print(f"[green]✓ task {body['id']}[/green] ({body['name']}) claimed by {body['assignee']}")


@app.command()
def complete(
    task_id: Annotated[str, typer.Argument(help="Task id.")],
    var: VarOpt = None,
    user: UserOpt = None,
    server: ServerOpt = DEFAULT_SERVER,
) -> None:
    """Complete a task with output variables; the instance moves on."""
    payload: dict[str, Any] = {"variables": _variables(var)}
    if user is not None:
        payload["user_id"] = user
    body = _request("POST", server, f"/api/v1/tasks/{task_id}/complete", json=payload)
    _out.print(
        f"[green]✓ task {body['task_id']} completed[/green] "
        f"({body['node_id']}; instance {body['instance_status']})"
    )


@app.command(name="signal")
def send_signal(
    name: Annotated[str, typer.Argument(help="Signal id or name.")],
    var: VarOpt = None,
    server: ServerOpt = DEFAULT_SERVER,
) -> None:
    """Broadcast a signal to every instance waiting on it."""
    body = _request(
        "POST", server, "/api/v1/signals", json={"name": name, "variables": _variables(var)}
    )
    _out.print(f"[green]✓ signal {name!r}[/green] delivered to {body['delivered']} instance(s)")


@app.command()
def message(
    name: Annotated[str, typer.Argument(help="Message id or name.")],
    correlation_key: Annotated[
        str | None, typer.Option(help="Select the waiting instance by correlation key.")
    ] = None,
    business_key: Annotated[
        str | None, typer.Option(help="Select the waiting instance by business key.")
    ] = None,
    var: VarOpt = None,
    user: UserOpt = None,
    server: ServerOpt = DEFAULT_SERVER,
) -> None:
    """Deliver a message to the one waiting instance, or start one at a message start."""
    payload: dict[str, Any] = {"name": name, "variables": _variables(var)}
    for field, value in (
        ("correlation_key", correlation_key),
        ("business_key", business_key),
        ("user_id", user),
    ):
        if value is not None:
            payload[field] = value
    body = _request("POST", server, "/api/v1/messages", json=payload)
    what = "started" if body["started"] else "delivered to"
    _out.print(f"[green]✓ message {name!r}[/green] {what} instance {body['instance_id']}")


def _control(server: str, instance_id: str, action: str, payload: dict[str, Any]) -> None:
    _request("POST", server, f"/api/v1/instances/{instance_id}/{action}", json=payload or None)
    _out.print(f"[green]✓ {action} requested[/green] for instance {instance_id}")


ReasonOpt = Annotated[str, typer.Option(help="Why (recorded with the instance).")]


@app.command()
def pause(
    instance_id: Annotated[str, typer.Argument(help="Instance id.")],
    user: UserOpt = None,
    server: ServerOpt = DEFAULT_SERVER,
) -> None:
    """Pause an instance: it starts no new step until resumed."""
    _control(server, instance_id, "pause", {"user_id": user} if user else {})


@app.command()
def resume(
    instance_id: Annotated[str, typer.Argument(help="Instance id.")],
    user: UserOpt = None,
    server: ServerOpt = DEFAULT_SERVER,
) -> None:
    """Resume a paused instance."""
    _control(server, instance_id, "resume", {"user_id": user} if user else {})


@app.command()
def retry(
    instance_id: Annotated[str, typer.Argument(help="Instance id.")],
    node: Annotated[
        str | None, typer.Option(help="Retry only the incident at this element.")
    ] = None,
    user: UserOpt = None,
    server: ServerOpt = DEFAULT_SERVER,
) -> None:
    """Retry the failed step(s) of an instance in incident."""
    payload = {k: v for k, v in (("node_id", node), ("user_id", user)) if v}
    _control(server, instance_id, "retry", payload)


@app.command()
def terminate(
    instance_id: Annotated[str, typer.Argument(help="Instance id.")],
    reason: ReasonOpt = "",
    user: UserOpt = None,
    server: ServerOpt = DEFAULT_SERVER,
) -> None:
    """End an instance at once (status terminated)."""
    payload = {k: v for k, v in (("reason", reason), ("user_id", user)) if v}
    _control(server, instance_id, "terminate", payload)


@app.command()
def cancel(
    instance_id: Annotated[str, typer.Argument(help="Instance id.")],
    reason: ReasonOpt = "",
    user: UserOpt = None,
    server: ServerOpt = DEFAULT_SERVER,
) -> None:
    """Run an instance down cleanly (status cancelled)."""
    payload = {k: v for k, v in (("reason", reason), ("user_id", user)) if v}
    _control(server, instance_id, "cancel", payload)


@app.command()
def history(
    instance_id: Annotated[str, typer.Argument(help="Instance id.")],
    event_type: Annotated[
        list[str] | None,
        typer.Option("--type", "-t", help="Only these event types (repeatable, `activity.*`)."),
    ] = None,
    events: Annotated[
        bool, typer.Option("--events", help="Print the event log instead of the steps.")
    ] = False,
    server: ServerOpt = DEFAULT_SERVER,
    output: OutputOpt = "table",
) -> None:
    """Show an instance's history: its steps (default) or its event log (--events)."""
    fmt = _output(output)
    if events or event_type:
        log: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"page_size": 1000, "type": event_type or []}
            if token:
                params["page_token"] = token
            page = _request(
                "GET", server, f"/api/v1/instances/{instance_id}/history", params=params
            )
            log.extend(page["events"])
            token = page.get("next_page_token")
            if not token:
                break
        if fmt == "json":
            _out.print_json(json.dumps(log))
            return
        table = Table("seq", "time", "type", "node", "user", "data")
        for e in log:
            table.add_row(
                str(e["sequence"]),
                e["timestamp"],
                e["type"],
                e.get("node_id") or "",
                e.get("user_id") or "",
                json.dumps(e.get("data") or {}, ensure_ascii=False)[:80],
            )
        _out.print(table)
        return
    body = _request("GET", server, f"/api/v1/instances/{instance_id}/steps")
    steps: list[dict[str, Any]] = body["steps"]
    if fmt == "json":
        _out.print_json(json.dumps(steps))
        return
    table = Table("step", "node", "type", "status", "started", "ms", "tries", "user", "output")
    for s in steps:
        table.add_row(
            str(s["step_id"]),
            s["node_id"],
            s.get("node_type") or "",
            s["status"],
            s["started_at"],
            "" if s.get("duration_ms") is None else str(s["duration_ms"]),
            str(len(s.get("attempts") or [])) if s.get("attempts") else "",
            s.get("user_id") or "",
            "" if s.get("output") is None else json.dumps(s["output"], ensure_ascii=False)[:60],
        )
    _out.print(table)


@app.command()
def token(
    user: Annotated[str, typer.Option("--user", help="User id (the token's subject).")],
    groups: Annotated[str, typer.Option(help="Comma-separated groups, e.g. g1,g2.")] = "",
    roles: Annotated[
        str, typer.Option(help="Comma-separated roles: admin, modeler, operator, user.")
    ] = "",
    tenant: Annotated[
        str | None, typer.Option(help="Tenant id (default: the default tenant).")
    ] = None,
    ttl: Annotated[int, typer.Option(min=1, help="Lifetime in seconds.")] = 3600,
) -> None:
    """Print a development token signed with the configured auth_jwt_secret.

    Use it as `WFE_TOKEN=$(wfe token --user alice --roles admin) wfe instances`.
    """
    from workflow_engine.security.permissions import Role
    from workflow_engine.security.tokens import claim_names, mint_token

    settings = _settings()
    secret = settings.auth_jwt_secret
    if secret is None:
        _err.print(
            "[red]no auth_jwt_secret configured:[/red] set WFE_AUTH_JWT_SECRET (at least 32 "
            "bytes, e.g. `openssl rand -hex 32`) to the server's secret to mint tokens"
        )
        raise typer.Exit(2)
    hs = [a for a in settings.auth_algorithms if a.startswith("HS")]
    if not hs:
        _err.print(
            "[red]auth_algorithms accepts no HS* algorithm:[/red] the server would refuse a "
            f"token signed with the secret (accepted: {', '.join(settings.auth_algorithms)})"
        )
        raise typer.Exit(2)
    role_names = _split_csv(roles)
    known = {r.value for r in Role}
    for name in role_names - known:
        _err.print(f"[yellow]warning:[/yellow] role {name!r} is not one of {sorted(known)}")
    minted = mint_token(
        secret=secret.get_secret_value(),
        user_id=user,
        groups=_split_csv(groups),
        roles=role_names,
        tenant_id=tenant,
        ttl_seconds=ttl,
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        claims=claim_names(settings),
        algorithm=hs[0],
    )
    # Plain print: rich would wrap the long token at the terminal width.
    print(minted)


def _split_csv(text: str) -> set[str]:
    return {part.strip() for part in text.split(",") if part.strip()}


@app.command(name="history-cleanup")
def history_cleanup(
    ttl_days: Annotated[
        int | None,
        typer.Option(min=0, help="Retention in days (default: the history_ttl_days setting)."),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(min=1, max=1000, help="Instances per transaction (default: setting)."),
    ] = None,
) -> None:
    """Delete the history of instances that ended more than the retention ago, in batches."""
    from workflow_engine import __version__
    from workflow_engine.security.context import RequestOrigin, request_origin
    from workflow_engine.services.history import HistoryService
    from workflow_engine.store.database import Database, create_engine

    settings = _settings()
    days = ttl_days if ttl_days is not None else settings.history_ttl_days
    if days is None:
        _err.print("no retention: set history_ttl_days (WFE_HISTORY_TTL_DAYS) or pass --ttl-days")
        raise typer.Exit(2)

    async def main() -> int:
        database = Database(create_engine(settings.effective_database_url, pool_size=2))
        try:
            service = HistoryService(
                database=database, cleanup_batch_size=settings.history_cleanup_batch_size
            )
            # Audited as a CLI action (the audit log's "from where"; the actor is the system).
            origin = RequestOrigin(transport="cli", user_agent=f"wfe/{__version__}")
            with request_origin(origin):
                result = await service.cleanup(ttl_days=days, batch_size=batch_size)
        finally:
            await database.dispose()
        return result.instances_deleted

    try:
        deleted = asyncio.run(main())
    except ServiceError as exc:
        _err.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from None
    _out.print(
        f"[green]✓ deleted the history of {deleted} instance(s) ended over {days} day(s) ago"
    )


def _request(method: str, server: str, path: str, **kwargs: Any) -> dict[str, Any]:
    headers = dict(kwargs.pop("headers", None) or {})
    if _auth["token"]:
        headers["authorization"] = f"Bearer {_auth['token']}"
    try:
        response = httpx.request(
            method, server.rstrip("/") + path, timeout=30, headers=headers, **kwargs
        )
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
        if response.status_code == 401:
            _err.print(
                "  the server requires a token: pass --token or set WFE_TOKEN "
                "(a development token: `wfe token --user <id> --roles admin`)"
            )
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
