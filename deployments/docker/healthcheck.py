"""The image's HEALTHCHECK: asks the role the container runs whether it is healthy.

The role is the `wfe` command of PID 1 (`serve`, `worker`, `migrate`, `dev`):
serve and dev must answer 200 on /readyz (database, Redis and Temporal reachable); a worker
with `WFE_METRICS_PORT` set must serve /metrics (without one it has no endpoint to ask, and
counts as healthy while it runs); migrate is a one-shot job and is healthy while it runs.
Exit 0 healthy, 1 not (what Docker and podman expect). Standard library only.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from pathlib import Path

ROLES = ("serve", "worker", "migrate", "dev")


def role() -> str:
    """The `wfe` command PID 1 runs ("" when it is not one of ROLES)."""
    try:
        argv = Path("/proc/1/cmdline").read_bytes().split(b"\0")
    except OSError:
        return ""
    for arg in argv:
        if arg.decode(errors="replace") in ROLES:
            return arg.decode()
    return ""


def probe(port: str, path: str) -> bool:
    """Whether http://127.0.0.1:PORT/PATH answers 200 within 4 seconds."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=4) as response:
            return bool(response.status == 200)
    except OSError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return False


def main() -> int:
    """Check the running role; the exit status Docker / podman read."""
    current = role()
    if current in ("serve", "dev"):
        return 0 if probe(os.environ.get("WFE_HTTP_PORT", "8080"), "/readyz") else 1
    if current == "worker" and os.environ.get("WFE_METRICS_PORT"):
        return 0 if probe(os.environ["WFE_METRICS_PORT"], "/metrics") else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
