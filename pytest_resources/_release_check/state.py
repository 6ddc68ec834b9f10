"""What the process holds at one moment: the data a snapshot is made of."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

LeftoverKind = Literal["file", "socket", "pipe", "other fd", "thread", "process", "warning"]


@dataclass(frozen=True)
class ThreadInfo:
    """A live Python thread."""

    name: str
    ident: int | None
    native_id: int | None
    daemon: bool


@dataclass(frozen=True)
class ChildProcess:
    """A child process of this process (a zombie, state ``Z``, has exited but was never waited)."""

    pid: int
    # When it started (clock ticks after boot from /proc, seconds since the epoch from psutil):
    # tells a reused pid apart.
    start_time: float
    state: str
    name: str
    cmdline: str


@dataclass(frozen=True, eq=False)
class ProcessState:
    """What the process holds at one moment. Cheap to take: see :func:`take_snapshot`."""

    pid: int
    fds: Mapping[int, str]  # fd number -> target (readlink on Linux)
    threads: tuple[ThreadInfo, ...]
    native_thread_ids: frozenset[int]  # /proc/self/task: every kernel thread of the process
    children: tuple[ChildProcess, ...]
    complete: bool  # False where descriptors and processes could not be listed
    taken_at: float = field(default_factory=time.monotonic)
    # Readable names of sockets known when the snapshot was taken, by target (psutil's); on
    # Linux they are read from /proc/net only for a socket left open.
    socket_names: Mapping[str, str] = field(default_factory=dict)

    @cached_property
    def items(self) -> dict[str, tuple[LeftoverKind, Any]]:
        """Every open thing under an identity that survives between snapshots."""
        found: dict[str, tuple[LeftoverKind, Any]] = {}
        for number, target in self.fds.items():
            found[f"fd {number} -> {target}"] = (fd_kind(target), (number, target))
        python_tids: set[int | None] = set()
        for thread in self.threads:
            python_tids.add(thread.native_id)
            # A thread id (pthread_t) is reused as soon as a thread ends; with the kernel's
            # thread id beside it, a new thread is not mistaken for an old one.
            found[f"thread {thread.ident}/{thread.native_id}"] = ("thread", thread)
        for tid in self.native_thread_ids - python_tids:
            found[f"native thread {tid}"] = ("thread", tid)
        for child in self.children:
            found[f"process {child.pid} started {child.start_time}"] = ("process", child)
        return found


def fd_kind(target: str) -> LeftoverKind:
    if target.startswith("socket:"):
        return "socket"
    if target.startswith("pipe:"):
        return "pipe"
    if target.startswith("/"):
        return "file"
    return "other fd"
