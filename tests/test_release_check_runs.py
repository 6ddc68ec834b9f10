"""The release check, switched on: what a run leaves open after teardown fails the test."""

from __future__ import annotations

import pytest

RESOURCES = """
import socket
import sqlite3
import subprocess
import sys
import threading
from contextlib import contextmanager

import dagster as dg
import pytest
from pydantic import PrivateAttr

STOP = threading.Event()


class FileHolder(dg.ConfigurableResource):
    path: str
    close_it: bool = True
    _file: object = PrivateAttr(default=None)

    def setup_for_execution(self, context):
        self._file = open(self.path, "w")

    def teardown_after_execution(self, context):
        if self.close_it:
            self._file.close()


class ThreadStarter(dg.ConfigurableResource):
    join_it: bool = True
    _thread: object = PrivateAttr(default=None)

    def setup_for_execution(self, context):
        STOP.clear()
        self._thread = threading.Thread(target=STOP.wait, name="poller", daemon=True)
        self._thread.start()

    def teardown_after_execution(self, context):
        if self.join_it:
            STOP.set()
            self._thread.join()


class ProcessStarter(dg.ConfigurableResource):
    wait_for_it: bool = True
    _process: object = PrivateAttr(default=None)

    def setup_for_execution(self, context):
        self._process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])

    def teardown_after_execution(self, context):
        if self.wait_for_it:
            self._process.kill()
            self._process.wait()


class SocketClient(dg.ConfigurableResource):
    port: int
    close_it: bool = True
    _socket: object = PrivateAttr(default=None)

    def setup_for_execution(self, context):
        self._socket = socket.create_connection(("127.0.0.1", self.port), timeout=5)

    def teardown_after_execution(self, context):
        if self.close_it:
            self._socket.close()


class SQLite(dg.ConfigurableResource):
    path: str
    close_it: bool = True

    @contextmanager
    def yield_for_execution(self, context):
        connection = sqlite3.connect(self.path)
        try:
            yield connection
        finally:
            if self.close_it:
                connection.close()


@pytest.fixture
def server():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    yield listener.getsockname()[1]
    listener.close()


@pytest.fixture(autouse=True)
def cleanup():
    yield
    STOP.set()
"""


@pytest.mark.slow(seconds=6)
def test_leftovers_fail_the_test_attributed_to_their_resource(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
@pytest.mark.release_check
def test_file(run_context, tmp_path):
    with run_context.open(FileHolder(path=str(tmp_path / "f"), close_it=False)):
        pass


def test_thread(run_context):
    with run_context.open(ThreadStarter(join_it=False), release_check=True):
        pass


def test_process(run_context):
    with run_context.open(ProcessStarter(wait_for_it=False), release_check=True) as live:
        pass
    live._process.kill()
    live._process.wait()


def test_socket(run_context, server):
    with run_context.open(SocketClient(port=server, close_it=False), release_check=True) as live:
        pass
    live._socket.close()


@pytest.mark.resource(SQLite(path="db.sqlite", close_it=False), release_check=True)
def test_sqlite(resource):
    pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=5)
    result.stdout.fnmatch_lines(
        [
            "*_ test_file _*",
            "E*LifecycleError: 1 thing left open after teardown:",
            "E*opened by the setup of resource 'file_holder':",
            "E*- file: */f (fd *)",
            "E*How to release them:",
            "E*- file: close files in teardown_after_execution*",
            "*_ test_thread _*",
            "E*opened by the setup of resource 'thread_starter':",
            "E*- thread: 'poller' (daemon thread, native id *)",
            "*_ test_process _*",
            "E*opened by the setup of resource 'process_starter':",
            "E*- process: * -c import time; time.sleep(30) (pid *, still running)",
            "*_ test_socket _*",
            "E*opened by the setup of resource 'socket_client':",
            "E*- socket: tcp 127.0.0.1:* -> 127.0.0.1:* *",
            "*_ test_sqlite _*",
            "LifecycleError: 1 thing left open after teardown:",
            "  opened by the setup of resource 'sq_lite':",
        ]
    )


def test_released_resources_pass_and_the_check_is_opt_in(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
@pytest.mark.release_check
def test_released(run_context, tmp_path, server):
    with run_context.open({
        "file": FileHolder(path=str(tmp_path / "f")),
        "thread": ThreadStarter(),
        "process": ProcessStarter(),
        "socket": SocketClient(port=server),
        "sqlite": SQLite(path=str(tmp_path / "db")),
        "files": dg.FilesystemIOManager(base_dir=str(tmp_path)),
    }):
        pass


def test_not_asked_for(run_context, tmp_path):
    with run_context.open(FileHolder(path=str(tmp_path / "f"), close_it=False)) as live:
        pass
    live._file.close()
"""
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_project_wide_with_an_allow_list(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        """
        [pytest]
        addopts = -p no:cacheprovider
        filterwarnings = ignore::DeprecationWarning
        resources_release_check = true
        resources_release_allow =
            */kept-open.log
            thread:poll*
        """
    )
    pytester.makepyfile(
        RESOURCES
        + """
def test_allowed(run_context, tmp_path):
    with run_context.open({
        "log": FileHolder(path=str(tmp_path / "kept-open.log"), close_it=False),
        "thread": ThreadStarter(join_it=False),
    }) as live:
        pass
    live["log"]._file.close()


def test_reported(run_context, tmp_path):
    with run_context.open(FileHolder(path=str(tmp_path / "other.log"), close_it=False)) as live:
        pass
    live._file.close()
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["pytest-resources: release check on", "*- file: */other.log*"])


def test_unclosed_objects_warn(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
class Forgetful(dg.ConfigurableResource):
    path: str

    def setup_for_execution(self, context):
        open(self.path, "w")  # never closed: freed, and warned about, at once


class ForgetfulInTeardown(dg.ConfigurableResource):
    path: str

    @contextmanager
    def yield_for_execution(self, context):
        yield self
        open(self.path, "w")  # after the yield: teardown code, not setup


@pytest.mark.release_check
def test_forgetful(run_context, tmp_path):
    with run_context.open(Forgetful(path=str(tmp_path / "f"))):
        pass


@pytest.mark.release_check
def test_forgetful_in_teardown(run_context, tmp_path):
    with run_context.open(ForgetfulInTeardown(path=str(tmp_path / "f"))):
        pass
"""
    )
    result = pytester.runpytest("-W", "default::ResourceWarning", "-p", "no:randomly")
    result.assert_outcomes(failed=2)
    # The warning's own location is in Forgetful's setup, so it is Forgetful's.
    result.stdout.fnmatch_lines(
        [
            "*_ test_forgetful _*",
            "E*1 thing left open after teardown:",
            "E*opened by the setup of resource 'forgetful':",
            "E*- warning: ResourceWarning: unclosed file*",
            "*_ test_forgetful_in_teardown _*",
            "E*not opened by any resource's setup*",
            "E*- warning: ResourceWarning: unclosed file*",
        ]
    )


def test_without_proc_threads_are_still_compared_and_a_warning_says_so(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    from plugin_internals import pretend_release_check_unavailable

    pretend_release_check_unavailable(monkeypatch, "no /proc here")
    pytester.makepyfile(
        RESOURCES
        + """
@pytest.mark.release_check
def test_thread(run_context):
    with run_context.open(ThreadStarter(join_it=False)):
        pass
"""
    )
    result = pytester.runpytest("-W", "always::UserWarning")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E*- thread: 'poller' (daemon thread, native id *)",
            "*ReleaseCheckUnavailable: pytest-resources: no /proc here",
        ]
    )


def test_in_process_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
@dg.asset
def polled(poller: ThreadStarter):
    return 1


def test_leaves_a_thread(run_context):
    run_context.materialize(
        [polled], resources={"poller": ThreadStarter(join_it=False)}, release_check=True
    )


def test_joins_it(run_context):
    run_context.materialize([polled], resources={"poller": ThreadStarter()}, release_check=True)
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*LifecycleError: 1 thing left open after teardown:",
            "*opened by the setup of resource 'poller':",
            "*- thread: 'poller' (daemon thread, native id *)",
        ]
    )


def test_garbage_from_before_the_run_is_not_blamed_on_it(pytester: pytest.Pytester) -> None:
    # A file only a reference cycle keeps alive, dropped before the run opens: it warns when the
    # garbage collector frees it, which the check itself triggers once it finds the leftover
    # thread. That warning belongs to no resource of this run.
    pytester.makepyfile(
        RESOURCES
        + """
import gc


# Freeing the file warns, now before the run: that is pytest's to report, not this test's subject.
@pytest.mark.filterwarnings(
    "ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning"
)
def test_leaves_a_thread(run_context, tmp_path):
    gc.disable()  # so that nothing frees the cycle before the check does
    try:
        cycle = {"file": open(tmp_path / "dropped-before.log", "w")}
        cycle["self"] = cycle
        del cycle
        with run_context.open(ThreadStarter(join_it=False), release_check=True):
            pass
    finally:
        gc.enable()
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*LifecycleError: 1 thing left open after teardown:",
            "*- thread: 'poller' (daemon thread, native id *)",
        ]
    )
    result.stdout.no_fnmatch_line("*- warning: ResourceWarning: unclosed file*")


def test_what_a_checked_test_left_unclosed_is_finalized_in_that_test(
    pytester: pytest.Pytester,
) -> None:
    # A live copy that keeps its file is garbage once its test ends (Dagster's records form
    # reference cycles): the checked test finalizes it, at the price of a young collection
    # (a full one only if a copy is still alive then), so that no later test gets its warning.
    pytester.makeini("[pytest]\nresources_release_allow = */checked.log\n")
    pytester.makepyfile(
        """
import gc
import warnings

import dagster as dg
import pytest
from pydantic import PrivateAttr

NAMES = ("checked.log", "unchecked.log")


class KeepsItsLog(dg.ConfigurableResource):
    path: str
    _log: object = PrivateAttr(default=None)

    def setup_for_execution(self, context):
        self._log = open(self.path, "w")


@pytest.mark.release_check
def test_checked(run_context, tmp_path):
    with run_context.open(KeepsItsLog(path=str(tmp_path / "checked.log"))):
        pass  # allowed to stay open: a failed test's report would keep the copy alive


def test_unchecked(run_context, tmp_path):
    with run_context.open(KeepsItsLog(path=str(tmp_path / "unchecked.log"))):
        pass


def test_later():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        gc.collect()
    warned = {name for w in caught for name in NAMES if f"/{name}'" in str(w.message)}
    # Only the unchecked test's file is left to warn here.
    assert warned == {"unchecked.log"}
"""
    )
    # In a process of its own: what earlier in-process runs keep alive does not blur it.
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-W", "ignore::ResourceWarning")
    result.assert_outcomes(passed=3)
