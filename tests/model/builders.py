"""Documents for the model tests: the seed example and a tiny builder for hand-made ones."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path
from typing import Any

from workflow_engine.model.issues import ValidationIssue, ValidationReport

SEED_PATH = Path(__file__).resolve().parents[2] / "examples" / "user-registration.json"
_SEED: dict[str, Any] = json.loads(SEED_PATH.read_text(encoding="utf-8"))


def seed() -> dict[str, Any]:
    """A fresh deep copy of examples/user-registration.json."""
    return copy.deepcopy(_SEED)


def element(element_id: str, element_type: str, **keys: Any) -> dict[str, Any]:
    """One element; `config` and the rest pass through as given."""
    return {"id": element_id, "type": element_type, **keys}


def document(*elements: Any, **extra: Any) -> dict[str, Any]:
    """A definition with a minimal header around `elements`."""
    doc: dict[str, Any] = {"process": {"id": "p", "key": "p"}, "elements": list(elements)}
    doc.update(extra)
    return doc


def linear(*middle: dict[str, Any]) -> dict[str, Any]:
    """start -> middle... -> end, chained with bare-id outgoing entries."""
    chain = [element("start", "startEvent"), *middle, element("end", "endEvent")]
    for current, following in itertools.pairwise(chain):
        current.setdefault("outgoing", [following["id"]])
    return document(*chain)


def find(issues: list[ValidationIssue] | ValidationReport, path: str) -> list[ValidationIssue]:
    """Issues at exactly `path`."""
    items = [*issues.errors, *issues.warnings] if isinstance(issues, ValidationReport) else issues
    return [i for i in items if i.path == path]


def codes(report: ValidationReport) -> set[str]:
    """Every code in a report."""
    return {str(i.code) for i in (*report.errors, *report.warnings)}
