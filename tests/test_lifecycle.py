"""Stopping within a bound: the watchdog ends a process whose event loop never yields."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from workflow_engine.lifecycle import EXIT_FORCED

ROOT = Path(__file__).resolve().parents[1]


def _run_script(body: str) -> subprocess.Popen[str]:
    script = textwrap.dedent(body)
    return subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for_line(process: subprocess.Popen[str], marker: str) -> None:
    assert process.stdout is not None
    line = process.stdout.readline()
    assert marker in line, line


def test_a_blocked_event_loop_is_ended_after_the_deadline_with_cleanups_run(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "cleanup-ran"
    process = _run_script(f"""
        import asyncio, time
        from workflow_engine.lifecycle import StopSignals, run_bounded

        async def main():
            stop = asyncio.Event()
            with StopSignals(stop, deadline_seconds=1) as signals:
                signals.on_force(lambda: open({str(marker)!r}, "w").close())
                print("blocking", flush=True)
                while True:  # a computation that never yields to the loop
                    time.sleep(0.01)

        run_bounded(main())
    """)
    try:
        _wait_for_line(process, "blocking")
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
        took = time.monotonic() - signalled
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == EXIT_FORCED, output
    assert took < 15
    assert "shutdown_forced" in output
    assert marker.exists(), "the last-resort cleanup did not run"


def test_a_second_signal_forces_the_exit_at_once() -> None:
    process = _run_script("""
        import asyncio, time
        from workflow_engine.lifecycle import StopSignals, run_bounded

        async def main():
            stop = asyncio.Event()
            with StopSignals(stop, deadline_seconds=600):
                print("waiting", flush=True)
                await stop.wait()
                print("stopping slowly", flush=True)
                time.sleep(600)  # an orderly stop that takes too long

        run_bounded(main())
    """)
    try:
        _wait_for_line(process, "waiting")
        process.send_signal(signal.SIGINT)
        _wait_for_line(process, "stopping slowly")
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == EXIT_FORCED, output
    assert "second SIGINT" in output


def test_exit_promptly_does_not_wait_for_a_busy_thread_and_tasks_left_pending() -> None:
    process = _run_script("""
        import asyncio, threading, time
        from workflow_engine.lifecycle import exit_promptly, run_bounded

        async def main():
            async def stubborn():
                while True:
                    try:
                        await asyncio.sleep(3600)
                    except asyncio.CancelledError:
                        continue  # ignores cancellation, like a retrying completion
            asyncio.create_task(stubborn(), name="stubborn")
            threading.Thread(target=time.sleep, args=(3600,), name="busy").start()
            await asyncio.sleep(0)

        run_bounded(main(), cleanup_seconds=0.5)
        exit_promptly(0)
    """)
    try:
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
    assert "shutdown_abandoned_tasks" in output and "stubborn" in output
    assert "shutdown_abandoned_threads" in output and "busy" in output
