"""Markers of the deployment tests (registered here: pyproject's list belongs to the lead)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "container: builds and runs the container image with podman (deselect with "
        "-m 'not container' on a machine without podman)",
    )


#: Lines for the end of the run (the image build's duration), added by the fixtures.
SUMMARY: list[str] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in SUMMARY:
        terminalreporter.write_line(line)
