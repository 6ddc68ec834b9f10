"""Real Dagster runs: ``run_context.materialize(...)``, in-process or with a process per step.

In-process runs execute the job in the test process on the session's ephemeral instance, while a
:class:`~pytest_resources._child.ProcessRecorder` records every resource the run initializes.

Multiprocess runs go through ``dagster.execute_job`` on a second, persistent instance that the
session creates on first use (the multiprocess executor refuses an ephemeral one) and removes at
its end. Its ``dagster.yaml`` names :class:`~pytest_resources._child.RecordingInstance`, which
every step process rebuilds from the run's ``InstanceRef``: that switches recording on there and
writes each hook call to ``<events dir>/<run id>/<pid>.jsonl``. After the run the test process
reads those files back into :class:`~pytest_resources._recording.Event` objects, merges them
with what its own process recorded (nothing, in a correct run), and checks the rules per process.
The job reaches the step processes through ``dagster.build_reconstructable_job``: module-level
definitions by module and name, and the test's resources pickled as their class and fields.
"""

from __future__ import annotations

import base64
import dataclasses
import heapq
import importlib.machinery
import io
import json
import os
import pickle
import shutil
import sys
import tempfile
import warnings
import weakref
from collections.abc import Mapping, Sequence
from types import FrameType
from typing import TYPE_CHECKING, Any, Literal

import dagster
from dagster._config.pythonic_config.resource import (
    ConfigurableResourceFactory,
    PartialResource,
)

from pytest_resources import _child
from pytest_resources._detectors import find_defects
from pytest_resources._errors import LifecycleError, ResourceUsageError
from pytest_resources._recording import (
    CREATE,
    SETUP,
    TEARDOWN,
    YIELD,
    YIELD_ENTER,
    YIELD_EXIT,
    Event,
    Location,
    Recording,
    RegisteredResource,
    defines,
    describe_exception,
    is_context_manager_resource,
    recording_active,
)
from pytest_resources._release_check import Leftover
from pytest_resources._rules import Violation, check_recording

if TYPE_CHECKING:
    from pytest_resources._run import Lifecycle, Problems, RunContext, TestRuns

Executor = Literal["in_process", "multiprocess"]
StartMethod = Literal["forkserver", "spawn"]

_EXECUTORS = ("in_process", "multiprocess")
_START_METHODS = ("forkserver", "spawn")
# The rule the orchestrating process breaks when it initializes a resource itself.
ORCHESTRATOR_RULE = 7
UNNEEDED_RULE = 8
TEARDOWN_FAILED = "Teardown of resources"
_DAGSTER_DIRECTORY = os.path.dirname(dagster.__file__) + os.sep


# --- the session's instance for multiprocess runs ----------------------------------------------


class _Session:
    """A persistent instance in a temporary directory, made when a test first asks for a
    multiprocess run; one per test session, that is one per xdist worker."""

    def __init__(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="pytest-resources-")
        self.events_dir = os.path.join(self.directory, "events")
        os.makedirs(self.events_dir)
        settings = {
            "instance_class": {"module": _child.__name__, "class": "RecordingInstance"},
            _child.SETTINGS_KEY: {"events_dir": self.events_dir, "session_pid": os.getpid()},
            "telemetry": {"enabled": False},
        }
        with open(os.path.join(self.directory, "dagster.yaml"), "w", encoding="utf-8") as file:
            json.dump(settings, file)  # JSON is YAML
        self.instance: dagster.DagsterInstance | None = dagster.DagsterInstance.from_config(
            self.directory
        )

    def close(self) -> None:
        if self.instance is not None:
            self.instance.dispose()
            self.instance = None
        shutil.rmtree(self.directory, ignore_errors=True)


_sessions: weakref.WeakKeyDictionary[RunContext, _Session] = weakref.WeakKeyDictionary()


def session_instance(run_context: RunContext) -> dagster.DagsterInstance:
    """The session's persistent instance for multiprocess runs, made on first use."""
    session = _sessions.get(run_context)
    if session is None or session.instance is None:
        session = _Session()
        _sessions[run_context] = session
        # The safety net: the session's own close() removes it first.
        weakref.finalize(run_context, session.close)
    assert session.instance is not None
    return session.instance


def close_session(run_context: RunContext) -> None:
    """Dispose the multiprocess instance and remove its directory (at the end of the session)."""
    session = _sessions.pop(run_context, None)
    if session is not None:
        session.close()


# --- what a run needs in a step process ---------------------------------------------------------


class _ResourcePickler(pickle.Pickler):
    """Pickles the test's resources as their class and public fields, as Dagster copies them."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, ConfigurableResourceFactory):
            values = dict(obj._get_non_default_public_field_values())
            return (_child.rebuild_resource, (type(obj), values))
        if isinstance(obj, PartialResource):
            return (_child.rebuild_partial, (obj.resource_cls, dict(obj.data)))
        if isinstance(obj, dagster.ResourceDefinition) and not isinstance(obj, type):
            module, name = _module_level_name(obj, _function_modules(obj.resource_fn))
            if module is None:
                raise pickle.PicklingError(
                    "a resource definition that is not a ConfigurableResource travels by its "
                    "module-level name, and none was found"
                )
            return (_child.import_reference, (module, name))
        return NotImplemented


def dump_resources(resources: Mapping[str, Any]) -> str:
    """The test's resources as base64 text for ``reconstructable_kwargs``; clear errors for
    what cannot travel to a step process."""
    for key, value in resources.items():
        buffer = io.BytesIO()
        try:
            _ResourcePickler(buffer).dump(value)
        except Exception as error:
            cls = type(value)
            raise ResourceUsageError(
                f"run_context.materialize(executor='multiprocess'): resource {key!r} "
                f"({cls.__module__}.{cls.__qualname__}) cannot be handed to the step processes "
                f"({describe_exception(error)}). A step process rebuilds each resource from "
                "its class and config: define the class at module level (not inside a test "
                "function), keep config values picklable, or run with executor='in_process'."
            ) from None
    buffer = io.BytesIO()
    _ResourcePickler(buffer).dump(dict(resources))
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _function_modules(function: Any) -> list[str]:
    inner = getattr(function, "decorated_fn", function)
    module = getattr(inner, "__module__", None)
    return [module] if isinstance(module, str) else []


def _defining_function(obj: Any) -> Any:
    """The user's function behind an asset or a job's first op, for its module and qualname."""
    for path in ("op", "node_def", "graph.node_defs"):
        try:
            value: Any = obj
            for attribute in path.split("."):
                value = getattr(value, attribute)
            if path == "graph.node_defs":
                value = next(iter(value))
            function = value.compute_fn
        except Exception:
            continue
        return getattr(function, "decorated_fn", function)
    return None


def _module_level_name(obj: Any, modules: Sequence[str]) -> tuple[str | None, str]:
    for module_name in dict.fromkeys(modules):
        module = sys.modules.get(module_name)
        if module is None:
            continue
        for name, value in list(vars(module).items()):
            if value is obj:
                return module_name, name
    return None, ""


def _describe(obj: Any) -> str:
    if isinstance(obj, dagster.AssetsDefinition):
        keys = ", ".join(key.to_user_string() for key in obj.keys)
        return f"asset {keys}"
    if isinstance(obj, dagster.Definitions):
        return "Definitions"
    name = getattr(obj, "name", None)
    return f"job {name!r}" if name else type(obj).__name__


def _reference(obj: Any, caller_module: str | None) -> list[str]:
    """``[module, name]`` by which a step process imports ``obj`` again, or a clear error."""
    function = _defining_function(obj)
    modules = _function_modules(function) if function is not None else []
    if caller_module:
        modules.append(caller_module)
    module_name, name = _module_level_name(obj, modules)
    what = _describe(obj)
    where = ""
    if function is not None and getattr(function, "__code__", None) is not None:
        code = function.__code__
        where = f" ({os.path.relpath(code.co_filename)}:{code.co_firstlineno})"
    if module_name is None:
        qualname = getattr(function, "__qualname__", "") if function is not None else ""
        if "<locals>" in qualname:
            outer = qualname.split(".<locals>", 1)[0]
            cause = f"is defined inside {outer}(){where}"
        elif getattr(function, "__name__", "") == "<lambda>":
            cause = f"is built from a lambda{where}"
        else:
            cause = f"is not a module-level name of any module the run can import{where}"
        raise ResourceUsageError(
            f"run_context.materialize(executor='multiprocess'): {what} {cause}. Each step "
            "process imports the run's definitions again by module and name, so move it to "
            "module level (in the test module or a module it imports), or run it with "
            "executor='in_process'."
        )
    _check_importable(module_name, what)
    return [module_name, name]


def _check_importable(module_name: str, what: str) -> None:
    module = sys.modules[module_name]
    if module_name == "__main__":
        raise ResourceUsageError(
            f"run_context.materialize(executor='multiprocess'): {what} is defined in __main__, "
            "which a step process cannot import; move it to a module."
        )
    filename = getattr(module, "__file__", None)
    parts = module_name.split(".")
    spec = importlib.machinery.PathFinder.find_spec(parts[0], sys.path)
    found = spec.origin if spec is not None else None
    if found and len(parts) > 1:
        base = os.path.dirname(found)
        candidates = [
            os.path.join(base, *parts[1:]) + ".py",
            os.path.join(base, *parts[1:], "__init__.py"),
        ]
        found = next((c for c in candidates if os.path.exists(c)), None)
    if not filename or not found or os.path.realpath(found) != os.path.realpath(filename):
        raise ResourceUsageError(
            f"run_context.materialize(executor='multiprocess'): {what} lives in module "
            f"{module_name!r} ({filename}), which a step process cannot import under that name "
            "from sys.path (pytest's --import-mode=importlib, or a module loaded from a file "
            "path, does this). Put the definitions in an importable module, or run with "
            "the default --import-mode=prepend."
        )


def _caller() -> tuple[str | None, Location | None]:
    """The module and line of the first frame outside this package: the test's call."""
    frame: FrameType | None = sys._getframe(1)
    package = os.path.dirname(__file__) + os.sep
    while frame is not None:
        if not frame.f_code.co_filename.startswith(package):
            name = frame.f_globals.get("__name__")
            location = Location(frame.f_code.co_filename, frame.f_lineno)
            return (name if isinstance(name, str) else None), location
        frame = frame.f_back
    return None, None


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


# --- exceptions from other processes -------------------------------------------------------------


class RemoteException(Exception):
    """An exception raised in another process of the run, as its type name, message and the
    user's frames of its traceback; its subclasses carry the original type's name."""

    __pytest_resources_traceback__: tuple[str, ...] = ()

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


_remote_types: dict[tuple[str, str], type[RemoteException]] = {}


def remote_exception(
    type_name: str, module: str, message: str, formatted: Sequence[str]
) -> RemoteException:
    cls = _remote_types.get((module, type_name))
    if cls is None:
        cls = type(
            type_name.rsplit(".", 1)[-1],
            (RemoteException,),
            {"__module__": module, "__qualname__": type_name},
        )
        _remote_types[(module, type_name)] = cls
    error = cls(message)
    error.__pytest_resources_traceback__ = tuple(formatted)
    return error


def read_process_events(
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
                data = json.loads(line)
                if "left_open" in data:
                    kind, description, opened_by = data["left_open"]
                    left_open.append(
                        Leftover(kind, f"{description}, in process {data['pid']}", opened_by)
                    )
                else:
                    events.append(_decode(data, classes))
        per_process.append(events)
    shutil.rmtree(run_dir, ignore_errors=True)
    return list(heapq.merge(*per_process, key=lambda item: item[0])), left_open


def _decode(data: Mapping[str, Any], classes: Mapping[str, type[Any]]) -> tuple[int, Event]:
    module, qualname = data["class"]
    resource_class = classes.get(data["key"]) or _class_of(module, qualname)
    exception = data.get("exception")
    location = data.get("location")
    return int(data["time_ns"]), Event(
        sequence=int(data["sequence"]),
        key=data["key"],
        resource_class=resource_class,
        hook=data["hook"],
        run_id=data["run_id"],
        pid=int(data["pid"]),
        outcome=data["outcome"],
        exception=(
            remote_exception(
                exception["type"], exception["module"], exception["message"], exception["traceback"]
            )
            if exception
            else None
        ),
        location=Location(location[0], int(location[1])) if location else None,
    )


# --- the result ---------------------------------------------------------------------------------


class RunResult:
    """The result of ``run_context.materialize``: Dagster's result, and what the run recorded.

    ``success``, ``run_id``, ``all_events`` and ``dagster_run`` are Dagster's. ``lifecycle(key)``
    is this run's records for a key or class, from every process; ``pids`` the processes that
    initialized a recorded resource; ``problems`` what the run broke (also when ``check=False``).
    """

    def __init__(
        self,
        result: Any,
        *,
        executor: Executor,
        recording: Recording,
        orchestrator_pid: int,
        problems: Problems,
        definitions: dagster.Definitions | None = None,
        instance: dagster.DagsterInstance | None = None,
    ) -> None:
        self.dagster_result = result
        self._definitions = definitions
        self._instance = instance
        self.executor = executor
        self.recording = recording
        self.orchestrator_pid = orchestrator_pid
        self.problems = problems

    @property
    def success(self) -> bool:
        return bool(self.dagster_result.success)

    @property
    def run_id(self) -> str:
        return str(self.dagster_result.run_id)

    @property
    def dagster_run(self) -> Any:
        return self.dagster_result.dagster_run

    @property
    def job_def(self) -> dagster.JobDefinition:
        return self.dagster_result.job_def  # type: ignore[no-any-return]

    @property
    def all_events(self) -> list[dagster.DagsterEvent]:
        return list(self.dagster_result.all_events)

    def events_of_type(self, event_type: str) -> list[dagster.DagsterEvent]:
        """Dagster's events of one type, e.g. ``"RESOURCE_INIT_SUCCESS"`` or ``"ENGINE_EVENT"``."""
        return [event for event in self.all_events if event.event_type_value == event_type]

    @property
    def teardown_failures(self) -> list[dagster.DagsterEvent]:
        """Dagster's "Teardown of resources [...] failed." engine events."""
        return [
            event
            for event in self.events_of_type("ENGINE_EVENT")
            if (event.message or "").startswith(TEARDOWN_FAILED)
        ]

    @property
    def step_pids(self) -> tuple[int, ...]:
        """The processes that initialized resources for a step (RESOURCE_INIT_SUCCESS)."""
        pids = (event.pid for event in self.events_of_type("RESOURCE_INIT_SUCCESS"))
        return tuple(dict.fromkeys(pid for pid in pids if pid is not None))

    @property
    def pids(self) -> tuple[int, ...]:
        """The processes in which a recorded resource hook ran, in order of first event."""
        return tuple(dict.fromkeys(event.pid for event in self.recording.events))

    def lifecycle(self, key_or_class: str | type[Any]) -> Lifecycle:
        from pytest_resources._run import _lifecycle_of

        return _lifecycle_of([self.recording], key_or_class)

    def output_for_node(self, node: str, output_name: str = "result") -> Any:
        """A step's output, loaded through its IO manager. After a multiprocess run Dagster
        re-initializes the run's resources in this process to load it (not recorded)."""
        if self.executor == "in_process":
            return self.dagster_result.output_for_node(node, output_name)
        asset_key = self._asset_key_of(node, output_name)
        if asset_key is not None:  # Dagster's own loader looks for it under the run's path
            return self.asset_value(asset_key)
        with self.dagster_result as opened:
            return opened.output_for_node(node, output_name)

    def _asset_key_of(self, node: str, output_name: str) -> dagster.AssetKey | None:
        if self._definitions is None:
            return None
        for assets_def in self._definitions.assets or ():
            if (
                isinstance(assets_def, dagster.AssetsDefinition)
                and assets_def.node_def.name == node
            ):
                key: dagster.AssetKey | None = assets_def.keys_by_output_name.get(output_name)
                return key
        return None

    def asset_value(self, asset_key: Any) -> Any:
        """An asset's materialized value. After a multiprocess run it is loaded through the
        asset's IO manager (``Definitions.load_asset_value``), which this process initializes for
        that (not recorded); an in-memory IO manager keeps nothing across processes."""
        if self.executor == "in_process":
            return self.dagster_result.asset_value(asset_key)
        if self._definitions is None:
            raise ResourceUsageError(
                "asset_value() after a multiprocess run of a job: load its outputs with "
                "output_for_node(node_name) instead."
            )
        return self._definitions.load_asset_value(asset_key, instance=self._instance)

    def __repr__(self) -> str:
        return (
            f"<RunResult {self.executor} run {self.run_id[:8]} "
            f"success={self.success} pids={list(self.pids)}>"
        )


# --- driving the run ----------------------------------------------------------------------------


def materialize(
    run_context: RunContext,
    target: Any,
    /,
    *,
    resources: Mapping[str, Any] | None = None,
    executor: Executor = "in_process",
    run_config: Mapping[str, Any] | None = None,
    start_method: StartMethod = "forkserver",
    raise_on_error: bool = False,
    check: bool = True,
    release_check: bool | None = None,
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
    test_runs: TestRuns = run_context._current
    given = dict(resources or {})
    bad_keys = [key for key in given if not isinstance(key, str) or not key.isidentifier()]
    if bad_keys:
        raise ResourceUsageError(
            "run_context.materialize(): resource keys must be Python identifiers, got "
            f"{bad_keys!r}."
        )
    kind, objects = _target_kind(target)
    caller, location = _caller()
    recorder = _child.ProcessRecorder()
    recorder.fallback_location = location
    error: BaseException | None = None
    result: Any = None
    instance = run_context.instance
    settings = test_runs.settings.overridden(release_check=release_check)
    test_runs.release_checked = test_runs.release_checked or settings.release_check
    left_open: list[Leftover] = []
    if executor == "in_process":
        job = _child.build_job(target, given, _child.executor_def("in_process"))
        from pytest_resources._run import ReleaseWatch

        watch = ReleaseWatch.start(settings.release_allow) if settings.release_check else None
        if watch is not None:
            recorder.setup_observer = watch.attributor
        with recording_active(recorder):
            try:
                result = job.execute_in_process(
                    run_config=dict(run_config or {}),
                    instance=run_context.instance,
                    raise_on_error=raise_on_error,
                )
            except BaseException as exc:
                error = exc
        if watch is not None:
            left_open = watch.finish({k: r.resource_class for k, r in recorder.resources.items()})
        run_ids = [result.run_id] if result is not None else []
        child_events: list[tuple[int, Event]] = []
    else:
        references = [_reference(obj, caller) for obj in objects]
        kwargs = {
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
        instance = session_instance(run_context)
        session = _sessions[run_context]
        before = set(os.listdir(session.events_dir))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # experimental in Dagster 1.8
            recon = dagster.build_reconstructable_job(
                _child.__name__, "load_job", reconstructable_kwargs=kwargs
            )
            job = recon.get_definition()
        with recording_active(recorder):
            try:
                result = dagster.execute_job(
                    recon,
                    instance=instance,
                    run_config=dict(run_config or {}),
                    raise_on_error=raise_on_error,
                )
            except BaseException as exc:
                error = exc
        run_ids = sorted(set(os.listdir(session.events_dir)) - before)
        if result is not None and result.run_id not in run_ids:
            run_ids.append(result.run_id)
        child_events = []
        classes = _classes(job, given)
        for run_id in run_ids:
            events, run_left_open = read_process_events(session.events_dir, run_id, classes)
            child_events.extend(events)
            left_open.extend(run_left_open)
    run_id = result.run_id if result is not None else (run_ids[0] if run_ids else "")
    recording = _run_recording(run_id, job, given, recorder, child_events, location)
    run = test_runs.new_run()
    run.run_id = run_id
    run.recordings.append(recording)
    test_runs.recordings.append(recording)
    problems = _problems(
        test_runs,
        recording,
        result,
        left_open,
        executor=executor,
        orchestrator_pid=os.getpid(),
        check=check,
    )
    if error is not None:
        if problems and hasattr(error, "add_note"):
            error.add_note(problems.report())
            test_runs.noted[id(problems)] = error
        raise error
    outcome = RunResult(
        result,
        executor=executor,
        recording=recording,
        orchestrator_pid=os.getpid(),
        problems=problems,
        definitions=_child.definitions_for_values(kind, target, given),
        instance=run_context.instance if executor == "in_process" else instance,
    )
    if problems and check:
        test_runs.raised.add(id(problems))
        failure = problems.error()
        failure.result = outcome  # type: ignore[attr-defined]
        raise failure
    return outcome


def _classes(job: dagster.JobDefinition, given: Mapping[str, Any]) -> dict[str, type[Any]]:
    """Key -> the test process's class, for events other processes recorded."""
    recording = Recording("")
    recording.register({**_top_level_resources(job), **given})
    return {key: registered.resource_class for key, registered in recording.resources.items()}


def _run_recording(
    run_id: str,
    job: dagster.JobDefinition,
    given: Mapping[str, Any],
    recorder: _child.ProcessRecorder,
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


def _problems(
    test_runs: TestRuns,
    recording: Recording,
    result: Any,
    left_open: list[Leftover],
    *,
    executor: Executor,
    orchestrator_pid: int,
    check: bool,
) -> Problems:
    from pytest_resources._run import Problems

    violations = list(check_recording(recording))
    violations.extend(find_defects(recording, strict=test_runs.settings.strict_detectors))
    if executor == "multiprocess":
        violations.extend(_orchestrator_violations(recording, orchestrator_pid))
        if result is not None:
            violations.extend(_unneeded_violations(recording, result, orchestrator_pid))
    if result is not None:
        violations.extend(_teardown_engine_events(recording, result, violations))
    problems = Problems(tuple(violations), (), tuple(left_open))
    if problems and check:
        test_runs.problems.append(problems)
    return problems


def _orchestrator_violations(recording: Recording, pid: int) -> list[Violation]:
    found = []
    for key, registered in recording.resources.items():
        events = tuple(e for e in recording.events if e.key == key and e.pid == pid)
        if not events:
            continue
        hooks = ", ".join(dict.fromkeys(event.hook for event in events))
        found.append(
            Violation(
                ORCHESTRATOR_RULE,
                key,
                registered.resource_class,
                f"the orchestrating process (pid {pid}) ran {hooks} in a multiprocess run; only "
                "the step processes initialize a run's resources.",
                "something in the test process initialized the resource while the run was "
                "driven (a sensor, hook or executor running in process, or code calling the "
                "resource's hooks by hand); let the steps' processes do it.",
                events,
                recording.run_id,
            )
        )
    return found


def _unneeded_violations(
    recording: Recording, result: Any, orchestrator_pid: int
) -> list[Violation]:
    """Resources set up in a step process whose steps do not need them (nor need a resource
    that depends on them): Dagster initializes only what a step requires, so something else did."""
    from dagster._core.execution.api import create_execution_plan
    from dagster._core.execution.resources_init import (
        get_required_resource_keys_for_step,
        resolve_resource_dependencies,
    )

    job = result.job_def
    steps_by_pid: dict[int, set[str]] = {}
    for event in result.all_events:
        if event.step_key and event.pid is not None and event.pid != orchestrator_pid:
            steps_by_pid.setdefault(event.pid, set()).add(event.step_key)
    if not steps_by_pid:
        return []
    plan = create_execution_plan(job, run_config=result.dagster_run.run_config)
    dependencies = resolve_resource_dependencies(job.resource_defs)
    found = []
    for pid, step_keys in steps_by_pid.items():
        needed: set[str] = set()
        for step_key in step_keys:
            needed |= get_required_resource_keys_for_step(job, plan.get_step_by_key(step_key), plan)
        pending = list(needed)
        while pending:  # what the needed resources need in turn
            for dependency in dependencies.get(pending.pop(), set()):
                if dependency not in needed:
                    needed.add(dependency)
                    pending.append(dependency)
        used = dict.fromkeys(e.key.split(".")[0] for e in recording.events if e.pid == pid)
        for key in used:
            if key in needed:
                continue
            events = tuple(e for e in recording.events if e.pid == pid and e.key == key)
            found.append(
                Violation(
                    UNNEEDED_RULE,
                    key,
                    events[0].resource_class,
                    f"{key!r} was set up in process {pid}, which ran step(s) "
                    f"{', '.join(sorted(step_keys))}; none of them needs it.",
                    "a step process initializes the resources its step requires; declare the "
                    "resource as a parameter of the asset or op that uses it rather than building "
                    "it inside the step.",
                    events,
                    recording.run_id,
                )
            )
    return found


def _teardown_engine_events(
    recording: Recording, result: Any, violations: list[Violation]
) -> list[Violation]:
    """Dagster's "Teardown of resources [...] failed." engine events not explained by a rule-5
    violation of a recorded resource in the same process (a function resource, an IO manager)."""
    explained = {(v.key, e.pid) for v in violations if v.rule == 5 for e in v.events}
    explained_pids = {pid for _, pid in explained}
    found = []
    for event in result.all_events:
        message = event.message or ""
        if event.event_type_value != "ENGINE_EVENT" or not message.startswith(TEARDOWN_FAILED):
            continue
        if event.pid in explained_pids:
            continue
        error = getattr(event.event_specific_data, "error", None)
        exception = None
        if error is not None:
            name = error.cls_name or "Exception"
            text = (error.message or "").strip().removeprefix(f"{name}:").strip()
            frames = [frame for frame in error.stack or () if _DAGSTER_DIRECTORY not in frame]
            exception = remote_exception(name, "builtins", text, [*frames, f"{name}: {text}\n"])
        listed = message[len(TEARDOWN_FAILED) :].strip().removesuffix(" failed.").strip("[] ")
        names = sorted(filter(None, listed.split(", ")))  # Dagster lists a set: any order
        keys = ", ".join(names)
        known = [k for k in names if k in recording.resources]
        cls = recording.resources[known[0]].resource_class if known else dagster.ResourceDefinition
        found.append(
            Violation(
                5,
                keys or "(unknown)",
                cls,
                f"Dagster reported in pid {event.pid}: {message}",
                "catch and handle errors while releasing resources; Dagster logs a failed "
                "teardown as an engine event and reports the run as a success.",
                tuple(e for e in recording.events if e.pid == event.pid),
                recording.run_id,
                exception,
            )
        )
    return found


# --- assertions -----------------------------------------------------------------------------------


def assert_once_per_process(lifecycle: Lifecycle, processes: int | None = None) -> None:
    """Each process that initialized the resource ran each of its lifecycle steps once: setup,
    and for a context-manager resource teardown and yield_for_execution's enter and exit. An
    overridden yield_for_execution that calls no setup or teardown of its own is counted by its
    enter and exit alone. With ``processes``, that many processes did."""
    __tracebackhide__ = True
    if not lifecycle.events:
        raise LifecycleError("the resource was never set up in any process of the recorded runs.")
    groups: dict[tuple[str, str, int], list[Event]] = {}
    for event in lifecycle.events:
        groups.setdefault((event.run_id, event.key, event.pid), []).append(event)
    lines = []
    bad = False
    for (run_id, key, pid), events in groups.items():
        counts = {hook: sum(1 for e in events if e.hook == hook) for hook in _COUNTED}
        expected = _expected_once(events[0].resource_class, counts)
        wrong = [hook for hook in expected if counts[hook] != 1]
        bad = bad or bool(wrong)
        shown = ", ".join(
            f"{hook} {counts[hook]}" for hook in _COUNTED if counts[hook] or hook in expected
        )
        mark = "   <- expected once" if wrong else ""
        lines.append(f"  run {run_id[:8]} pid {pid} {key!r}: {shown}{mark}")
    pids = {pid for _, _, pid in groups}
    if processes is not None and len(pids) != processes:
        bad = True
        lines.append(f"  {len(pids)} processes initialized it; expected {processes}.")
    if bad:
        raise LifecycleError(
            "not set up and torn down exactly once per process:\n" + "\n".join(lines)
        )


def _expected_once(cls: Any, counts: Mapping[str, int]) -> list[str]:
    """The hooks that must have run exactly once in one process of one run."""
    if not isinstance(cls, type) or not _is_cm(cls):
        return [SETUP]
    expected = [YIELD_ENTER, YIELD_EXIT] if counts[YIELD_ENTER] else []
    # Dagster's own yield_for_execution calls setup and teardown; an override calls those the
    # class defines (rules 1 and 2 say so when it does not).
    custom_yield = defines(cls, YIELD)
    if not custom_yield or defines(cls, SETUP):
        expected.append(SETUP)
    if not custom_yield or defines(cls, TEARDOWN):
        expected.append(TEARDOWN)
    return expected


_COUNTED = (SETUP, CREATE, YIELD_ENTER, YIELD_EXIT, TEARDOWN)


def _is_cm(cls: type[Any]) -> bool:
    try:
        return is_context_manager_resource(cls)
    except Exception:  # a stand-in class for one the test process could not import
        return False


def format_remote_traceback(exception: BaseException) -> list[str] | None:
    """The user's frames of an exception raised in another process, as formatted there."""
    formatted = getattr(exception, "__pytest_resources_traceback__", None)
    return list(formatted) if formatted else None
