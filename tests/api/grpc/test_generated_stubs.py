"""The committed stubs under api/grpc/generated are what `scripts/gen-proto` makes of proto/."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_stubs_match_the_protos() -> None:
    # The pinned grpcio-tools of this interpreter (a dev dependency), as CI runs it.
    result = subprocess.run(
        [str(ROOT / "scripts" / "gen-proto"), "--check"],
        cwd=ROOT,
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stdout
