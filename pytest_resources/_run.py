"""Run driving: resources are opened through Dagster's own initialization (``build_resources``).

``RunContext`` is the session-wide object behind the ``run_context`` fixture. It is session
scoped so that hypothesis' ``@given`` tests can request it; what belongs to one test lives in a
``TestRuns`` that the plugin swaps in for every test.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import inspect
import os
import re
import sys
import uuid
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import dagster
from dagster._config.pythonic_config.resource import (
    ConfigurableResourceFactory,
    PartialResource,
)
from dagster._core.definitions.scoped_resources_builder import ScopedResourcesBuilder
from dagster._core.execution.context.init import InitResourceContext
from dagster._core.storage.dagster_run import DagsterRun
from pydantic import PrivateAttr

from pytest_resources._detectors import UnusableLiveValue, find_defects, unusable_live_values
from pytest_resources._errors import (
    LifecycleError,
    PrivateStateLeak,
    ReleaseCheckUnavailable,
    ResourceUsageError,
)
from pytest_resources._leak_audit import (
    Leak,
    ResolvedConfig,
    RunStateWatch,
    SecretExposure,
    find_private_leaks,
    find_secret_exposures,
    find_yielded_leaks,
    format_leak_report,
)
from pytest_resources._recording import (
    CREATE,
    SETUP,
    TEARDOWN,
    YIELD_ENTER,
    YIELD_EXIT,
    Event,
    FaultPoint,
    Location,
    Recording,
    recording_active,
)
from pytest_resources._release_check import (
    DEFAULT_ALLOW,
    AllowList,
    Attributor,
    Leftover,
    attribute_warnings,
    collect_resource_warnings,
    format_leftovers,
    release_check_available,
    take_snapshot,
    unavailable_reason,
    wait_for_release,
)
from pytest_resources._rules import Violation, check_recording, format_violations

if TYPE_CHECKING:
    from pytest_resources._faults import AuditSummary, Fault
    from pytest_resources._multiprocess import RunResult

Finding: TypeAlias = Leak | SecretExposure

_JOB_NAME = "__pytest_resources__"
# Dagster added async yield_for_execution (and build_resources' event loop) after 1.8.
_BUILD_RESOURCES_TAKES_EVENT_LOOP = (
    "event_loop" in inspect.signature(dagster.build_resources).parameters
)


def default_key(resource_class: type[Any]) -> str:
    """The resource key for a class: snake_case of its name, without a trailing ``Resource``."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", resource_class.__name__)
    key = words.lower()
    if key.endswith("_resource"):
        key = key[: -len("_resource")]
    return key


def as_named_resources(resources: Any, key: str | None, *, what: str) -> dict[str, Any]:
    """Accept one resource or a mapping of key to resource; anything else is a clear error."""
    if isinstance(resources, Mapping):
        if key is not None:
            raise ResourceUsageError(
                f"{what}: key= names a single resource; a mapping already names its resources "
                f"by its keys ({', '.join(map(repr, resources))})."
            )
        bad_keys = [k for k in resources if not isinstance(k, str) or not k.isidentifier()]
        if bad_keys:
            raise ResourceUsageError(
                f"{what}: resource keys must be Python identifiers, got {bad_keys!r}."
            )
        return dict(resources)
    if isinstance(resources, type):
        raise ResourceUsageError(
            f"{what} takes a resource instance, got the class {resources.__name__}; "
            f"build it first: {resources.__name__}(field=value, ...)."
        )
    if isinstance(resources, PartialResource):
        raise ResourceUsageError(
            f"{what}: a configure_at_launch() partial needs its config from the run; open a "
            f"built instance instead: {resources.resource_cls.__name__}(field=value, ...)."
        )
    if not isinstance(resources, ConfigurableResourceFactory):
        raise ResourceUsageError(
            f"{what} takes a Dagster ConfigurableResource (or a dict of key to resource), "
            f"got {type(resources).__name__}: {resources!r}."
        )
    return {key or default_key(type(resources)): resources}


@dataclass(frozen=True)
class Lifecycle:
    """What was recorded for one resource key or class, in the order it happened."""

    events: tuple[Event, ...]

    def _count(self, hook: str) -> int:
        return sum(1 for event in self.events if event.hook == hook)

    @property
    def setup_calls(self) -> int:
        return self._count(SETUP)

    @property
    def teardown_calls(self) -> int:
        return self._count(TEARDOWN)

    @property
    def create_resource_calls(self) -> int:
        return self._count(CREATE)

    @property
    def yield_enters(self) -> int:
        return self._count(YIELD_ENTER)

    @property
    def yield_exits(self) -> int:
        return self._count(YIELD_EXIT)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(event.key for event in self.events))

    @property
    def hooks(self) -> tuple[str, ...]:
        """The hooks called, in order, e.g. ``("setup_for_execution", ...)``."""
        return tuple(event.hook for event in self.events)

    def __str__(self) -> str:
        return "\n".join(event.describe() for event in self.events) or "(no events)"

    def assert_once_per_process(self, processes: int | None = None) -> None:
        """Assert that each process of each run set the resource up once and, if Dagster tears
        it down, tore it down once; with ``processes``, that so many processes did."""
        __tracebackhide__ = True
        from pytest_resources._multiprocess import assert_once_per_process

        assert_once_per_process(self, processes)


def _lifecycle_of(recordings: list[Recording], key_or_class: str | type[Any]) -> Lifecycle:
    if isinstance(key_or_class, str):
        known = {key for r in recordings for key in r.resources}

        def matches(event: Event) -> bool:
            return event.key == key_or_class
    else:
        known_classes = {res.resource_class for r in recordings for res in r.resources.values()}
        known = {key_or_class.__name__} if key_or_class in known_classes else set()

        def matches(event: Event) -> bool:
            return event.resource_class is key_or_class

    if not known or (isinstance(key_or_class, str) and key_or_class not in known):
        opened = sorted({key for r in recordings for key in r.resources})
        name = key_or_class if isinstance(key_or_class, str) else key_or_class.__name__
        raise LookupError(
            f"no resource {name!r} was opened in this test; opened: {', '.join(opened) or 'none'}."
        )
    return Lifecycle(tuple(e for r in recordings for e in r.events if matches(e)))


def _new_dagster_run(run_id: str) -> DagsterRun:
    return DagsterRun(job_name=_JOB_NAME, run_id=run_id)


class Run:
    """One Dagster run: its own run id and records. Open resources in it with :meth:`open`."""

    def __init__(self, owner: TestRuns) -> None:
        self.owner = owner
        self.run_id = str(uuid.uuid4())
        self.recordings: list[Recording] = []
        self.problems: list[Problems] = []

    @property
    def instance(self) -> dagster.DagsterInstance:
        return self.owner.session.instance

    @cached_property
    def dagster_run(self) -> DagsterRun:
        return _new_dagster_run(self.run_id)

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
        return _lifecycle_of(self.recordings, key_or_class)

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
        return OpenResources(
            self,
            named,
            resource_config=resource_config,
            check=check,
            single=not isinstance(resources, Mapping),
            opened_at=_user_line() or Location("<unknown>", 0),
            settings=self.owner.settings.overridden(
                leak_audit=leak_audit, check_secrets=check_secrets, release_check=release_check
            ),
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
        from pytest_resources._faults import check_resource

        return check_resource(self, resource, fault=fault, key=key, use=use)


class OpenResources:
    """One initialization of a run's resources, as a context manager.

    A class rather than a generator so that a broken rule is raised from a frame pytest hides,
    pointing the traceback at the user's ``with`` line.
    """

    def __init__(
        self,
        run: Run,
        named: dict[str, Any],
        *,
        resource_config: Mapping[str, Any] | None = None,
        check: bool = True,
        single: bool = False,
        location: Location | None = None,
        raise_on_exit: bool = True,
        settings: Settings | None = None,
        unaudited: frozenset[str] = frozenset(),
        fault: FaultPoint | None = None,
        opened_at: Location | None = None,
    ) -> None:
        self._run = run
        self._named = named
        self._resource_config = {
            key: {"config": config} for key, config in (resource_config or {}).items()
        }
        self._check = check
        self._single = single
        self._raise_on_exit = raise_on_exit
        self._settings = settings = settings or run.owner.settings
        # Keys whose audit was switched off; nested resources follow their top-level key.
        self._unaudited = unaudited if settings.leak_audit else frozenset(named)
        self._leaks: list[Finding] = []
        # Per audited key: its resolved config, taken before setup (EnvVars read once, here),
        # and what tells its run state from what existed before the run.
        self._config: dict[str, ResolvedConfig] = {}
        self._watches: dict[str, RunStateWatch] = {}
        # Where the user's code opened it (None when the plugin did), and whether the test ended
        # without closing it.
        self._opened_at = opened_at
        self._forgotten = False
        self._release: ReleaseWatch | None = None
        self._unusable: list[UnusableLiveValue] = []
        self.recording = Recording(run.run_id, fallback_location=location, fault=fault)
        self.problems = Problems()
        if check and len(self._unaudited) < len(named):
            self.recording.on_ready.append(self._audit_after_setup)
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Any:
        __tracebackhide__ = True
        run = self._run
        self.recording.register(self._named)
        run.recordings.append(self.recording)
        run.owner.recordings.append(self.recording)
        if self._opened_at is not None:
            # Opened by the user's code, who must close it (the plugin closes a marker's).
            run.owner.open_resources.append(self)
        if self._check:
            self._before_setup()
        if self._check and self._settings.release_check:
            # Before anything of the run exists: the event loop below is the run's too.
            self._release = ReleaseWatch.start(self._settings.release_allow)
            run.owner.release_checked = True
            self.recording.setup_observer = self._release.attributor
        extra: dict[str, Any] = {}
        if _BUILD_RESOURCES_TAKES_EVENT_LOOP:
            loop = asyncio.new_event_loop()
            self._stack.callback(loop.close)
            extra["event_loop"] = loop
        try:
            self._stack.enter_context(recording_active(self.recording))
            built = self._stack.enter_context(
                dagster.build_resources(
                    self._named,
                    instance=run.instance,
                    resource_config=self._resource_config,
                    dagster_run=run.dagster_run,
                    **extra,
                )
            )
        except BaseException as error:
            self._stack.close()
            self._finish(error)
            raise
        values = {name: getattr(built, name) for name in self._named}
        # Judged now, so that no reference to the values outlives the test.
        self._unusable = unusable_live_values(values, strict=self._settings.strict_detectors)
        if self._check:
            self._audit_yielded(values)
        return values[next(iter(values))] if self._single else values

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        __tracebackhide__ = True
        try:
            self._stack.__exit__(exc_type, exc, traceback)
        except BaseException as error:
            self._finish(error)
            raise
        problems = self._finish(exc)
        if problems and exc is None and self._raise_on_exit:
            self._run.owner.raised.add(id(problems))
            raise problems.error()

    def forget(self) -> None:
        """Mark this as left open by the test: closing it now reports that."""
        self._forgotten = True
        self._raise_on_exit = False

    def _audited(self, key: str) -> bool:
        return key.split(".", 1)[0] not in self._unaudited

    def _before_setup(self) -> None:
        """Take each audited resource's resolved config, and what exists before the run."""
        for key, registered in self.recording.resources.items():
            if not self._audited(key):
                continue
            top_level_key = key.split(".", 1)[0]
            launch_config = self._resource_config.get(top_level_key, {}).get("config")
            config = ResolvedConfig.of(registered.source, resource_config=launch_config)
            self._config[key] = config
            if isinstance(registered.source, ConfigurableResourceFactory):
                self._watches[key] = RunStateWatch(registered.source, config)

    def _user_instance(self, key: str) -> Any:
        registered = self.recording.resources.get(key)
        source = registered.source if registered is not None else None
        return source if isinstance(source, ConfigurableResourceFactory) else None

    def _audit(self, key: str, live_copy: Any, when: str) -> None:
        user_instance = self._user_instance(key)
        self._leaks.extend(
            find_private_leaks(
                live_copy,
                key=key,
                when=when,
                user_instance=user_instance,
                audit_user_instance=when == "after teardown",
                resolved_config=self._config.get(key),
            )
        )
        if self._settings.check_secrets:
            self._leaks.extend(
                find_secret_exposures(live_copy, key=key, when=when, user_instance=user_instance)
            )

    def _audit_after_setup(self, key: str, live_copy: Any) -> None:
        if self._audited(key):
            self._audit(key, live_copy, "after setup")
            watch = self._watches.get(key)
            if watch is not None:
                watch.after_setup(live_copy)

    def _audit_yielded(self, values: Mapping[str, Any]) -> None:
        """What a top-level resource handed to ops, when that is not its live copy. (A nested
        resource's sits in its parent's field, which the parent's audit walks.)"""
        live_copies = dict(self.recording.live_copies)
        for key, value in values.items():
            live_copy = live_copies.get(key)
            if live_copy is None or value is live_copy or not self._audited(key):
                continue
            user_instance = self._user_instance(key)
            self._leaks.extend(
                find_yielded_leaks(
                    live_copy,
                    value,
                    key=key,
                    when="after setup",
                    resource_class=type(user_instance) if user_instance is not None else None,
                    resolved_config=self._config.get(key),
                )
            )

    def _finish(self, error: BaseException | None) -> Problems:
        """Check the rules and audit after teardown; beside an error in flight the problems
        become a note, never the headline."""
        if self._check:
            for key, live_copy in self.recording.live_copies:
                if self._audited(key):
                    self._audit(key, live_copy, "after teardown")
            for key, watch in self._watches.items():
                self._leaks.extend(watch.after_teardown(key))
        # What the run held (its private values, as run state to look for) goes with the run.
        self._watches.clear()
        self._config.clear()
        left_open = (
            self._release.finish(
                {key: r.resource_class for key, r in self.recording.resources.items()}
            )
            if self._release is not None
            else []
        )
        defects = find_defects(
            self.recording, self._unusable, strict=self._settings.strict_detectors
        )
        owner = self._run.owner
        if self in owner.open_resources:
            owner.open_resources.remove(self)
        never_exited = (f"run_context.open() at {self._opened_at}",) if self._forgotten else ()
        problems = owner.add(
            self.recording,
            self._leaks,
            left_open,
            check=self._check,
            defects=defects,
            never_exited=never_exited,
        )
        self.problems = problems
        if problems:
            self._run.problems.append(problems)
        if problems and error is not None and hasattr(error, "add_note"):
            error.add_note(problems.report())
            self._run.owner.noted[id(problems)] = error
        return problems


@dataclass(frozen=True, eq=False)
class Problems:
    """What one initialization broke: lifecycle rules, and private state seen in config."""

    violations: tuple[Violation, ...] = ()
    leaks: tuple[Finding, ...] = ()
    left_open: tuple[Leftover, ...] = ()
    # Where resources were opened and never closed by the test (the plugin closed them).
    never_exited: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.violations or self.leaks or self.left_open or self.never_exited)

    def report(self) -> str:
        parts = [
            f"{where} was entered and never exited: the test ended with its resources still "
            "set up, and their teardown ran only then. Use it as a context manager: "
            "`with run_context.open(...) as live:`."
            for where in self.never_exited
        ]
        if self.violations:
            parts.append(format_violations(self.violations))
        if self.left_open:
            parts.append(format_leftovers(self.left_open))
        if self.leaks:
            parts.append(format_leak_report(self.leaks))
        return "\n\n".join(parts)

    def error(self) -> AssertionError:
        """A broken rule or something left open is a LifecycleError; leaks alone are a
        PrivateStateLeak."""
        lifecycle = self.violations or self.left_open or self.never_exited
        return (LifecycleError if lifecycle else PrivateStateLeak)(self.report())


def report_problems(problems: list[Problems], *, limit: int) -> AssertionError:
    """One error for a test's problems: the newest ``limit`` initializations spelled out (a
    hypothesis test replays its minimal example last) and a count of the rest."""
    shown = problems[-limit:]
    merged = Problems(
        tuple(v for p in shown for v in p.violations),
        tuple(leak for p in shown for leak in p.leaks),
        tuple(item for p in shown for item in p.left_open),
        tuple(where for p in shown for where in p.never_exited),
    )
    error = merged.error()
    if len(problems) > limit:
        error.args = (
            f"{error.args[0]}\n\n(+{len(problems) - limit} more runs of this test broke rules "
            "or leaked private state, not shown)",
        )
    return error


@dataclass(frozen=True)
class Settings:
    """The project's and the test's choices for the checks that can be switched off."""

    leak_audit: bool = True
    check_secrets: bool = False
    release_check: bool = False
    strict_detectors: bool = False
    release_allow: AllowList = DEFAULT_ALLOW

    def overridden(self, **choices: bool | None) -> Settings:
        """A copy with the choices that were made (not None)."""
        made: dict[str, Any] = {name: value for name, value in choices.items() if value is not None}
        return dataclasses.replace(self, **made)


class ReleaseWatch:
    """What the process holds before a run opens its resources, to compare after teardown."""

    def __init__(self, allow: AllowList) -> None:
        self.allow = allow
        self.attributor = Attributor()
        self._warnings = collect_resource_warnings(collect_garbage=False)
        self._found_warnings = self._warnings.__enter__()
        self._before = take_snapshot()

    @classmethod
    def start(cls, allow: AllowList) -> ReleaseWatch:
        """Start watching; where /proc is missing only threads can be compared, and a warning
        says so rather than letting the check pass silently."""
        if not release_check_available():
            warnings.warn(
                ReleaseCheckUnavailable(f"pytest-resources: {unavailable_reason()}"), stacklevel=3
            )
        return cls(allow)

    def finish(self, resource_classes: Mapping[str, type[Any]] | None = None) -> list[Leftover]:
        """What is left open; a warning raised in the setup code of one of ``resource_classes``
        (key to class) is put on that key."""
        left_open = self.attributor.attribute(wait_for_release(self._before, allow=self.allow))
        self._warnings.__exit__(None, None, None)
        return [*left_open, *attribute_warnings(self._found_warnings, resource_classes or {})]


@dataclass
class TestRuns:
    """Everything one test recorded: its runs, and what they broke."""

    session: RunContext
    nodeid: str
    settings: Settings = field(default_factory=Settings)
    recordings: list[Recording] = field(default_factory=list)
    problems: list[Problems] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    # ids of problems raised at a run's exit, and of those the test's report already showed:
    # the end of the test reports the rest, so a test that swallows the error still fails.
    raised: set[int] = field(default_factory=set)
    reported: set[int] = field(default_factory=set)
    # id of problems -> the exception that carries them as a note (Python 3.11+).
    noted: dict[int, BaseException] = field(default_factory=dict)
    audits: list[AuditSummary] = field(default_factory=list)
    # Whether a run of this test watched what its resources released (the release check).
    release_checked: bool = False
    # Initializations entered and not yet exited, oldest first.
    open_resources: list[OpenResources] = field(default_factory=list)

    @cached_property
    def default_run(self) -> Run:
        return self.new_run()

    def new_run(self) -> Run:
        run = Run(self)
        self.runs.append(run)
        return run

    def unreported(self) -> list[Problems]:
        return [problems for problems in self.problems if id(problems) not in self.reported]

    def shown_by(self, problems: Problems, error: BaseException) -> bool:
        """Whether ``error``, failing the test, already shows ``problems``."""
        if isinstance(error, (LifecycleError, PrivateStateLeak)) and id(problems) in self.raised:
            return True
        return self.noted.get(id(problems)) is error

    def release(self) -> None:
        """Drop the test's records and live values when it ends (see Recording.release)."""
        for recording in self.recordings:
            recording.release()
        self.recordings.clear()
        self.problems.clear()
        self.runs.clear()
        self.noted.clear()
        self.open_resources.clear()
        self.__dict__.pop("default_run", None)

    def mark_reported(self, problems: list[Problems]) -> None:
        self.reported.update(map(id, problems))

    def close_forgotten(self) -> None:
        """Exit, newest first, what the test entered and never exited: teardown always runs,
        and the test fails for it."""
        while self.open_resources:
            opened = self.open_resources[-1]
            opened.forget()
            with contextlib.suppress(Exception):
                opened.__exit__(None, None, None)
            if opened in self.open_resources:  # its exit failed before it could finish
                self.open_resources.remove(opened)

    def add(
        self,
        recording: Recording,
        leaks: list[Finding],
        left_open: list[Leftover],
        *,
        check: bool,
        defects: list[Violation] | None = None,
        never_exited: tuple[str, ...] = (),
    ) -> Problems:
        if not check:
            problems = Problems(never_exited=never_exited)
            if problems:
                self.problems.append(problems)
            return problems
        fault = recording.fault
        violations = tuple(
            violation
            for violation in [*check_recording(recording), *(defects or ())]
            # An injected teardown failure is the test's doing, not the resource's.
            if fault is None or not fault.is_injected(violation.exception)
        )
        problems = Problems(violations, tuple(leaks), tuple(left_open), never_exited)
        if problems:
            self.problems.append(problems)
        return problems


@dataclass
class SessionTotals:
    """What the session checked, for the summary at the end of the run."""

    tests: int = 0
    runs: int = 0
    resources: int = 0
    hook_calls: int = 0
    pids: set[int] = field(default_factory=set)
    runs_with_problems: int = 0
    # Runs that broke a rule in tests marked xfail: what those tests expect, not news.
    expected_runs_with_problems: int = 0
    audited_examples: int = 0

    def add(self, test: TestRuns, *, expected_to_fail: bool = False) -> None:
        if not test.recordings:
            return
        self.tests += 1
        self.runs += len({recording.run_id for recording in test.recordings})
        self.resources += sum(len(recording.resources) for recording in test.recordings)
        self.hook_calls += sum(len(recording.events) for recording in test.recordings)
        self.pids.update(event.pid for r in test.recordings for event in r.events)
        if expected_to_fail:
            self.expected_runs_with_problems += len(test.problems)
        else:
            self.runs_with_problems += len(test.problems)
        self.audited_examples += sum(summary.examples for summary in test.audits)

    def as_dict(self) -> dict[str, Any]:
        """Plain data, for an xdist worker to send to the controller."""
        numbers = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {**numbers, "pids": sorted(self.pids)}

    def merge(self, other: Mapping[str, Any]) -> None:
        """Add a worker's totals (from :meth:`as_dict`)."""
        for name, value in other.items():
            if name == "pids":
                self.pids.update(value)
            elif hasattr(self, name):
                setattr(self, name, getattr(self, name) + value)

    def summary(self) -> str:
        text = (
            f"{_count(self.tests, 'test')} opened {_count(self.resources, 'resource')} in "
            f"{_count(self.runs, 'run')} ({_count(len(self.pids), 'process', 'processes')}), "
            f"{_count(self.hook_calls, 'lifecycle call')} recorded and checked"
        )
        if self.audited_examples:
            text += f", {self.audited_examples} generated configs audited under injected faults"
        broken, expected = self.runs_with_problems, self.expected_runs_with_problems
        if broken:
            text += f"; {_count(broken, 'run')} broke a rule"
        if expected:
            text += f"; {_count(expected, 'run')} broke a rule in tests expected to fail (xfail)"
        return text


def _user_line() -> Location | None:
    """The innermost line of the caller's code (outside this package) on the stack."""
    package = os.path.dirname(__file__) + os.sep
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame = frame.f_back  # type: ignore[assignment]
    return None if frame is None else Location(frame.f_code.co_filename, frame.f_lineno)


def _count(number: int, noun: str, plural: str | None = None) -> str:
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


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
    """``run_context.run()``: a fresh run for the ``with`` block, its problems raised at exit."""

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
        test_runs, run = self._test_runs, self._run
        if exc is not None or run is None:
            return
        # Raised inside the block and caught there, or never raised: this example is broken.
        pending = [p for p in run.problems if id(p) not in test_runs.reported]
        if pending:
            test_runs.raised.update(map(id, pending))
            raise report_problems(pending, limit=len(pending))


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

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.totals = SessionTotals()
        self._test: TestRuns | None = None
        self._instance: dagster.DagsterInstance | None = None
        # Whether a multiprocess run made the session's second, persistent instance.
        self._multiprocess_used = False

    # -- the session's instance -----------------------------------------------------------------

    @property
    def instance(self) -> dagster.DagsterInstance:
        """One ephemeral ``DagsterInstance`` per test session (per xdist worker)."""
        if self._instance is None:
            self._instance = dagster.DagsterInstance.ephemeral()
        return self._instance

    def warm_up(self) -> None:
        """Pay the session's one-time costs up front (the instance, Dagster's lazy imports), so
        that the first example of a hypothesis test does not blow its deadline."""
        # One whole audited open of a resource of our own, outside any test: Dagster compiles
        # each of its record classes' constructors on first use and keeps the locals of the
        # frame that called it for good; if that were a frame of a test's run, that test's
        # live values would outlive it.
        warm_up = TestRuns(self, "pytest-resources warm-up", Settings(check_secrets=True))
        with warm_up.new_run().open(_WarmUpResource(), key="warm_up"):
            pass
        warm_up.release()

    def close(self) -> None:
        if self._instance is not None:
            self._instance.dispose()
            self._instance = None
        if self._multiprocess_used:
            from pytest_resources._multiprocess import close_session

            close_session(self)

    # -- the current test -----------------------------------------------------------------------

    def begin_test(self, nodeid: str, settings: Settings | None = None) -> TestRuns:
        self._test = TestRuns(self, nodeid, settings or self.settings)
        return self._test

    def end_test(self, *, expected_to_fail: bool = False) -> None:
        test, self._test = self._test, None
        if test is None:
            return
        self.totals.add(test, expected_to_fail=expected_to_fail)
        test.release()
        if test.release_checked:
            # Records hold reference cycles (Dagster caches a resource definition on the live
            # copy), so what a broken resource left unclosed would otherwise be finalized, and
            # warn, in whichever later test the garbage collector runs. Finalized here, in its
            # own test, whose release check reported it already.
            del test
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ResourceWarning)
                gc.collect()

    @property
    def _current(self) -> TestRuns:
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

    @property
    def run_id(self) -> str:
        """The run id of the test's default run."""
        return self._current.default_run.run_id

    @property
    def init_context(self) -> InitResourceContext:
        """A real ``InitResourceContext`` for the test's default run."""
        return self._current.default_run.init_context

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
        return self._current.default_run.open(
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
        return RunScope(self._current)

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
        from pytest_resources._faults import audit_resource_class

        summary = audit_resource_class(
            self, resource_class, max_examples=max_examples, use=use, overrides=overrides
        )
        self._current.audits.append(summary)
        return summary

    def lifecycle(self, key_or_class: str | type[Any]) -> Lifecycle:
        """What was recorded for a resource key or class in all of this test's runs."""
        return _lifecycle_of(self._current.recordings, key_or_class)

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
        from pytest_resources._multiprocess import materialize

        if executor == "multiprocess":
            self._multiprocess_used = True
        return materialize(
            self,
            assets_or_definitions_or_job,
            resources=resources,
            executor=executor,
            run_config=run_config,
            start_method=start_method,
            raise_on_error=raise_on_error,
            check=check,
            release_check=release_check,
        )
