"""Fault injection and the one-resource check: ``faults()``, ``Fault`` and ``run_context.check``.

A fault is raised from inside Dagster's own resource initialization (through the recording
hooks), so a resource meets it exactly as it would meet a real failure at that point of a run.
To add a fault place: a member of :class:`Place` (with the hook it fires in, or fire it in
:meth:`FaultedRun.check`), and its line in docs/reference.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import dagster
import hypothesis
from hypothesis import strategies as st

from pytest_resources._errors import LifecycleError, ResourceUsageError
from pytest_resources._hooks import Hook
from pytest_resources._initialization import Initialization, RunTarget
from pytest_resources._keys import as_named_resources
from pytest_resources._lifecycle import Lifecycle, lifecycle_of
from pytest_resources._recording import Recording
from pytest_resources._setup_calls import SetupCalls, Target, http_targets, resolve_call


class Place(str, enum.Enum):
    """Where a fault can go, in the order a run meets them; equal to its name as a string."""

    NESTED_SETUP = "nested_setup"
    SETUP = "setup"
    SETUP_CALL = "setup_call"
    SETUP_HTTP = "setup_http"
    CREATE_RESOURCE = "create_resource"
    LATER_SETUP = "later_setup"
    BODY = "body"
    TEARDOWN = "teardown"

    @property
    def description(self) -> str:
        """What a report calls it."""
        return _PLACE_INFO[self][0]

    @property
    def hook(self) -> Hook | None:
        """The recorded hook it fires in; None for the places the check raises itself."""
        return _PLACE_INFO[self][1]

    @property
    def reached_by(self) -> str:
        """The call Dagster must make for it to apply."""
        return _PLACE_INFO[self][2]

    @property
    def inside_setup(self) -> bool:
        """Whether it fails a call the resource's own setup makes, rather than a hook."""
        return self in (Place.SETUP_CALL, Place.SETUP_HTTP)

    def __str__(self) -> str:
        return str(self.value)


_PLACE_INFO: dict[Place, tuple[str, Hook | None, str]] = {
    Place.NESTED_SETUP: (
        "the setup of one of its nested resources",
        Hook.SETUP,
        "the setup of any of its nested resources",
    ),
    Place.SETUP: ("its setup_for_execution", Hook.SETUP, "its setup_for_execution"),
    Place.SETUP_CALL: ("a call its setup makes", None, ""),
    Place.SETUP_HTTP: ("an HTTP request its setup sends", None, ""),
    Place.CREATE_RESOURCE: ("its create_resource", Hook.CREATE, "its create_resource"),
    Place.LATER_SETUP: ("the setup of a resource initialized after it", None, ""),
    Place.BODY: ("the step using it (the test body)", None, ""),
    Place.TEARDOWN: (
        "its teardown_after_execution, after it ran",
        Hook.TEARDOWN,
        "its teardown_after_execution (Dagster calls it only when the class overrides it)",
    ),
}

#: Where a fault can go, in the order a run meets them.
PLACES = tuple(place.value for place in Place)
# The key of the resource that fails after the checked one: it requires the checked resource,
# so Dagster initializes it later.
_LATER_KEY = "pytest_resources_later_resource"


def _place(where: str, what: str) -> Place:
    try:
        return Place(where)
    except ValueError:
        raise ResourceUsageError(
            f"{what}: where must be one of {', '.join(map(repr, PLACES))}."
        ) from None


class InjectedFault(Exception):
    """The failure pytest-resources injected into a run: never a bug of the resource."""

    __module__ = "pytest_resources"  # shown where users import it from


@dataclass(frozen=True)
class Fault:
    """Where to inject a failure into a run; drawn by :func:`faults`. ``call`` names the
    callable that ``where="setup_call"`` makes fail ("myproj.client.fetch_token")."""

    where: str
    call: str | None = None

    def __post_init__(self) -> None:
        place = _place(self.where, repr(self))
        if (place is Place.SETUP_CALL) != (self.call is not None):
            raise ResourceUsageError(
                f"{self!r}: call= names the callable a setup_call fault makes fail, e.g. "
                "Fault('setup_call', call='myproj.client.fetch_token'), and only that place "
                "takes it."
            )

    def __repr__(self) -> str:
        call = "" if self.call is None else f", call={self.call!r}"
        return f"Fault(where={self.where!r}{call})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # hypothesis would otherwise list every field, call=None too.
        printer.text(repr(self))


def faults(
    *, places: Iterable[str] = PLACES, calls: Iterable[str] = ()
) -> st.SearchStrategy[Fault]:
    """Places to inject a failure into a run, for :meth:`RunContext.check`.

    Shrinks towards the earliest place of a run. ``places`` limits the choice, e.g.
    ``faults(places=["body", "teardown"])``; ``calls`` names the callables of the
    ``setup_call`` place, one fault each (without them that place is never drawn).
    """
    chosen = list(places)
    unknown = [place for place in chosen if place not in PLACES]
    drawn = fault_list(chosen, list(calls))
    if unknown or not drawn:
        raise ResourceUsageError(
            f"faults(places={chosen!r}): choose one or more of {', '.join(map(repr, PLACES))} "
            "(setup_call with the callables to make fail: calls=['myproj.client.fetch_token'])."
        )
    return st.sampled_from(drawn)


def fault_list(places: Iterable[str], calls: list[str]) -> list[Fault]:
    """One fault per place, in the order a run meets them; ``setup_call`` once per call."""
    chosen = set(places)
    found: list[Fault] = []
    for place in Place:
        if place.value not in chosen:
            continue
        if place is Place.SETUP_CALL:
            found.extend(Fault(place.value, call=call) for call in calls)
        else:
            found.append(Fault(place.value))
    return found


@dataclass
class ArmedFault:
    """One fault, armed for one run against the resource under ``target``."""

    where: Place
    target: str
    call: str | None = None
    exception: BaseException = field(init=False)
    fired: bool = False
    _calls: SetupCalls | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        message = (
            f"pytest-resources injected a failure into {self.description} "
            f"(resource {self.target!r})"
        )
        self.exception = InjectedFault(message)
        if self.where is Place.SETUP_CALL:
            assert self.call is not None
            self._calls = SetupCalls([Target(*resolve_call(self.call))], message, self._fire_inside)
        elif self.where is Place.SETUP_HTTP:
            self._calls = SetupCalls(http_targets(InjectedFault), message, self._fire_inside)

    @classmethod
    def of(cls, fault: Fault, target: str) -> ArmedFault:
        return cls(Place(fault.where), target, fault.call)

    @property
    def description(self) -> str:
        if self.where is Place.SETUP_CALL:
            return f"a call its setup makes to {self.call}"
        return self.where.description

    @property
    def not_reached(self) -> str:
        """Why the fault did not apply, when it never fired."""
        if self.where is Place.SETUP_CALL:
            return f"its setup never called {self.call}"
        if self.where is Place.SETUP_HTTP:
            return (
                "its setup sent no HTTP request through requests or httpx (either imported by "
                "the time its setup started)"
            )
        return f"Dagster never called {self.where.reached_by}"

    def setup_window(self, key: str) -> contextlib.AbstractContextManager[None]:
        """Around the setup of ``key``: the time its calls fail, for a place inside setup."""
        if self._calls is None or key != self.target:
            return contextlib.nullcontext()
        return self._calls.window()

    def _fire_inside(self, error: BaseException | None) -> BaseException:
        self.fired = True
        if error is not None:
            self.exception = error
        return self.exception

    def fire(self) -> None:
        __tracebackhide__ = True
        self.fired = True
        raise self.exception

    def fire_at(self, hook: Hook, key: str) -> None:
        __tracebackhide__ = True
        if self.fired or hook != self.where.hook:
            return
        if self.where is Place.NESTED_SETUP:
            applies = key.startswith(self.target + ".")
        else:
            applies = key == self.target
        if applies:
            self.fire()

    def is_injected(self, error: BaseException | None) -> bool:
        # Only explicit causes (Dagster wraps a failed setup with ``raise ... from``): an error
        # raised while the injected one was in flight (a teardown that fails then) is the
        # resource's own. A failed call inside setup is the resource's to handle, though: what
        # its setup raises in reply (`except ConnectionError: raise TokenError(...)`) counts.
        seen: set[int] = set()
        while error is not None and id(error) not in seen:
            if error is self.exception:
                return True
            seen.add(id(error))
            if self.where.inside_setup and error.__cause__ is None:
                error = error.__context__
            else:
                error = error.__cause__
        return False


def _later_resource(target: str, fault: ArmedFault) -> dagster.ResourceDefinition:
    @dagster.resource(required_resource_keys={target})
    def later_resource(_context: dagster.InitResourceContext) -> None:
        fault.fire()

    return later_resource


class FaultNotApplicable(Exception):
    """Dagster never reached the place of the fault for this resource."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def _not_applicable(fault: Fault, target: str, why: str) -> None:
    """Inside a hypothesis test a fault that does not apply is a rejected example."""
    __tracebackhide__ = True
    if hypothesis.currently_in_test_context():
        hypothesis.reject()
    raise ResourceUsageError(
        f"run_context.check(): {fault!r} does not apply to {target!r}: {why}."
    ) from None  # FaultNotApplicable is the plugin's own signal, nothing the user can act on


def target_of(resource: Any, key: str | None) -> tuple[dict[str, Any], str]:
    """The one resource to check, by its key."""
    named = as_named_resources(resource, key, what="run_context.check()")
    if len(named) != 1:
        raise ResourceUsageError("run_context.check() checks one resource at a time.")
    (target,) = named
    return named, target


def check_resource(
    run: RunTarget,
    resource: Any,
    *,
    fault: Fault | None,
    key: str | None,
    use: Callable[[Any], object] | None,
) -> Lifecycle:
    """Open ``resource`` in ``run`` with ``fault`` injected; every rule and the leak audit must
    hold, and the injected failure must be the only thing that goes wrong."""
    __tracebackhide__ = True
    named, target = target_of(resource, key)
    armed = None if fault is None else ArmedFault.of(fault, target)
    try:
        FaultedRun(run, named, target, armed).check(use)
    except FaultNotApplicable as not_applicable:
        assert fault is not None
        _not_applicable(fault, target, not_applicable.why)
    return lifecycle_of(run.ledger.recordings_of(run.run_id), target)


class FaultedRun:
    """One run of one resource with one fault (or none) injected."""

    def __init__(
        self, run: RunTarget, named: dict[str, Any], target: str, armed: ArmedFault | None
    ) -> None:
        __tracebackhide__ = True
        self.run = run
        self.target = target
        self.armed = armed
        self.named = named
        to_open = dict(named)
        if armed is not None and armed.where is Place.LATER_SETUP:
            to_open[_LATER_KEY] = _later_resource(target, armed)
        self.opened = Initialization(run, to_open, fault=armed)

    def check(self, use: Callable[[Any], object] | None) -> None:
        """Raise what went wrong besides the injected failure; FaultNotApplicable when Dagster
        never reached the fault's place."""
        __tracebackhide__ = True
        self._require_nested_resources()
        try:
            self._run(use)
        except BaseException as error:
            self._raise_unless_injected(error)
        else:
            self._require_fault_surfaced()
        if self.armed is not None and not self.armed.fired:
            raise FaultNotApplicable(self.armed.not_reached)

    def _require_nested_resources(self) -> None:
        if self.armed is None or self.armed.where is not Place.NESTED_SETUP:
            return
        layout = Recording(self.run.run_id)
        layout.register(self.named)
        if not any(nested.startswith(self.target + ".") for nested in layout.resources):
            raise FaultNotApplicable("it has no nested resources")

    def _run(self, use: Callable[[Any], object] | None) -> None:
        """The run itself: open, use the live value, fail in the body if that is the place."""
        __tracebackhide__ = True
        with self.opened as values:
            if use is not None:
                use(values[self.target])
            if self.armed is not None and self.armed.where is Place.BODY:
                self.armed.fire()

    def _raise_unless_injected(self, error: BaseException) -> None:
        """The injected failure is expected (what the run broke around it is not); any other
        error is the resource's own failure, or a broken rule raised at the run's exit."""
        __tracebackhide__ = True
        if self.armed is None or not self.armed.is_injected(error):
            raise error
        problems = self.opened.problems
        if problems:
            self.run.ledger.mark_raised(problems)
            raise problems.error() from None

    def _require_fault_surfaced(self) -> None:
        """A fault that fired before teardown and never reached Dagster was swallowed; a call
        inside setup that failed is the resource's to handle (a retry, a fallback)."""
        __tracebackhide__ = True
        armed = self.armed
        if armed is None or armed.where.inside_setup:
            return
        if armed.fired and armed.where is not Place.TEARDOWN:
            raise LifecycleError(
                f"the failure injected into {armed.description} (resource "
                f"{self.target!r}) never reached Dagster: the resource caught it, so a real "
                "failure there would go unnoticed and the run would go on with a half "
                "set-up resource."
            )
