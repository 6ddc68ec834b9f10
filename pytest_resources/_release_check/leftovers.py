"""What is open after teardown that was not before: comparing two snapshots."""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field

from pytest_resources._release_check.allow_list import DEFAULT_ALLOW, AllowList
from pytest_resources._release_check.procfs import SocketNames, task_name
from pytest_resources._release_check.snapshot import take_snapshot
from pytest_resources._release_check.state import (
    ChildProcess,
    LeftoverKind,
    ProcessState,
    ThreadInfo,
)


@dataclass(frozen=True)
class Leftover:
    """One thing still open after teardown, or one unclosed-object warning.

    ``description`` is the path, the socket's addresses, the thread's name or the command line;
    ``opened_by`` the resource key whose setup opened it, once attributed. ``identity`` ties the
    leftover to the snapshot item it came from (used by :class:`Attributor`).
    """

    kind: LeftoverKind
    description: str
    opened_by: str | None = None
    identity: str = field(default="", compare=False)
    # Where a warning was raised (file, line): who raised it, see attribute_warnings.
    location: tuple[str, int] | None = field(default=None, compare=False)


def leftovers(
    before: ProcessState, after: ProcessState, *, allow: AllowList = DEFAULT_ALLOW
) -> list[Leftover]:
    """What is open in ``after`` but was not in ``before``, minus what ``allow`` allows.

    A descriptor number reused for a different target counts as new.
    """
    found: list[Leftover] = []
    socket_names = SocketNames()
    before_items = before.items
    for identity, (kind, item) in after.items.items():
        if identity in before_items:
            continue
        if kind == "thread":
            if isinstance(item, ThreadInfo):
                if allow.allows_thread(item.name):
                    continue
                daemon = "daemon thread" if item.daemon else "thread"
                description = f"{item.name!r} ({daemon}, native id {item.native_id})"
            else:
                if allow.native_threads:
                    continue
                description = f"native thread {task_name(item)!r} (tid {item}, not a Python thread)"
        elif kind == "process":
            child: ChildProcess = item
            if allow.allows_process(child.cmdline):
                continue
            status = "exited but never waited for" if child.state == "Z" else "still running"
            description = f"{child.cmdline} (pid {child.pid}, {status})"
        else:
            number, target = item
            shown = target
            if kind == "socket":
                known = after.socket_names.get(target)
                shown = f"{known} ({target})" if known else socket_names.describe(target)
            if allow.allows_path(target, shown):
                continue
            description = f"{shown} (fd {number})"
        found.append(Leftover(kind, description, identity=identity))
    return found


def holds_anything_new(before: ProcessState, after: ProcessState) -> bool:
    """Whether ``after`` holds a descriptor or a child process that ``before`` did not, allowed
    or not (or cannot tell). Only then can an object of the run hold something unclosed whose
    finalization warns: an open file or socket has its descriptor, a running ``Popen`` its
    child."""
    if not (before.complete and after.complete):
        return True
    new_fds = set(after.fds.items()) - set(before.fds.items())
    return bool(new_fds or set(after.children) - set(before.children))


def wait_for_release(
    before: ProcessState,
    *,
    allow: AllowList = DEFAULT_ALLOW,
    timeout: float = 0.2,
) -> list[Leftover]:
    """:func:`leftovers` since ``before``, giving what is on its way out a moment to go.

    A thread told to stop, a process killed a moment ago, an object only a reference cycle keeps
    alive: when the first comparison finds leftovers, garbage is collected and the comparison
    repeated until nothing is left or ``timeout`` seconds have passed. Nothing found costs one
    snapshot.
    """
    return settle(before, allow=allow, timeout=timeout)[0]


def settle(
    before: ProcessState,
    *,
    allow: AllowList = DEFAULT_ALLOW,
    timeout: float = 0.2,
) -> tuple[list[Leftover], ProcessState]:
    """:func:`wait_for_release`, and the last snapshot it compared."""
    after = take_snapshot()
    found = leftovers(before, after, allow=allow)
    if not found:
        return found, after
    gc.collect()
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        after = take_snapshot()
        found = leftovers(before, after, allow=allow)
        if not found or time.monotonic() >= deadline:
            return found, after
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
