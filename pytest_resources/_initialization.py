"""One initialization of a run's resources through Dagster's own ``build_resources``.

:class:`Initialization` records the hooks Dagster calls, audits each live copy after setup and
after teardown, watches what the resources release, and at exit turns the recording into
problems (:func:`~pytest_resources._problems.find_problems`) entered in the test's ledger. It
knows its run only as a :class:`RunTarget`: an id, the instance, the test's ledger and settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from types import FrameType, TracebackType
from typing import Any

import dagster
from dagster import DagsterRun, InitResourceContext

from pytest_resources._dagster import ConfigurableResourceFactory, ScopedResourcesBuilder
from pytest_resources._hooks import Location
from pytest_resources._leak_audit import (
    NotInspected,
    ResolvedConfig,
    RunStateWatch,
    describe_error,
    find_private_leaks,
    find_secret_exposures,
    find_yielded_leaks,
    shared_across_runs,
)
from pytest_resources._ledger import Ledger
from pytest_resources._live_values import UnusableLiveValue, unusable_live_values
from pytest_resources._problems import Finding, Problems, find_problems
from pytest_resources._recording import FaultPoint, Recording
from pytest_resources._release_watch import ReleaseWatch
from pytest_resources._settings import Settings
from pytest_resources._wrappers import recording_active

_JOB_NAME = "__pytest_resources__"
# Dagster added async yield_for_execution (and build_resources' event loop) after 1.8.
_BUILD_RESOURCES_TAKES_EVENT_LOOP = (
    "event_loop" in inspect.signature(dagster.build_resources).parameters
)
_PACKAGE_DIRECTORY = os.path.dirname(__file__) + os.sep


def user_frame() -> FrameType | None:
    """The innermost frame of the caller's code (outside this package) on the stack."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIRECTORY):
        frame = frame.f_back
    return frame


def user_line() -> Location | None:
    """The line of :func:`user_frame`."""
    frame = user_frame()
    return None if frame is None else Location(frame.f_code.co_filename, frame.f_lineno)


@dataclass(eq=False, repr=False)
class RunTarget:
    """What an initialization needs of its run: its id, the session's instance, and the
    test's ledger and settings."""

    run_id: str
    instance: dagster.DagsterInstance
    ledger: Ledger
    settings: Settings

    @cached_property
    def dagster_run(self) -> DagsterRun:
        return DagsterRun(job_name=_JOB_NAME, run_id=self.run_id)

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

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.run_id[:8]}>"


class Initialization:
    """One initialization of a run's resources, as a context manager.

    A class rather than a generator so that a broken rule is raised from a frame pytest hides,
    pointing the traceback at the user's ``with`` line.
    """

    def __init__(
        self,
        run: RunTarget,
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
        self._settings = settings = settings or run.settings
        # Keys whose audit was switched off; nested resources follow their top-level key.
        self._unaudited = unaudited if settings.leak_audit else frozenset(named)
        self._leaks: list[Finding] = []
        self._not_inspected: list[NotInspected] = []
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
        run.ledger.recordings.append(self.recording)
        if self._opened_at is not None:
            # Opened by the user's code, who must close it (the plugin closes a marker's).
            run.ledger.open_initializations.append(self)
        if self._check and self._settings.release_check:
            # Before anything of the run exists: the event loop below is the run's too.
            self._release = ReleaseWatch.start(self._settings.release_allow)
            run.ledger.release_checked = True
            self.recording.setup_observer = self._release.attributor
        extra: dict[str, Any] = {}
        if _BUILD_RESOURCES_TAKES_EVENT_LOOP:
            loop = asyncio.new_event_loop()
            self._stack.callback(loop.close)
            extra["event_loop"] = loop
        try:
            if self._check:
                self._before_setup()
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
        try:
            values = {name: getattr(built, name) for name in self._named}
            # Judged now, so that no reference to the values outlives the test.
            self._unusable = unusable_live_values(values, strict=self._settings.strict_detectors)
            if self._check:
                self._audit_yielded(values)
        except BaseException as error:
            # The resources are set up: whatever failed here, their teardown still runs.
            self.__exit__(type(error), error, error.__traceback__)
            raise
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
            self._run.ledger.mark_raised(problems)
            raise problems.error()

    def forget(self) -> None:
        """Mark this as left open by the test: closing it now reports that."""
        self._forgotten = True
        self._raise_on_exit = False

    def _audited(self, key: str) -> bool:
        return key.split(".", 1)[0] not in self._unaudited

    def _before_setup(self) -> None:
        """Take each audited resource's resolved config, and what exists before the run."""
        __tracebackhide__ = True
        for key, registered in self.recording.resources.items():
            if not self._audited(key):
                continue
            top_level_key = key.split(".", 1)[0]
            launch_config = self._resource_config.get(top_level_key, {}).get("config")
            source = registered.source
            # Outside the audit's guard: a misspelled declaration is the user's TypeError.
            shared = (
                shared_across_runs(type(source))
                if isinstance(source, ConfigurableResourceFactory)
                else None
            )
            with self._inspecting(key, "before setup"):
                config = ResolvedConfig.of(source, resource_config=launch_config)
                self._config[key] = config
                if shared is not None:
                    self._watches[key] = RunStateWatch(source, config, shared, self._run.run_id)

    @contextlib.contextmanager
    def _inspecting(self, key: str, when: str) -> Iterator[None]:
        """Where the audit inspects the user's objects, often inside Dagster's initialization: an
        exception from there would become a failed setup of the user's resource (and skip its
        teardown), so it is kept, and reported as an audit that could not be done."""
        try:
            yield
        except Exception as error:
            registered = self.recording.resources.get(key)
            self._not_inspected.append(
                NotInspected(
                    key,
                    registered.resource_class.__qualname__ if registered else "?",
                    "every private value (the leak audit failed on this resource)",
                    when,
                    describe_error(error),
                )
            )

    def _user_instance(self, key: str) -> Any:
        registered = self.recording.resources.get(key)
        source = registered.source if registered is not None else None
        return source if isinstance(source, ConfigurableResourceFactory) else None

    def _audit(self, key: str, live_copy: Any, when: str) -> None:
        user_instance = self._user_instance(key)
        with self._inspecting(key, when):
            self._leaks.extend(
                find_private_leaks(
                    live_copy,
                    key=key,
                    when=when,
                    user_instance=user_instance,
                    audit_user_instance=when == "after teardown",
                    resolved_config=self._config.get(key),
                    not_inspected=self._not_inspected,
                )
            )
        if self._settings.check_secrets:
            with self._inspecting(key, when):
                self._leaks.extend(
                    find_secret_exposures(
                        live_copy, key=key, when=when, user_instance=user_instance
                    )
                )

    def _audit_after_setup(self, key: str, live_copy: Any) -> None:
        if self._audited(key):
            self._audit(key, live_copy, "after setup")
            watch = self._watches.get(key)
            if watch is not None:
                with self._inspecting(key, "after setup"):
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
            with self._inspecting(key, "after setup"):
                self._leaks.extend(
                    find_yielded_leaks(
                        live_copy,
                        value,
                        key=key,
                        when="after setup",
                        resource_class=type(user_instance) if user_instance is not None else None,
                        resolved_config=self._config.get(key),
                        not_inspected=self._not_inspected,
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
                with self._inspecting(key, "after teardown"):
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
        ledger = self._run.ledger
        if self._release is not None and self._release.holds_anything_new:
            ledger.watch_finalization(live_copy for _key, live_copy in self.recording.live_copies)
        if self in ledger.open_initializations:
            ledger.open_initializations.remove(self)
        never_exited = (f"run_context.open() at {self._opened_at}",) if self._forgotten else ()
        if self._check:
            problems = find_problems(
                self.recording,
                strict_detectors=self._settings.strict_detectors,
                unusable=self._unusable,
                leaks=self._leaks,
                left_open=left_open,
                never_exited=never_exited,
                not_inspected=self._not_inspected,
            )
        else:
            problems = Problems(never_exited=never_exited)
        ledger.not_inspected.extend(self._not_inspected)
        ledger.add(problems, self._run.run_id)
        self.problems = problems
        if error is not None:
            ledger.noted(problems, error)
        self.recording.close()
        self._named = {}
        self._unusable = []
        self._leaks = []
        return problems
