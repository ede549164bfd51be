"""Shared helpers of the BPMN tests: the conformance corpus, the XSD and model comparison."""

from __future__ import annotations

import dataclasses
import importlib.resources
from functools import cache
from pathlib import Path

from lxml import etree

from tests.paths import CONFORMANCE
from workflow_engine.model.types import ProcessModel

#: The corpus this importer was built against; camunda7-advanced/ (compensation, escalation,
#: link and conditional events) is read by the tests of those elements.
BASE_FOLDERS = ("bpmn-miwg", "camunda-8-benchmark", "camunda7", "lib-bpmn-engine")
ALL_FILES = sorted(
    p
    for folder in BASE_FOLDERS
    for p in (CONFORMANCE / folder).rglob("*")
    if p.name.endswith((".bpmn", ".bpmn20.xml"))
)
#: Files that must import with no error at all (CASES.md: executable Camunda / Zeebe models,
#: plus the MIWG smoke test A.1.0).
MUST_IMPORT = sorted(
    [
        *(CONFORMANCE / "camunda7").glob("*.bpmn*"),
        *(CONFORMANCE / "lib-bpmn-engine").glob("*.bpmn"),
        CONFORMANCE / "camunda-8-benchmark" / "typical_process.bpmn",
        CONFORMANCE / "bpmn-miwg" / "A.1.0.bpmn",
    ]
)
ROUND_TRIP = sorted(
    [*(CONFORMANCE / "camunda7").glob("*.bpmn*"), CONFORMANCE / "bpmn-miwg" / "A.1.0.bpmn"]
)
SEED = Path(__file__).resolve().parents[3] / "examples" / "user-registration.json"


def file_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@cache
def bpmn_schema() -> etree.XMLSchema:
    """The OMG BPMN 2.0 XSD shipped inside SpiffWorkflow (a test-only dependency)."""
    schema_dir = importlib.resources.files("SpiffWorkflow") / "bpmn" / "parser" / "schema"
    with importlib.resources.as_file(schema_dir / "BPMN20.xsd") as path:
        return etree.XMLSchema(etree.parse(str(path)))


def comparable(model: ProcessModel) -> ProcessModel:
    """The model without what legitimately differs between two source documents.

    `path` fields locate elements in *their* document (line numbers differ), and the
    `diagram` extension holds coordinates (an export adds a layout where the source had none).
    """
    nodes = {k: dataclasses.replace(n, path="") for k, n in model.nodes.items()}
    flows = {k: dataclasses.replace(f, path="") for k, f in model.flows.items()}
    extensions = {k: v for k, v in model.extensions.items() if k != "diagram"}
    return dataclasses.replace(model, nodes=nodes, flows=flows, extensions=extensions)
