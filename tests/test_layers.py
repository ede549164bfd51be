"""Imports point down the layers of docs/architecture.md, and the known exceptions only shrink.

Every module of `src/workflow_engine` belongs to a layer (its first package, with the
worker-side parts of `engine/` counted apart from the pure workflow code). A layer may import
only the layers listed for it in `ALLOWED`. `KNOWN_DEBTS` lists the upward imports that exist
today and are tracked for removal ("One vocabulary" issue): a new upward import fails, and so
does a debt that has been paid but is still listed (so the list is kept honest).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "workflow_engine"

#: The worker side of `engine/` (I/O: activities, the Temporal worker, the dev server child).
_ENGINE_ADAPTERS = ("activities", "worker", "piggyback", "devserver", "sandbox")

_FOUNDATION = {"config", "redaction", "logging", "observability", "crypto"}
_BELOW_SERVICES = {
    "model",
    "expressions",
    "engine",
    "store",
    "bus",
    "security",
    *_FOUNDATION,
}

ALLOWED: dict[str, set[str]] = {
    "expressions": set(),
    "model": {"expressions"},
    "engine": {"model", "expressions"},
    "engine.piggyback": {"engine"},
    "engine.sandbox": {"engine"},
    "engine.devserver": {"config", "logging"},
    "store": {"model", "expressions", "engine", "bus", "config", "redaction", "crypto"},
    "bus": {"config", "redaction"},
    "crypto": set(),
    "config": {"redaction", "crypto"},
    "redaction": set(),
    "observability": {"engine", "store", "config", "redaction"},
    "logging": {"observability", "redaction", "config"},
    "security": {"config", "redaction", "logging"},
    "engine.activities": {
        "engine",
        "engine.piggyback",
        "model",
        "expressions",
        "store",
        "bus",
        *_FOUNDATION,
    },
    "engine.worker": {
        "engine",
        "engine.activities",
        "engine.piggyback",
        "engine.sandbox",
        "model",
        "store",
        "bus",
        *_FOUNDATION,
    },
    "services": {*_BELOW_SERVICES, "engine.worker", "engine.devserver"},
    "api": {*_BELOW_SERVICES, "services", "root"},
    "server": {*_BELOW_SERVICES, "services", "api"},
    # Process lifecycle of the long-running commands: signals, bounded stop, worker checks.
    "lifecycle": set(),
    "worker_health": {*_BELOW_SERVICES, "services", "engine.activities", "engine.worker"},
    "dev": {
        *_BELOW_SERVICES,
        "services",
        "api",
        "server",
        "engine.devserver",
        "engine.worker",
        "lifecycle",
        "worker_health",
    },
    "cli": {
        *_BELOW_SERVICES,
        "services",
        "api",
        "server",
        "dev",
        "root",
        "engine.activities",
        "engine.devserver",
        "engine.worker",
        "lifecycle",
        "worker_health",
    },
    "__main__": {"cli"},
    "root": set(),
}

#: Upward imports that exist today, each to be removed (not added to).
KNOWN_DEBTS: set[tuple[str, str]] = {
    # The engine's signal / message activities call the services back; the worker builds them.
    ("engine.activities", "services"),
    ("engine.worker", "services"),
    # The service container builds the engine's activities.
    ("services", "engine.activities"),
    # Token verification reads the service layer's error types.
    ("security", "services"),
}


def _layer(module: str) -> str:
    parts = module.split(".")[1:]
    if not parts:
        return "root"
    if parts[0] == "engine" and len(parts) > 1 and parts[1] in _ENGINE_ADAPTERS:
        return f"engine.{parts[1]}"
    return parts[0]


def _imports() -> dict[tuple[str, str], list[str]]:
    """(importing layer, imported layer) → the files where it happens."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in SRC.rglob("*.py"):
        if "generated" in path.parts:
            continue
        relative = path.relative_to(SRC.parent).with_suffix("")
        module = ".".join(p for p in relative.parts if p != "__init__")
        source = _layer(module)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                if name == "workflow_engine" or name.startswith("workflow_engine."):
                    target = _layer(name)
                    if target != source:
                        found[(source, target)].append(str(path.relative_to(SRC)))
    return found


def test_every_layer_is_known() -> None:
    layers = {source for source, _ in _imports()} | {target for _, target in _imports()}
    assert layers <= set(ALLOWED), f"modules outside any layer: {layers - set(ALLOWED)}"


def test_imports_point_down() -> None:
    wrong = {
        edge: files
        for edge, files in _imports().items()
        if edge[1] not in ALLOWED[edge[0]] and edge not in KNOWN_DEBTS
    }
    assert not wrong, "upward imports (see docs/architecture.md):\n" + "\n".join(
        f"  {a} -> {b}: {sorted(set(files))}" for (a, b), files in sorted(wrong.items())
    )


@pytest.mark.parametrize("debt", sorted(KNOWN_DEBTS), ids=lambda d: f"{d[0]}->{d[1]}")
def test_a_paid_debt_leaves_the_list(debt: tuple[str, str]) -> None:
    assert debt in _imports(), f"{debt} no longer happens: remove it from KNOWN_DEBTS"
