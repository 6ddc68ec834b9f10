"""Check that a resource's teardown really released what its setup acquired.

A snapshot of the process (``snapshot.take_snapshot``) lists what is open right now: file
descriptors (files, sockets, pipes, anonymous inodes), live threads and child processes, read
from ``/proc`` on Linux (``procfs``) and through psutil elsewhere (``portable``). Comparing a
snapshot taken before resources are initialized with one taken after their teardown
(``leftovers``) gives what the run left behind; an ``AllowList`` (``allow_list``) drops what
Dagster or the test tooling keeps open on purpose. An ``Attributor`` (``attribution``) takes
snapshots around each resource's setup, so each leftover can be pinned on the resource whose
setup opened it. ``collect_resource_warnings`` (``unclosed``) catches the other half of the
story, objects that were not closed but got collected: ``ResourceWarning`` and exceptions
ignored in ``__del__``. ``format_leftovers`` (``report``) turns the findings into a message with
a hint on how to fix each.

Without ``/proc`` or psutil only threads are compared, and ``release_check_available`` says why
the check is incomplete. See docs/release-check.md.
"""

from pytest_resources._release_check.allow_list import (
    DEFAULT_ALLOW,
    DEFAULT_PATH_PATTERNS,
    DEFAULT_THREAD_PATTERNS,
    AllowList,
)
from pytest_resources._release_check.attribution import Attributor, attribute_warnings, setup_lines
from pytest_resources._release_check.leftovers import (
    Leftover,
    holds_anything_new,
    leftovers,
    settle,
    wait_for_release,
)
from pytest_resources._release_check.report import format_leftovers
from pytest_resources._release_check.snapshot import (
    release_check_available,
    take_snapshot,
    unavailable_reason,
)
from pytest_resources._release_check.state import (
    ChildProcess,
    LeftoverKind,
    ProcessState,
    ThreadInfo,
)
from pytest_resources._release_check.unclosed import (
    collect_resource_warnings,
    finalize_dropped,
    warned_of,
)

__all__ = [
    "DEFAULT_ALLOW",
    "DEFAULT_PATH_PATTERNS",
    "DEFAULT_THREAD_PATTERNS",
    "AllowList",
    "Attributor",
    "ChildProcess",
    "Leftover",
    "LeftoverKind",
    "ProcessState",
    "ThreadInfo",
    "attribute_warnings",
    "collect_resource_warnings",
    "finalize_dropped",
    "format_leftovers",
    "holds_anything_new",
    "leftovers",
    "release_check_available",
    "settle",
    "setup_lines",
    "take_snapshot",
    "unavailable_reason",
    "wait_for_release",
    "warned_of",
]
