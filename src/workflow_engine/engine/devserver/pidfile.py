"""The dev server's pid file: finds, checks and stops a server left behind by a killed owner.

`wfe dev` records its Temporal child in `<data-dir>/temporal.pid`. When `wfe dev` is killed
(SIGKILL, OOM killer, a crashed terminal) on a system where the child does not die with it,
the child keeps its ports and the next `wfe dev` could not start. The next start reads the
pid file and stops that process, but only after psutil has proved it is ours: the same
`temporal` executable, started at the recorded time, serving the same state file. A pid that
was reused by any other process is never signalled.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil
import structlog

__all__ = ["DevServerRecord", "reap_leftover", "remove_record", "write_record"]

_log = structlog.get_logger(__name__)

# psutil reports create_time from /proc with clock-tick precision; a reused pid is a process
# started later, far outside this tolerance.
_START_TIME_TOLERANCE_S = 1.0


@dataclass(frozen=True, slots=True)
class DevServerRecord:
    """What the pid file says about the server it names."""

    pid: int
    create_time: float
    executable: str
    db_file: str | None


def write_record(pid_file: Path, *, pid: int, executable: Path, db_file: Path | None) -> None:
    """Record the running server `pid` (atomically: a reader never sees half a file)."""
    record = DevServerRecord(
        pid=pid,
        create_time=psutil.Process(pid).create_time(),
        executable=str(executable.resolve()),
        db_file=None if db_file is None else str(db_file.resolve()),
    )
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    partial = pid_file.with_name(pid_file.name + ".tmp")
    partial.write_text(json.dumps(asdict(record)))
    partial.replace(pid_file)


def remove_record(pid_file: Path, pid: int) -> None:
    """Remove the pid file if it still names `pid` (a successor may have replaced it)."""
    record = _read(pid_file)
    if record is not None and record.pid == pid:
        pid_file.unlink(missing_ok=True)


def _read(pid_file: Path) -> DevServerRecord | None:
    try:
        raw = json.loads(pid_file.read_text())
        return DevServerRecord(
            pid=int(raw["pid"]),
            create_time=float(raw["create_time"]),
            executable=str(raw["executable"]),
            db_file=None if raw.get("db_file") is None else str(raw["db_file"]),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        _log.warning("devserver_pidfile_unreadable", path=str(pid_file), error=str(exc))
        return None


def _is_ours(process: psutil.Process, record: DevServerRecord) -> str | None:
    """None when `process` is the recorded server, else why it is not."""
    try:
        if abs(process.create_time() - record.create_time) > _START_TIME_TOLERANCE_S:
            return "started at another time (the pid was reused)"
        if os.path.realpath(process.exe()) != os.path.realpath(record.executable):
            return f"runs {process.exe()}, not {record.executable}"
        cmdline = process.cmdline()
        cwd = process.cwd()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return "gone"
    except psutil.AccessDenied:
        return "belongs to another user"
    if cmdline[1:3] != ["server", "start-dev"]:
        return "is not a Temporal dev server"
    if record.db_file is not None:
        db_args = [cmdline[i + 1] for i, arg in enumerate(cmdline[:-1]) if arg == "--db-filename"]
        if [os.path.realpath(os.path.join(cwd, arg)) for arg in db_args] != [record.db_file]:
            return "serves another state file"
    return None


def reap_leftover(pid_file: Path, *, grace_seconds: float = 5.0) -> int | None:
    """Stop the server a previous owner recorded in `pid_file`, if it still runs and is ours.

    SIGTERM first (it flushes its state file), SIGKILL after `grace_seconds`. The pid file is
    removed either way: it describes a previous run.

    Returns:
        The pid that was stopped, or None when there was nothing of ours to stop.
    """
    record = _read(pid_file)
    if record is None:
        pid_file.unlink(missing_ok=True)
        return None
    try:
        process = psutil.Process(record.pid)
    except psutil.NoSuchProcess:
        pid_file.unlink(missing_ok=True)
        return None
    reason = _is_ours(process, record)
    if reason is not None:
        if reason != "gone":
            _log.warning("devserver_pidfile_stale", pid=record.pid, path=str(pid_file), why=reason)
        pid_file.unlink(missing_ok=True)
        return None
    _log.warning(
        "devserver_leftover_stopping",
        pid=record.pid,
        path=str(pid_file),
        message="a Temporal dev server left by a previous run still serves this data dir",
    )
    with contextlib.suppress(psutil.NoSuchProcess):
        process.terminate()
        if not _wait_gone(process, grace_seconds):
            process.kill()
            if not _wait_gone(process, grace_seconds):
                _log.error("devserver_leftover_survived", pid=record.pid)
    pid_file.unlink(missing_ok=True)
    return record.pid


def _wait_gone(process: psutil.Process, seconds: float) -> bool:
    """Whether `process` ended within `seconds`.

    A zombie counts as ended: its parent reaps it, not us (`psutil.Process.wait` would wait).
    """
    deadline = time.monotonic() + seconds
    while True:
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
