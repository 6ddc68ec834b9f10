"""The release check: what a resource's setup opened and its teardown left open is caught.

Real resources run through ``dagster.build_resources`` on one shared ephemeral instance. Each
resource is given a subclass whose ``yield_for_execution`` enter calls the Attributor around the
user's setup, the way the plugin's recording subclass will.
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from plugin_internals import (
    AllowList,
    Attributor,
    Leftover,
    ProcessState,
    collect_resource_warnings,
    forget_release_check_availability,
    format_leftovers,
    leftovers,
    portable_snapshot,
    pretend_no_proc_filesystem,
    release_check_available,
    take_snapshot,
    unavailable_reason,
    wait_for_release,
)
from pydantic import PrivateAttr

from pytest_resources import ResourceUsageError

pytestmark = pytest.mark.skipif(
    not release_check_available(), reason=f"release check unavailable: {unavailable_reason()}"
)

# What the resources below acquired, released after each test whatever happened.
_CLEANUP: list[Callable[[], None]] = []


@pytest.fixture(autouse=True)
def _release_everything() -> Iterator[None]:
    try:
        yield
    finally:
        while _CLEANUP:
            with contextlib.suppress(Exception):
                _CLEANUP.pop()()


@pytest.fixture(scope="module")
def instance() -> Iterator[dg.DagsterInstance]:
    shared = dg.DagsterInstance.ephemeral()
    with dg.build_resources({}, instance=shared):  # warm-up: Dagster's lazy imports
        pass
    yield shared
    shared.dispose()


@pytest.fixture
def server() -> Iterator[tuple[str, int]]:
    """A loopback TCP server. It never accepts: the kernel completes up to ``backlog``
    handshakes on its own, so the client's socket is connected and the server holds no socket
    per connection in this process. Closed at the end of the test."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=4)
    try:
        yield "127.0.0.1", listener.getsockname()[1]
    finally:
        listener.close()


# --- driving resources --------------------------------------------------------------------------


class _AttributedEnter:
    """Calls the attributor around entering a resource's ``yield_for_execution``."""

    def __init__(self, inner: Any, key: str, attributor: Attributor) -> None:
        self._inner, self._key, self._attributor = inner, key, attributor

    def __enter__(self) -> Any:
        self._attributor.before_setup(self._key)
        try:
            return self._inner.__enter__()
        finally:
            self._attributor.after_setup(self._key)

    def __exit__(self, *exc_info: Any) -> Any:
        return self._inner.__exit__(*exc_info)


def _attributed(resource: Any, key: str, attributor: Attributor) -> Any:
    cls = type(resource)

    def yield_for_execution(self: Any, context: Any) -> Any:
        return _AttributedEnter(cls.yield_for_execution(self, context), key, attributor)

    namespace = {
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "yield_for_execution": yield_for_execution,
    }
    subclass: Any = type(cls)(cls.__name__, (cls,), namespace)
    return subclass(**{name: getattr(resource, name) for name in cls.model_fields})


@dataclass
class Checked:
    leftovers: list[Leftover]
    warnings: list[Leftover]
    live: dict[str, Any]


def run_checked(
    resources: dict[str, Any],
    instance: dg.DagsterInstance,
    *,
    allow: AllowList | None = None,
    during: Callable[[], None] | None = None,
) -> Checked:
    """Open and close ``resources`` as a run does; what teardown left open, attributed."""
    attributor = Attributor()
    wrapped = {key: _attributed(res, key, attributor) for key, res in resources.items()}
    # What earlier tests of this worker left as garbage warns when collected: not this run's.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    with collect_resource_warnings() as warned:
        before = take_snapshot()
        with dg.build_resources(wrapped, instance=instance) as built:
            # The live copies stay referenced, as the plugin's recording keeps them.
            live = {key: getattr(built, key) for key in resources}
            if during is not None:
                during()
        found = wait_for_release(before, allow=allow or AllowList(), timeout=0.1)
    return Checked(attributor.attribute(found), warned, live)


# --- resources that acquire something, and release it in teardown when ``close`` --------------


class FileHolder(dg.ConfigurableResource):
    path: str
    close: bool = True
    _file: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._file = open(self.path, "w")  # noqa: SIM115
        _CLEANUP.append(self._file.close)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self.close:
            self._file.close()


class SocketClient(dg.ConfigurableResource):
    port: int
    close: bool = True
    _socket: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._socket = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        _CLEANUP.append(self._socket.close)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self.close:
            self._socket.close()


class Poller(dg.ConfigurableResource):
    name: str
    daemon: bool
    close: bool = True
    _stop: Any = PrivateAttr(default=None)
    _thread: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        stop = threading.Event()
        thread = threading.Thread(target=stop.wait, args=(30,), name=self.name, daemon=self.daemon)
        thread.start()
        self._stop, self._thread = stop, thread
        _CLEANUP.append(lambda: (stop.set(), thread.join(5)))

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self.close:
            self._stop.set()
            self._thread.join(5)


class Worker(dg.ConfigurableResource):
    close: bool = True
    _process: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        self._process = process

        def kill() -> None:
            process.kill()
            process.wait(5)

        _CLEANUP.append(kill)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self.close:
            self._process.terminate()
            self._process.wait(5)


class Database(dg.ConfigurableResource):
    path: str
    close: bool = True

    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[Any]:
        connection = sqlite3.connect(self.path)
        _CLEANUP.append(connection.close)
        connection.execute("create table if not exists t (x)")
        try:
            yield connection
        finally:
            if self.close:
                connection.close()


class Plain(dg.ConfigurableResource):
    greeting: str = "hello"


# --- caught, described, attributed ------------------------------------------------------------


def test_file_left_open(instance: dg.DagsterInstance, tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    checked = run_checked({"files": FileHolder(path=str(path), close=False)}, instance)
    assert [(x.kind, x.opened_by) for x in checked.leftovers] == [("file", "files")]
    assert str(path) in checked.leftovers[0].description
    message = format_leftovers(checked.leftovers)
    assert "opened by the setup of resource 'files'" in message
    assert "teardown_after_execution" in message
    assert "yield_for_execution" in message


def test_socket_left_connected(instance: dg.DagsterInstance, server: tuple[str, int]) -> None:
    host, port = server
    checked = run_checked({"client": SocketClient(port=port, close=False)}, instance)
    assert [(x.kind, x.opened_by) for x in checked.leftovers] == [("socket", "client")]
    description = checked.leftovers[0].description
    assert f"-> {host}:{port} (established)" in description, description
    assert description.startswith("tcp 127.0.0.1:")


@pytest.mark.parametrize("daemon", [False, True], ids=["thread", "daemon-thread"])
def test_thread_left_running(instance: dg.DagsterInstance, daemon: bool) -> None:
    name = f"poller-{daemon}"
    checked = run_checked({"poller": Poller(name=name, daemon=daemon, close=False)}, instance)
    assert [(x.kind, x.opened_by) for x in checked.leftovers] == [("thread", "poller")]
    assert f"'{name}'" in checked.leftovers[0].description
    assert ("daemon thread" in checked.leftovers[0].description) is daemon
    assert "join() them" in format_leftovers(checked.leftovers)


def test_process_left_running(instance: dg.DagsterInstance) -> None:
    checked = run_checked({"worker": Worker(close=False)}, instance)
    assert [(x.kind, x.opened_by) for x in checked.leftovers] == [("process", "worker")]
    assert "time.sleep(30)" in checked.leftovers[0].description
    assert "still running" in checked.leftovers[0].description
    assert "wait() for them" in format_leftovers(checked.leftovers)


def test_killed_process_never_waited_for_is_a_zombie_leftover(
    instance: dg.DagsterInstance,
) -> None:
    before = take_snapshot()
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        process.kill()
        deadline = time.monotonic() + 5
        while True:
            found = leftovers(before, take_snapshot())
            if "never waited for" in str(found) or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        assert [x.kind for x in found] == ["process"]
        assert "exited but never waited for" in found[0].description
    finally:
        process.kill()
        process.wait(5)
    assert leftovers(before, take_snapshot()) == []


# --- released in teardown: nothing reported -----------------------------------------------------


def test_resources_that_release_in_teardown_pass(
    instance: dg.DagsterInstance, tmp_path: Path, server: tuple[str, int]
) -> None:
    resources = {
        "files": FileHolder(path=str(tmp_path / "data.txt")),
        "client": SocketClient(port=server[1]),
        "poller": Poller(name="poller", daemon=False),
        "daemon_poller": Poller(name="daemon-poller", daemon=True),
        "worker": Worker(),
    }
    checked = run_checked(resources, instance, allow=AllowList.strict())
    assert checked.leftovers == []
    assert checked.warnings == []


def test_sqlite_connection_closed_in_yield_passes(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    path = tmp_path / "db.sqlite"
    checked = run_checked({"db": Database(path=str(path))}, instance, allow=AllowList.strict())
    assert checked.leftovers == []


def test_sqlite_connection_left_open_is_caught(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    path = tmp_path / "db.sqlite"
    checked = run_checked({"db": Database(path=str(path), close=False)}, instance)
    assert [(x.kind, x.opened_by) for x in checked.leftovers] == [("file", "db")]
    assert checked.leftovers[0].description.startswith(f"{path} (fd ")


def test_dagster_io_manager_and_plain_resource_after_warm_up(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    resources = {
        "io_manager": dg.FilesystemIOManager(base_dir=str(tmp_path / "storage")),
        "plain": Plain(),
    }
    for _ in range(3):
        checked = run_checked(resources, instance, allow=AllowList.strict())
        assert checked.leftovers == []
        assert checked.warnings == []


# --- attribution ------------------------------------------------------------------------------


def test_only_the_leaking_resource_is_blamed(
    instance: dg.DagsterInstance, tmp_path: Path, server: tuple[str, int]
) -> None:
    resources = {
        "fine": FileHolder(path=str(tmp_path / "fine.txt")),
        "leaky": SocketClient(port=server[1], close=False),
    }
    checked = run_checked(resources, instance)
    assert [(x.kind, x.opened_by) for x in checked.leftovers] == [("socket", "leaky")]


def test_opened_while_in_use_is_not_pinned_on_a_setup(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    handles: list[Any] = []

    def open_in_the_test_body() -> None:
        handles.append(open(tmp_path / "body.txt", "w"))  # noqa: SIM115
        _CLEANUP.append(handles[-1].close)

    checked = run_checked({"plain": Plain()}, instance, during=open_in_the_test_body)
    assert [(x.kind, x.opened_by) for x in checked.leftovers] == [("file", None)]
    assert "not opened by any resource's setup" in format_leftovers(checked.leftovers)


def test_nested_setups_blame_the_inner_key(tmp_path: Path) -> None:
    attributor = Attributor()
    before = take_snapshot()
    attributor.before_setup("outer")
    attributor.before_setup("inner")
    inner_file = open(tmp_path / "inner.txt", "w")  # noqa: SIM115
    _CLEANUP.append(inner_file.close)
    attributor.after_setup("inner")
    outer_file = open(tmp_path / "outer.txt", "w")  # noqa: SIM115
    _CLEANUP.append(outer_file.close)
    attributor.after_setup("outer")
    found = attributor.attribute(leftovers(before, take_snapshot()))
    blamed = {x.description.split(" (fd")[0]: x.opened_by for x in found}
    assert blamed == {str(tmp_path / "inner.txt"): "inner", str(tmp_path / "outer.txt"): "outer"}
    with pytest.raises(ResourceUsageError, match="without a matching before_setup"):
        attributor.after_setup("never")


# --- snapshots and comparison -------------------------------------------------------------------


def test_snapshot_sees_what_is_open(tmp_path: Path) -> None:
    with open(tmp_path / "seen.txt", "w") as handle:
        state = take_snapshot()
        assert state.complete
        assert state.fds[handle.fileno()] == str(tmp_path / "seen.txt")
    assert any(thread.name == "MainThread" for thread in state.threads)
    assert leftovers(state, state) == []


def test_a_reused_fd_number_for_another_target_counts_as_new(tmp_path: Path) -> None:
    first = open(tmp_path / "first.txt", "w")  # noqa: SIM115
    number = first.fileno()
    before = take_snapshot()
    first.close()
    second = open(tmp_path / "second.txt", "w")  # noqa: SIM115
    try:
        assert second.fileno() == number  # the lowest free number is reused
        found = leftovers(before, take_snapshot())
        assert [x.description for x in found] == [f"{tmp_path / 'second.txt'} (fd {number})"]
    finally:
        second.close()


def test_allow_list_patterns(instance: dg.DagsterInstance, tmp_path: Path) -> None:
    allow = AllowList().extend(paths=["*/kept-*.log"], thread_names=["kept-poller"])
    resources = {
        "files": FileHolder(path=str(tmp_path / "kept-1.log"), close=False),
        "poller": Poller(name="kept-poller", daemon=True, close=False),
    }
    assert run_checked(resources, instance, allow=allow).leftovers == []
    assert "*/logs/event.log" in AllowList().paths  # Dagster's telemetry log handler
    assert AllowList.strict().paths == ()
    assert not AllowList.strict().native_threads


def test_unavailable_platform_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    pretend_no_proc_filesystem(monkeypatch, "/nonexistent/fd")
    assert not release_check_available()
    assert "/nonexistent/fd is missing" in (unavailable_reason() or "")
    state = take_snapshot()
    assert not state.complete
    assert state.fds == {}
    assert state.threads


def test_elsewhere_psutil_lists_what_proc_would(monkeypatch: pytest.MonkeyPatch) -> None:
    import psutil  # before the platform changes: psutil picks its implementation on import

    assert psutil.Process().pid
    monkeypatch.setattr(sys, "platform", "darwin")
    forget_release_check_availability(monkeypatch)
    assert unavailable_reason() is None
    assert take_snapshot().complete
    monkeypatch.setitem(sys.modules, "psutil", None)  # not installed
    reason = unavailable_reason() or ""
    assert "through psutil elsewhere, which is not installed here (darwin)" in reason
    assert "pip install psutil; only threads are compared" in reason
    state = take_snapshot()
    assert (state.complete, state.fds, state.children) == (False, {}, ())
    assert state.threads


def _without_numbers(found: list[Leftover]) -> list[tuple[str, str]]:
    """Kinds and descriptions without what names a socket or descriptor on one platform."""
    return sorted(
        (x.kind, re.sub(r" \((socket:\[[^]]*\]|fd \d+)\)", "", x.description)) for x in found
    )


def test_psutil_finds_what_proc_finds(tmp_path: Path, server: tuple[str, int]) -> None:
    # The reader macOS uses, run here beside the /proc one: the same leftovers, named alike.
    before, before_by_psutil = take_snapshot(), portable_snapshot()
    handle = open(tmp_path / "kept.log", "w")  # noqa: SIM115
    _CLEANUP.append(handle.close)
    client = socket.create_connection(server)
    _CLEANUP.append(client.close)
    listener = socket.create_server(("127.0.0.1", 0))
    _CLEANUP.append(listener.close)
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    _CLEANUP.append(lambda: (process.kill(), process.wait(5)))
    by_proc = leftovers(before, take_snapshot())
    by_psutil = leftovers(before_by_psutil, portable_snapshot())
    assert _without_numbers(by_psutil) == _without_numbers(by_proc)
    host, port = server
    assert _without_numbers(by_psutil) == sorted(
        [
            ("file", str(tmp_path / "kept.log")),
            (
                "process",
                f"{sys.executable} -c import time; time.sleep(30) "
                f"(pid {process.pid}, still running)",
            ),
            ("socket", f"tcp 127.0.0.1:{client.getsockname()[1]} -> {host}:{port} (established)"),
            ("socket", f"tcp 127.0.0.1:{listener.getsockname()[1]} (listening)"),
        ]
    )
    allow = AllowList().extend(paths=[f"tcp * -> {host}:{port} *"])
    assert "established" not in str(leftovers(before_by_psutil, portable_snapshot(), allow=allow))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
def test_a_forked_child_lists_its_own_children() -> None:
    # Both readers keep state per process (psutil's handle on it, the /proc reader's cache):
    # filled in the parent, they must describe the forked child, not the parent.
    sleeper = [sys.executable, "-c", "import time; time.sleep(30)"]
    parents_child = subprocess.Popen(sleeper)
    _CLEANUP.append(lambda: (parents_child.kill(), parents_child.wait(5)))
    take_snapshot(), portable_snapshot()
    verdict_read, verdict_write = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12+ deprecates forking a multi-threaded process, as an xdist worker is.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        verdict = b"crashed"
        try:
            own_child = subprocess.Popen(sleeper)
            listed = [
                sorted(child.pid for child in state.children)
                for state in (take_snapshot(), portable_snapshot())
            ]
            own_child.kill()
            own_child.wait(5)
            verdict = repr(listed == [[own_child.pid]] * 2).encode()
        finally:
            os.write(verdict_write, verdict)
            os._exit(0)
    os.close(verdict_write)
    os.waitpid(pid, 0)
    with os.fdopen(verdict_read, "rb") as verdict_pipe:
        assert verdict_pipe.read() == b"True"


def test_psutil_names_unix_and_udp_sockets_as_proc_does(tmp_path: Path) -> None:
    before, before_by_psutil = take_snapshot(), portable_snapshot()
    unix = socket.socket(socket.AF_UNIX)
    _CLEANUP.append(unix.close)
    unix.bind(str(tmp_path / "s.sock"))
    unix.listen()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    _CLEANUP.append(udp.close)
    udp.bind(("127.0.0.1", 0))
    by_psutil = _without_numbers(leftovers(before_by_psutil, portable_snapshot()))
    assert by_psutil == _without_numbers(leftovers(before, take_snapshot()))
    assert by_psutil == [
        ("socket", f"udp 127.0.0.1:{udp.getsockname()[1]}"),
        ("socket", f"unix stream socket {tmp_path / 's.sock'}"),
    ]


def test_snapshot_is_cheap() -> None:
    take_snapshot()
    timings = []
    for _ in range(200):
        start = time.perf_counter()
        take_snapshot()
        timings.append(time.perf_counter() - start)
    timings.sort()
    median = timings[len(timings) // 2]
    assert median < 0.005, f"a snapshot took {median * 1000:.2f} ms (median of 200)"


def test_format_without_leftovers() -> None:
    assert "nothing was left open" in format_leftovers([])


def test_processstate_is_not_hashed_by_value() -> None:
    state = take_snapshot()
    assert isinstance(state, ProcessState)
    assert {state: 1}[state] == 1


# --- unclosed-object warnings -------------------------------------------------------------------


class Careless(dg.ConfigurableResource):
    path: str

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        open(self.path, "w")  # noqa: SIM115  (dropped at once: closed by the garbage collector)


def test_resource_warning_from_an_unclosed_file_is_collected(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    path = tmp_path / "careless.txt"
    checked = run_checked({"careless": Careless(path=str(path))}, instance)
    assert checked.leftovers == []  # the descriptor is gone ...
    assert [x.kind for x in checked.warnings] == ["warning"]  # ... but not by the resource's doing
    assert "ResourceWarning: unclosed file" in checked.warnings[0].description
    assert str(path) in checked.warnings[0].description


def test_cycles_and_ignored_exceptions_are_collected_inside(tmp_path: Path) -> None:
    class Broken:
        def __del__(self) -> None:
            raise RuntimeError("close failed")

    hook_before = sys.unraisablehook
    with collect_resource_warnings() as found:
        assert sys.unraisablehook is not hook_before
        cycle: list[Any] = [open(tmp_path / "cycle.txt", "w")]  # noqa: SIM115
        cycle.append(cycle)
        del cycle  # only the collector can free it: it does so inside
        Broken()
    descriptions = [x.description for x in found]
    assert any("unclosed file" in text and "cycle.txt" in text for text in descriptions)
    assert any("RuntimeError: close failed" in text for text in descriptions)
    assert sys.unraisablehook is hook_before


def test_other_warnings_are_passed_on() -> None:
    with pytest.warns(UserWarning, match="not ours"), collect_resource_warnings() as found:
        warnings.warn("not ours", UserWarning, stacklevel=1)
    assert found == []


def test_a_file_deleted_while_open_before_the_run_is_not_the_runs(tmp_path: Path) -> None:
    # pytest removes an older temporary directory while a file in it is still open: the
    # descriptor then reads "PATH (deleted)", and its warning is still from before the run.
    import warnings

    from pytest_resources._release_check import take_snapshot, warned_of

    older = open(tmp_path / "older.log", "w")  # noqa: SIM115 - held open across the snapshot
    (tmp_path / "older.log").unlink()
    before = take_snapshot()
    newer = open(tmp_path / "newer.log", "w")  # noqa: SIM115 - opened after the snapshot
    try:
        for source, expected in ((older, True), (newer, False)):
            record = warnings.WarningMessage(
                ResourceWarning("unclosed file"), ResourceWarning, __file__, 1, source=source
            )
            assert warned_of(record, before) is expected
    finally:
        older.close()
        newer.close()
