"""`wfe validate`, `deploy` and `definitions`: checking and publishing definition files.

`validate` works locally (no server); `deploy` and `definitions` talk to a running server.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from workflow_engine.cli.console import err, load_cli_settings, out
from workflow_engine.cli.http_client import request
from workflow_engine.cli.options import DEFAULT_SERVER, ServerOpt
from workflow_engine.model.issues import ValidationIssue
from workflow_engine.services.definition_source import check_upload, format_from_filename
from workflow_engine.services.errors import ServiceError


def validate(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    process_id: Annotated[str | None, typer.Option(help="BPMN: which process.")] = None,
) -> None:
    """Validate a JSON or BPMN definition file locally; exit 1 when it has errors."""
    settings = load_cli_settings()
    try:
        fmt = format_from_filename(file.name)
    except ServiceError as exc:
        err.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from None
    content = file.read_bytes()
    if len(content) > settings.max_definition_bytes:
        err.print(f"[red]{file} is larger than {settings.max_definition_bytes} bytes[/red]")
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
        err.print(f"[red]✗ {file}: {len(checked.report.errors)} error(s)[/red]")
        raise typer.Exit(1)
    key = checked.model.process.key if checked.model else "?"
    out.print(f"[green]✓ {file} is valid[/green] (process key '{key}')")


def deploy(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    server: ServerOpt = DEFAULT_SERVER,
    process_id: Annotated[str | None, typer.Option(help="BPMN: which process.")] = None,
) -> None:
    """Deploy a definition file to a running server."""
    try:
        fmt = format_from_filename(file.name)
    except ServiceError as exc:
        err.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from None
    params = {"process_id": process_id} if process_id else {}
    body = request(
        "POST",
        server,
        "/api/v1/definitions",
        content=file.read_bytes(),
        headers={"content-type": fmt.media_type},
        params=params,
    )
    state = "deployed" if body["created"] else "unchanged (identical to an existing version)"
    out.print(f"[green]✓ {body['key']} v{body['version']}[/green] {state}, id {body['id']}")
    for warning in body.get("warnings", []):
        out.print(f"  [yellow]warning[/yellow] {warning['path']}: {warning['message']}")


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
        page = request("GET", server, "/api/v1/definitions", params=params)
        items.extend(page["items"])
        token = page.get("next_page_token")
        if not token:
            break
    if output == "json":
        out.print_json(json.dumps(items))
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
    out.print(table)


def _print_issues(kind: str, issues: tuple[ValidationIssue, ...]) -> None:
    color = "red" if kind == "error" else "yellow"
    for issue in issues:
        out.print(
            f"[{color}]{kind}[/{color}] {issue.path}: {issue.message} [dim]({issue.code})[/dim]"
        )
