"""The plugin's side of ``run_context``: the :class:`Session` (one per test session, per xdist
worker) and what belongs to the test that is running (:class:`TestRuns`), which the plugin swaps
in for every test. ``run_context`` itself (:mod:`pytest_resources._context`) is a view over them.
"""

from __future__ import annotations

import uuid
import weakref
from functools import cached_property
from typing import TYPE_CHECKING

import dagster
from pydantic import PrivateAttr

from pytest_resources._errors import ResourceUsageError
from pytest_resources._hooks import Location
from pytest_resources._initialization import Initialization, RunTarget
from pytest_resources._leak_audit import forget_audited_forms
from pytest_resources._ledger import Ledger
from pytest_resources._recording import Recording
from pytest_resources._release_check import finalize_dropped
from pytest_resources._settings import Settings
from pytest_resources._totals import SessionTotals

if TYPE_CHECKING:
    from pytest_resources._multiprocess._session import MultiprocessSession


class TestRuns:
    """The test that is running: its settings, its ledger, and its default run."""

    __test__ = False  # not a test class, whatever pytest's naming rules say

    def __init__(self, nodeid: str, settings: Settings, instance: dagster.DagsterInstance):
        self.nodeid = nodeid
        self.settings = settings
        self.ledger = Ledger()
        self._instance = instance

    @property
    def recordings(self) -> list[Recording]:
        return self.ledger.recordings

    @cached_property
    def default_target(self) -> RunTarget:
        """The test's default run (``run_context.open`` and the marked resources open in it)."""
        return self.new_target()

    def new_target(self) -> RunTarget:
        return RunTarget(str(uuid.uuid4()), self._instance, self.ledger, self.settings)

    def release(self) -> None:
        """Drop the test's records and live values when it ends."""
        self.ledger.release()
        self.__dict__.pop("default_target", None)
        # What the leak audit cached from the test's resources goes with the test.
        forget_audited_forms()


class _WarmUpResource(dagster.ConfigurableResource):  # type: ignore[type-arg]
    """Opened once per session by :meth:`Session.warm_up`, with private state set in setup so
    that the leak audit builds every serialized form."""

    name: str = "warm-up"
    _session: str | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dagster.InitResourceContext) -> None:
        self._session = "pytest-resources warm-up session"

    def teardown_after_execution(self, context: dagster.InitResourceContext) -> None:
        self._session = None


class Session:
    """One per test session (per xdist worker): the session's Dagster instances and settings,
    the test that is running, the totals."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.totals = SessionTotals()
        self._test: TestRuns | None = None
        self._instance: dagster.DagsterInstance | None = None
        # The session's second, persistent instance, made by the first multiprocess run.
        self._multiprocess: MultiprocessSession | None = None

    @property
    def instance(self) -> dagster.DagsterInstance:
        if self._instance is None:
            self._instance = dagster.DagsterInstance.ephemeral()
        return self._instance

    def multiprocess_session(self) -> MultiprocessSession:
        if self._multiprocess is None:
            from pytest_resources._multiprocess._session import MultiprocessSession

            self._multiprocess = multiprocess = MultiprocessSession()
            # The safety net, should the session never close: close() does it first.
            weakref.finalize(self, multiprocess.close)
        return self._multiprocess

    def warm_up(self) -> None:
        """Pay the session's one-time costs up front (the instance, Dagster's lazy imports), so
        that the first example of a hypothesis test does not blow its deadline."""
        # One whole audited open of a resource of our own, outside any test: Dagster compiles
        # each of its record classes' constructors on first use and keeps the locals of the
        # frame that called it for good; if that were a frame of a test's run, that test's
        # live values would outlive it.
        warm_up = TestRuns("pytest-resources warm-up", Settings(check_secrets=True), self.instance)
        opened = Initialization(
            warm_up.new_target(),
            {"warm_up": _WarmUpResource()},
            single=True,
            opened_at=Location("<unknown>", 0),
        )
        with opened:
            pass
        warm_up.release()

    def close(self) -> None:
        if self._instance is not None:
            self._instance.dispose()
            self._instance = None
        if self._multiprocess is not None:
            self._multiprocess.close()
            self._multiprocess = None

    def begin_test(self, nodeid: str, settings: Settings | None = None) -> TestRuns:
        self._test = TestRuns(nodeid, settings or self.settings, self.instance)
        return self._test

    def end_test(self, *, expected_to_fail: bool = False) -> None:
        test, self._test = self._test, None
        if test is None:
            return
        self.totals.add(test.ledger, expected_to_fail=expected_to_fail)
        copies, unseen = test.ledger.release_checked_copies, test.ledger.copies_unseen
        test.release()
        del test
        finalize_dropped(copies, unseen=unseen)

    @property
    def current(self) -> TestRuns:
        __tracebackhide__ = True
        if self._test is None:
            raise ResourceUsageError(
                "run_context records the runs of the test that is running, and no test is "
                "running here: it was used in a fixture wider than a function (session, "
                "package, module or class scope) or outside a test. Use it in the test or in a "
                "function-scoped fixture; Dagster opens a run's resources once per run, so a "
                "resource opened per test is what a run does."
            )
        return self._test
