"""What may stay open after teardown without being reported."""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass

# File descriptor targets (fnmatch patterns) that Dagster opens on first use and keeps open for
# the life of the process, by design. Measured with dagster 1.13 (see docs/release-check.md):
# ``build_resources`` on a shared ephemeral instance leaves nothing open, not even on its first
# call; Dagster's telemetry logger does, once telemetry is written (runs on a non-ephemeral
# instance with telemetry enabled): a ``RotatingFileHandler`` on
# ``$DAGSTER_HOME/logs/event.log`` (``~/.dagster/logs/event.log`` without DAGSTER_HOME), which
# it rotates to ``event.log.1`` and so on.
DEFAULT_PATH_PATTERNS: tuple[str, ...] = (
    "*/logs/event.log",
    "*/logs/event.log.*",
)

# Python thread names: a debugger (PyCharm, VS Code's debugpy) attaching mid-test starts these.
DEFAULT_THREAD_PATTERNS: tuple[str, ...] = ("pydevd.*",)


@dataclass(frozen=True)
class AllowList:
    """What may stay open after teardown without being reported.

    ``paths`` are fnmatch patterns matched against a file descriptor's target as the kernel shows
    it (``/tmp/x.db``, ``socket:[1234]``, ``anon_inode:[eventpoll]``) and against the readable
    description of a socket (``tcp 127.0.0.1:5432 -> ...``, ``unix /run/x.sock``).
    ``thread_names`` are fnmatch patterns for Python thread names; ``process_cmdlines`` for the
    command lines of child processes. ``native_threads`` allows threads that Python's
    ``threading`` does not know (started by C libraries: BLAS, gRPC, database drivers): they
    start on a library's first use and stay by design, and they carry the name of the thread that
    started them, so no name pattern could tell them apart.
    """

    paths: tuple[str, ...] = DEFAULT_PATH_PATTERNS
    thread_names: tuple[str, ...] = DEFAULT_THREAD_PATTERNS
    process_cmdlines: tuple[str, ...] = ()
    native_threads: bool = True

    @classmethod
    def strict(cls) -> AllowList:
        """Nothing allowed: every new descriptor, thread (native ones too) and process counts."""
        return cls(paths=(), thread_names=(), process_cmdlines=(), native_threads=False)

    def extend(
        self,
        *,
        paths: Iterable[str] = (),
        thread_names: Iterable[str] = (),
        process_cmdlines: Iterable[str] = (),
    ) -> AllowList:
        """A copy that also allows these patterns."""
        return dataclasses.replace(
            self,
            paths=(*self.paths, *paths),
            thread_names=(*self.thread_names, *thread_names),
            process_cmdlines=(*self.process_cmdlines, *process_cmdlines),
        )

    def allows_path(self, *texts: str) -> bool:
        return any(fnmatch.fnmatchcase(text, p) for text in texts for p in self.paths)

    def allows_thread(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, p) for p in self.thread_names)

    def allows_process(self, cmdline: str) -> bool:
        return any(fnmatch.fnmatchcase(cmdline, p) for p in self.process_cmdlines)


DEFAULT_ALLOW = AllowList()
