"""Podman as these machines run it (see docs/deployment.md): runc, explicit ulimits, host network.

crun refuses the hybrid cgroups of the CI machines, so every call names runc; containers get
explicit ulimits. There is no registry to pull from: the Debian 12 base is made once with
debootstrap and kept in podman's store as `localhost/debian:bookworm`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

PODMAN = ("podman", "--runtime", "runc")
ULIMITS = ("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096")
BASE_IMAGE = "localhost/debian:bookworm"
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
DEBIAN_MIRROR = os.environ.get("WFE_TEST_DEBIAN_MIRROR", "http://deb.debian.org/debian")


def podman(
    *args: str, timeout: float = 120, check: bool = True, stdin: bytes | None = None
) -> subprocess.CompletedProcess[Any]:
    """Run `podman --runtime runc ARGS`; a failure shows podman's own output."""
    result = subprocess.run(
        [*PODMAN, *args],
        capture_output=True,
        text=stdin is None,
        input=stdin,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"podman {' '.join(args)} exited {result.returncode}:\n"
            f"{_text(result.stdout)[-4000:]}\n{_text(result.stderr)[-4000:]}",
            pytrace=False,
        )
    return result


def _text(value: str | bytes | None) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else value.decode(errors="replace")


def require_podman() -> None:
    """Fail (never skip) when podman cannot run: CI must not pass without building the image."""
    missing = [tool for tool in ("podman", "runc") if shutil.which(tool) is None]
    if missing:
        pytest.fail(
            f"{' and '.join(missing)} not installed: scripts/test installs podman, runc and "
            "debootstrap when run as root (or: apt-get install podman runc debootstrap); "
            "deselect with -m 'not container' on a machine that cannot run containers",
            pytrace=False,
        )
    podman("info", "--format", "{{.Host.OCIRuntime.Name}}", timeout=60)


def image_exists(name: str) -> bool:
    """Whether podman's store has the image `name`."""
    return podman("image", "exists", name, check=False).returncode == 0


def ensure_debian_base() -> None:
    """Make `localhost/debian:bookworm` with debootstrap, unless the store has it already."""
    if image_exists(BASE_IMAGE):
        return
    if shutil.which("debootstrap") is None or os.geteuid() != 0:
        pytest.fail(
            f"{BASE_IMAGE} is missing and cannot be made: debootstrap needs root and "
            "`apt-get install debootstrap`",
            pytrace=False,
        )
    with tempfile.TemporaryDirectory(prefix="wfe-rootfs-") as rootfs:
        result = subprocess.run(
            ["debootstrap", "--variant=minbase", "bookworm", rootfs, DEBIAN_MIRROR],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(f"debootstrap failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
        tar = subprocess.run(
            ["tar", "-C", rootfs, "-c", "."], capture_output=True, timeout=300, check=True
        )
        podman("import", "-", BASE_IMAGE, stdin=tar.stdout, timeout=300)


def build_image(context: Path, tag: str, *, build_args: Sequence[str] = ()) -> None:
    """Build deployments/docker/Dockerfile as containers.md says (layers are reused)."""
    args = ["build", "--format", "docker", "--network=host", *ULIMITS, "--pull=never"]
    if HOST_CA.is_file():
        # pip inside the build must trust the same CAs as the host (a TLS-inspecting proxy).
        args += ["-v", f"{HOST_CA}:/host-ca.crt:ro", "--build-arg", "PIP_CERT=/host-ca.crt"]
    for build_arg in build_args:
        args += ["--build-arg", build_arg]
    args += ["-f", str(context / "deployments/docker/Dockerfile"), "-t", tag, str(context)]
    podman(*args, timeout=1500)
