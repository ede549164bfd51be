"""End-to-end fixtures: `wfe dev` as a subprocess, headless Chromium through Playwright.

The dev server runs once per session on free ports with a temp data dir. Before it starts,
`SEEDED_INSTANCES` instance rows of definition key `PERF_KEY` are written into its SQLite
database through the store repositories, so the list-render test has 1,000 real rows to show.
`examples/` is not auto-deployed (an empty examples dir): the tests upload the seed example
through the portal themselves; its activities still run (`WFE_ACTIVITY_MODULES`).

Every `page` fails its test on a console error / warning or an uncaught page error.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

from tests.paths import EXAMPLES, ROOT
from tests.temporal_fixtures import free_port
from workflow_engine.store.database import Database
from workflow_engine.store.instances import InstanceRepository
from workflow_engine.store.migrations import migrate

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PERF_KEY = "perfSeed"
SEEDED_INSTANCES = 1000
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 375, "height": 812}


@dataclass
class DevServer:
    """A running `wfe dev`: where it answers and where it keeps its state."""

    base_url: str
    data_dir: Path
    proc: subprocess.Popen[str]
    log_file: Path


async def _seed_instances(database_url: str, count: int) -> None:
    await migrate(database_url)
    database = Database.from_url(database_url)
    start = datetime.now(UTC) - timedelta(days=2)
    try:
        async with database.session() as session:
            repo = InstanceRepository(session)
            for n in range(count):
                await repo.create(
                    instance_id=f"perf-{n:05d}",
                    workflow_id=f"pi-perf-{n:05d}",
                    definition_id=None,
                    definition_key=PERF_KEY,
                    definition_version=1,
                    business_key=f"order-{n:05d}",
                    start_user_id="seed",
                    start_time=start + timedelta(seconds=n),
                )
    finally:
        await database.dispose()


def _wait_ready(server: DevServer, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            output = server.log_file.read_text(encoding="utf-8", errors="replace")[-4000:]
            pytest.fail(f"wfe dev exited with {server.proc.returncode}:\n{output}")
        try:
            response = httpx.get(f"{server.base_url}/readyz", timeout=2)
            if response.status_code == 200:
                return
            last = response.text
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(0.3)
    pytest.fail(f"wfe dev was not ready within {timeout}s: {last}")


def _launch(root: Path, *, extra_env: dict[str, str], seed: int) -> Iterator[DevServer]:
    """Run `wfe dev` on free ports with a temp data dir under `root` until the caller is done."""
    data_dir = root / "data"
    data_dir.mkdir()
    no_examples = root / "no-examples"
    no_examples.mkdir()
    if seed:
        database_url = f"sqlite+aiosqlite:///{(data_dir / 'wfe.db').as_posix()}"
        # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, _seed_instances(database_url, seed)).result()

    http_port = free_port()
    env = {
        **os.environ,
        "WFE_TEMPORAL_UI_PORT": str(free_port()),
        "WFE_EXAMPLES_DIR": str(no_examples),
        "WFE_ACTIVITY_MODULES": str(EXAMPLES / "activities.py"),
        "WFE_LOG_FORMAT": "json",
        "WFE_LOG_LEVEL": "WARNING",
        **extra_env,
    }
    cmd = [
        sys.executable, "-m", "workflow_engine", "dev",
        "--http-port", str(http_port),
        "--grpc-port", str(free_port()),
        "--temporal-port", str(free_port()),
        "--temporal-http-port", str(free_port()),
        "--data-dir", str(data_dir),
    ]  # fmt: skip
    log_file = root / "wfe-dev.log"
    log = log_file.open("w")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    server = DevServer(
        base_url=f"http://127.0.0.1:{http_port}", data_dir=data_dir, proc=proc, log_file=log_file
    )
    try:
        _wait_ready(server)
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


@pytest.fixture(scope="session")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    """`wfe dev` (auth off) with 1,000 seeded instance rows and no auto-deployed examples."""
    yield from _launch(tmp_path_factory.mktemp("wfe-e2e"), extra_env={}, seed=SEEDED_INSTANCES)


#: The HS256 secret of the auth-on dev server (tests mint their tokens with it).
AUTH_SECRET = "e2e-portal-secret-0123456789abcdef-0123456789"


@pytest.fixture(scope="session")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    """A second `wfe dev`, with authentication on (HS256 tokens signed with `AUTH_SECRET`).

    Started only when a test asks for it; it shares nothing with `dev_server`.
    """
    env = {"WFE_AUTH_ENABLED": "true", "WFE_AUTH_JWT_SECRET": AUTH_SECRET}
    yield from _launch(tmp_path_factory.mktemp("wfe-e2e-auth"), extra_env=env, seed=0)


@pytest.fixture(scope="session")
def base_url(dev_server: DevServer) -> str:
    """The portal's address, e.g. `http://127.0.0.1:PORT`."""
    return dev_server.base_url


@pytest.fixture
def api(base_url: str) -> Iterator[httpx.Client]:
    """A plain HTTP client on the dev server (for set-up and checks beside the browser)."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        yield client


# Module scope, not session: Playwright's sync API keeps an event loop running while it is
# started, and async tests of other modules (pytest-asyncio) cannot run beside it.
@pytest.fixture(scope="module")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    """Headless Debian Chromium (Playwright's own browsers are not installed here)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    chromium = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield chromium
    chromium.close()


class ConsoleWatch:
    """Console errors / warnings and uncaught exceptions of one page.

    Args:
        page: The page to watch.
        allow: Failed responses the test expects, as `(status, url part)` pairs: Chromium logs
            each failed fetch as a console error ("... status of 401 ..."); only those whose
            status and URL both match are not problems.
    """

    def __init__(self, page: Page, *, allow: Sequence[tuple[int, str]] = ()) -> None:
        self.problems: list[str] = []
        self.allowed: list[str] = []
        self._allow = list(allow)
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))

    def _expected(self, message: ConsoleMessage) -> bool:
        if message.type != "error":
            return False
        location = message.location.get("url", "")
        return any(
            f"status of {status} " in message.text and part in location
            for status, part in self._allow
        )

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            location = message.location.get("url", "")
            text = f"console {message.type}: {message.text} ({location})"
            (self.allowed if self._expected(message) else self.problems).append(text)


def _open_page(
    browser: Browser,
    base_url: str,
    viewport: dict[str, int],
    *,
    allow: Sequence[tuple[int, str]] = (),
) -> Iterator[Page]:
    context = browser.new_context(viewport=viewport, base_url=base_url)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(20_000)
    watch = ConsoleWatch(page, allow=allow)
    try:
        yield page
    finally:
        context.close()
    assert not watch.problems, "the page logged problems:\n" + "\n".join(watch.problems)


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    """A fresh laptop-sized page; the test fails on any console error / warning."""
    yield from _open_page(browser, base_url, DESKTOP)


@pytest.fixture
def phone_page(browser: Browser, base_url: str) -> Iterator[Page]:
    """A fresh 375 px wide page (a phone); the test fails on any console error / warning."""
    yield from _open_page(browser, base_url, PHONE)


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save `tests/e2e/screenshots/<name>.png` (a CI artifact, not committed)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


PageFactory = Callable[..., Page]


@pytest.fixture
def new_page(browser: Browser) -> Iterator[PageFactory]:
    """Open pages with expected failed responses: `new_page(base_url, allow=[(401, "/me")])`.

    Each page gets its own browser context (own localStorage) and fails the test on any
    console problem except the responses named in `allow` (see `ConsoleWatch`).
    """
    opened: list[Iterator[Page]] = []

    def factory(
        base_url: str,
        *,
        allow: Sequence[tuple[int, str]] = (),
        viewport: dict[str, int] | None = None,
    ) -> Page:
        pages = _open_page(browser, base_url, viewport or DESKTOP, allow=allow)
        opened.append(pages)
        return next(pages)

    yield factory
    failures: list[str] = []
    for pages in opened:
        # Finishing the generator closes the context and runs the page's console check.
        try:
            next(pages, None)
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, "\n".join(failures)
