"""`scripts/restore-drill`: the restore drill of docs/operations.md, performed for real."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.paths import ROOT

pytestmark = [pytest.mark.postgres, pytest.mark.temporal]

SUMMARY = re.compile(
    r"^restore-drill: pg_dump -> pg_restore -> wfe migrate -> wfe serve: "
    r"restored server serves the same: 2 definitions, 2 instances, (?P<events>\d+) events, "
    r"1 ended, \d+ tasks, 0 differences, \d+s$"
)


def test_a_restored_dump_serves_the_same_data() -> None:
    done = subprocess.run(
        [str(ROOT / "scripts" / "restore-drill")],
        env={**os.environ, "WFE_PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr[-6000:]}"
    match = SUMMARY.match(done.stdout.strip().splitlines()[-1])
    assert match is not None, done.stdout
    assert int(match["events"]) > 10  # both instances really ran (a completed one has ~20)
