"""Taking a snapshot of what the process holds, through ``/proc`` on Linux and psutil elsewhere,
and saying why it cannot list everything where it cannot."""

from __future__ import annotations

import os
import sys
import threading

import pytest_resources._release_check.portable as portable
import pytest_resources._release_check.procfs as procfs
from pytest_resources._release_check.state import ProcessState, ThreadInfo


def _on_linux() -> bool:
    return sys.platform.startswith("linux")


def unavailable_reason() -> str | None:
    """Why open file descriptors and child processes cannot be listed here; None when they can.

    Threads are compared on every platform; descriptors and processes need Linux's ``/proc``,
    or psutil elsewhere.
    """
    if _on_linux():
        return procfs.unavailable_reason()
    return portable.unavailable_reason()


def release_check_available() -> bool:
    """Whether the full check (descriptors, threads, processes) runs on this platform."""
    return unavailable_reason() is None


# The answer per platform and descriptor directory, so that a snapshot does not ask again.
_availability: dict[tuple[str, str], str | None] = {}


def _cached_unavailable_reason() -> str | None:
    where = (sys.platform, procfs.FD_DIR)
    if where not in _availability:
        _availability[where] = unavailable_reason()
    return _availability[where]


def _threads() -> tuple[ThreadInfo, ...]:
    return tuple(
        ThreadInfo(thread.name, thread.ident, thread.native_id, thread.daemon)
        for thread in threading.enumerate()
    )


def take_snapshot() -> ProcessState:
    """What this process holds now: open descriptors, threads, child processes.

    About 0.1-0.3 ms on Linux with a few dozen descriptors and processes (docs/release-check.md).
    """
    if not _on_linux():
        return portable_snapshot()
    pid = os.getpid()
    if _cached_unavailable_reason() is not None:
        return ProcessState(pid, {}, _threads(), frozenset(), (), complete=False)
    fds, tasks = procfs.read_fds(), procfs.native_thread_ids()
    return ProcessState(pid, fds, _threads(), tasks, procfs.read_children(pid), complete=True)


def portable_snapshot() -> ProcessState:
    """The snapshot psutil gives where there is no ``/proc``; threads alone without psutil."""
    threads, pid = _threads(), os.getpid()
    if not portable.installed():
        return ProcessState(pid, {}, threads, frozenset(), (), complete=False)
    children = portable.read_children()
    if not portable.lists_descriptors():
        return ProcessState(pid, {}, threads, frozenset(), children, complete=False)
    fds, names = portable.read_fds()
    return ProcessState(pid, fds, threads, frozenset(), children, complete=True, socket_names=names)
