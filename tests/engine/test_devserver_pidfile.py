"""The dev server's pid file: a leftover of a killed owner is stopped, nothing else ever is."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tests.temporal_fixtures import free_port
from workflow_engine.engine.devserver import TemporalDevServer, find_temporal_binary
from workflow_engine.engine.devserver.pidfile import reap_leftover, remove_record, write_record


def test_a_pid_that_is_not_a_temporal_server_is_never_signalled(tmp_path: Path) -> None:
    pid_file = tmp_path / "temporal.pid"
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        # The pid file names it, even with the temporal binary recorded: exe and command differ.
        write_record(pid_file, pid=bystander.pid, executable=find_temporal_binary(), db_file=None)
        assert reap_leftover(pid_file, grace_seconds=1) is None
        assert bystander.poll() is None, "a process that is not ours was stopped"
        assert not pid_file.exists()
    finally:
        bystander.kill()
        bystander.wait()


def test_unreadable_or_dead_records_are_dropped(tmp_path: Path) -> None:
    pid_file = tmp_path / "temporal.pid"
    assert reap_leftover(pid_file) is None  # no file at all
    pid_file.write_text("not json")
    assert reap_leftover(pid_file) is None
    assert not pid_file.exists()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    pid_file.write_text(
        f'{{"pid": {gone.pid}, "create_time": 0, "executable": "/x", "db_file": null}}'
    )
    assert reap_leftover(pid_file) is None
    assert not pid_file.exists()


@pytest.mark.temporal
async def test_a_leftover_server_is_stopped_only_when_it_serves_the_recorded_state(
    tmp_path: Path,
) -> None:
    pid_file = tmp_path / "temporal.pid"
    db_file = tmp_path / "temporal.db"
    server = TemporalDevServer(port=free_port(), headless=True, db_file=db_file, pid_file=pid_file)
    await server.start(timeout=120)
    pid = server.pid
    assert pid is not None
    try:
        assert pid_file.is_file()
        # Same binary, same start time, but another state file: not the one recorded.
        write_record(pid_file, pid=pid, executable=find_temporal_binary(), db_file=tmp_path / "x")
        assert reap_leftover(pid_file, grace_seconds=5) is None
        assert server.running

        # The real record (as its owner wrote it): the owner is "dead", the server is ours.
        write_record(pid_file, pid=pid, executable=find_temporal_binary(), db_file=db_file)
        assert reap_leftover(pid_file, grace_seconds=5) == pid
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
        assert not pid_file.exists()
    finally:
        await server.stop()


def test_remove_record_leaves_a_successors_file(tmp_path: Path) -> None:
    pid_file = tmp_path / "temporal.pid"
    me = psutil.Process()
    write_record(pid_file, pid=me.pid, executable=Path(me.exe()), db_file=None)
    remove_record(pid_file, me.pid + 1)
    assert pid_file.exists()
    remove_record(pid_file, me.pid)
    assert not pid_file.exists()
