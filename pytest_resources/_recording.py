"""Lifecycle recording: every hook call of every resource a recorded run initializes.

Dagster never sets up the user's instance. For each resource it initializes it copies the
instance (``_resolve_and_update_nested_resources``, then ``with_replaced_resource_context`` and
``_with_updated_values``) and calls the hooks on the last copy. So the user's classes and
instances stay untouched: we wrap those two Dagster copy methods once per process, and when the
object being copied belongs to a recording, the copy is tagged and its class is swapped for a
recording subclass of the user's class. That subclass records each hook call and delegates to
the user's method. Outside a recording the wrappers only pass through.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import FrameType, TracebackType
from typing import Any, Literal, Protocol, TypeVar

import dagster
from dagster._config.pythonic_config.resource import (
    ConfigurableResourceFactory,
    PartialResource,
)

SETUP = "setup_for_execution"
TEARDOWN = "teardown_after_execution"
CREATE = "create_resource"
YIELD_ENTER = "yield_for_execution enter"
YIELD_EXIT = "yield_for_execution exit"

Outcome = Literal["returned", "raised"]

# Ends with Dagster's internal marker so Dagster's own field handling skips it, and starts with an
# underscore so pydantic's ``dict(model)`` skips it: the tag never reaches config or the
# keyword arguments of a copy.
_TAG_ATTRIBUTE = "_pytest_resources_tag__internal__"


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class Event:
    """One recorded lifecycle call."""

    sequence: int
    key: str
    resource_class: type[Any]
    hook: str
    run_id: str
    pid: int
    outcome: Outcome
    exception: BaseException | None
    location: Location | None

    def describe(self) -> str:
        outcome: str = self.outcome
        if self.exception is not None:
            outcome = f"raised {type(self.exception).__name__}: {self.exception}"
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


@dataclass
class Recording:
    """The records of one resource initialization: one ``open``, one ``build_resources``."""

    run_id: str
    fallback_location: Location | None = None
    events: list[Event] = field(default_factory=list)
    resources: dict[str, RegisteredResource] = field(default_factory=dict)
    # (parent key, child key): the child must be set up before the parent, torn down after it.
    nesting: list[tuple[str, str]] = field(default_factory=list)
    # (class, first key, second key): one instance reachable twice, so Dagster sets it up twice.
    duplicates: list[tuple[type[Any], str, str]] = field(default_factory=list)
    # Copies Dagster made and set up, with the key they serve: the live state, for audits.
    live_copies: list[tuple[str, Any]] = field(default_factory=list)
    # Called with (key, live copy) as soon as a resource is set up, while it holds its state.
    on_ready: list[Callable[[str, Any], None]] = field(default_factory=list)
    # A failure to inject into the hooks (pytest_resources._faults), or None.
    fault: FaultPoint | None = None
    # Told around every setup, to learn what each resource's setup opened (_release_check).
    setup_observer: SetupObserver | None = None
    _by_object_id: dict[int, RegisteredResource] = field(default_factory=dict)
    _keep_alive: list[Any] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def register(self, resources: Mapping[str, Any]) -> None:
        """Learn the resources of the run and how they nest, before Dagster initializes them.

        Top-level resources first, then their nested resources, breadth first, so that an
        instance reachable twice is reported under its top-level key.
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

    def _register_one(self, key: str, value: Any, parent_key: str | None) -> bool:
        """Register one resource; False for what has no hooks to record, or is a duplicate."""
        if isinstance(value, PartialResource):
            # A partial builds a fresh instance inside its resource function, so it is found by
            # its resource definition (cached on the partial) rather than by object identity.
            identity: Any = value.get_resource_definition()
            resource_class = value.resource_cls
        elif isinstance(value, ConfigurableResourceFactory):
            identity = value
            resource_class = type(value)
        else:
            return False  # plain values and function resources have no hooks to record
        first = self._by_object_id.get(id(identity))
        if first is not None:
            self.duplicates.append((resource_class, first.key, key))
            return False
        registered = RegisteredResource(key, resource_class, parent_key, value)
        self._by_object_id[id(identity)] = registered
        self._keep_alive.append(identity)
        self.resources[key] = registered
        return True

    def registered_for(self, obj: Any, context: Any) -> RegisteredResource | None:
        found = self._by_object_id.get(id(obj))
        if found is None:
            try:
                resource_def = context.resource_def
            except Exception:  # an unbound context (direct invocation) has no definition
                return None
            found = self._by_object_id.get(id(resource_def))
        return found

    def record(
        self,
        tag: _Tag,
        hook: str,
        outcome: Outcome,
        exception: BaseException | None,
        location: Location | None,
    ) -> None:
        with self._lock:
            event = self.new_event(tag, hook, outcome, exception, location, len(self.events) + 1)
            self.events.append(event)

    def new_event(
        self,
        tag: _Tag,
        hook: str,
        outcome: Outcome,
        exception: BaseException | None,
        location: Location | None,
        sequence: int,
    ) -> Event:
        return Event(
            sequence=sequence,
            key=tag.resource.key,
            resource_class=tag.resource.resource_class,
            hook=hook,
            run_id=self.run_id,
            pid=os.getpid(),
            outcome=outcome,
            exception=exception,
            location=location or self.fallback_location,
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

    def resource_ready(self, key: str, live_copy: Any) -> None:
        self.live_copies.append((key, live_copy))
        for listener in self.on_ready:
            listener(key, live_copy)


class SetupObserver(Protocol):
    def before_setup(self, key: str) -> None: ...

    def after_setup(self, key: str) -> None: ...


class FaultPoint(Protocol):
    def fire_at(self, hook: str, key: str) -> None:
        """Raise the injected failure if ``hook`` of the resource ``key`` is where it goes."""

    def is_injected(self, error: BaseException | None) -> bool:
        """Whether ``error`` is (or was caused by) the injected failure."""


@dataclass(frozen=True)
class _Tag:
    recording: Recording
    resource: RegisteredResource


# Recordings whose resources are being initialized right now; usually zero or one.
_active_recordings: list[Recording] = []


@contextlib.contextmanager
def recording_active(recording: Recording) -> Iterator[Recording]:
    """Make Dagster's copies of ``recording``'s resources record their hooks while inside."""
    install()
    _active_recordings.append(recording)
    try:
        yield recording
    finally:
        _active_recordings.remove(recording)


def _find_tag(obj: Any, context: Any) -> _Tag | None:
    existing = obj.__dict__.get(_TAG_ATTRIBUTE)
    if existing is not None:
        return existing  # type: ignore[no-any-return]
    for recording in reversed(_active_recordings):
        registered = recording.registered_for(obj, context)
        if registered is not None:
            return _Tag(recording, registered)
    return None


def _adopt(copy: Any, tag: _Tag) -> None:
    """Tag one of Dagster's copies and give it the recording subclass of its class."""
    copy.__dict__[_TAG_ATTRIBUTE] = tag
    cls = type(copy)
    if not getattr(cls, "_pytest_resources_recording", False):
        object.__setattr__(copy, "__class__", _recording_class(cls))


# --- where the user's code called from -------------------------------------------------------

import _pytest  # noqa: E402  (pytest and pluggy frames are never the user's code)
import pluggy  # noqa: E402
import pytest  # noqa: E402

_PACKAGE_DIRECTORY = os.path.dirname(__file__) + os.sep
_PLUGIN_FILE = os.path.join(_PACKAGE_DIRECTORY, "plugin.py")

_SKIPPED_DIRECTORIES = tuple(
    os.path.dirname(module_file) + os.sep
    for module_file in (
        dagster.__file__,
        __file__,
        contextlib.__file__,  # the stdlib directory: contextlib, asyncio, threading
        _pytest.__file__,
        pytest.__file__,
        pluggy.__file__,
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
            if filename == _PLUGIN_FILE:
                return None
        elif not filename.startswith(_SKIPPED_DIRECTORIES) and not filename.startswith("<"):
            return Location(filename, frame.f_lineno)
        frame = frame.f_back
    return None


def format_user_traceback(exception: BaseException) -> list[str]:
    """The exception with only the user's frames: Dagster's and ours say nothing to a user."""
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
    lines.extend(traceback.format_exception_only(type(exception), exception))
    return lines


# --- the recording subclass ------------------------------------------------------------------

_T = TypeVar("_T")


def _with_fault(tag: _Tag, hook: str, method: Callable[..., _T]) -> Callable[..., _T]:
    """``method`` with the recording's injected failure: before setup and create_resource run,
    after teardown ran (so that what setup acquired is still released)."""
    fault = tag.recording.fault
    if fault is None:
        return method

    def call(*args: Any) -> _T:
        __tracebackhide__ = True
        if hook != TEARDOWN:
            fault.fire_at(hook, tag.resource.key)
        result = method(*args)
        if hook == TEARDOWN:
            fault.fire_at(hook, tag.resource.key)
        return result

    return call


def _recorded_call(
    tag: _Tag, hook: str, location: Location | None, call: Callable[..., _T], *args: Any
) -> _T:
    __tracebackhide__ = True
    try:
        result = call(*args)
    except BaseException as exc:
        tag.recording.record(tag, hook, "raised", exc, location)
        raise
    tag.recording.record(tag, hook, "returned", None, location)
    return result


class _RecordedContextManager:
    """Records entering and leaving the context manager ``yield_for_execution`` returned."""

    def __init__(self, wrapped: Any, tag: _Tag, live_copy: Any, location: Location | None):
        self._wrapped = wrapped
        self._tag = tag
        self._live_copy = live_copy
        self._location = location

    def __enter__(self) -> Any:
        __tracebackhide__ = True
        with self._tag.recording.setting_up(self._tag.resource.key):
            value = _recorded_call(self._tag, YIELD_ENTER, self._location, self._wrapped.__enter__)
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
            self._tag, YIELD_EXIT, self._location, self._wrapped.__exit__, exc_type, exc, traceback
        )


class _RecordedAsyncContextManager(_RecordedContextManager):
    """The same for an ``async def yield_for_execution``: Dagster drives it on the run's loop."""

    async def __aenter__(self) -> Any:
        __tracebackhide__ = True
        try:
            with self._tag.recording.setting_up(self._tag.resource.key):
                value = await self._wrapped.__aenter__()
        except BaseException as exc:
            self._tag.recording.record(self._tag, YIELD_ENTER, "raised", exc, self._location)
            raise
        self._tag.recording.record(self._tag, YIELD_ENTER, "returned", None, self._location)
        self._tag.recording.resource_ready(self._tag.resource.key, self._live_copy)
        return value

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> Any:
        __tracebackhide__ = True
        try:
            suppress = await self._wrapped.__aexit__(exc_type, exc, traceback)
        except BaseException as error:
            self._tag.recording.record(self._tag, YIELD_EXIT, "raised", error, self._location)
            raise
        self._tag.recording.record(self._tag, YIELD_EXIT, "returned", None, self._location)
        return suppress


_recording_classes: dict[type[Any], type[Any]] = {}


def _recording_class(cls: type[Any]) -> type[Any]:
    """A subclass of ``cls`` that records its hooks; one per class, made on first use."""
    try:
        return _recording_classes[cls]
    except KeyError:
        pass

    def setup_for_execution(self: Any, context: Any) -> None:
        __tracebackhide__ = True
        tag: _Tag = self.__dict__[_TAG_ATTRIBUTE]
        location = _caller_location(sys._getframe(1))
        setup = _with_fault(tag, SETUP, cls.setup_for_execution)
        with tag.recording.setting_up(tag.resource.key):
            _recorded_call(tag, SETUP, location, setup, self, context)

    def teardown_after_execution(self: Any, context: Any) -> None:
        __tracebackhide__ = True
        tag: _Tag = self.__dict__[_TAG_ATTRIBUTE]
        location = _caller_location(sys._getframe(1))
        teardown = _with_fault(tag, TEARDOWN, cls.teardown_after_execution)
        _recorded_call(tag, TEARDOWN, location, teardown, self, context)

    def create_resource(self: Any, context: Any) -> Any:
        __tracebackhide__ = True
        tag: _Tag = self.__dict__[_TAG_ATTRIBUTE]
        location = _caller_location(sys._getframe(1))
        create = _with_fault(tag, CREATE, cls.create_resource)
        with tag.recording.setting_up(tag.resource.key):
            value = _recorded_call(tag, CREATE, location, create, self, context)
        if not cls._is_cm_resource_cls():
            # Dagster's plain path: setup, create, and no teardown ever; this is the live state.
            tag.recording.resource_ready(tag.resource.key, self)
        return value

    def yield_for_execution(self: Any, context: Any) -> Any:
        __tracebackhide__ = True
        tag: _Tag = self.__dict__[_TAG_ATTRIBUTE]
        location = _caller_location(sys._getframe(1))
        wrapped = cls.yield_for_execution(self, context)
        if isinstance(wrapped, contextlib.AbstractAsyncContextManager):
            return _RecordedAsyncContextManager(wrapped, tag, self, location)
        return _RecordedContextManager(wrapped, tag, self, location)

    def __reduce_ex__(self: Any, protocol: Any) -> Any:
        # Pickle a live copy as the user's class, without the tag: the recording is not state.
        reduced = list(super(recording_class, self).__reduce_ex__(protocol))
        reduced[1] = tuple(cls if arg is recording_class else arg for arg in reduced[1])
        if len(reduced) > 2 and isinstance(reduced[2], dict) and "__dict__" in reduced[2]:
            state = dict(reduced[2])
            state["__dict__"] = {
                name: value for name, value in state["__dict__"].items() if name != _TAG_ATTRIBUTE
            }
            reduced[2] = state
        return tuple(reduced)

    namespace: dict[str, Any] = {
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
        "__slots__": (),
        "setup_for_execution": setup_for_execution,
        "teardown_after_execution": teardown_after_execution,
        "create_resource": create_resource,
        "yield_for_execution": yield_for_execution,
        "__reduce_ex__": __reduce_ex__,
    }
    metaclass: Any = type(cls)  # Dagster's metaclass builds the pydantic model as for any subclass
    recording_class: type[Any] = metaclass(cls.__name__, (cls,), namespace)
    recording_class._pytest_resources_recording = True
    _recording_classes[cls] = recording_class
    return recording_class


# --- the wrappers around Dagster's copy methods ------------------------------------------------


@functools.cache
def install() -> None:
    """Wrap Dagster's copy methods once per process; a no-op for objects nobody records."""
    if getattr(ConfigurableResourceFactory._with_updated_values, "_pytest_resources", False):
        return  # this module was imported afresh (pytester restores sys.modules): wrap once
    resolve_nested = ConfigurableResourceFactory._resolve_and_update_nested_resources
    with_updated_values = ConfigurableResourceFactory._with_updated_values

    @contextlib.contextmanager
    def _resolve_and_update_nested_resources(self: Any, context: Any) -> Iterator[Any]:
        tag = _find_tag(self, context) if _active_recordings else self.__dict__.get(_TAG_ATTRIBUTE)
        with resolve_nested(self, context) as updated:
            if tag is not None:
                _adopt(updated, tag)
            yield updated

    def _with_updated_values(self: Any, values: Any) -> Any:
        copy = with_updated_values(self, values)
        tag = self.__dict__.get(_TAG_ATTRIBUTE)
        if tag is not None:
            _adopt(copy, tag)
        return copy

    _with_updated_values._pytest_resources = True  # type: ignore[attr-defined]
    ConfigurableResourceFactory._resolve_and_update_nested_resources = (  # type: ignore[method-assign]
        _resolve_and_update_nested_resources
    )
    ConfigurableResourceFactory._with_updated_values = _with_updated_values  # type: ignore[method-assign]


def defines(cls: type[Any], hook: str) -> bool:
    """Whether ``cls`` overrides Dagster's default ``hook``."""
    return getattr(cls, hook) is not getattr(ConfigurableResourceFactory, hook)


def is_context_manager_resource(cls: type[Any]) -> bool:
    return bool(cls._is_cm_resource_cls())
