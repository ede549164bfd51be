"""Shared parts of the operational drills (`scripts/topology`, `scripts/restore-drill`).

Each drill runs the real product as separate processes (`python -m workflow_engine ...`) on
this machine's PostgreSQL, in a database of its own that it drops again, with ports the kernel
picked. Nothing here is product code: it is the harness that starts, kills and cleans up.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_DSN = os.environ.get("WFE_DRILL_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


class DrillError(RuntimeError):
    """A drill could not set up or check what it needed (not a finding about the engine)."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on `host` nothing listens on right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port


def log(message: str) -> None:
    """Progress on stderr (stdout carries only the summary line)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Database:
    """A PostgreSQL database of our own on the machine's server, dropped by `drop()`."""

    name: str
    admin_dsn: str = PG_ADMIN_DSN

    @classmethod
    def create(cls, prefix: str) -> Database:
        """Create an empty database named `<prefix>_<random>`."""
        database = cls(name=f"{prefix}_{uuid.uuid4().hex[:10]}")
        with psycopg.connect(database.admin_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database.name}"')
        return database

    @property
    def dsn(self) -> str:
        """Libpq DSN of this database (for psql, pg_dump and direct checks)."""
        base, _, _ = self.admin_dsn.rpartition("/")
        return f"{base}/{self.name}"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of this database, as `WFE_DATABASE_URL` takes it."""
        return self.dsn.replace("postgresql://", "postgresql+psycopg://", 1)

    def drop(self) -> None:
        """Drop the database, closing whatever connections remain."""
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@dataclass
class Proc:
    """One product process in a session (process group) of its own, output to a log file."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    cwd: Path
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        """Start (or restart) the process; its output is appended to `log_path`."""
        self.starts += 1
        with self.log_path.open("ab") as out:
            out.write(f"--- start #{self.starts}: {' '.join(self.argv)}\n".encode())
            out.flush()
            self.popen = subprocess.Popen(
                list(self.argv),
                env=dict(self.env),
                cwd=self.cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        """The running process id."""
        if self.popen is None:
            raise DrillError(f"{self.name} was never started")
        return self.popen.pid

    def alive(self) -> bool:
        """Whether the process still runs."""
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL the process group at once (the fault), and reap it."""
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the group, SIGKILL what is left after `grace` seconds."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=grace)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()

    def tail(self, chars: int = 3000) -> str:
        """The end of the process' log, for error messages."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def wfe_argv(*args: str) -> list[str]:
    """The command line of `wfe <args>` with this interpreter (and its `PYTHONPATH`)."""
    return [sys.executable, "-m", "workflow_engine", *args]


def run_wfe(args: Sequence[str], env: Mapping[str, str], cwd: Path, timeout: float = 120) -> str:
    """Run a one-shot `wfe` command; its output, or DrillError with the output on failure."""
    done = subprocess.run(
        wfe_argv(*args),
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise DrillError(
            f"wfe {' '.join(args)} exited {done.returncode}: {done.stdout}{done.stderr}"[-3000:]
        )
    return done.stdout


def wait_ready(proc: Proc, url: str, timeout: float = 90) -> None:
    """Poll `url` (a readiness endpoint) until it answers 200; DrillError if the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise DrillError(f"{proc.name} exited while starting:\n{proc.tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.25)
    raise DrillError(f"{proc.name} was not ready at {url} within {timeout:.0f}s:\n{proc.tail()}")


def product_env(**settings: str) -> dict[str, str]:
    """The environment for product processes: ours without `WFE_*`, plus `settings`.

    A developer's own `WFE_*` settings must not leak into a drill; `PYTHONPATH` is kept so the
    processes run the same sources as the drill.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("WFE_")}
    src = str(ROOT / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(settings)
    return env


@dataclass
class ProcessSet:
    """Every process a drill started, stopped in reverse order by `stop_all()`."""

    procs: list[Proc] = field(default_factory=list)

    def add(self, proc: Proc) -> Proc:
        """Track `proc` (not yet started)."""
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        """Stop every tracked process (SIGTERM, then SIGKILL)."""
        for proc in reversed(self.procs):
            with contextlib.suppress(Exception):
                proc.stop(grace=5.0)
