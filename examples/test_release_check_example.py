"""The release check (opt-in): what a resource's setup opened, its teardown must close.
Files, sockets, threads and child processes still open after teardown fail the test.

The leaky resource's test is expected to fail with ``LifecycleError``
(``xfail(strict=True)``); see its message with ``pytest examples/test_release_check.py
--runxfail``."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import IO

import dagster as dg
import pytest
from pydantic import PrivateAttr

# --8<-- [start:imports]
from pytest_resources import LifecycleError, RunContext, release_check_available

# --8<-- [end:imports]

# Where the check cannot list open files (no /proc on Linux, no psutil elsewhere),
# it warns and compares threads only.
pytestmark = pytest.mark.skipif(
    not release_check_available(), reason="the release check cannot list files here"
)


# --8<-- [start:released]
class RunLogResource(dg.ConfigurableResource):
    """Appends to a log file for the length of a run."""

    path: str
    _file: IO[str] | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._file = open(self.path, "a")  # noqa: SIM115 - closed in teardown

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._file is not None:
            self._file.close()

    def write(self, line: str) -> None:
        assert self._file is not None, "not set up"
        self._file.write(line + "\n")


def test_the_log_is_closed(run_context: RunContext, tmp_path: Path) -> None:
    log = RunLogResource(path=str(tmp_path / "run.log"))
    with run_context.open(log, release_check=True) as live:
        live.write("started")
    assert (tmp_path / "run.log").read_text() == "started\n"


# --8<-- [end:released]


# --8<-- [start:left-open]
class KeepsLogOpenResource(dg.ConfigurableResource):
    """Opens its log in setup and never closes it: it has no teardown at all."""

    path: str
    _file: IO[str] | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._file = open(self.path, "a")  # noqa: SIM115 - the bug shown here


@pytest.mark.xfail(
    raises=LifecycleError, strict=True, reason="teardown leaves the file open"
)
def test_a_file_left_open_fails(run_context: RunContext, tmp_path: Path) -> None:
    with run_context.open(
        KeepsLogOpenResource(path=str(tmp_path / "run.log")), release_check=True
    ):
        pass


# --8<-- [end:left-open]


# --8<-- [start:marked]
class PollerResource(dg.ConfigurableResource):
    """Polls in a background thread while the run lasts; teardown stops and joins it."""

    interval: float = 0.01
    _stop: threading.Event = PrivateAttr(default_factory=threading.Event)
    _thread: threading.Thread | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._thread = threading.Thread(target=self._poll, name="poller", daemon=True)
        self._thread.start()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def is_polling(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _poll(self) -> None:
        while not self._stop.wait(self.interval):
            pass


# An option of the instance spelling: the release check for the marked resources' run.
@pytest.mark.resource(PollerResource(), release_check=True)
def test_marked_with_the_option(resource: PollerResource) -> None:
    assert resource.is_polling()


# A test marker: the release check for every run of this test, marked or opened by hand.
@pytest.mark.release_check
def test_marked_test(run_context: RunContext, tmp_path: Path) -> None:
    with run_context.open(
        {
            "poller": PollerResource(),
            "log": RunLogResource(path=str(tmp_path / "run.log")),
        }
    ) as live:
        live["log"].write("polling")


# --8<-- [end:marked]
