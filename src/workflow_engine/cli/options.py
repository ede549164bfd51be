"""Options shared by several `wfe` commands, and the parsing of their values.

`--server`, `--var`, `--output`, `--user` and `--reason` mean the same in every command that
takes them; they are declared once here so their help texts cannot drift apart.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from workflow_engine.cli.console import err

ServerOpt = Annotated[
    str,
    typer.Option("--server", envvar="WFE_SERVER_URL", help="Base URL of a running wfe server."),
]
DEFAULT_SERVER = "http://127.0.0.1:8080"

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
ReasonOpt = Annotated[str, typer.Option(help="Why (recorded with the instance).")]


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


def variables_from(items: list[str] | None) -> dict[str, Any]:
    """Turn repeated `--var NAME=VALUE` options into a variables object.

    Raises:
        typer.Exit: with code 2 on a malformed `--var` (the reason is printed).
    """
    variables: dict[str, Any] = {}
    for item in items or []:
        try:
            name, value = parse_var(item)
        except ValueError as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
        variables[name] = value
    return variables


def checked_output(output: str) -> str:
    """Return `--output` when it is `table` or `json`.

    Raises:
        typer.Exit: with code 2 for any other value (the reason is printed).
    """
    if output not in ("table", "json"):
        err.print(f"[red]--output must be table or json, got {output!r}[/red]")
        raise typer.Exit(2)
    return output
