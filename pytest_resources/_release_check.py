"""Check that a resource's teardown really released what its setup acquired.

A snapshot of the process (:func:`take_snapshot`) lists what is open right now: file descriptors
(``/proc/self/fd``: files, sockets, pipes, anonymous inodes), live threads and child processes.
Comparing a snapshot taken before resources are initialized with one taken after their teardown
(:func:`leftovers`) gives what the run left behind; an :class:`AllowList` drops what Dagster or
the test tooling keeps open on purpose. An :class:`Attributor` takes snapshots around each
resource's setup, so each leftover can be pinned on the resource whose setup opened it.
:func:`collect_resource_warnings` catches the other half of the story, objects that were not
closed but got collected: ``ResourceWarning`` and exceptions ignored in ``__del__``.
:func:`format_leftovers` turns the findings into a message with a hint on how to fix each.

File descriptors and child processes need Linux's ``/proc``; elsewhere only threads are compared
and :func:`release_check_available` says why the check is incomplete. See docs/release-check.md.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import fnmatch
import functools
import gc
import inspect
import os
import socket
import struct
import sys
import textwrap
import threading
import time
import types
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

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
    "format_leftovers",
    "leftovers",
    "release_check_available",
    "take_snapshot",
    "unavailable_reason",
    "wait_for_release",
]

LeftoverKind = Literal["file", "socket", "pipe", "other fd", "thread", "process", "warning"]

# Where the kernel lists this process' file descriptors and all processes; module attributes so
# that a test can point them elsewhere to see the "unavailable" path.
_FD_DIR = "/proc/self/fd"
_TASK_DIR = "/proc/self/task"
_PROC_DIR = "/proc"
_NET_DIR = "/proc/self/net"

# --- the allow-list ---------------------------------------------------------------------------

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

# --- availability -----------------------------------------------------------------------------


def unavailable_reason() -> str | None:
    """Why open file descriptors and child processes cannot be listed here; None when they can.

    Threads are compared on every platform; descriptors and processes need Linux's ``/proc``.
    """
    if not sys.platform.startswith("linux"):
        return (
            f"the release check lists open file descriptors and child processes through Linux's "
            f"/proc, which {sys.platform} does not have; only threads are compared"
        )
    if not os.path.isdir(_FD_DIR):
        return f"{_FD_DIR} is missing (is /proc mounted?); only threads are compared"
    try:
        for name in os.listdir(_FD_DIR):
            try:
                os.readlink(os.path.join(_FD_DIR, name))
            except FileNotFoundError:
                continue  # closed meanwhile (the directory's own descriptor): try the next
            break
    except OSError as error:
        return f"{_FD_DIR} cannot be read ({error}); only threads are compared"
    return None


def release_check_available() -> bool:
    """Whether the full check (descriptors, threads, processes) runs on this platform."""
    return unavailable_reason() is None


# The answer per descriptor directory, so that a snapshot does not ask again each time.
_availability: dict[str, str | None] = {}


def _cached_unavailable_reason() -> str | None:
    if _FD_DIR not in _availability:
        _availability[_FD_DIR] = unavailable_reason()
    return _availability[_FD_DIR]


# --- snapshots --------------------------------------------------------------------------------


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
    start_time: int  # clock ticks after boot: tells a reused pid apart
    state: str
    name: str
    cmdline: str


@dataclass(frozen=True, eq=False)
class ProcessState:
    """What the process holds at one moment. Cheap to take: see :func:`take_snapshot`."""

    pid: int
    fds: Mapping[int, str]  # fd number -> readlink target
    threads: tuple[ThreadInfo, ...]
    native_thread_ids: frozenset[int]  # /proc/self/task: every kernel thread of the process
    children: tuple[ChildProcess, ...]
    complete: bool  # False where descriptors and processes could not be listed
    taken_at: float = field(default_factory=time.monotonic)

    @cached_property
    def items(self) -> dict[str, tuple[LeftoverKind, Any]]:
        """Every open thing under an identity that survives between snapshots."""
        found: dict[str, tuple[LeftoverKind, Any]] = {}
        for number, target in self.fds.items():
            found[f"fd {number} -> {target}"] = (_fd_kind(target), (number, target))
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


def _fd_kind(target: str) -> LeftoverKind:
    if target.startswith("socket:"):
        return "socket"
    if target.startswith("pipe:"):
        return "pipe"
    if target.startswith("/"):
        return "file"
    return "other fd"


def _read_fds() -> dict[int, str]:
    fds: dict[int, str] = {}
    own_directory = f"/proc/{os.getpid()}/fd"
    for name in os.listdir(_FD_DIR):
        try:
            target = os.readlink(f"{_FD_DIR}/{name}")
        except OSError:
            continue  # closed meanwhile, e.g. the descriptor listdir itself used
        if target != own_directory:
            fds[int(name)] = target
    return fds


# /proc/<pid> entries known not to be our children, as pid -> directory inode. A process cannot
# become our child later (only a subreaper adopts orphans, and pytest is none), so only new
# entries need their stat read. The inode changes when a pid is reused by a new process.
_not_children: dict[int, int] = {}
_not_children_owner = [0]  # the pid the cache belongs to: a forked child starts afresh


def _read_stat(pid: int) -> tuple[int, str, str, int] | None:
    """(ppid, state, name, start time) of a process, None if it is gone."""
    try:
        with open(f"{_PROC_DIR}/{pid}/stat", "rb") as stat_file:
            raw = stat_file.read().decode("utf-8", "replace")
    except OSError:
        return None
    name = raw[raw.find("(") + 1 : raw.rfind(")")]
    fields = raw[raw.rfind(")") + 2 :].split()
    try:
        return int(fields[1]), fields[0], name, int(fields[19])
    except (IndexError, ValueError):
        return None


def _read_cmdline(pid: int, fallback: str) -> str:
    try:
        with open(f"{_PROC_DIR}/{pid}/cmdline", "rb") as cmdline_file:
            raw = cmdline_file.read(4096)
    except OSError:
        raw = b""
    parts = [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]
    return " ".join(parts) if parts else f"[{fallback}]"


def _read_children(pid: int) -> tuple[ChildProcess, ...]:
    if _not_children_owner[0] != pid:
        _not_children.clear()
        _not_children_owner[0] = pid
    children: list[ChildProcess] = []
    seen: dict[int, int] = {}
    for entry in os.scandir(_PROC_DIR):
        if not entry.name.isdigit():
            continue
        other = int(entry.name)
        try:
            inode = entry.inode()
        except OSError:
            continue
        if _not_children.get(other) == inode:
            seen[other] = inode
            continue
        stat = _read_stat(other)
        if stat is None:
            continue
        parent, state, name, start_time = stat
        if parent != pid:
            seen[other] = inode
            continue
        children.append(ChildProcess(other, start_time, state, name, _read_cmdline(other, name)))
    _not_children.clear()
    _not_children.update(seen)
    return tuple(children)


def take_snapshot() -> ProcessState:
    """What this process holds now: open descriptors, threads, child processes.

    About 0.1 ms on Linux with a few dozen descriptors and processes (docs/release-check.md).
    """
    threads = tuple(
        ThreadInfo(thread.name, thread.ident, thread.native_id, thread.daemon)
        for thread in threading.enumerate()
    )
    pid = os.getpid()
    if _cached_unavailable_reason() is not None:
        return ProcessState(pid, {}, threads, frozenset(), (), complete=False)
    try:
        tasks = frozenset(int(name) for name in os.listdir(_TASK_DIR))
    except OSError:
        tasks = frozenset()
    return ProcessState(pid, _read_fds(), threads, tasks, _read_children(pid), complete=True)


# --- leftovers --------------------------------------------------------------------------------


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
    socket_names = _SocketNames()
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
                description = (
                    f"native thread {_task_name(item)!r} (tid {item}, not a Python thread)"
                )
        elif kind == "process":
            child: ChildProcess = item
            if allow.allows_process(child.cmdline):
                continue
            status = "exited but never waited for" if child.state == "Z" else "still running"
            description = f"{child.cmdline} (pid {child.pid}, {status})"
        else:
            number, target = item
            shown = socket_names.describe(target) if kind == "socket" else target
            if allow.allows_path(target, shown):
                continue
            description = f"{shown} (fd {number})"
        found.append(Leftover(kind, description, identity=identity))
    return found


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
    found = leftovers(before, take_snapshot(), allow=allow)
    if not found:
        return found
    gc.collect()
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        found = leftovers(before, take_snapshot(), allow=allow)
        if not found or time.monotonic() >= deadline:
            return found
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def _task_name(tid: int) -> str:
    try:
        with open(f"{_TASK_DIR}/{tid}/comm") as comm:
            return comm.read().strip()
    except OSError:
        return "?"


_TCP_STATES = {
    "01": "established",
    "02": "connecting",
    "03": "connecting",
    "04": "closing",
    "05": "closing",
    "06": "time-wait",
    "07": "closed",
    "08": "close-wait: peer closed it",
    "09": "closing",
    "0A": "listening",
    "0B": "closing",
}
_UNIX_TYPES = {"0001": "stream", "0002": "datagram", "0005": "seqpacket"}


class _SocketNames:
    """Readable names of sockets by inode, from /proc/net; files are read only when needed."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._unread = ["tcp", "tcp6", "udp", "udp6", "unix"]

    def describe(self, target: str) -> str:
        inode = target[len("socket:[") : -1]
        while inode not in self._names and self._unread:
            self._read(self._unread.pop(0))
        name = self._names.get(inode)
        return f"{name} ({target})" if name else f"socket {target}"

    def _read(self, table: str) -> None:
        try:
            with open(f"{_NET_DIR}/{table}") as table_file:
                lines = table_file.read().splitlines()[1:]
        except OSError:
            return
        for line in lines:
            columns = line.split()
            with contextlib.suppress(IndexError, ValueError, OSError):
                if table == "unix":
                    kind = _UNIX_TYPES.get(columns[4], "socket")
                    path = columns[7] if len(columns) > 7 else "(unnamed)"
                    self._names[columns[6]] = f"unix {kind} socket {path}"
                    continue
                local, remote = _address(columns[1]), _address(columns[2])
                state = columns[3]
                if table.startswith("tcp"):
                    shown_state = _TCP_STATES.get(state, state)
                    if state == "0A":
                        self._names[columns[9]] = f"tcp {local} (listening)"
                    else:
                        self._names[columns[9]] = f"tcp {local} -> {remote} ({shown_state})"
                elif state == "01":
                    self._names[columns[9]] = f"udp {local} -> {remote}"
                else:
                    self._names[columns[9]] = f"udp {local}"


def _address(text: str) -> str:
    """``0100007F:1F90`` -> ``127.0.0.1:8080``; the kernel prints each 32-bit word natively."""
    host, port = text.split(":")
    words = [struct.pack("=I", int(host[i : i + 8], 16)) for i in range(0, len(host), 8)]
    if len(words) == 1:
        return f"{socket.inet_ntop(socket.AF_INET, words[0])}:{int(port, 16)}"
    return f"[{socket.inet_ntop(socket.AF_INET6, b''.join(words))}]:{int(port, 16)}"


# --- attribution ------------------------------------------------------------------------------


class Attributor:
    """Pins each leftover on the resource whose setup opened it.

    Call :meth:`before_setup` right before a resource's setup (``setup_for_execution``, or
    entering ``yield_for_execution``) and :meth:`after_setup` right after it, also when it
    raised (in a ``finally``). What appeared in between was opened by that setup. Setups may
    nest: what an inner setup opened belongs to the inner key.
    """

    def __init__(self, snapshot: Callable[[], ProcessState] = take_snapshot) -> None:
        self._snapshot = snapshot
        self._open: dict[str, list[tuple[ProcessState, int]]] = {}
        self._deltas: list[tuple[str, frozenset[str]]] = []

    def before_setup(self, key: str) -> None:
        self._open.setdefault(key, []).append((self._snapshot(), len(self._deltas)))

    def after_setup(self, key: str) -> None:
        pending = self._open.get(key)
        if not pending:
            raise RuntimeError(f"after_setup({key!r}) without a matching before_setup({key!r})")
        before, first_inner = pending.pop()
        opened = self._snapshot().items.keys() - before.items.keys()
        for _inner_key, inner in self._deltas[first_inner:]:
            opened -= inner
        self._deltas.append((key, frozenset(opened)))

    @property
    def opened(self) -> dict[str, frozenset[str]]:
        """Identities of what each key's setup(s) opened."""
        by_key: dict[str, frozenset[str]] = {}
        for key, delta in self._deltas:
            by_key[key] = by_key.get(key, frozenset()) | delta
        return by_key

    def attribute(self, found: Sequence[Leftover]) -> list[Leftover]:
        """``found`` with ``opened_by`` set where a setup opened the item; the latest wins."""
        attributed: list[Leftover] = []
        for leftover in found:
            key = next(
                (key for key, delta in reversed(self._deltas) if leftover.identity in delta),
                None,
            )
            if key is not None and leftover.opened_by is None:
                leftover = dataclasses.replace(leftover, opened_by=key)
            attributed.append(leftover)
        return attributed


# --- unclosed-object warnings -----------------------------------------------------------------


@contextlib.contextmanager
def collect_resource_warnings(*, collect_garbage: bool = True) -> Iterator[list[Leftover]]:
    """Collect ``ResourceWarning``s and exceptions ignored in ``__del__`` raised inside.

    Yields a list that is filled on exit, after a ``gc.collect()`` so that objects only a
    reference cycle kept alive are finalized (and warn) inside. That collection costs what a full
    collection costs in the process (about 0.1 s once Dagster is imported):
    ``collect_garbage=False`` skips it, and then only what reference counting frees is seen.
    Other warnings recorded meanwhile are emitted again on exit, so they reach pytest's own
    warning capture. ``warnings`` state is process-wide: warnings from other threads are caught
    too.
    """
    found: list[Leftover] = []
    unraisable: list[str] = []
    previous_hook = sys.unraisablehook

    def hook(args: Any) -> None:  # sys.UnraisableHookArgs; only strings are kept
        message = args.err_msg or "Exception ignored in"
        where = f": {args.object!r}" if args.object is not None else ""
        error = args.exc_type.__name__ if args.exc_type is not None else "error"
        unraisable.append(f"{message}{where}: {error}: {args.exc_value}")

    with warnings.catch_warnings(record=True) as recorded:
        warnings.simplefilter("always", ResourceWarning)
        sys.unraisablehook = hook
        try:
            yield found
        finally:
            try:
                if collect_garbage:
                    gc.collect()
            finally:
                sys.unraisablehook = previous_hook
    for record in recorded:
        if issubclass(record.category, ResourceWarning):
            where = (
                f" (at {_shown_path(record.filename)}:{record.lineno})" if record.filename else ""
            )
            location = (record.filename, record.lineno) if record.filename else None
            found.append(
                Leftover("warning", f"ResourceWarning: {record.message}{where}", location=location)
            )
    found.extend(Leftover("warning", text) for text in unraisable)
    for record in recorded:
        if not issubclass(record.category, ResourceWarning):
            warnings.warn_explicit(
                record.message,
                record.category,
                record.filename,
                record.lineno,
                source=record.source,
            )


def _shown_path(path: str) -> str:
    """A path relative to the working directory when it lies below it, as tracebacks show it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if relative.startswith("..") else relative


# --- whose setup raised a warning -------------------------------------------------------------

# The hooks that set a resource up, in the resource's own class: a warning raised on one of their
# lines (up to the first yield of yield_for_execution, after which it tears down) is theirs.
_SETUP_HOOKS = (
    "setup_for_execution",
    "create_resource",
    "yield_for_execution",
    "get_object_to_set_on_execution_context",
)


def _is_dagsters(cls: type[Any]) -> bool:
    top = cls.__module__.split(".", 1)[0]
    return top == "dagster" or top.startswith("dagster_")


def _own_setup_code(resource_class: type[Any]) -> Iterator[types.CodeType]:
    """The code of the setup hooks ``resource_class`` defines itself (not Dagster's defaults)."""
    for hook in _SETUP_HOOKS:
        owner = next((cls for cls in resource_class.__mro__ if hook in vars(cls)), None)
        if owner is None or _is_dagsters(owner):
            continue
        try:
            function = inspect.unwrap(vars(owner)[hook])
        except ValueError:  # a __wrapped__ chain that loops
            continue
        code = getattr(function, "__code__", None)
        if isinstance(code, types.CodeType):
            yield code


@functools.lru_cache(maxsize=256)
def setup_lines(code: types.CodeType) -> tuple[str, int, int] | None:
    """(file, first line, last line) of a setup hook's setup part: the whole function, or for a
    generator up to its first ``yield``; None when its source cannot be read."""
    lines = [line for _start, _end, line in code.co_lines() if line is not None]
    if not lines:
        return None
    first, last = code.co_firstlineno, max(lines)
    if code.co_flags & (inspect.CO_GENERATOR | inspect.CO_ASYNC_GENERATOR):
        try:
            source = textwrap.dedent("".join(inspect.getsourcelines(code)[0]))
            tree = ast.parse(source)
        except (OSError, SyntaxError, TypeError):
            return None
        yields = [node.lineno for node in _own_nodes(tree.body[0]) if isinstance(node, _YIELDS)]
        if yields:
            last = first + min(yields) - 1
    return code.co_filename, first, last


_YIELDS = (ast.Yield, ast.YieldFrom)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def _own_nodes(function: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function's body, without those of functions and classes inside it."""
    pending = list(ast.iter_child_nodes(function))
    while pending:
        node = pending.pop()
        yield node
        if not isinstance(node, _SCOPES):
            pending.extend(ast.iter_child_nodes(node))


def attribute_warnings(
    found: Sequence[Leftover], resource_classes: Mapping[str, type[Any]]
) -> list[Leftover]:
    """``found`` with ``opened_by`` set on each warning raised on a line of a resource's setup
    code (``resource_classes``: key to class); the first key of a class shared by several wins."""
    regions = [
        (key, region)
        for key, resource_class in resource_classes.items()
        for code in _own_setup_code(resource_class)
        if (region := setup_lines(code)) is not None
    ]
    attributed = []
    for leftover in found:
        if leftover.opened_by is None and leftover.location is not None:
            filename, lineno = leftover.location
            key = next(
                (
                    key
                    for key, (file, first, last) in regions
                    if file == filename and first <= lineno <= last
                ),
                None,
            )
            if key is not None:
                leftover = dataclasses.replace(leftover, opened_by=key)
        attributed.append(leftover)
    return attributed


# --- the message ------------------------------------------------------------------------------

_HINTS: dict[str, str] = {
    "file": "close files in teardown_after_execution, or in the finally block of "
    "yield_for_execution (a `with` around the yield does both)",
    "socket": "close sockets and clients (client.close(), session.close()) in "
    "teardown_after_execution, or in the finally block of yield_for_execution",
    "pipe": "close pipes in teardown; pipes of a subprocess close when you wait() for it",
    "other fd": "close what holds it (an event loop: loop.close(); a selector: .close()) in "
    "teardown",
    "thread": "signal threads to stop (an Event) and join() them in teardown_after_execution "
    "or the finally block of yield_for_execution",
    "process": "terminate or kill child processes and wait() for them in teardown; a process "
    "that exited but was never waited for stays a zombie",
    "warning": "the object was never closed: the garbage collector released it, at a moment "
    "nobody chose; close it explicitly in teardown",
}


def format_leftovers(found: Sequence[Leftover]) -> str:
    """What was left open, by which resource, and how to release it."""
    if not found:
        return "Teardown released everything setup acquired: nothing was left open."
    count = len(found)
    lines = [f"{count} thing{'s' if count != 1 else ''} left open after teardown:"]
    keys = list(dict.fromkeys(leftover.opened_by for leftover in found))
    keys.sort(key=lambda key: key is None)
    for key in keys:
        if key is None:
            lines.append(
                "  not opened by any resource's setup (opened while the resources were in use, "
                "in teardown, or by an unclosed object):"
            )
        else:
            lines.append(f"  opened by the setup of resource {key!r}:")
        for leftover in found:
            if leftover.opened_by == key:
                lines.append(f"    - {leftover.kind}: {leftover.description}")
    lines.append("How to release them:")
    for kind in dict.fromkeys(leftover.kind for leftover in found):
        lines.append(f"  - {kind}: {_HINTS[kind]}")
    return "\n".join(lines)
