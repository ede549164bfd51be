"""`wfe pause`, `resume`, `retry`, `terminate`, `cancel`; `wfe reconcile`.

Each control command asks a running server to act on one instance and prints what the server
answered (pause / resume / terminate / cancel: the status the instance has then). `reconcile`
asks the server to compare open instances with Temporal and repair ghosts (admin).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from workflow_engine.cli.console import out
from workflow_engine.cli.http_client import request
from workflow_engine.cli.options import DEFAULT_SERVER, ReasonOpt, ServerOpt, UserOpt


def pause(
    instance_id: Annotated[str, typer.Argument(help="Instance id.")],
    user: UserOpt = None,
    server: ServerOpt = DEFAULT_SERVER,
) -> None:
    """Pause an instance: it starts no new step until resumed."""
    _control(server, instance_id, "pause", {"user_id": user} if user else {})


def resume(
    instance_id: Annotated[str, typer.Argument(help="Instance id.")],
    user: UserOpt = None,
    server: ServerOpt = DEFAULT_SERVER,
) -> None:
    """Resume a paused instance."""
    _control(server, instance_id, "resume", {"user_id": user} if user else {})


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


def terminate(
    instance_id: Annotated[str, typer.Argument(help="Instance id.")],
    reason: ReasonOpt = "",
    user: UserOpt = None,
    server: ServerOpt = DEFAULT_SERVER,
) -> None:
    """End an instance at once (status terminated)."""
    payload = {k: v for k, v in (("reason", reason), ("user_id", user)) if v}
    _control(server, instance_id, "terminate", payload)


def cancel(
    instance_id: Annotated[str, typer.Argument(help="Instance id.")],
    reason: ReasonOpt = "",
    user: UserOpt = None,
    server: ServerOpt = DEFAULT_SERVER,
) -> None:
    """Run an instance down cleanly (status cancelled)."""
    payload = {k: v for k, v in (("reason", reason), ("user_id", user)) if v}
    _control(server, instance_id, "cancel", payload)


def reconcile(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the ghosts, repair nothing.")
    ] = False,
    server: ServerOpt = DEFAULT_SERVER,
) -> None:
    """Compare open instances with Temporal; write the end of each one Temporal has closed."""
    body = request(
        "POST", server, "/api/v1/admin/reconcile", params={"dry_run": str(dry_run).lower()}
    )
    for repair in body.get("repairs", []):
        verb = "repaired" if repair.get("repaired") else "would repair" if dry_run else "skipped"
        reason = f" — {repair['reason']}" if repair.get("reason") else ""
        out.print(
            f"{verb} {repair['instance_id']}: {repair['previous_status']} → {repair['status']} "
            f"(Temporal: {repair['temporal_status']}){reason}"
        )
    for error in body.get("errors", []):
        out.print(f"[yellow]could not check[/yellow] {error}")
    done = "found" if dry_run else "repaired"
    count = len(body.get("repairs", [])) if dry_run else body.get("repaired", 0)
    out.print(f"checked {body.get('checked', 0)} open instance(s); {count} ghost(s) {done}")


def _control(server: str, instance_id: str, action: str, payload: dict[str, Any]) -> None:
    body = request(
        "POST", server, f"/api/v1/instances/{instance_id}/{action}", json=payload or None
    )
    status = body.get("status")
    suffix = f" (status {status})" if status else ""
    out.print(f"[green]✓ {action} requested[/green] for instance {instance_id}{suffix}")
