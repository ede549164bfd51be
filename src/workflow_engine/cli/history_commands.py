"""`wfe history` and `history-cleanup`: reading an instance's history, and expiring old history.

`history` asks a running server; `history-cleanup` works on the configured database directly
(it is meant for a cron job) and is audited as a CLI action of the system.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer
from rich.table import Table

from workflow_engine.cli.console import err, load_cli_settings, out
from workflow_engine.cli.http_client import request
from workflow_engine.cli.options import DEFAULT_SERVER, OutputOpt, ServerOpt, checked_output
from workflow_engine.services.errors import ServiceError


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
    fmt = checked_output(output)
    if events or event_type:
        log: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"page_size": 1000, "type": event_type or []}
            if token:
                params["page_token"] = token
            page = request("GET", server, f"/api/v1/instances/{instance_id}/history", params=params)
            log.extend(page["events"])
            token = page.get("next_page_token")
            if not token:
                break
        if fmt == "json":
            out.print_json(json.dumps(log))
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
        out.print(table)
        return
    body = request("GET", server, f"/api/v1/instances/{instance_id}/steps")
    steps: list[dict[str, Any]] = body["steps"]
    if fmt == "json":
        out.print_json(json.dumps(steps))
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
    out.print(table)


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

    settings = load_cli_settings()
    days = ttl_days if ttl_days is not None else settings.history_ttl_days
    if days is None:
        err.print("no retention: set history_ttl_days (WFE_HISTORY_TTL_DAYS) or pass --ttl-days")
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
        err.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from None
    out.print(f"[green]✓ deleted the history of {deleted} instance(s) ended over {days} day(s) ago")
