"""Lifecycle recording: every hook call of every resource a recorded run initializes.

Dagster never sets up the user's instance. For each resource it initializes it copies the
instance (``_resolve_and_update_nested_resources``, then ``with_replaced_resource_context`` and
``_with_updated_values``) and calls the hooks on the last copy. We follow those copies and record
the hooks called on them, without giving any object another class and without writing into any
object:

* Dagster's two copy methods are wrapped once per process. While a recording is active, a copy
  of an object that belongs to it is entered in the recording's table of copies (by identity,
  held alive there); outside a recording the wrappers only pass through.
* The four hooks are wrapped on the class that defines them, and only while a recording that
  initializes a resource of that class is active (:func:`_acquire_hooks`, counted, so nested and
  overlapping recordings share one wrapper; the last one out restores the class's own
  attribute). The wrapper records only a call made on a copy in a recording's table, and only at
  the outermost definition (a ``super()`` call inside an override is part of the same call).
  Everything else, another thread's resource or a plain instance, goes straight to the user's
  method.

Why this is safe: ``type(copy)`` is the user's class, no class is created, so
``__init_subclass__``, class keywords, type-keyed registries and ``__subclasses__()`` see what
they see under plain Dagster; copies hold nothing extra, so ``vars()``, equality, pickling and
``model_copy`` are unchanged. Dagster's ``_is_cm_resource_cls`` compares a class's hooks with
``ConfigurableResourceFactory``'s: a wrapper replaces the one attribute that every class
resolving to it sees, so that comparison gives the same answer while wrapped.
"""

from __future__ import annotations

import contextlib
import contextvars
import enum
import functools
import importlib.util
import os
import sys
import threading
import time
import traceback
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import FrameType, TracebackType
from typing import Any, Literal, Protocol, TypeVar

import dagster
from dagster._config.pythonic_config.resource import (
    ConfigurableResourceFactory,
    PartialResource,
)
from dagster._core.execution import resources_init

from pytest_resources._plain_data import NotPlainData, frozen, remember


class Hook(str, enum.Enum):
    """A lifecycle call: a hook Dagster calls on a resource's copy, as it is named there, and
    the two halves of the context manager ``yield_for_execution`` returns, as they are recorded.
    Equal to its name as a string, so ``event.hook == "setup_for_execution"`` holds."""

    SETUP = "setup_for_execution"
    TEARDOWN = "teardown_after_execution"
    CREATE = "create_resource"
    YIELD = "yield_for_execution"
    YIELD_ENTER = "yield_for_execution enter"
    YIELD_EXIT = "yield_for_execution exit"

    def __str__(self) -> str:  # the name, also in f-strings on every Python version
        return self.value


# The methods Dagster calls on a resource's copy, wrapped while a recording is active.
HOOKS = (Hook.SETUP, Hook.TEARDOWN, Hook.CREATE, Hook.YIELD)

Outcome = Literal["returned", "raised"]


def exception_message(exception: BaseException) -> str:
    """``str(exception)``, or a stand-in when its ``__str__`` raises: a report is always
    produced, whatever a user's exception does."""
    try:
        return str(exception)
    except Exception:
        return f"<unprintable {type(exception).__name__}>"


def describe_exception(exception: BaseException) -> str:
    """``Type: message``, as Python shows an exception."""
    message = exception_message(exception)
    return f"{type(exception).__name__}: {message}" if message else type(exception).__name__


@dataclass(frozen=True, slots=True)
class Location:
    """Where in the user's code a hook was called from."""

    filename: str
    lineno: int

    def __str__(self) -> str:
        try:
            shown = os.path.relpath(self.filename)
        except ValueError:  # another drive on Windows
            shown = self.filename
        if shown.startswith(".."):
            shown = self.filename
        return f"{shown}:{self.lineno}"


@dataclass(frozen=True, slots=True)
class Event:
    """One recorded lifecycle call, kept until its test ends (slotted: a test records thousands).

    ``sequence`` is its place in the run (from 1); ``key`` the resource key, ``resource_class``
    its class; ``hook`` the call; ``run_id`` the run it belongs to; ``pid`` the process that made
    it; ``outcome`` and ``exception`` how it ended (``exception`` is the object raised, its type
    and message what a report shows); ``location`` the user's line that led to it;
    ``started_ns`` when it began (``time.time_ns()``, comparable across the run's processes) and
    ``duration_ns`` how long it took (0 for both in records made before they were kept).
    """

    sequence: int
    key: str
    resource_class: type[Any]
    hook: Hook
    run_id: str
    pid: int
    outcome: Outcome
    exception: BaseException | None
    location: Location | None
    started_ns: int = 0
    duration_ns: int = 0

    def describe(self) -> str:
        outcome: str = self.outcome
        if self.exception is not None:
            outcome = f"raised {describe_exception(self.exception)}"
        where = f"  at {self.location}" if self.location else ""
        return f"{self.key:<14} {self.hook:<27} {outcome}  pid {self.pid}{where}"


@dataclass(frozen=True)
class RegisteredResource:
    """A resource the recording expects Dagster to initialize, under the key it was given."""

    key: str
    resource_class: type[Any]
    parent_key: str | None = None
    # The object the user built (a resource or a configure_at_launch() partial).
    source: Any = None


@dataclass(frozen=True)
class FailedTeardown:
    """A resource's teardown that raised where Dagster swallows it: Dagster's own teardown of
    the resource under a top-level key (a function resource's code after its ``yield`` has no
    hook to record; ``build_resources`` does not even log the failure)."""

    key: str
    exception: BaseException


@dataclass
class Recording:
    """The records of one resource initialization: one ``open``, one ``build_resources``."""

    run_id: str
    fallback_location: Location | None = None
    events: list[Event] = field(default_factory=list)
    resources: dict[str, RegisteredResource] = field(default_factory=dict)
    # (parent key, child key): the child must be set up before the parent, torn down after it.
    nesting: list[tuple[str, str]] = field(default_factory=list)
    # (class, keys): one instance reachable under several keys, so Dagster sets it up as often.
    shared: list[tuple[type[Any], tuple[str, ...]]] = field(default_factory=list)
    # Top-level keys of a function resource (@dg.resource, @dg.io_manager): key -> its function.
    function_resources: dict[str, Callable[..., Any]] = field(default_factory=dict)
    # Teardowns that raised where Dagster swallows the error, seen for every kind of resource.
    failed_teardowns: list[FailedTeardown] = field(default_factory=list)
    # Copies Dagster made and set up, with the key they serve: the live state, for audits.
    live_copies: list[tuple[str, Any]] = field(default_factory=list)
    # Called with (key, live copy) as soon as a resource is set up, while it holds its state.
    on_ready: list[Callable[[str, Any], None]] = field(default_factory=list)
    # A failure to inject into the hooks (pytest_resources._faults), or None.
    fault: FaultPoint | None = None
    # Told around every setup, to learn what each resource's setup opened (_release_check).
    setup_observer: SetupObserver | None = None
    # id of an object the user built -> its registrations (several when it is reachable twice).
    _by_object_id: dict[int, list[RegisteredResource]] = field(default_factory=dict)
    _keep_alive: list[Any] = field(default_factory=list)
    # id of one of Dagster's copies -> (the copy, kept alive so the id stays its own; its tag).
    _copies: dict[int, tuple[Any, _Tag]] = field(default_factory=dict)
    # Classes whose hooks this recording holds wrapped; None while it is not active.
    _hooked: set[type[Any]] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def register(self, resources: Mapping[str, Any]) -> None:
        """Learn the resources of the run and how they nest, before Dagster initializes them.

        Top-level resources first, then their nested resources, breadth first. An instance
        reachable under several keys is registered under each, since Dagster initializes it once
        for each; :attr:`shared` lists it.
        """
        top_level_keys = {id(value): key for key, value in resources.items()}
        pending: list[tuple[str, Any, str | None]] = [
            (key, value, None) for key, value in resources.items()
        ]
        while pending:
            key, value, parent_key = pending.pop(0)
            if parent_key is not None:
                self.nesting.append((parent_key, key))
            if not self._register_one(key, value, parent_key):
                continue
            for attribute, nested in value.nested_resources.items():
                if isinstance(nested, PartialResource) and id(nested) in top_level_keys:
                    # Resolved from the run's top-level resources, where it is registered.
                    self.nesting.append((key, top_level_keys[id(nested)]))
                elif isinstance(nested, (ConfigurableResourceFactory, PartialResource)):
                    pending.append((f"{key}.{attribute}", nested, key))
        self.shared = [
            (found[0].resource_class, tuple(registered.key for registered in found))
            for found in self._by_object_id.values()
            if len(found) > 1
        ]

    def _register_one(self, key: str, value: Any, parent_key: str | None) -> bool:
        """Register one resource; False for what has no hooks to record."""
        if isinstance(value, PartialResource):
            # A partial builds a fresh instance inside its resource function, so it is found by
            # its resource definition (cached on the partial) rather than by object identity.
            identity: Any = value.get_resource_definition()
            resource_class = value.resource_cls
        elif isinstance(value, ConfigurableResourceFactory):
            identity = value
            resource_class = type(value)
        else:
            # Plain values and function resources have no hooks to record; a function of the
            # user's (not Dagster's wrapper of a plain value) is what a broken rule names.
            if isinstance(value, dagster.ResourceDefinition) and not _is_dagsters(
                value.resource_fn
            ):
                self.function_resources[key] = value.resource_fn
            return False
        registered = RegisteredResource(key, resource_class, parent_key, value)
        self._by_object_id.setdefault(id(identity), []).append(registered)
        self._keep_alive.append(identity)
        self.resources[key] = registered
        if self._hooked is not None:
            self._hook(resource_class)
        return True

    def registered_for(
        self, obj: Any, context: Any, parent: RegisteredResource | None
    ) -> RegisteredResource | None:
        """The registration ``obj``, about to be copied by Dagster, is initialized under.
        ``parent`` is the resource whose nested resources Dagster is initializing, if any."""
        found = self._by_object_id.get(id(obj))
        if found is None:
            try:
                resource_def = context.resource_def
            except Exception:  # an unbound context (direct invocation) has no definition
                return None
            found = self._by_object_id.get(id(resource_def))
            if found is None:
                return None
        return choose_registration(found, parent)

    def registrations(self, obj: Any) -> list[RegisteredResource]:
        """The registrations of an object the user built (several when it is reachable twice)."""
        return self._by_object_id.get(id(obj), [])

    def adopt(self, copy: Any, tag: _Tag) -> None:
        """Remember that ``copy``, one of Dagster's copies, serves ``tag``'s resource."""
        self._copies[id(copy)] = (copy, tag)

    def tag_of(self, obj: Any) -> _Tag | None:
        entry = self._copies.get(id(obj))
        return entry[1] if entry is not None and entry[0] is obj else None

    # -- hooks wrapped while active -------------------------------------------------------------

    def _hook(self, resource_class: type[Any]) -> None:
        assert self._hooked is not None
        if resource_class not in self._hooked:
            _acquire_hooks(resource_class)
            self._hooked.add(resource_class)

    def activate(self) -> None:
        """Wrap the hooks of the registered classes; called before Dagster initializes them."""
        _install_copy_wrappers()
        self._hooked = set()
        for registered in list(self.resources.values()):
            self._hook(registered.resource_class)
        _active_recordings.append(self)

    def deactivate(self) -> None:
        """Restore the classes and let go of Dagster's intermediate copies."""
        if self in _active_recordings:
            _active_recordings.remove(self)
        for resource_class in self._hooked or ():
            _release_hooks(resource_class)
        self._hooked = None
        self._copies.clear()

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
        """Enter one call of ``hook`` on ``resource``'s copy, ``timing`` its start
        (``time.time_ns()``) and duration (a step process's recording writes it out instead)."""
        with self._lock:
            event = self.new_event(
                resource, hook, outcome, exception, location, len(self.events) + 1, timing
            )
            self.events.append(event)

    def new_event(
        self,
        resource: RegisteredResource,
        hook: Hook,
        outcome: Outcome,
        exception: BaseException | None,
        location: Location | None,
        sequence: int,
        timing: tuple[int, int] = (0, 0),
    ) -> Event:
        return Event(
            sequence,
            resource.key,
            resource.resource_class,
            hook,
            self.run_id,
            os.getpid(),
            outcome,
            exception,
            location or self.fallback_location,
            *timing,
        )

    @contextlib.contextmanager
    def setting_up(self, key: str) -> Iterator[None]:
        observer = self.setup_observer
        if observer is None:
            yield
            return
        observer.before_setup(key)
        try:
            yield
        finally:
            observer.after_setup(key)

    def close(self) -> None:
        """Keep only what the test's report and ``lifecycle()`` read once the run's rules are
        checked: the events and each key's class. The rest (the live copies, the objects the
        user built, the listeners that hold the initialization and Dagster's whole run with it)
        would otherwise survive every later run of the test, and every collection of the
        garbage collector would walk it again."""
        self.resources = {
            key: RegisteredResource(key, registered.resource_class, registered.parent_key)
            for key, registered in self.resources.items()
        }
        self.failed_teardowns = []
        self.function_resources = {}
        self.live_copies = []
        self.on_ready = []
        self._by_object_id = {}
        self._keep_alive = []
        self.fault = None
        self.setup_observer = None

    def release(self) -> None:
        """Let go of everything recorded, once its test has ended. The records form reference
        cycles (a recorded exception's frames hold the recording), so without this they would
        wait for the garbage collector, and an unclosed file of a broken resource would warn in
        whichever later test the collector happens to run."""
        self.close()
        self.events.clear()
        self.resources.clear()

    def resource_ready(self, key: str, live_copy: Any) -> None:
        self.live_copies.append((key, live_copy))
        for listener in self.on_ready:
            listener(key, live_copy)


def _is_dagsters(function: Any) -> bool:
    return str(getattr(function, "__module__", None)).split(".", 1)[0] == "dagster"


def choose_registration(
    found: list[RegisteredResource], parent: RegisteredResource | None
) -> RegisteredResource:
    """Of an instance's registrations, the one under the parent being initialized."""
    parent_key = parent.key if parent is not None else None
    return next((r for r in found if r.parent_key == parent_key), found[0])


class SetupObserver(Protocol):
    def before_setup(self, key: str) -> None: ...

    def after_setup(self, key: str) -> None: ...


class FaultPoint(Protocol):
    def fire_at(self, hook: Hook, key: str) -> None:
        """Raise the injected failure if ``hook`` of the resource ``key`` is where it goes."""

    def is_injected(self, error: BaseException | None) -> bool:
        """Whether ``error`` is (or was caused by) the injected failure."""


@dataclass(frozen=True, slots=True)
class _Tag:
    recording: Recording
    resource: RegisteredResource


# Recordings whose resources are being initialized right now; usually zero or one.
_active_recordings: list[Recording] = []
# The resource whose nested resources Dagster is initializing in this thread, if any.
_initializing_parent: contextvars.ContextVar[_Tag | None] = contextvars.ContextVar(
    "pytest_resources_initializing_parent", default=None
)


@contextlib.contextmanager
def recording_active(recording: Recording) -> Iterator[Recording]:
    """Record the hooks Dagster calls on ``recording``'s resources while inside."""
    recording.activate()
    try:
        yield recording
    finally:
        recording.deactivate()


def _tag_of(obj: Any) -> _Tag | None:
    for recording in reversed(_active_recordings):
        tag = recording.tag_of(obj)
        if tag is not None:
            return tag
    return None


def _registered_tag(obj: Any, context: Any) -> _Tag | None:
    parent = _initializing_parent.get()
    for recording in reversed(_active_recordings):
        same_recording_parent = (
            parent.resource if parent and parent.recording is recording else None
        )
        registered = recording.registered_for(obj, context, same_recording_parent)
        if registered is not None:
            return _Tag(recording, registered)
    return None


# --- where the user's code called from -------------------------------------------------------

import _pytest  # noqa: E402  (pytest and pluggy frames are never the user's code)
import pluggy  # noqa: E402
import pytest  # noqa: E402

_PACKAGE_DIRECTORY = os.path.dirname(__file__) + os.sep
# Where the plugin opens resources itself (a marker, a code location's item): no user line is
# on the stack then.
_OPENED_BY_THE_PLUGIN = tuple(
    os.path.join(_PACKAGE_DIRECTORY, name)
    for name in ("plugin.py", os.path.join("_definitions", "items.py"))
)

_SKIPPED_DIRECTORIES = tuple(
    os.path.dirname(module_file) + os.sep
    for module_file in (
        dagster.__file__,
        __file__,
        contextlib.__file__,  # the stdlib directory: contextlib, asyncio, threading
        _pytest.__file__,
        pytest.__file__,
        pluggy.__file__,
        # hypothesis calls the body of an audit or a @given test: the user's line is further up.
        getattr(importlib.util.find_spec("hypothesis"), "origin", None),
    )
    if module_file
)


def _caller_location(frame: FrameType | None) -> Location | None:
    """The innermost frame of user code that led to this hook call.

    None when the resources were opened by the plugin itself (a marker): then no user line is
    on the stack, and the recording's fallback location (the test) stands in.
    """
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(_PACKAGE_DIRECTORY):
            if filename in _OPENED_BY_THE_PLUGIN:
                return None
        elif not filename.startswith(_SKIPPED_DIRECTORIES) and not filename.startswith("<"):
            return Location(filename, frame.f_lineno)
        frame = frame.f_back
    return None


def format_user_traceback(exception: BaseException) -> list[str]:
    """The exception with only the user's frames: Dagster's and ours say nothing to a user.

    Each sub-exception of an exception group is shown, indented under the group; an exception
    whose ``__str__`` raises is shown by its type."""
    # Raised in a step process: its frames were formatted there (pytest_resources._multiprocess).
    remote: tuple[str, ...] | None = getattr(exception, "__pytest_resources_traceback__", None)
    if remote:
        return list(remote)
    frames = [
        frame
        for frame in traceback.extract_tb(exception.__traceback__)
        if not frame.filename.startswith((*_SKIPPED_DIRECTORIES, _PACKAGE_DIRECTORY))
    ]
    lines = traceback.format_list(frames)
    lines.append(describe_exception(exception) + "\n")
    for number, sub_exception in enumerate(getattr(exception, "exceptions", None) or (), 1):
        if not isinstance(sub_exception, BaseException):
            continue
        lines.append(f"  +-- sub-exception {number}:\n")
        lines.extend(
            "  |   " + line
            for chunk in format_user_traceback(sub_exception)
            for line in chunk.splitlines(keepends=True)
        )
    return lines


# --- the hooks, wrapped on their defining classes while a recording is active -----------------

_T = TypeVar("_T")


def _with_fault(tag: _Tag, hook: Hook, method: Callable[..., _T]) -> Callable[..., _T]:
    """``method`` with the recording's injected failure: before setup and create_resource run,
    after teardown ran (so that what setup acquired is still released)."""
    fault = tag.recording.fault
    if fault is None:
        return method

    def call(*args: Any) -> _T:
        __tracebackhide__ = True
        if hook != Hook.TEARDOWN:
            fault.fire_at(hook, tag.resource.key)
        result = method(*args)
        if hook == Hook.TEARDOWN:
            fault.fire_at(hook, tag.resource.key)
        return result

    return call


def _record(
    tag: _Tag,
    hook: Hook,
    location: Location | None,
    started: tuple[int, int],
    exception: BaseException | None = None,
) -> None:
    """Enter a call begun at ``started`` (``time.time_ns()``, ``time.perf_counter_ns()``)."""
    timing = (started[0], time.perf_counter_ns() - started[1])
    outcome: Outcome = "returned" if exception is None else "raised"
    tag.recording.keep(tag.resource, hook, outcome, exception, location, timing)


def _recorded_call(
    tag: _Tag,
    hook: Hook,
    location: Location | None,
    call: Callable[..., _T],
    *args: Any,
    **kwargs: Any,
) -> _T:
    __tracebackhide__ = True
    started = (time.time_ns(), time.perf_counter_ns())
    try:
        result = call(*args, **kwargs)
    except BaseException as exc:
        _record(tag, hook, location, started, exc)
        raise
    _record(tag, hook, location, started)
    return result


class _RecordedContextManager:
    """Records entering and leaving the context manager ``yield_for_execution`` returned."""

    __slots__ = ("_live_copy", "_location", "_tag", "_wrapped")

    def __init__(self, wrapped: Any, tag: _Tag, live_copy: Any, location: Location | None):
        self._wrapped = wrapped
        self._tag = tag
        self._live_copy = live_copy
        self._location = location

    def __enter__(self) -> Any:
        __tracebackhide__ = True
        with self._tag.recording.setting_up(self._tag.resource.key):
            value = _recorded_call(
                self._tag, Hook.YIELD_ENTER, self._location, self._wrapped.__enter__
            )
        self._tag.recording.resource_ready(self._tag.resource.key, self._live_copy)
        return value

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> Any:
        __tracebackhide__ = True
        return _recorded_call(
            self._tag,
            Hook.YIELD_EXIT,
            self._location,
            self._wrapped.__exit__,
            exc_type,
            exc,
            traceback,
        )


class _RecordedAsyncContextManager(_RecordedContextManager):
    """The same for an ``async def yield_for_execution``: Dagster drives it on the run's loop."""

    __slots__ = ()

    async def __aenter__(self) -> Any:
        __tracebackhide__ = True
        started = (time.time_ns(), time.perf_counter_ns())
        try:
            with self._tag.recording.setting_up(self._tag.resource.key):
                value = await self._wrapped.__aenter__()
        except BaseException as exc:
            _record(self._tag, Hook.YIELD_ENTER, self._location, started, exc)
            raise
        _record(self._tag, Hook.YIELD_ENTER, self._location, started)
        self._tag.recording.resource_ready(self._tag.resource.key, self._live_copy)
        return value

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> Any:
        __tracebackhide__ = True
        started = (time.time_ns(), time.perf_counter_ns())
        try:
            suppress = await self._wrapped.__aexit__(exc_type, exc, traceback)
        except BaseException as error:
            _record(self._tag, Hook.YIELD_EXIT, self._location, started, error)
            raise
        _record(self._tag, Hook.YIELD_EXIT, self._location, started)
        return suppress


@dataclass(frozen=True, slots=True)
class _HookCall:
    """One call of a hook on one of Dagster's copies that a recording follows."""

    tag: _Tag
    live_copy: Any
    method: Callable[..., Any]  # the user's hook, bound to the copy
    location: Location | None
    args: tuple[Any, ...]
    kwargs: dict[str, Any]

    def recorded(self, hook: Hook) -> Any:
        """Call the hook, with the recording's injected fault, and record how it ended."""
        __tracebackhide__ = True
        call = _with_fault(self.tag, hook, self.method)
        return _recorded_call(self.tag, hook, self.location, call, *self.args, **self.kwargs)


def _record_setup(call: _HookCall) -> Any:
    __tracebackhide__ = True
    with call.tag.recording.setting_up(call.tag.resource.key):
        return call.recorded(Hook.SETUP)


def _record_teardown(call: _HookCall) -> Any:
    __tracebackhide__ = True
    return call.recorded(Hook.TEARDOWN)


def _record_create(call: _HookCall) -> Any:
    __tracebackhide__ = True
    with call.tag.recording.setting_up(call.tag.resource.key):
        value = call.recorded(Hook.CREATE)
    if not type(call.live_copy)._is_cm_resource_cls():
        # Dagster's plain path: setup, create, and no teardown ever; this is the live state.
        call.tag.recording.resource_ready(call.tag.resource.key, call.live_copy)
    return value


def _record_yield(call: _HookCall) -> Any:
    __tracebackhide__ = True
    wrapped = call.method(*call.args, **call.kwargs)
    recorded = (
        _RecordedAsyncContextManager
        if isinstance(wrapped, contextlib.AbstractAsyncContextManager)
        else _RecordedContextManager
    )
    return recorded(wrapped, call.tag, call.live_copy, call.location)


_RECORDERS: dict[Hook, Callable[[_HookCall], Any]] = {
    Hook.SETUP: _record_setup,
    Hook.TEARDOWN: _record_teardown,
    Hook.CREATE: _record_create,
    Hook.YIELD: _record_yield,
}


@dataclass
class _Wrapped:
    """One hook of one class, wrapped: what the class held before, and how many hold it."""

    original: Any
    wrapper: Callable[..., Any]
    holders: int = 0


_wrapped_hooks: dict[tuple[type[Any], Hook], _Wrapped] = {}
_wrapping_lock = threading.RLock()


def _defining_class(cls: type[Any], hook: Hook) -> type[Any]:
    return next(klass for klass in cls.__mro__ if hook in vars(klass))


def _hook_wrapper(hook: Hook, original: Any) -> Callable[..., Any]:
    recorder = _RECORDERS[hook]
    function = getattr(original, "__func__", original)

    @functools.wraps(function)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        method = original.__get__(self, type(self))
        tag = _tag_of(self) if _active_recordings else None
        # Only the outermost definition records: a super() call inside an override is part of
        # the same call.
        if tag is None or getattr(type(self), hook) is not wrapper:
            return method(*args, **kwargs)
        location = _caller_location(sys._getframe(1))
        return recorder(_HookCall(tag, self, method, location, args, kwargs))

    return wrapper


def _acquire_hooks(cls: type[Any]) -> None:
    with _wrapping_lock:
        for hook in HOOKS:
            owner = _defining_class(cls, hook)
            wrapped = _wrapped_hooks.get((owner, hook))
            if wrapped is None:
                original = vars(owner)[hook]
                wrapped = _Wrapped(original, _hook_wrapper(hook, original))
                setattr(owner, hook, wrapped.wrapper)
                _wrapped_hooks[(owner, hook)] = wrapped
            wrapped.holders += 1


def _release_hooks(cls: type[Any]) -> None:
    with _wrapping_lock:
        for hook in HOOKS:
            owner = _defining_class(cls, hook)
            wrapped = _wrapped_hooks[(owner, hook)]
            wrapped.holders -= 1
            if wrapped.holders == 0:
                setattr(owner, hook, wrapped.original)
                del _wrapped_hooks[(owner, hook)]


# --- the wrappers around Dagster's copy methods ------------------------------------------------


@functools.cache
def _install_copy_wrappers() -> None:
    """Wrap Dagster's copy methods (and its schema work and teardown, below) once per process;
    they pass through outside a recording."""
    if getattr(ConfigurableResourceFactory._with_updated_values, "_pytest_resources", False):
        return  # this module was imported afresh (pytester restores sys.modules): wrap once
    resolve_nested = ConfigurableResourceFactory._resolve_and_update_nested_resources
    with_updated_values = ConfigurableResourceFactory._with_updated_values

    @contextlib.contextmanager
    def _resolve_and_update_nested_resources(self: Any, context: Any) -> Iterator[Any]:
        if not _active_recordings:
            with resolve_nested(self, context) as updated:
                yield updated
            return
        tag = _tag_of(self) or _registered_tag(self, context)
        with contextlib.ExitStack() as stack:
            # Dagster initializes the nested resources while entering: they belong to this one.
            token = _initializing_parent.set(tag)
            try:
                updated = stack.enter_context(resolve_nested(self, context))
            finally:
                _initializing_parent.reset(token)
            if tag is not None:
                tag.recording.adopt(updated, tag)
            yield updated

    def _with_updated_values(self: Any, values: Any) -> Any:
        copy = with_updated_values(self, values)
        tag = _tag_of(self) if _active_recordings else None
        if tag is not None:
            tag.recording.adopt(copy, tag)
        return copy

    _with_updated_values._pytest_resources = True  # type: ignore[attr-defined]
    ConfigurableResourceFactory._resolve_and_update_nested_resources = (  # type: ignore[method-assign]
        _resolve_and_update_nested_resources
    )
    ConfigurableResourceFactory._with_updated_values = _with_updated_values  # type: ignore[method-assign]
    _share_schema_work_between_copies()
    _watch_teardowns()


# --- Dagster's teardown of each resource, whatever its kind ------------------------------------


def _watch_teardowns() -> None:
    """Follow the generator Dagster drives each top-level resource with, whatever its kind (a
    ConfigurableResource, a function resource, an IO manager), to see the teardowns it
    swallows: ``build_resources`` drops them silently, a run only logs them."""
    original = resources_init.single_resource_event_generator

    def single_resource_event_generator(
        context: Any, resource_name: str, resource_def: Any
    ) -> Iterator[Any]:
        events = original(context, resource_name, resource_def)
        recording = _recording_of_run(context) if _active_recordings else None
        return events if recording is None else _teardown_watched(events, recording, resource_name)

    resources_init.single_resource_event_generator = single_resource_event_generator  # type: ignore[assignment]


def _recording_of_run(context: Any) -> Recording | None:
    # InitResourceContext.run is dagster_run renamed (1.8 has only dagster_run, now deprecated).
    run = context.run if hasattr(type(context), "run") else context.dagster_run
    run_id = getattr(run, "run_id", None)
    return next((r for r in reversed(_active_recordings) if r.run_id == run_id), None)


def _teardown_watched(events: Iterator[Any], recording: Recording, key: str) -> Iterator[Any]:
    """``events`` as they are; what Dagster's user-code boundary raises once the resource was
    handed out (its one item) is its teardown's failure, which Dagster catches."""
    handed_out = False
    try:
        for event in events:
            yield event
            handed_out = True
    except dagster.DagsterUserCodeExecutionError as error:
        if handed_out:
            user_exception = error.user_exception  # never truth-tested: it is the user's object
            failed = error if user_exception is None else user_exception
            recording.failed_teardowns.append(FailedTeardown(key, failed))
        raise


# --- Dagster's schema work, once per class and config while recording --------------------------

# Every copy Dagster makes (three per resource initialized) runs ConfigurableResourceFactory's
# __init__, which infers the class's config schema again and applies the config values to it
# again (a validation). Both depend only on the class and the values, so while a recording is
# active each is computed once and the copies share the result: about a third of Dagster's own
# time per initialization. The results are those Dagster computes; nothing else changes.
# Classes are held weakly (a schema does not refer to its class), and a schema is inferred again
# when what it is inferred from changes (the class's fields, model_config or docstring).
_MAX_SHARED_SCHEMAS = 512
# class -> {fields to omit: (what it was inferred from, the schema)}
_inferred_schemas: weakref.WeakKeyDictionary[type[Any], dict[frozenset[str], tuple[Any, Any]]] = (
    weakref.WeakKeyDictionary()
)
# (id of an inferred schema, the config values frozen) -> (that schema, the curried schema).
_curried_schemas: dict[tuple[int, object], tuple[Any, Any]] = {}


def _schema_inputs(cls: type[Any]) -> tuple[int, int, str | None]:
    """What Dagster infers a class's schema from: its fields and config (by identity: pydantic
    replaces them when the class is rebuilt) and its docstring."""
    own = vars(cls)
    fields = own.get("__pydantic_fields__", own.get("model_fields"))
    return (id(fields), id(own.get("model_config")), cls.__doc__)


def _share_schema_work_between_copies() -> None:
    resource_module: Any = sys.modules[ConfigurableResourceFactory.__module__]
    infer = resource_module.infer_schema_from_config_class
    curry = resource_module._curry_config_schema
    if getattr(infer, "_pytest_resources", False):
        return

    def infer_schema_from_config_class(*args: Any, **kwargs: Any) -> Any:
        # Only the call a copy's __init__ makes: the class, and the nested resources to omit.
        if not _active_recordings or len(args) != 1 or not set(kwargs) <= {"fields_to_omit"}:
            return infer(*args, **kwargs)
        cls, omitted = args[0], frozenset(kwargs.get("fields_to_omit") or ())
        try:
            by_omitted = _inferred_schemas.setdefault(cls, {})
        except TypeError:  # not weakly referable: nothing to share
            return infer(*args, **kwargs)
        inputs = _schema_inputs(cls)
        known = by_omitted.get(omitted)
        if known is None or known[0] != inputs:
            known = (inputs, infer(*args, **kwargs))
            by_omitted[omitted] = known
        return known[1]

    def _curry_config_schema(schema_field: Any, data: Any) -> Any:
        if not _active_recordings:
            return curry(schema_field, data)
        try:
            key = (id(schema_field), frozen(data))
        except NotPlainData:
            return curry(schema_field, data)
        entry = _curried_schemas.get(key)
        if entry is None or entry[0] is not schema_field:
            entry = (schema_field, curry(schema_field, data))
            remember(_curried_schemas, key, entry, limit=_MAX_SHARED_SCHEMAS)
        return entry[1]

    infer_schema_from_config_class._pytest_resources = True  # type: ignore[attr-defined]
    resource_module.infer_schema_from_config_class = infer_schema_from_config_class
    resource_module._curry_config_schema = _curry_config_schema


def defines(cls: type[Any], hook: Hook) -> bool:
    """Whether ``cls`` overrides Dagster's default ``hook``."""
    return _defining_class(cls, hook) is not _defining_class(ConfigurableResourceFactory, hook)


def holds_run_state(cls: type[Any]) -> bool:
    """Whether ``cls`` has lifecycle hooks of its own, so that each initialization builds state
    (a client, a connection) that a second one would duplicate."""
    return any(defines(cls, hook) for hook in (Hook.SETUP, Hook.TEARDOWN, Hook.YIELD))


def is_context_manager_resource(cls: type[Any]) -> bool:
    return bool(cls._is_cm_resource_cls())
