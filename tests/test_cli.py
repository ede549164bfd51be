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


def test_serve_without_temporal_says_where_it_looked(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.temporal_fixtures import free_port

    env = {
        "PATH": "/usr/bin:/bin",
        "WFE_DATA_DIR": str(tmp_path),
        "WFE_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "WFE_HTTP_PORT": str(free_port()),
        "WFE_GRPC_PORT": str(free_port()),
    }
    result = subprocess.run(
        [sys.executable, "-m", "workflow_engine", "serve"],
        capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1
    assert f"cannot reach Temporal at {env['WFE_TEMPORAL_ADDRESS']}" in " ".join(
        result.stderr.split()
    )


def test_version_prints_the_installed_distributions_version() -> None:
    from importlib import metadata

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"wfe {metadata.version('workflow-engine')}"
