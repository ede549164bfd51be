"""Where the `wfe` commands print, and how they load settings.

Results go to standard output; diagnostics go to standard error so that `-o json` output stays
clean for pipes. Settings errors end the command with exit code 2.
"""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console

from workflow_engine.config import Settings, load_settings
from workflow_engine.logging import configure_logging

#: Results (tables, JSON, confirmations).
out = Console()
#: Errors and warnings.
err = Console(stderr=True)


def load_cli_settings(**overrides: Any) -> Settings:
    """Load the settings with the command's options on top, and configure logging.

    Args:
        **overrides: Setting values from command options; `None` means "not given" and is
            left to the environment / config file.

    Returns:
        The effective settings.

    Raises:
        typer.Exit: with code 2 when the configuration is invalid (the reason is printed).
    """
    try:
        settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    return settings
