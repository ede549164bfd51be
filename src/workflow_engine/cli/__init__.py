"""The `wfe` command line: run the product, and talk to a running server.

`wfe dev` runs everything embedded; `wfe serve` / `wfe migrate` are the production parts;
`wfe validate` checks a file locally (no server needed); `wfe deploy`, `wfe definitions` and the
runtime commands (`wfe start`, `instances`, `instance`, `tasks`, `claim`, `complete`, `signal`,
`message`, `pause`, `resume`, `retry`, `terminate`, `cancel`) talk to a running server's REST
API (`--server`, env `WFE_SERVER_URL`).

This package holds the typer `app` (the `wfe` entry point is `workflow_engine.cli:app`), the
global options and `main()`; the commands live in one module per concept and are registered
here, in the order `wfe --help` lists them.
"""

from __future__ import annotations

import sys
from importlib import metadata
from typing import Annotated

import typer

from workflow_engine.cli import (
    control_commands,
    definition_commands,
    history_commands,
    runtime_commands,
    server_commands,
    token_command,
)
from workflow_engine.cli.http_client import use_token
from workflow_engine.cli.options import parse_var

__all__ = ["app", "main", "parse_var"]

app = typer.Typer(
    name="wfe",
    help="workflow-engine: BPMN 2.0 processes on Temporal.",
    no_args_is_help=True,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        # The installed distribution's version (what `pip show workflow-engine` says).
        print(f"wfe {metadata.version('workflow-engine')}")
        raise typer.Exit()


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
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """workflow-engine: BPMN 2.0 processes on Temporal."""
    use_token(token)


# Running the product.
app.command()(server_commands.dev)
app.command()(server_commands.serve)
app.command()(server_commands.worker)
app.command()(server_commands.migrate)
app.command()(server_commands.reencrypt)
# Definitions.
app.command()(definition_commands.validate)
app.command()(definition_commands.deploy)
app.command()(definition_commands.definitions)
# Instances, tasks, signals and messages.
app.command()(runtime_commands.start)
app.command()(runtime_commands.instances)
app.command()(runtime_commands.instance)
app.command()(runtime_commands.tasks)
app.command()(runtime_commands.claim)
app.command()(runtime_commands.complete)
app.command(name="signal")(runtime_commands.send_signal)
app.command()(runtime_commands.message)
app.command()(control_commands.pause)
app.command()(control_commands.resume)
app.command()(control_commands.retry)
app.command()(control_commands.terminate)
app.command()(control_commands.cancel)
app.command()(control_commands.reconcile)
# History and tokens.
app.command()(history_commands.history)
app.command()(token_command.token)
app.command(name="history-cleanup")(history_commands.history_cleanup)


def main() -> None:
    """Entry point for `python -m workflow_engine`."""
    app(prog_name="wfe")
    sys.exit(0)
