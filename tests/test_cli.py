"""`wfe validate` (local) and the CLI's error handling."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.paths import CONFORMANCE
from workflow_engine.cli import app

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "examples" / "user-registration.json"
runner = CliRunner()


def test_validate_seed_example() -> None:
    result = runner.invoke(app, ["validate", str(SEED)])
    assert result.exit_code == 0, result.output
    assert "is valid" in result.output
    assert "userRegistration" in result.output


def test_validate_broken_copy_names_path_and_fails(tmp_path: Path) -> None:
    doc = json.loads(SEED.read_text(encoding="utf-8"))
    doc["elements"][5]["config"]["timeout"] = "PT2X"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(doc), encoding="utf-8")
    result = runner.invoke(app, ["validate", str(broken)])
    assert result.exit_code == 1
    assert "elements[5].config.timeout" in result.output
    assert "PT2X" in result.output


def test_validate_bpmn_file() -> None:
    xml = CONFORMANCE / "bpmn-miwg" / "B.2.0.bpmn"
    result = runner.invoke(app, ["validate", str(xml)])
    assert result.exit_code == 1
    assert "process_id" in result.output.replace("\n", " ")


def test_validate_unknown_extension(tmp_path: Path) -> None:
    other = tmp_path / "process.txt"
    other.write_text("{}", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(other)])
    assert result.exit_code == 2
    assert ".json, .bpmn" in result.output


def test_deploy_to_an_unreachable_server_says_so() -> None:
    result = runner.invoke(app, ["deploy", str(SEED), "--server", "http://127.0.0.1:1"])
    assert result.exit_code == 2
    assert "cannot reach http://127.0.0.1:1" in result.output
