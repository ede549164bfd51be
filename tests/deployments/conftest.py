"""Markers of the deployment tests (registered here: pyproject's list belongs to the lead)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "container: builds and runs the container image with podman (deselect with "
        "-m 'not container' on a machine without podman)",
    )
