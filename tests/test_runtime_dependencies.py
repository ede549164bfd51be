"""Every third-party package the product imports is in the runtime lock.

The container image and `scripts/dev` install `requirements/runtime.lock` only; a module that
imports a dev-only package (one that the test venv happens to have) would break there first.
"""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "workflow_engine"


def _imported_top_level_modules() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top != "workflow_engine" and top not in sys.stdlib_module_names:
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def _locked(lock: Path) -> set[str]:
    names = re.findall(r"^([A-Za-z0-9_.\-]+)==", lock.read_text(encoding="utf-8"), re.MULTILINE)
    return {re.sub(r"[-_.]+", "-", name).lower() for name in names}


def test_every_imported_package_is_in_the_runtime_lock() -> None:
    locked = _locked(ROOT / "requirements" / "runtime.lock")
    distributions = packages_distributions()
    missing = {}
    for module, where in _imported_top_level_modules().items():
        owners = {re.sub(r"[-_.]+", "-", d).lower() for d in distributions.get(module, [])}
        assert owners, f"{module} (imported in {where}) is not installed at all"
        if not owners & locked:
            missing[module] = (where, sorted(owners))
    assert not missing, f"imported by the product but not in requirements/runtime.lock: {missing}"
