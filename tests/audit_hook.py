"""Record what code does outside Python, through PEP 578 audit events (file opens, imports,
sockets, processes, environment changes), for tests that must show some code does none of it."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: Events that mean code reached outside the process: files, imports, network, processes, env.
_WATCHED = ("open", "import", "exec", "compile", "ctypes.", "socket.", "subprocess.", "urllib.")
_WATCHED_OS = ("os.system", "os.exec", "os.spawn", "os.posix_spawn", "os.fork", "os.listdir")
_WATCHED_OS += ("os.scandir", "os.putenv", "os.unsetenv", "os.remove", "os.rename", "os.chdir")
_recording: dict[int, list[tuple[str, str]]] = {}


def _hook(event: str, args: tuple[Any, ...]) -> None:
    events = _recording.get(threading.get_ident())
    if events is not None and (
        event.startswith(_WATCHED) or event.startswith(_WATCHED_OS) or event == "os.getenv"
    ):
        events.append((event, repr(args)[:200]))


_hook_installed = False


@contextmanager
def audited() -> Iterator[list[tuple[str, str]]]:
    """Record the watched audit events this thread raises inside the block.

    Audit hooks cannot be removed once added; this one records nothing outside a block.
    """
    global _hook_installed
    if not _hook_installed:
        sys.addaudithook(_hook)
        _hook_installed = True
    events: list[tuple[str, str]] = []
    _recording[threading.get_ident()] = events
    try:
        yield events
    finally:
        del _recording[threading.get_ident()]
