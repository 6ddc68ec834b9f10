"""The facade: ``run_context`` (:class:`RunContext`), the runs it starts (:class:`Run`,
through :class:`RunScope`), what ``open`` returns (:class:`OpenResources`); and the plugin's
side of it: the :class:`Session`, and what belongs to the test that is running
(:class:`TestRuns`).

``run_context`` is session scoped so that hypothesis' ``@given`` tests can request it; what
belongs to one test lives in a ``TestRuns`` that the plugin swaps in for every test. The public
classes hold only what a user calls: everything here delegates to the engine below it:
``_initialization`` (one ``open``), ``_faults`` and ``_audit`` (``check`` and ``audit``),
``_multiprocess`` (``materialize``).
"""

from __future__ import annotations

import contextlib
import gc
import sys
import uuid
import warnings
import weakref
from collections.abc import Callable, Iterator, Mapping
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import dagster
from dagster import DagsterRun, InitResourceContext
from pydantic import PrivateAttr

from pytest_resources._dagster import ScopedResourcesBuilder
from pytest_resources._errors import ResourceUsageError
from pytest_resources._hooks import Location
from pytest_resources._initialization import Initialization, RunTarget, user_line
from pytest_resources._keys import as_named_resources
from pytest_resources._leak_audit import forget_audited_forms
from pytest_resources._ledger import Ledger
from pytest_resources._lifecycle import Lifecycle, lifecycle_of
from pytest_resources._problems import report_problems
from pytest_resources._recording import Recording
from pytest_resources._settings import Settings
from pytest_resources._totals import SessionTotals

if TYPE_CHECKING:
    from pytest_resources._audit import AuditSummary
    from pytest_resources._faults import Fault
    from pytest_resources._multiprocess._session import MultiprocessSession
    from pytest_resources._multiprocess.result import RunResult


class OpenResources:
    """What ``open`` returns: a context manager. Entering it initializes the resources through
    Dagster's ``build_resources`` and gives the live value (a dict of them for a dict of
    resources); leaving it tears them down and checks what the run did (the lifecycle rules,
    the leak audit, the release check when it is on)."""

    def __init__(self, initialization: Initialization) -> None:
        self._initialization = initialization

    def __enter__(self) -> Any:
        __tracebackhide__ = True
        return self._initialization.__enter__()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        __tracebackhide__ = True
        self._initialization.__exit__(exc_type, exc, traceback)


class Run:
    """One Dagster run: its own run id and records. Open resources in it with :meth:`open`."""

    def __init__(self, target: RunTarget) -> None:
        self._target = target

    def __repr__(self) -> str:
        return f"<Run {self.run_id[:8]}>"

    @property
    def run_id(self) -> str:
        """A new UUID per run."""
        return self._target.run_id

    @property
    def instance(self) -> dagster.DagsterInstance:
        """The session's ``DagsterInstance``."""
        return self._target.instance

    @property
    def dagster_run(self) -> DagsterRun:
        """The ``DagsterRun`` the run's resources are initialized with."""
        return self._target.dagster_run

    @cached_property
    def init_context(self) -> InitResourceContext:
        """A real ``InitResourceContext`` bound to this run and the session's instance."""
        return InitResourceContext(
            resource_config=None,
            resources=ScopedResourcesBuilder().build(None),
            resource_def=None,
            all_resource_defs={},
            instance=self.instance,
            dagster_run=self.dagster_run,
        )

    def lifecycle(self, key_or_class: str | type[Any]) -> Lifecycle:
        """What was recorded in this run for a resource key or class."""
        return lifecycle_of(self._target.ledger.recordings_of(self.run_id), key_or_class)

    def open(
        self,
        resources: Any,
        /,
        *,
        key: str | None = None,
        resource_config: Mapping[str, Any] | None = None,
        check: bool = True,
        leak_audit: bool | None = None,
        check_secrets: bool | None = None,
        release_check: bool | None = None,
    ) -> OpenResources:
        """Initialize resources the way a run does; the context manager yields the live value(s).

        One resource yields its live value; a dict of key to resource yields a dict of live
        values (put a ``configure_at_launch()`` partial in the dict under its key, and its config
        in ``resource_config={key: {...}}``). On exit Dagster tears them down and the lifecycle
        rules are checked; with ``check=False`` they are recorded but not enforced.

        The private-state leak audit runs on each live copy after setup and after teardown;
        ``leak_audit=False`` skips it, ``check_secrets=True`` adds the secrets check, and
        ``release_check=True`` fails for files, sockets, threads and processes left open after
        teardown. All three default to the test's and the project's settings.
        """
        __tracebackhide__ = True
        named = as_named_resources(resources, key, what="run_context.open()")
        target = self._target
        return OpenResources(
            Initialization(
                target,
                named,
                resource_config=resource_config,
                check=check,
                single=not isinstance(resources, Mapping),
                opened_at=user_line() or Location("<unknown>", 0),
                settings=target.settings.overridden(
                    leak_audit=leak_audit, check_secrets=check_secrets, release_check=release_check
                ),
            )
        )

    def check(
        self,
        resource: Any,
        /,
        *,
        fault: Fault | None = None,
        key: str | None = None,
        use: Callable[[Any], object] | None = None,
    ) -> Lifecycle:
        """Open ``resource`` in this run with ``fault`` injected (see :func:`faults`), call
        ``use(live_value)`` inside, and assert every lifecycle rule and the leak audit. The
        injected failure is expected and swallowed; anything else fails."""
        __tracebackhide__ = True
        # Imported here, as audit() and materialize() do: a test loads what it uses
        # (hypothesis, for check and audit).
        from pytest_resources._faults import check_resource

        return check_resource(self._target, resource, fault=fault, key=key, use=use)


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
        """The test's default run, for the engine (the marked resources open in it)."""
        return self.new_target()

    @cached_property
    def default_run(self) -> Run:
        return Run(self.default_target)

    def new_target(self) -> RunTarget:
        return RunTarget(str(uuid.uuid4()), self._instance, self.ledger, self.settings)

    def new_run(self) -> Run:
        return Run(self.new_target())

    def release(self) -> None:
        """Drop the test's records and live values when it ends."""
        self.ledger.release()
        self.__dict__.pop("default_run", None)
        self.__dict__.pop("default_target", None)
        # What the leak audit cached from the test's resources goes with the test.
        forget_audited_forms()


class _WarmUpResource(dagster.ConfigurableResource):  # type: ignore[type-arg]
    """Opened once per session by :meth:`RunContext.warm_up`, with private state set in setup
    so that the leak audit builds every serialized form."""

    name: str = "warm-up"
    _session: str | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._session = "pytest-resources warm-up session"

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        self._session = None


class RunScope:
    """What ``run_context.run()`` returns: a context manager giving a fresh :class:`Run` for
    the ``with`` block, which raises at exit what the run broke."""

    def __init__(self, test_runs: TestRuns) -> None:
        self._test_runs = test_runs
        self._run: Run | None = None

    def __enter__(self) -> Run:
        self._run = self._test_runs.new_run()
        return self._run

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        __tracebackhide__ = True
        run = self._run
        if exc is not None or run is None:
            return
        # Raised inside the block and caught there, or never raised: this example is broken.
        ledger = run._target.ledger
        pending = ledger.unreported(run.run_id)
        if pending:
            ledger.mark_raised(*pending)
            raise report_problems(pending, limit=len(pending))


@contextlib.contextmanager
def _fresh_run_target(test: TestRuns) -> Iterator[RunTarget]:
    """A fresh run for the engine (``run_context.audit``), checked at exit as ``run()`` is."""
    __tracebackhide__ = True
    with RunScope(test) as run:
        yield run._target


def _refuse_default_run_under_given() -> None:
    """Every example of a ``@given`` test would open in the test's one default run, and the
    rules would see them all as one run (setup 112 times, not once)."""
    __tracebackhide__ = True
    hypothesis = sys.modules.get("hypothesis")
    if hypothesis is None or not hypothesis.currently_in_test_context():
        return
    raise ResourceUsageError(
        "run_context.open() inside @given opens every example in the test's one default run, "
        "so the lifecycle rules would count all examples as one run. Give each example its "
        "own run: `with run_context.run() as run, run.open(MyResource(...)) as live:` (or "
        "run_context.check(resource, fault=...), which does that)."
    )


class Session:
    """The plugin's side of ``run_context``, one per test session (per xdist worker): the
    session's Dagster instances and settings, the test that is running, the totals."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.totals = SessionTotals()
        self.run_context = RunContext(self)
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
        with warm_up.new_run().open(_WarmUpResource(), key="warm_up"):
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
        release_checked = test.ledger.release_checked
        test.release()
        if release_checked:
            # Records hold reference cycles (Dagster caches a resource definition on the live
            # copy), so what a broken resource left unclosed would otherwise be finalized, and
            # warn, in whichever later test the garbage collector runs. Finalized here, in its
            # own test, whose release check reported it already.
            del test
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ResourceWarning)
                gc.collect()

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


class RunContext:
    """The ``run_context`` fixture: real Dagster run contexts for the current test.

    ``open`` works in the test's default run; ``run()`` starts a fresh one (a new run id and
    its own records), which is what each example of a hypothesis test should use.
    """

    def __init__(self, session: Session) -> None:
        self._session = session

    @property
    def instance(self) -> dagster.DagsterInstance:
        """One ephemeral ``DagsterInstance`` per test session (per xdist worker)."""
        return self._session.instance

    @property
    def run_id(self) -> str:
        """The run id of the test's default run."""
        return self._session.current.default_run.run_id

    @property
    def init_context(self) -> InitResourceContext:
        """A real ``InitResourceContext`` for the test's default run."""
        return self._session.current.default_run.init_context

    def open(
        self,
        resources: Any,
        /,
        *,
        key: str | None = None,
        resource_config: Mapping[str, Any] | None = None,
        check: bool = True,
        leak_audit: bool | None = None,
        check_secrets: bool | None = None,
        release_check: bool | None = None,
    ) -> OpenResources:
        """Open resources in the test's default run; see :meth:`Run.open`."""
        __tracebackhide__ = True
        _refuse_default_run_under_given()
        return self._session.current.default_run.open(
            resources,
            key=key,
            resource_config=resource_config,
            check=check,
            leak_audit=leak_audit,
            check_secrets=check_secrets,
            release_check=release_check,
        )

    def run(self) -> RunScope:
        """Start a fresh run: a new run id and its own records.

        On exit it raises what the run broke (``LifecycleError``, ``PrivateStateLeak``), also
        when the test caught the error that came with it, so each hypothesis example fails on
        its own and hypothesis shrinks it to a minimal example."""
        __tracebackhide__ = True
        return RunScope(self._session.current)

    def check(
        self,
        resource: Any,
        /,
        *,
        fault: Fault | None = None,
        key: str | None = None,
        use: Callable[[Any], object] | None = None,
    ) -> Lifecycle:
        """:meth:`Run.check` in a fresh run: one hypothesis example, checked on its own."""
        __tracebackhide__ = True
        with self.run() as run:
            return run.check(resource, fault=fault, key=key, use=use)

    def audit(
        self,
        resource_class: type[Any],
        /,
        *,
        max_examples: int = 20,
        use: Callable[[Any], object] | None = None,
        **overrides: Any,
    ) -> AuditSummary:
        """``max_examples`` generated configs (``overrides`` as for :func:`resource_configs`),
        each run with no fault and under every fault place that applies, each run fresh and in a
        temporary working directory, against every rule and the leak audit; a broken one fails
        with hypothesis' minimal example. What to add first to an existing code base."""
        __tracebackhide__ = True
        from pytest_resources._audit import audit_resource_class  # loads hypothesis

        test = self._session.current
        summary = audit_resource_class(
            lambda: _fresh_run_target(test),
            resource_class,
            max_examples=max_examples,
            use=use,
            overrides=overrides,
        )
        test.ledger.audits.append(summary)
        return summary

    def lifecycle(self, key_or_class: str | type[Any]) -> Lifecycle:
        """What was recorded for a resource key or class in all of this test's runs."""
        return lifecycle_of(self._session.current.recordings, key_or_class)

    def materialize(
        self,
        assets_or_definitions_or_job: Any,
        /,
        *,
        resources: Mapping[str, Any] | None = None,
        executor: Literal["in_process", "multiprocess"] = "in_process",
        run_config: Mapping[str, Any] | None = None,
        start_method: Literal["forkserver", "spawn"] = "forkserver",
        raise_on_error: bool = False,
        check: bool = True,
        release_check: bool | None = None,
    ) -> RunResult:
        """Run assets, a Definitions or a job for real, in-process or with a process per step,
        recording every resource hook in every process of the run (docs/multiprocess.md).
        ``release_check=True`` checks, in each process, that what the resources' setups opened
        was released (the test's and the project's setting by default)."""
        __tracebackhide__ = True
        # Imported here: only the tests that run assets or jobs for real load it.
        from pytest_resources._multiprocess.materialize import materialize

        test = self._session.current
        return materialize(
            assets_or_definitions_or_job,
            ledger=test.ledger,
            settings=test.settings.overridden(release_check=release_check),
            instance=self.instance,
            multiprocess_session=self._session.multiprocess_session,
            resources=resources,
            executor=executor,
            run_config=run_config,
            start_method=start_method,
            raise_on_error=raise_on_error,
            check=check,
        )
