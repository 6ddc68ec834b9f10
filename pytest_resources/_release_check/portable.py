"""Descriptors and child processes through psutil, where there is no ``/proc`` (macOS, BSD).

psutil lists regular files (``open_files``) and sockets (``net_connections``) with their
descriptor numbers, and child processes; it does not list pipes or kqueues, and gives no
descriptor numbers on Windows, where only child processes and threads are compared.
Its thread ids are not the ids ``threading`` reports on macOS, so native threads are not
listed here (they are allowed by default anyway).
"""

from __future__ import annotations

import functools
import os
import socket
import sys
from types import ModuleType
from typing import Any

from pytest_resources._release_check.state import ChildProcess


def _psutil() -> ModuleType | None:
    try:
        import psutil
    except ImportError:
        return None
    return psutil


def unavailable_reason() -> str | None:
    """Why psutil cannot list this process' descriptors and children; None when it can."""
    if _psutil() is None:
        return (
            f"the release check lists open file descriptors and child processes through Linux's "
            f"/proc, or through psutil elsewhere, which is not installed here ({sys.platform}): "
            f"pip install psutil; only threads are compared"
        )
    if sys.platform == "win32":
        return (
            "on Windows psutil gives no descriptor numbers; only threads and child processes are "
            "compared"
        )
    return None


def installed() -> bool:
    return _psutil() is not None


def lists_descriptors() -> bool:
    """Whether psutil gives descriptor numbers here (everywhere but Windows)."""
    return installed() and sys.platform != "win32"


@functools.cache
def _this_process() -> Any:
    psutil = _psutil()
    assert psutil is not None
    return psutil.Process()


# A forked child is another process (Windows, where psutil matters most, has no fork).
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_this_process.cache_clear)


# psutil's TCP states (psutil.CONN_*), as /proc's reader shows them.
_TCP_STATES = {
    "ESTABLISHED": "established",
    "SYN_SENT": "connecting",
    "SYN_RECV": "connecting",
    "TIME_WAIT": "time-wait",
    "CLOSE": "closed",
    "CLOSE_WAIT": "close-wait: peer closed it",
    "LISTEN": "listening",
}
_UNIX_TYPES = {
    socket.SOCK_STREAM: "stream",
    socket.SOCK_DGRAM: "datagram",
    socket.SOCK_SEQPACKET: "seqpacket",
}


def _address(address: Any) -> str:
    if not address:
        return "*"
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def describe_connection(connection: Any) -> str:
    """A socket as the /proc reader names it: ``tcp 127.0.0.1:5000 -> 127.0.0.1:5432
    (established)``, ``udp 0.0.0.0:53``, ``unix stream socket /run/x.sock``."""
    if connection.family == socket.AF_UNIX:
        kind = _UNIX_TYPES.get(connection.type, "socket")
        return f"unix {kind} socket {connection.laddr or '(unnamed)'}"
    local, remote = _address(connection.laddr), _address(connection.raddr)
    if connection.type == socket.SOCK_STREAM:
        if connection.status == "LISTEN":
            return f"tcp {local} (listening)"
        state = _TCP_STATES.get(connection.status, "closing")
        return f"tcp {local} -> {remote} ({state})"
    return f"udp {local} -> {remote}" if connection.raddr else f"udp {local}"


def read_fds() -> tuple[dict[int, str], dict[str, str]]:
    """Open files and sockets by descriptor number, and the sockets' readable names."""
    process = _this_process()
    fds: dict[int, str] = {}
    names: dict[str, str] = {}
    for opened in process.open_files():
        if opened.fd >= 0:
            fds[opened.fd] = opened.path
    for connection in process.net_connections(kind="all"):
        if connection.fd >= 0:
            # No inode here: the descriptor number names the socket, as long as it is open.
            target = f"socket:[fd {connection.fd}]"
            fds[connection.fd] = target
            names[target] = describe_connection(connection)
    return fds, names


def read_children() -> tuple[ChildProcess, ...]:
    psutil = _psutil()
    assert psutil is not None
    children = []
    for child in _this_process().children():
        try:
            with child.oneshot():
                name = child.name()
                status = child.status()
                started = child.create_time()
        except psutil.Error:
            continue  # gone meanwhile
        try:
            cmdline = " ".join(child.cmdline()) or f"[{name}]"
        except psutil.Error:  # a zombie has none
            cmdline = f"[{name}]"
        state = "Z" if status == psutil.STATUS_ZOMBIE else status
        children.append(ChildProcess(child.pid, started, state, name, cmdline))
    return tuple(children)
