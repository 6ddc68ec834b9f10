"""The Linux fast path: descriptors, kernel threads and child processes read from ``/proc``.

About 0.1-0.3 ms a snapshot; psutil reads the same files through more layers, about 9 ms for
the same information (docs/release-check.md, "Platforms"), so Linux keeps this reader.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct

from pytest_resources._release_check.state import ChildProcess

# Where the kernel lists this process' file descriptors and all processes; module attributes so
# that a test can point them elsewhere to see the "unavailable" path.
FD_DIR = "/proc/self/fd"
TASK_DIR = "/proc/self/task"
PROC_DIR = "/proc"
NET_DIR = "/proc/self/net"


def unavailable_reason() -> str | None:
    """Why ``/proc`` cannot list this process' descriptors; None when it can."""
    if not os.path.isdir(FD_DIR):
        return f"{FD_DIR} is missing (is /proc mounted?); only threads are compared"
    try:
        for name in os.listdir(FD_DIR):
            try:
                os.readlink(os.path.join(FD_DIR, name))
            except FileNotFoundError:
                continue  # closed meanwhile (the directory's own descriptor): try the next
            break
    except OSError as error:
        return f"{FD_DIR} cannot be read ({error}); only threads are compared"
    return None


def read_fds() -> dict[int, str]:
    fds: dict[int, str] = {}
    own_directory = f"/proc/{os.getpid()}/fd"
    for name in os.listdir(FD_DIR):
        try:
            target = os.readlink(f"{FD_DIR}/{name}")
        except OSError:
            continue  # closed meanwhile, e.g. the descriptor listdir itself used
        if target != own_directory:
            fds[int(name)] = target
    return fds


def native_thread_ids() -> frozenset[int]:
    try:
        return frozenset(int(name) for name in os.listdir(TASK_DIR))
    except OSError:
        return frozenset()


def task_name(tid: int) -> str:
    try:
        with open(f"{TASK_DIR}/{tid}/comm") as comm:
            return comm.read().strip()
    except OSError:
        return "?"


# /proc/<pid> entries known not to be our children, as pid -> directory inode. A process cannot
# become our child later (only a subreaper adopts orphans, and pytest is none), so only new
# entries need their stat read. The inode changes when a pid is reused by a new process. The
# cache holds in a forked child too: none of the processes it lists can be the child's.
_not_children: dict[int, int] = {}


def _read_stat(pid: int) -> tuple[int, str, str, int] | None:
    """(ppid, state, name, start time) of a process, None if it is gone."""
    try:
        with open(f"{PROC_DIR}/{pid}/stat", "rb") as stat_file:
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
        with open(f"{PROC_DIR}/{pid}/cmdline", "rb") as cmdline_file:
            raw = cmdline_file.read(4096)
    except OSError:
        raw = b""
    parts = [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]
    return " ".join(parts) if parts else f"[{fallback}]"


def read_children(pid: int) -> tuple[ChildProcess, ...]:
    children: list[ChildProcess] = []
    seen: dict[int, int] = {}
    for entry in os.scandir(PROC_DIR):
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


# --- readable socket names, from /proc/net ------------------------------------------------------

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


class SocketNames:
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
            with open(f"{NET_DIR}/{table}") as table_file:
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
