"""What runs inside the step processes of a multiprocess run: the recording and the job loader.

A multiprocess run starts a process per step, and each re-imports the user's code: nothing the
test process patched in memory is there. Two Dagster-native ways in reach such a process:

* the instance. Every step process rebuilds the run's ``DagsterInstance`` from its
  ``InstanceRef``, and the session's ``dagster.yaml`` names :class:`RecordingInstance` of this
  module as its ``instance_class``, so this module is imported there. Its constructor switches
  the recording on for the life of the process (:func:`activate`): a :class:`ProcessRecorder`
  records the hooks of every resource the process initializes (see
  :mod:`pytest_resources._recording`) and writes each call to
  ``<events dir>/<run id>/<pid>.jsonl`` (:mod:`._wire`), which the test process reads back.
* the job. :func:`load_job` is the reconstructor of the run's ``ReconstructableJob``
  (``dagster.build_reconstructable_job``): it re-imports the user's assets, Definitions or job by
  module and name, and rebuilds the resources the test built from their pickles.

Nothing here does anything in a process whose instance is not a :class:`RecordingInstance`
configured by this plugin, nor in the test process that created it. Keep its imports light:
every step process pays for them.
"""

from __future__ import annotations

import base64
import multiprocessing.util
import os
import pickle
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from typing import IO, Any

import dagster

from pytest_resources._dagster import InstanceRef
from pytest_resources._hooks import Hook, Location, Outcome
from pytest_resources._multiprocess._wire import LeftOpenRecord, encode, event_record
from pytest_resources._multiprocess.jobs import build_job, import_reference
from pytest_resources._recording import Event, Recording, RegisteredResource, choose_registration
from pytest_resources._release_check import (
    AllowList,
    Attributor,
    ProcessState,
    take_snapshot,
    wait_for_release,
)
from pytest_resources._wrappers import activate as start_recording

# The key of this plugin's settings in dagster.yaml, passed to RecordingInstance's constructor.
SETTINGS_KEY = "pytest_resources"
# A step process's records file: <events dir>/<run id>/<pid><suffix>.
RECORDS_SUFFIX = ".jsonl"


class ProcessRecorder(Recording):
    """Records the hooks of every resource a run initializes in this process.

    A step process has not seen the test's resource objects, so resources are not registered
    up front by identity: a top-level resource is found through its ``InitResourceContext``
    (``context.resource_def`` looked up by identity in ``context.all_resource_defs``), and its
    nested resources are registered from it by identity, under ``parent.attribute`` keys as
    :meth:`Recording.register` names them.

    With ``events_dir`` every event is written, at once, to ``<events_dir>/<run id>/<pid>.jsonl``
    (a step process may die right after); without, events stay in memory with the time they
    happened (for the test process itself).
    """

    def __init__(self, events_dir: str | None = None) -> None:
        super().__init__(run_id="")
        self.events_dir = events_dir
        self.stamped: list[tuple[int, Event]] = []
        self._files: dict[str, IO[str]] = {}
        self._stamp_lock = threading.Lock()
        self._write_lock = threading.Lock()
        # Set by load_job when the test asked for the release check of a multiprocess run.
        self.release_allow: AllowList | None = None
        self._release_before: ProcessState | None = None

    # -- which resource an object being copied belongs to ---------------------------------------

    def registered_for(
        self, obj: Any, context: Any, parent: RegisteredResource | None
    ) -> RegisteredResource | None:
        try:
            resource_def = context.resource_def
            all_defs = context.all_resource_defs
        except Exception:  # an unbound context: not a run's initialization
            return None
        if resource_def is None:
            return None
        owner = getattr(getattr(resource_def, "resource_fn", None), "__self__", None)
        if obj is not owner:
            nested = self.registrations(obj)
            if nested:
                return choose_registration(nested, parent)
            if type(obj) is not getattr(resource_def, "configurable_resource_cls", None):
                return None  # a configure_at_launch() partial builds an object of this class
        key = next((name for name, value in all_defs.items() if value is resource_def), None)
        if key is None:
            return None
        run_id = _run_id(context)
        if run_id:
            self.run_id = run_id
        if self.release_allow is not None and self._release_before is None and self.events_dir:
            self._start_release_watch()
        known = self.registrations(obj)
        if known:
            return choose_registration(known, parent)
        # The same walk as for the test's own resources: nested keys, nesting order (rule 4).
        self.register({key: obj})
        return self.resources.get(key)

    # -- what was called ------------------------------------------------------------------------

    def keep(
        self,
        resource: RegisteredResource,
        hook: Hook,
        outcome: Outcome,
        exception: BaseException | None,
        location: Location | None,
        timing: tuple[int, int] = (0, 0),
    ) -> None:
        now = time.time_ns()
        with self._stamp_lock:
            sequence = len(self.stamped) + 1
            event = self.new_event(resource, hook, outcome, exception, location, sequence, timing)
            self.stamped.append((now, event))
            if self.events_dir is None:
                self.events.append(event)
                return
        self._write_line(event.run_id, encode(event_record(event, now)))

    def _write_line(self, run_id: str, line: str) -> None:
        with self._write_lock:
            handle = self._handle(run_id)
            handle.write(line)
            handle.flush()

    def _handle(self, run_id: str) -> IO[str]:
        handle = self._files.get(run_id)
        if handle is None:
            assert self.events_dir is not None
            run_dir = os.path.join(self.events_dir, run_id or "unknown-run")
            os.makedirs(run_dir, exist_ok=True)
            handle = open(  # noqa: SIM115  (kept open for the life of the process)
                os.path.join(run_dir, f"{os.getpid()}{RECORDS_SUFFIX}"), "a", encoding="utf-8"
            )
            self._files[run_id] = handle
        return handle

    # -- the release check in a step process ----------------------------------------------------

    def _start_release_watch(self) -> None:
        """Before this process's first resource of the run: what the process holds already.

        The events file is opened first, so that it is part of what was there before. The
        comparison runs as the process exits (multiprocessing runs its finalizers then, after
        Dagster tore the step's resources down), and reports only what a resource's setup
        opened: the rest of a step process is Dagster's.
        """
        with self._write_lock:
            self._handle(self.run_id)
        attributor = Attributor()
        self.setup_observer = attributor
        self._release_before = before = take_snapshot()
        multiprocessing.util.Finalize(
            None, self._finish_release_watch, args=(before, attributor), exitpriority=100
        )

    def _finish_release_watch(self, before: ProcessState, attributor: Attributor) -> None:
        found = attributor.attribute(
            wait_for_release(before, allow=self.release_allow or AllowList())
        )
        for leftover in found:
            if leftover.opened_by is not None:
                record = LeftOpenRecord(
                    time.time_ns(),
                    os.getpid(),
                    leftover.kind,
                    leftover.description,
                    leftover.opened_by,
                )
                self._write_line(self.run_id, encode(record))


def _run_id(context: Any) -> str | None:
    """The run id of an ``InitResourceContext`` without Dagster's deprecated accessors
    (``run_id`` and ``dagster_run`` warn since 1.13; ``run`` is missing before it)."""
    run = context.run if hasattr(type(context), "run") else context.dagster_run
    return run.run_id if run is not None else None


_activated: list[ProcessRecorder] = []


def activate(events_dir: str) -> ProcessRecorder:
    """Record every resource this process initializes from now on, into ``events_dir``."""
    if _activated:
        return _activated[0]
    recorder = ProcessRecorder(events_dir)
    start_recording(recorder)  # never deactivated: the process ends with its step
    _activated.append(recorder)
    return recorder


class RecordingInstance(dagster.DagsterInstance):
    """The session's instance for real runs; in a run's other processes, it records.

    ``dagster.yaml``::

        instance_class: {module: pytest_resources._multiprocess.step_process,
                         class: RecordingInstance}
        pytest_resources: {events_dir: ..., session_pid: ...}

    Dagster passes the ``pytest_resources`` mapping to the constructor. The test process that
    wrote it (``session_pid``) records in memory instead, only while it drives a run.
    """

    def __init__(
        self, *args: Any, pytest_resources: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        settings = dict(pytest_resources or {})
        self.pytest_resources_settings = settings
        events_dir = settings.get("events_dir")
        if events_dir and settings.get("session_pid") != os.getpid():
            activate(str(events_dir))

    @classmethod
    def config_schema(cls) -> dict[str, Any]:
        permissive: Any = dagster.Permissive
        return {SETTINGS_KEY: dagster.Field(permissive(), is_required=False)}

    @staticmethod
    def config_defaults(base_dir: str) -> Mapping[str, Any]:
        return InstanceRef.config_defaults(base_dir)


# --- rebuilding the run's job ----------------------------------------------------------------


def load_job(
    *,
    kind: str,
    references: Sequence[Sequence[str]],
    resources: str = "",
    executor: str = "multiprocess",
    start_method: str = "forkserver",
    paths: Sequence[str] = (),
    release_allow: Sequence[Sequence[str]] | None = None,
) -> dagster.JobDefinition:
    """The run's job, rebuilt in any process from importable references (the reconstructor that
    ``build_reconstructable_job`` names).

    ``kind`` is ``assets`` (``references`` name each asset), ``definitions`` or ``job`` (one
    reference); ``resources`` is the base64 pickle of the resources the test passed;
    ``release_allow`` (allowed paths, allowed thread names) asks step processes for the release
    check.
    """
    if release_allow is not None and _activated:
        # A step process of a run that asked for the release check: (paths, thread names).
        allowed_paths, allowed_threads = release_allow
        _activated[0].release_allow = AllowList(tuple(allowed_paths), tuple(allowed_threads))
    for path in reversed(paths):
        if path not in sys.path:
            sys.path.insert(0, path)
    objects = [import_reference(*reference) for reference in references]
    given = pickle.loads(base64.b64decode(resources)) if resources else {}
    target: Any = objects if kind == "assets" else objects[0]
    return build_job(target, given, executor_def(executor, start_method))


def executor_def(executor: str, start_method: str = "forkserver") -> dagster.ExecutorDefinition:
    if executor == "in_process":
        return dagster.in_process_executor
    start: dict[str, Any] = {"spawn": {}}
    if start_method == "forkserver":
        # Never the user's modules: the server lives as long as the test process, and a module
        # it preloaded would shadow a newer file of the same name.
        start = {"forkserver": {"preload_modules": ["dagster", __name__]}}
    return dagster.multiprocess_executor.configured({"start_method": start})
