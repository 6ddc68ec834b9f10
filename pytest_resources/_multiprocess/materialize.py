"""Real Dagster runs: ``run_context.materialize(...)``, in-process or with a process per step.

An in-process run executes the job in the test process on the session's ephemeral instance,
while a :class:`~.step_process.ProcessRecorder` records every resource the run initializes.

A multiprocess run goes through ``dagster.execute_job`` on the session's persistent instance
(:class:`~._session.MultiprocessSession`), whose step processes record into files
(:mod:`.step_process`, :mod:`._wire`). After the run the test process reads those records back,
merges them with what its own process recorded (nothing, in a correct run), and the one pipeline
(:func:`~pytest_resources._problems.find_problems`) checks the rules per process.
"""

from __future__ import annotations

import dataclasses
import heapq
import importlib
import os
import shutil
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import dagster

from pytest_resources._dagster import ConfigurableResourceFactory, PartialResource
from pytest_resources._errors import ResourceUsageError
from pytest_resources._hooks import Location
from pytest_resources._initialization import user_frame
from pytest_resources._keys import check_keys
from pytest_resources._ledger import Ledger
from pytest_resources._multiprocess import step_process
from pytest_resources._multiprocess._facts import run_facts
from pytest_resources._multiprocess._references import dump_resources, reference
from pytest_resources._multiprocess._session import MultiprocessSession
from pytest_resources._multiprocess._wire import LeftOpenRecord, decode, to_event, to_leftover
from pytest_resources._multiprocess.jobs import build_job, definitions_for_values
from pytest_resources._multiprocess.result import RunResult
from pytest_resources._problems import find_problems
from pytest_resources._recording import Event, Recording, RegisteredResource
from pytest_resources._release_check import Leftover
from pytest_resources._release_watch import ReleaseWatch
from pytest_resources._settings import Settings
from pytest_resources._wrappers import recording_active

Executor = Literal["in_process", "multiprocess"]
StartMethod = Literal["forkserver", "spawn"]

_EXECUTORS = ("in_process", "multiprocess")
_START_METHODS = ("forkserver", "spawn")


@dataclass
class _Executed:
    """What one execution left: Dagster's result or the error it raised, the job it ran, and
    what other processes recorded."""

    job: dagster.JobDefinition
    instance: dagster.DagsterInstance
    result: Any = None
    error: BaseException | None = None
    run_ids: list[str] = field(default_factory=list)
    child_events: list[tuple[int, Event]] = field(default_factory=list)
    left_open: list[Leftover] = field(default_factory=list)


def materialize(
    target: Any,
    /,
    *,
    ledger: Ledger,
    settings: Settings,
    instance: dagster.DagsterInstance,
    multiprocess_session: Callable[[], MultiprocessSession],
    resources: Mapping[str, Any] | None = None,
    executor: Executor = "in_process",
    run_config: Mapping[str, Any] | None = None,
    start_method: StartMethod = "forkserver",
    raise_on_error: bool = False,
    check: bool = True,
) -> RunResult:
    """Run ``target`` (a list of assets, a Definitions or a job) for real; see
    :meth:`RunContext.materialize`."""
    __tracebackhide__ = True
    if executor not in _EXECUTORS:
        raise ResourceUsageError(
            f"run_context.materialize(): executor must be one of {_EXECUTORS}, got {executor!r}."
        )
    if start_method not in _START_METHODS:
        raise ResourceUsageError(
            "run_context.materialize(): start_method must be 'forkserver' or 'spawn' (Dagster "
            f"refuses 'fork'), got {start_method!r}."
        )
    given = dict(resources or {})
    check_keys(given, what="run_context.materialize()")
    kind, objects = _target_kind(target)
    frame = user_frame()
    name = frame.f_globals.get("__name__") if frame is not None else None
    caller = name if isinstance(name, str) else None
    location = Location(frame.f_code.co_filename, frame.f_lineno) if frame is not None else None
    recorder = step_process.ProcessRecorder()
    recorder.fallback_location = location
    ledger.release_checked = ledger.release_checked or settings.release_check
    ledger.copies_unseen = ledger.copies_unseen or settings.release_check
    config = dict(run_config or {})
    if executor == "in_process":
        executed = _execute_in_process(
            target, given, config, instance, recorder, settings, raise_on_error
        )
    else:
        executed = _execute_in_step_processes(
            kind,
            [reference(obj, caller) for obj in objects],
            given,
            config,
            multiprocess_session(),
            recorder,
            settings,
            start_method=start_method,
            raise_on_error=raise_on_error,
        )
    result, error = executed.result, executed.error
    run_id = (
        result.run_id if result is not None else (executed.run_ids[0] if executed.run_ids else "")
    )
    recording = _run_recording(
        run_id, executed.job, given, recorder, executed.child_events, location
    )
    ledger.recordings.append(recording)
    orchestrator_pid = os.getpid()
    problems = find_problems(
        recording,
        strict_detectors=settings.strict_detectors,
        facts=run_facts(
            result, orchestrator_pid=orchestrator_pid if executor == "multiprocess" else None
        ),
        left_open=executed.left_open,
    )
    if check:
        ledger.add(problems, run_id)
    if error is not None:
        ledger.noted(problems, error)
        raise error
    outcome = RunResult(
        result,
        executor=executor,
        recording=recording,
        orchestrator_pid=orchestrator_pid,
        problems=problems,
        definitions=definitions_for_values(kind, target, given),
        instance=executed.instance,
    )
    if problems and check:
        ledger.mark_raised(problems)
        failure = problems.error()
        failure.result = outcome  # type: ignore[union-attr]
        raise failure
    return outcome


def _execute_in_process(
    target: Any,
    given: dict[str, Any],
    run_config: dict[str, Any],
    instance: dagster.DagsterInstance,
    recorder: step_process.ProcessRecorder,
    settings: Settings,
    raise_on_error: bool,
) -> _Executed:
    executed = _Executed(
        build_job(target, given, step_process.executor_def("in_process")), instance
    )
    watch = ReleaseWatch.start(settings.release_allow) if settings.release_check else None
    if watch is not None:
        recorder.setup_observer = watch.attributor
    with recording_active(recorder):
        try:
            executed.result = executed.job.execute_in_process(
                run_config=run_config, instance=instance, raise_on_error=raise_on_error
            )
        except BaseException as error:
            executed.error = error
    if watch is not None:
        classes = {key: r.resource_class for key, r in recorder.resources.items()}
        executed.left_open = watch.finish(classes)
    if executed.result is not None:
        executed.run_ids = [executed.result.run_id]
    return executed


def _execute_in_step_processes(
    kind: str,
    references: list[list[str]],
    given: dict[str, Any],
    run_config: dict[str, Any],
    session: MultiprocessSession,
    recorder: step_process.ProcessRecorder,
    settings: Settings,
    *,
    start_method: StartMethod,
    raise_on_error: bool,
) -> _Executed:
    kwargs: dict[str, Any] = {
        "kind": kind,
        "references": references,
        "resources": dump_resources(given) if given else "",
        "executor": "multiprocess",
        "start_method": start_method,
        "paths": [path for path in sys.path if isinstance(path, str)],
    }
    if settings.release_check:
        allow = settings.release_allow
        kwargs["release_allow"] = [list(allow.paths), list(allow.thread_names)]
    before = set(os.listdir(session.events_dir))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # experimental in Dagster 1.8
        recon = dagster.build_reconstructable_job(
            step_process.__name__, step_process.load_job.__name__, reconstructable_kwargs=kwargs
        )
        executed = _Executed(recon.get_definition(), session.instance)
    with recording_active(recorder):
        try:
            executed.result = dagster.execute_job(
                recon,
                instance=session.instance,
                run_config=run_config,
                raise_on_error=raise_on_error,
            )
        except BaseException as error:
            executed.error = error
    run_ids = sorted(set(os.listdir(session.events_dir)) - before)
    if executed.result is not None and executed.result.run_id not in run_ids:
        run_ids.append(executed.result.run_id)
    executed.run_ids = run_ids
    classes = _classes(executed.job, given)
    for run_id in run_ids:
        events, left_open = read_process_records(session.events_dir, run_id, classes)
        executed.child_events.extend(events)
        executed.left_open.extend(left_open)
    return executed


def _target_kind(target: Any) -> tuple[str, list[Any]]:
    if isinstance(target, dagster.Definitions):
        return "definitions", [target]
    if isinstance(target, dagster.JobDefinition):
        return "job", [target]
    if isinstance(target, (str, bytes)) or not isinstance(target, Sequence):
        raise ResourceUsageError(
            "run_context.materialize() takes a list of assets, a Definitions or a job, got "
            f"{type(target).__name__}: {target!r}."
        )
    items = list(target)
    # What dagster.materialize takes: assets, and specs of assets the run only reads.
    accepted = (dagster.AssetsDefinition, dagster.AssetSpec, dagster.SourceAsset)
    bad = [item for item in items if not isinstance(item, accepted)]
    if not items or bad:
        raise ResourceUsageError(
            "run_context.materialize() takes a non-empty list of assets (@dg.asset, "
            "@dg.multi_asset, dg.AssetSpec, dg.SourceAsset), a Definitions or a job; got "
            f"{bad or items!r}."
        )
    return "assets", items


# --- the run's resources, as the rules see them -------------------------------------------------


def _top_level_resources(job: dagster.JobDefinition) -> dict[str, Any]:
    """The job's resources as the objects the user built, where they can be found."""
    found: dict[str, Any] = {}
    for key, definition in job.resource_defs.items():
        owner = getattr(getattr(definition, "resource_fn", None), "__self__", None)
        if isinstance(owner, (ConfigurableResourceFactory, PartialResource)):
            found[key] = owner
        elif isinstance(definition, (ConfigurableResourceFactory, PartialResource)):
            found[key] = definition
    return found


def _classes(job: dagster.JobDefinition, given: Mapping[str, Any]) -> dict[str, type[Any]]:
    """Key -> the test process's class, for events other processes recorded."""
    recording = Recording("")
    recording.register({**_top_level_resources(job), **given})
    return {key: registered.resource_class for key, registered in recording.resources.items()}


def _class_of(module: str, qualname: str) -> type[Any]:
    try:
        value: Any = importlib.import_module(module)
        for part in qualname.split("."):
            value = getattr(value, part)
    except Exception:
        value = None
    if isinstance(value, type):
        return value
    return type(qualname.rsplit(".", 1)[-1], (), {"__module__": module, "__qualname__": qualname})


def read_process_records(
    events_dir: str, run_id: str, classes: Mapping[str, type[Any]]
) -> tuple[list[tuple[int, Event]], list[Leftover]]:
    """The events the run's other processes wrote, with the time each happened, in order; what
    their resources' setups left open (the release check); and removes their files."""
    run_dir = os.path.join(events_dir, run_id)
    per_process: list[list[tuple[int, Event]]] = []
    left_open: list[Leftover] = []
    if not os.path.isdir(run_dir):
        return [], []
    for name in sorted(os.listdir(run_dir)):
        events: list[tuple[int, Event]] = []
        with open(os.path.join(run_dir, name), encoding="utf-8") as file:
            for line in file:
                if not line.strip():
                    continue
                record = decode(line)
                if isinstance(record, LeftOpenRecord):
                    left_open.append(to_leftover(record))
                    continue
                resource_class = classes.get(record.key) or _class_of(
                    record.class_module, record.class_qualname
                )
                events.append((record.time_ns, to_event(record, resource_class)))
        per_process.append(events)
    shutil.rmtree(run_dir, ignore_errors=True)
    return list(heapq.merge(*per_process, key=lambda item: item[0])), left_open


def _run_recording(
    run_id: str,
    job: dagster.JobDefinition,
    given: Mapping[str, Any],
    recorder: step_process.ProcessRecorder,
    child_events: list[tuple[int, Event]],
    location: Location | None,
) -> Recording:
    """One recording for the whole run: its resources as the test built them (keys, nesting,
    one instance reachable twice), and the events of every process in the order they happened."""
    recording = Recording(run_id)
    recording.register({**_top_level_resources(job), **given})
    for key, registered in recorder.resources.items():
        recording.resources.setdefault(key, registered)
    merged = heapq.merge(recorder.stamped, child_events, key=lambda item: item[0])
    recording.events = [
        dataclasses.replace(
            event,
            sequence=number,
            run_id=run_id or event.run_id,
            location=event.location or location,
        )
        for number, (_, event) in enumerate(merged, start=1)
    ]
    for event in recording.events:
        if event.key not in recording.resources:
            recording.resources[event.key] = RegisteredResource(event.key, event.resource_class)
    return recording
