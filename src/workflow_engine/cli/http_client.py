"""The REST client behind the `wfe` commands that talk to a running server.

Every request carries the bearer token given by the global `--token` / `WFE_TOKEN`. Server
errors are printed (code, message, field details) and end the command with exit code 1; an
unreachable server ends it with exit code 2.
"""

from __future__ import annotations

from typing import Any

import httpx
import typer

from workflow_engine.cli.console import err

#: Bearer token sent by every command that talks to a server (global `--token` / WFE_TOKEN).
_auth: dict[str, str | None] = {"token": None}


def use_token(token: str | None) -> None:
    """Send `token` as the bearer token from now on; blank or `None` sends none."""
    _auth["token"] = token.strip() if token and token.strip() else None


def request(method: str, server: str, path: str, **kwargs: Any) -> dict[str, Any]:
    """Send one request to the server's REST API and return its JSON object.

    Args:
        method: HTTP method.
        server: Base URL of the server (a trailing `/` is fine).
        path: Path under the base URL, e.g. `/api/v1/instances`.
        **kwargs: Passed on to `httpx.request` (`json`, `params`, `content`, `headers`).

    Returns:
        The decoded JSON body.

    Raises:
        typer.Exit: 2 when the server cannot be reached; 1 on an error status or a body that is
            not a JSON object (the reason is printed).
    """
    headers = dict(kwargs.pop("headers", None) or {})
    if _auth["token"]:
        headers["authorization"] = f"Bearer {_auth['token']}"
    try:
        response = httpx.request(
            method, server.rstrip("/") + path, timeout=30, headers=headers, **kwargs
        )
    except httpx.HTTPError as exc:
        err.print(f"[red]cannot reach {server}:[/red] {exc}")
        raise typer.Exit(2) from None
    try:
        body: Any = response.json()
    except ValueError:
        body = {}
    if response.is_error:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        message = error.get("message", response.text)
        err.print(f"[red]{response.status_code} {error.get('code', '')}:[/red] {message}")
        for detail in error.get("details", []):
            err.print(f"  {detail.get('path')}: {detail.get('message')}")
        if response.status_code == 401:
            err.print(
                "  the server requires a token: pass --token or set WFE_TOKEN "
                "(a development token: `wfe token --user <id> --roles admin`)"
            )
        raise typer.Exit(1)
    if not isinstance(body, dict):
        err.print(f"[red]unexpected answer from {server}[/red]")
        raise typer.Exit(1)
    return body


def all_pages(server: str, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """GET every page of a paged list (`items` / `next_page_token`) and return all items.

    Args:
        server: Base URL of the server.
        path: The list's path.
        params: Filters; `None` values are left out.
    """
    # httpx would send a None as an empty value, which the server reads as a filter.
    query = {k: v for k, v in params.items() if v is not None}
    items: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        paging = {"page_size": 200, **({"page_token": token} if token else {})}
        page = request("GET", server, path, params={**query, **paging})
        items.extend(page["items"])
        token = page.get("next_page_token")
        if not token:
            return items
