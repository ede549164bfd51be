"""`wfe start`, `instances`, `instance`, `tasks`, `claim`, `complete`, `signal` and `message`.

Starting and inspecting process instances and working on their user tasks, through a running
server's REST API.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from workflow_engine.cli.console import out
from workflow_engine.cli.http_client import all_pages, request
from workflow_engine.cli.options import (
    DEFAULT_SERVER,
    OutputOpt,
    ServerOpt,
    UserOpt,
    VarOpt,
    checked_output,
    variables_from,
)

RequestIdOpt = Annotated[
    str | None,
    typer.Option(
        "--request-id",
        help="Your id of this request: sending it again (a retry) acts nothing twice and "
        "answers the same instances.",
    ),
]


def start(
    key: Annotated[str, typer.Argument(help="Definition key.")],
    var: VarOpt = None,
    business_key: Annotated[str | None, typer.Option(help="Business key.")] = None,
    version: Annotated[
        int | None, typer.Option(min=1, help="This version instead of the latest.")
    ] = None,
    user: UserOpt = None,
    request_id: RequestIdOpt = None,
    server: ServerOpt = DEFAULT_SERVER,
    output: OutputOpt = "table",
) -> None:
    """Start an instance of a deployed definition."""
    fmt = checked_output(output)
    body: dict[str, Any] = {"definition_key": key, "variables": variables_from(var)}
    if business_key is not None:
        body["business_key"] = business_key
    if version is not None:
        body["version"] = version
    if user is not None:
        body["user_id"] = user
    if request_id is not None:
        body["request_id"] = request_id
    started = request("POST", server, "/api/v1/instances", json=body)
    if fmt == "json":
        out.print_json(json.dumps(started))
        return
    out.print(
        f"[green]✓ started {started['id']}[/green] "
        f"({started['definition_key']} v{started['definition_version']}, {started['status']})"
    )


def instances(
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    key: Annotated[str | None, typer.Option(help="Only this definition key.")] = None,
    business_key: Annotated[str | None, typer.Option(help="Only this business key.")] = None,
    server: ServerOpt = DEFAULT_SERVER,
    output: OutputOpt = "table",
) -> None:
    """List process instances (all pages), oldest first."""
    fmt = checked_output(output)
    params = {"status": status, "definition_key": key, "business_key": business_key}
    items = all_pages(server, "/api/v1/instances", params)
    if fmt == "json":
        out.print_json(json.dumps(items))
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
    out.print(table)


def instance(
    instance_id: Annotated[str, typer.Argument(help="Instance id.")],
    server: ServerOpt = DEFAULT_SERVER,
    output: OutputOpt = "table",
) -> None:
    """Show one instance: status, active elements, variables, incidents."""
    fmt = checked_output(output)
    body = request("GET", server, f"/api/v1/instances/{instance_id}")
    if fmt == "json":
        out.print_json(json.dumps(body))
        return
    _print_instance(body)


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
    fmt = checked_output(output)
    params = {
        "assignee": assignee,
        "candidate_user": candidate_user,
        "candidate_group": candidate_group,
        "state": state,
        "instance_id": instance_id,
    }
    items = all_pages(server, "/api/v1/tasks", params)
    if fmt == "json":
        out.print_json(json.dumps(items))
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
    out.print(table)


def claim(
    task_id: Annotated[str, typer.Argument(help="Task id.")],
    user: Annotated[str, typer.Option("--user", help="Who claims the task.")],
    server: ServerOpt = DEFAULT_SERVER,
) -> None:
    """Claim an unassigned task."""
    body = request("POST", server, f"/api/v1/tasks/{task_id}/claim", json={"user_id": user})
    out.print(f"[green]✓ task {body['id']}[/green] ({body['name']}) claimed by {body['assignee']}")


def complete(
    task_id: Annotated[str, typer.Argument(help="Task id.")],
    var: VarOpt = None,
    user: UserOpt = None,
    server: ServerOpt = DEFAULT_SERVER,
) -> None:
    """Complete a task with output variables; the instance moves on."""
    payload: dict[str, Any] = {"variables": variables_from(var)}
    if user is not None:
        payload["user_id"] = user
    body = request("POST", server, f"/api/v1/tasks/{task_id}/complete", json=payload)
    out.print(
        f"[green]✓ task {body['task_id']} completed[/green] "
        f"({body['node_id']}; instance {body['instance_status']})"
    )


def send_signal(
    name: Annotated[str, typer.Argument(help="Signal id or name.")],
    var: VarOpt = None,
    request_id: RequestIdOpt = None,
    server: ServerOpt = DEFAULT_SERVER,
) -> None:
    """Broadcast a signal to every instance waiting on it and start its signal start events."""
    payload: dict[str, Any] = {"name": name, "variables": variables_from(var)}
    if request_id is not None:
        payload["request_id"] = request_id
    body = request("POST", server, "/api/v1/signals", json=payload)
    started = [str(i) for i in body.get("started_instance_ids", [])]
    out.print(
        f"[green]✓ signal {name!r}[/green] delivered to {body['delivered']} instance(s), "
        f"started {len(started)} instance(s)"
    )
    for instance_id in started:
        out.print(f"  started {instance_id}")


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
    request_id: RequestIdOpt = None,
    server: ServerOpt = DEFAULT_SERVER,
) -> None:
    """Deliver a message to the one waiting instance, or start one at a message start."""
    payload: dict[str, Any] = {"name": name, "variables": variables_from(var)}
    for field, value in (
        ("correlation_key", correlation_key),
        ("business_key", business_key),
        ("user_id", user),
        ("request_id", request_id),
    ):
        if value is not None:
            payload[field] = value
    body = request("POST", server, "/api/v1/messages", json=payload)
    what = "started" if body["started"] else "delivered to"
    out.print(f"[green]✓ message {name!r}[/green] {what} instance {body['instance_id']}")


def _print_instance(body: dict[str, Any]) -> None:
    out.print(f"[bold]instance {body['id']}[/bold]")
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
            out.print(f"  {label:<13}{value}")
    variables = body.get("variables") or {}
    if variables:
        out.print("  variables")
        for name in sorted(variables):
            out.print(f"    {name} = {json.dumps(variables[name], ensure_ascii=False)}")
    for incident in body.get("incidents", []):
        out.print(f"  [red]incident[/red] at {incident.get('node_id')}: {incident.get('message')}")
