"""deployments/compose/compose.yaml: accepted by podman-compose, and well-formed by our own checks.

`podman-compose config` alone accepts unknown keys and wrong types, so the keys and value types
this file uses are checked here against the Compose Specification's service and healthcheck
fields (written out below from the specification's documentation; the schema file itself is not
vendored). The topology the issue asks for is checked on top.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from workflow_engine.config import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deployments" / "compose" / "compose.yaml"
#: Service keys of the Compose Specification this project may use, with the JSON type each takes.
SERVICE_KEYS: dict[str, tuple[type, ...]] = {
    "image": (str,),
    "build": (str, dict),
    "command": (list, str),
    "entrypoint": (list, str),
    "environment": (dict, list),
    "env_file": (list, str),
    "depends_on": (dict, list),
    "healthcheck": (dict,),
    "volumes": (list,),
    "ports": (list,),
    "expose": (list,),
    "restart": (str,),
    "user": (str,),
    "read_only": (bool,),
    "stop_grace_period": (str,),
    "deploy": (dict,),
    "labels": (dict, list),
    "networks": (list, dict),
    "init": (bool,),
    "tmpfs": (list, str),
    "working_dir": (str,),
    "hostname": (str,),
    "container_name": (str,),
    "profiles": (list,),
}
HEALTHCHECK_KEYS: dict[str, tuple[type, ...]] = {
    "test": (list, str),
    "interval": (str,),
    "timeout": (str,),
    "retries": (int,),
    "start_period": (str,),
    "start_interval": (str,),
    "disable": (bool,),
}
TOP_LEVEL_KEYS = {"name", "services", "volumes", "networks", "configs", "secrets"}
DEPENDS_CONDITIONS = {
    "service_started",
    "service_healthy",
    "service_completed_successfully",
}


def spec_errors(document: dict[str, Any]) -> list[str]:
    """Keys this file may not use, and values of the wrong type, each with its path."""
    errors = [
        f"{key}: not a top-level key"
        for key in set(document) - TOP_LEVEL_KEYS
        if not key.startswith("x-")  # extension fields (anchors for `<<:` merges)
    ]
    for name, service in document.get("services", {}).items():
        if not isinstance(service, dict):
            errors.append(f"services.{name}: not a mapping")
            continue
        for key, value in service.items():
            if key.startswith("x-"):
                continue
            if key not in SERVICE_KEYS:
                errors.append(f"services.{name}.{key}: not a service key")
            elif not isinstance(value, SERVICE_KEYS[key]):
                errors.append(f"services.{name}.{key}: wrong type {type(value).__name__}")
        for key, value in (service.get("healthcheck") or {}).items():
            if key not in HEALTHCHECK_KEYS:
                errors.append(f"services.{name}.healthcheck.{key}: not a healthcheck key")
            elif not isinstance(value, HEALTHCHECK_KEYS[key]):
                errors.append(f"services.{name}.healthcheck.{key}: wrong type")
        depends = service.get("depends_on")
        if isinstance(depends, dict):
            for other, spec in depends.items():
                if other not in document["services"]:
                    errors.append(f"services.{name}.depends_on.{other}: no such service")
                if isinstance(spec, dict) and spec.get("condition") not in DEPENDS_CONDITIONS:
                    errors.append(f"services.{name}.depends_on.{other}.condition: unknown")
    return errors


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


def test_the_file_uses_only_compose_keys_with_their_types(compose: dict[str, Any]) -> None:
    errors = spec_errors(compose)
    assert not errors, "\n".join(errors)


def test_the_checks_reject_what_podman_compose_accepts() -> None:
    broken = {"services": {"a": {"image": "x", "bogus_key": 1, "healthcheck": {"test": 5}}}}
    assert len(spec_errors(broken)) == 2


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
