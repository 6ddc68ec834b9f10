"""The facade: ``run_context`` (:class:`RunContext`), the runs it starts (:class:`Run`,
through :class:`RunScope`), what ``open`` returns (:class:`OpenResources`).

``run_context`` is session scoped so that hypothesis' ``@given`` tests can request it; it is a
view over the plugin's :class:`~pytest_resources._session.Session`, which swaps in a
``TestRuns`` for every test. The public classes hold only what a user calls: everything here
delegates to the engine below it: ``_initialization`` (one ``open``), ``_faults`` and ``_audit``
(``check`` and ``audit``), ``_multiprocess`` (``materialize``).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import dagster
from dagster import DagsterRun, InitResourceContext

from pytest_resources._environ import in_temporary_directory
from pytest_resources._errors import ResourceUsageError
from pytest_resources._hooks import Location
from pytest_resources._initialization import Initialization, RunTarget, user_line
from pytest_resources._keys import as_named_resources
from pytest_resources._lifecycle import Lifecycle, lifecycle_of
from pytest_resources._problems import report_problems
from pytest_resources._session import Session, TestRuns

if TYPE_CHECKING:
    from pytest_resources._audit import AuditSummary
    from pytest_resources._faults import Fault
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

    @property
    def init_context(self) -> InitResourceContext:
        """A real ``InitResourceContext`` bound to this run and the session's instance."""
        return self._target.init_context

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


class RunScope:
    """What ``run_context.run()`` returns: a context manager giving a fresh :class:`Run` for
    the ``with`` block, which raises at exit what the run broke."""

    def __init__(self, test_runs: TestRuns) -> None:
        self._test_runs = test_runs
        self._run: Run | None = None

    def __enter__(self) -> Run:
        self._run = Run(self._test_runs.new_target())
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


class RunContext:
    """The ``run_context`` fixture: real Dagster run contexts for the current test.

    ``open`` works in the test's default run; ``run()`` starts a fresh one (a new run id and
    its own records), which is what each example of a hypothesis test should use.
    """

    def __init__(self, session: Session) -> None:
        self._session = session

    def _default_run(self) -> Run:
        return Run(self._session.current.default_target)

    @property
    def instance(self) -> dagster.DagsterInstance:
        """One ephemeral ``DagsterInstance`` per test session (per xdist worker)."""
        return self._session.instance

    @property
    def run_id(self) -> str:
        """The run id of the test's default run."""
        return self._default_run().run_id

    @property
    def init_context(self) -> InitResourceContext:
        """A real ``InitResourceContext`` for the test's default run."""
        return self._default_run().init_context

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
        return self._default_run().open(
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
        """:meth:`Run.check` in a fresh run and a fresh temporary working directory: one
        hypothesis example, checked on its own, writing nothing into the project."""
        __tracebackhide__ = True
        with self.run() as run, in_temporary_directory("pytest-resources-check-"):
            return run.check(resource, fault=fault, key=key, use=use)

    def audit(
        self,
        resource_class: type[Any],
        /,
        *,
        max_examples: int = 20,
        use: Callable[[Any], object] | None = None,
        setup_calls: Iterable[str] = (),
        **overrides: Any,
    ) -> AuditSummary:
        """``max_examples`` generated configs (``overrides`` as for :func:`resource_configs`),
        each run with no fault and under every fault place that applies, each run fresh and in a
        temporary working directory, against every rule and the leak audit; a broken one fails
        with hypothesis' minimal example. ``setup_calls`` names callables ("pkg.module.func")
        that the ``setup_call`` place makes fail while the resource's setup runs. What to add
        first to an existing code base."""
        __tracebackhide__ = True
        from pytest_resources._audit import audit_resource_class  # loads hypothesis

        test = self._session.current
        summary = audit_resource_class(
            lambda: _fresh_run_target(test),
            resource_class,
            max_examples=max_examples,
            use=use,
            overrides=overrides,
            setup_calls=tuple(setup_calls),
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
