"""The wrappers that fill a :class:`Recording`: every hook call of every resource a recorded run
initializes. Dagster never sets up the user's instance: it copies it
(``_resolve_and_update_nested_resources``, ``with_replaced_resource_context``,
``_with_updated_values``) and calls the hooks on the last copy. We follow those copies and
record the hooks called on them, giving no object another class and writing into none:

* Dagster's two copy methods are wrapped once per process. While a recording is active, a copy
  of an object that belongs to it enters the recording's table of copies (by identity, held
  alive there); outside a recording the wrappers only pass through.
* The four hooks are wrapped on the class that defines them, only while a recording of a
  resource of that class is active (:func:`_acquire_hooks`, counted: overlapping recordings
  share one wrapper; the last one out restores the class's attribute). A wrapper records only a
  call on a copy in a recording's table, at the outermost definition (a ``super()`` call is part
  of the same call); any other call goes straight to the user's method.

Why this is safe: ``type(copy)`` is the user's class and no class is created, so
``__init_subclass__``, class keywords, type-keyed registries and ``__subclasses__()`` see what
they see under plain Dagster; copies hold nothing extra (``vars()``, equality, pickling and
``model_copy`` are unchanged); Dagster's ``_is_cm_resource_cls`` compares a class's hooks with
``ConfigurableResourceFactory``'s, and a wrapper replaces the one attribute every class
resolving to it sees, so it gives the same answer while wrapped.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

from pytest_resources._dagster import ConfigurableResourceFactory, resources_init
from pytest_resources._hooks import (
    HOOKS,
    Hook,
    Location,
    caller_location,
    defining_class,
    share_schema_work_between_copies,
)
from pytest_resources._recording import Recording, RegisteredResource


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


def activate(recording: Recording) -> None:
    """Wrap the hooks of ``recording``'s classes (and of any it registers while active), and
    record what Dagster calls on its copies."""
    _install_copy_wrappers()
    recording.hooked = set()
    recording.on_register = functools.partial(_hook, recording)
    for registered in list(recording.resources.values()):
        _hook(recording, registered.resource_class)
    _active_recordings.append(recording)


def _hook(recording: Recording, resource_class: type[Any]) -> None:
    assert recording.hooked is not None
    if resource_class not in recording.hooked:
        _acquire_hooks(resource_class)
        recording.hooked.add(resource_class)


def deactivate(recording: Recording) -> None:
    """Restore the classes and let go of Dagster's intermediate copies."""
    if recording in _active_recordings:
        _active_recordings.remove(recording)
    for resource_class in recording.hooked or ():
        _release_hooks(resource_class)
    recording.hooked = recording.on_register = None
    recording.copies.clear()


@contextlib.contextmanager
def recording_active(recording: Recording) -> Iterator[Recording]:
    """Record the hooks Dagster calls on ``recording``'s resources while inside."""
    activate(recording)
    try:
        yield recording
    finally:
        deactivate(recording)


def _tag_of(obj: Any) -> _Tag | None:
    for recording in reversed(_active_recordings):
        tag: _Tag | None = recording.tag_of(obj)
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
    recording, resource = tag.recording, tag.resource
    if exception is None:
        recording.keep(resource, hook, "returned", None, location, timing)
    else:
        recording.keep(resource, hook, "raised", exception, location, timing)


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

    def recorded_teardown(self) -> Any:
        __tracebackhide__ = True
        return self.recorded(Hook.TEARDOWN)


def _record_setup(call: _HookCall) -> Any:
    __tracebackhide__ = True
    with call.tag.recording.setting_up(call.tag.resource.key):
        return call.recorded(Hook.SETUP)


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
    Hook.TEARDOWN: _HookCall.recorded_teardown,
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
        location = caller_location(sys._getframe(1))
        return recorder(_HookCall(tag, self, method, location, args, kwargs))

    return wrapper


def _acquire_hooks(cls: type[Any]) -> None:
    with _wrapping_lock:
        for hook in HOOKS:
            owner = defining_class(cls, hook)
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
            owner = defining_class(cls, hook)
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
    share_schema_work_between_copies(_active_recordings)
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
        return events if recording is None else recording.teardown_watched(events, resource_name)

    resources_init.single_resource_event_generator = single_resource_event_generator  # type: ignore[assignment]


def _recording_of_run(context: Any) -> Recording | None:
    # InitResourceContext.run is dagster_run renamed (1.8 has only dagster_run, now deprecated).
    run = context.run if hasattr(type(context), "run") else context.dagster_run
    run_id = getattr(run, "run_id", None)
    return next((r for r in reversed(_active_recordings) if r.run_id == run_id), None)
