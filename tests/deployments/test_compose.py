"""deployments/compose/compose.yaml: valid by the Compose Specification and by podman-compose.

`compose-spec.json` beside this file is the specification's JSON schema, vendored from
github.com/compose-spec/compose-spec (schema/compose-spec.json at commit 170098ba07d9,
Apache-2.0): no installed package ships it, and `podman-compose config` alone accepts unknown
keys and wrong types. The topology the issue asks for is checked on top of the schema.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from workflow_engine.config import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deployments" / "compose" / "compose.yaml"
SCHEMA = json.loads((Path(__file__).parent / "compose-spec.json").read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())  # resolves `<<:` merges
    return document


def _by_command(compose: dict[str, Any], command: str) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose["services"].items()
        if service.get("command") == [command]
    }


def test_the_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    errors = [
        f"{e.json_path}: {e.message}"
        for e in jsonschema.Draft7Validator(SCHEMA).iter_errors(compose)
    ]
    assert not errors, "\n".join(errors)


def test_the_schema_rejects_what_podman_compose_accepts() -> None:
    broken = {"services": {"a": {"image": "x", "bogus_key": 1, "healthcheck": {"test": 5}}}}
    assert len(list(jsonschema.Draft7Validator(SCHEMA).iter_errors(broken))) == 2


def test_podman_compose_config_accepts_it() -> None:
    tool = shutil.which("podman-compose") or str(Path(sys.executable).with_name("podman-compose"))
    if not Path(tool).exists():
        pytest.fail("podman-compose is missing (it is in requirements/dev.lock)")
    result = subprocess.run(
        [tool, "-f", str(COMPOSE), "config"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rendered = yaml.safe_load(result.stdout)
    assert set(rendered["services"]) == set(yaml.safe_load(COMPOSE.read_text())["services"])


def test_topology_two_apis_behind_one_port_two_workers_one_migration(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    apis, workers = _by_command(compose, "serve"), _by_command(compose, "worker")
    assert len(apis) == 2 and len(workers) == 2
    (migrate,) = _by_command(compose, "migrate").values()
    assert migrate["restart"] == "no"
    for name, service in {**apis, **workers}.items():
        assert "ports" not in service, f"{name}: reached through the proxy only"
        depends = service["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["temporal"]["condition"] == "service_healthy", name
    # The one published API port proxies to exactly the serve replicas.
    proxy = services["proxy"]
    assert proxy["ports"] == ["8080:8080"]
    conf = (COMPOSE.parent / "nginx.conf").read_text()
    assert set(re.findall(r"server ([\w-]+):8080", conf)) == set(apis)
    assert {name for name, d in proxy["depends_on"].items()} == set(apis)
    # Public images for users; the Temporal UI beside the server.
    assert services["temporal"]["image"].startswith("docker.io/temporalio/")
    assert services["temporal-ui"]["image"].startswith("docker.io/temporalio/ui:")


def test_health_checks_and_dependencies_fit(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for target, rule in service.get("depends_on", {}).items():
            assert target in services, f"{name} depends on unknown {target}"
            if rule["condition"] == "service_healthy":
                check = services[target].get("healthcheck", {})
                assert check.get("test") and not check.get("disable"), f"{target} has no check"
        if service.get("restart") != "no" and name != "temporal-ui":
            assert services[name].get("healthcheck", {}).get("test"), f"{name}: no health check"


def test_named_volumes_are_declared_and_used(compose: dict[str, Any]) -> None:
    used = {
        volume.split(":", 1)[0]
        for service in compose["services"].values()
        for volume in service.get("volumes", [])
        if not volume.startswith((".", "/"))
    }
    assert used == set(compose["volumes"]) == {"postgres-data", "redis-data"}


def test_engine_environment_names_real_settings(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for key in service.get("environment", {}):
            if key.startswith("WFE_"):
                assert key[4:].lower() in Settings.model_fields, f"{name}: {key} is no setting"
