"""The portal's main pages in Firefox (Debian's firefox-esr) against `wfe dev`.

Playwright cannot drive a stock Firefox, so `tests/e2e/firefox/portal-smoke.mjs` does it with
puppeteer-core over WebDriver BiDi (Firefox's own remote protocol; puppeteer-core never downloads
a browser). Its npm packages are installed with `npm ci` from the committed lock file the first
time (node_modules is git-ignored). Screenshots: `tests/e2e/screenshots/firefox-*.png`.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import SCREENSHOTS
from tests.paths import SEED

pytestmark = pytest.mark.e2e

FIREFOX = "/usr/bin/firefox-esr"
PROJECT = Path(__file__).resolve().parent / "firefox"
SCRIPT = PROJECT / "portal-smoke.mjs"
SEED_VARIABLES = {"user_id": "u-ff", "email": "ff@example.com", "username": "ff"}


def _npm_ci() -> None:
    """Install the script's pinned packages once (`npm ci` is exact to package-lock.json)."""
    if (PROJECT / "node_modules" / "puppeteer-core" / "package.json").exists():
        return
    npm = shutil.which("npm")
    assert npm, "npm is needed to install tests/e2e/firefox (apt-get install nodejs npm)"
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"npm ci failed in {PROJECT}:\n{done.stdout}\n{done.stderr}"


def test_main_pages_render_in_firefox_without_console_problems(api: httpx.Client) -> None:
    if not Path(FIREFOX).exists():
        pytest.skip(f"{FIREFOX} is not installed (apt-get install firefox-esr)")
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    _npm_ci()

    deployed = api.post(
        "/api/v1/definitions",
        content=SEED.read_bytes(),
        headers={"Content-Type": "application/json"},
    )
    assert deployed.status_code in (200, 201), deployed.text
    definition_id = deployed.json()["id"]
    started = api.post(
        "/api/v1/instances",
        json={
            "definition_id": definition_id,
            "variables": SEED_VARIABLES,
            "business_key": "firefox-smoke",
            "user_id": "demo",
        },
    )
    assert started.status_code == 201, started.text
    instance_id = started.json()["id"]

    for old in SCREENSHOTS.glob("firefox-*.png"):
        old.unlink()  # so the check below sees this run's pictures
    clock = time.perf_counter()
    run = subprocess.run(
        [node, str(SCRIPT), str(api.base_url).rstrip("/"), str(definition_id), instance_id,
         str(SCREENSHOTS)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - clock
    print(f"\nFirefox portal smoke run: {elapsed:.1f} s\n{run.stdout}")
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stdout}\n{run.stderr}"
    for name in ("dashboard", "definitions", "definition", "instances", "instance", "tasks"):
        assert (SCREENSHOTS / f"firefox-{name}.png").stat().st_size > 0
