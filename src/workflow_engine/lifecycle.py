"""Stopping `wfe dev` and `wfe worker` within a bound, whatever their threads are doing.

A graceful stop can hang for ever: an activity that never returns holds its thread, a workflow
task spinning in a loop holds the workflow thread pool, and the interpreter joins both at exit.
An event loop blocked by a long computation does not even see an asyncio signal handler.

`StopSignals` therefore takes SIGTERM / SIGINT with a plain `signal.signal` handler (it runs
between bytecodes in the main thread, busy loop or not), asks the loop to stop, and arms a
watchdog thread: if the process is still alive when the deadline passes, the watchdog runs the
registered last-resort cleanups (stop the Temporal child) and ends the process with exit code
`EXIT_FORCED`. A second signal does the same at once.

After an orderly shutdown two more waits could be unbounded: `asyncio.run` waits for every
task still pending (an abandoned activity's completion retrying against a server that is gone)
and for the default executor's threads; the interpreter joins busy non-daemon threads.
`run_bounded` replaces `asyncio.run` with bounded versions of the first two, and
`exit_promptly` ends the process without waiting for the third.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from types import FrameType
from typing import Any, TypeVar

import structlog

__all__ = ["EXIT_FORCED", "StopSignals", "exit_promptly", "run_bounded"]

T = TypeVar("T")

_log = structlog.get_logger(__name__)

#: Exit code of a process the watchdog (or a second signal) had to end.
EXIT_FORCED = 70

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# How long `exit_promptly` lets still-running threads end on their own.
_THREAD_JOIN_SECONDS = 1.0


def _flush_output() -> None:
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        # A closed or broken stream: nothing left to save.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()


class StopSignals:
    """SIGINT / SIGTERM set `stop`; the process ends `deadline_seconds` later at the latest.

    Args:
        stop: The event the process's main coroutine waits on.
        deadline_seconds: After the first signal, how long an orderly shutdown may take
            before the watchdog ends the process.
        loop: The loop `stop` belongs to; None means the running loop.

    Example:
        ```python
        signals = StopSignals(stop, deadline_seconds=15)
        signals.on_force(temporal.stop_now)
        with signals:
            await main(stop)
        ```
    """

    def __init__(
        self,
        stop: asyncio.Event,
        *,
        deadline_seconds: float,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if deadline_seconds <= 0:
            raise ValueError(f"deadline_seconds must be more than 0, got {deadline_seconds}")
        self._stop = stop
        self._deadline = deadline_seconds
        self._loop = loop or asyncio.get_running_loop()
        self._cleanups: list[Callable[[], None]] = []
        self._previous: dict[int, object] = {}
        self._received: str | None = None
        self._forcing = threading.Lock()

    @property
    def received(self) -> str | None:
        """Name of the first stop signal received, or None."""
        return self._received

    def on_force(self, cleanup: Callable[[], None]) -> None:
        """Run `cleanup` (from the watchdog thread) before a forced exit; newest first."""
        self._cleanups.append(cleanup)

    def __enter__(self) -> StopSignals:
        """Install the handlers (the main thread only, as `signal.signal` requires)."""
        for sig in _SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *_: object) -> None:
        """Restore the previous handlers; an armed watchdog keeps running until exit."""
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)  # type: ignore[arg-type]
        self._previous.clear()

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self._received is not None:
            # A second Ctrl-C / SIGTERM: the operator does not want to wait.
            threading.Thread(target=self.force, args=(f"second {name}",), daemon=True).start()
            return
        self._received = name
        self._loop.call_soon_threadsafe(self._stop.set)
        threading.Thread(target=self._watch, name="wfe-stop-watchdog", daemon=True).start()

    def _watch(self) -> None:
        time.sleep(self._deadline)
        self.force(f"shutdown took longer than {self._deadline:g}s")

    def force(self, reason: str) -> None:
        """Run the last-resort cleanups and end the process with `EXIT_FORCED`."""
        if not self._forcing.acquire(blocking=False):
            return  # another thread is already forcing the exit
        _log.error("shutdown_forced", reason=reason, exit_code=EXIT_FORCED)
        for cleanup in reversed(self._cleanups):
            try:
                cleanup()
            except Exception:
                _log.exception("shutdown_cleanup_failed")
        _flush_output()
        os._exit(EXIT_FORCED)


def exit_promptly(code: int = 0) -> None:
    """End the process now if abandoned threads would make the interpreter wait for them.

    Called after an orderly shutdown: threads that end within a second are waited for (and
    the interpreter exits normally, running its exit hooks); threads still busy (an activity
    or workflow task that ignored cancellation) are abandoned with a log line and the process
    exits with `code` without waiting for them.
    """
    deadline = time.monotonic() + _THREAD_JOIN_SECONDS
    busy = []
    for thread in threading.enumerate():
        if thread is threading.main_thread() or thread.daemon:
            continue
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            busy.append(thread.name)
    if not busy:
        return
    _log.warning("shutdown_abandoned_threads", threads=busy, exit_code=code)
    _flush_output()
    os._exit(code)


def run_bounded(main: Coroutine[Any, Any, T], *, cleanup_seconds: float = 3.0) -> T:
    """`asyncio.run(main)`, but tasks left pending get `cleanup_seconds` after cancellation.

    `asyncio.run` waits without limit for leftover tasks to finish cancelling and for the
    default executor's threads; an abandoned task must not hold a stopping process.
    """
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(main)
    finally:
        try:
            _cancel_leftovers(loop, cleanup_seconds)
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()  # shuts the default executor down without waiting for its threads


def _cancel_leftovers(loop: asyncio.AbstractEventLoop, seconds: float) -> None:
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    if not pending:
        return
    for task in pending:
        task.cancel()
    done, still = loop.run_until_complete(asyncio.wait(pending, timeout=seconds))
    for task in done:
        if not task.cancelled():
            task.exception()  # retrieved: asyncio does not report it as never retrieved
    if still:
        _log.warning("shutdown_abandoned_tasks", tasks=sorted(task.get_name() for task in still))
