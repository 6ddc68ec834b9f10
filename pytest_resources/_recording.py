"""The recording of one initialization: every hook call Dagster made on the copies of the
resources it initialized (:class:`Event`), the resources it was told about and how they nest, and
what Dagster swallowed. Filled by the wrappers of :mod:`pytest_resources._wrappers`; read by the
rules, the audits and ``lifecycle()``; shrunk to the events when its run closes.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import dagster

from pytest_resources._dagster import ConfigurableResourceFactory, PartialResource
from pytest_resources._hooks import Hook, Location, Outcome, describe_exception


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
    copies: dict[int, tuple[Any, Any]] = field(default_factory=dict)
    # Classes whose hooks this recording holds wrapped, and the wrapping of a class registered
    # while it is active (pytest_resources._wrappers); None while it is not active.
    hooked: set[type[Any]] | None = None
    on_register: Callable[[type[Any]], None] | None = None
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
        if self.on_register is not None:
            self.on_register(resource_class)
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

    def adopt(self, copy: Any, tag: Any) -> None:
        """Remember that ``copy``, one of Dagster's copies, serves ``tag``'s resource."""
        self.copies[id(copy)] = (copy, tag)

    def tag_of(self, obj: Any) -> Any:
        entry = self.copies.get(id(obj))
        return entry[1] if entry is not None and entry[0] is obj else None

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

    def teardown_watched(self, events: Iterator[Any], key: str) -> Iterator[Any]:
        """``events``, the generator Dagster drives the resource ``key`` with, as they are;
        what Dagster's user-code boundary raises once the resource was handed out (its one
        item) is its teardown's failure, which Dagster catches."""
        handed_out = False
        try:
            for event in events:
                yield event
                handed_out = True
        except dagster.DagsterUserCodeExecutionError as error:
            if handed_out:
                user_exception = error.user_exception  # never truth-tested: the user's object
                failed = error if user_exception is None else user_exception
                self.failed_teardowns.append(FailedTeardown(key, failed))
            raise


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
