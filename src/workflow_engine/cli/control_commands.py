"""`wfe pause`, `resume`, `retry`, `terminate` and `cancel`: operator control of an instance.

Each asks a running server to act on one instance; the request is confirmed, and the instance
changes state as the engine carries it out.
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


def _control(server: str, instance_id: str, action: str, payload: dict[str, Any]) -> None:
    request("POST", server, f"/api/v1/instances/{instance_id}/{action}", json=payload or None)
    out.print(f"[green]✓ {action} requested[/green] for instance {instance_id}")
