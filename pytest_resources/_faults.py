"""Fault injection and the one-resource check: ``faults()``, ``Fault`` and ``run_context.check``.

A fault is raised from inside Dagster's own resource initialization (through the recording
hooks), so a resource meets it exactly as it would meet a real failure at that point of a run.
To add a fault place: a member of :class:`Place` (with the hook it fires in, or fire it in
:meth:`FaultedRun.check`), and its line in docs/reference.
"""

from __future__ import annotations

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


class Place(str, enum.Enum):
    """Where a fault can go, in the order a run meets them; equal to its name as a string."""

    NESTED_SETUP = "nested_setup"
    SETUP = "setup"
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

    def __str__(self) -> str:
        return str(self.value)


_PLACE_INFO: dict[Place, tuple[str, Hook | None, str]] = {
    Place.NESTED_SETUP: (
        "the setup of one of its nested resources",
        Hook.SETUP,
        "the setup of any of its nested resources",
    ),
    Place.SETUP: ("its setup_for_execution", Hook.SETUP, "its setup_for_execution"),
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
    """Where to inject a failure into a run; drawn by :func:`faults`."""

    where: str

    def __post_init__(self) -> None:
        _place(self.where, f"Fault(where={self.where!r})")


def faults(*, places: Iterable[str] = PLACES) -> st.SearchStrategy[Fault]:
    """Places to inject a failure into a run, for :meth:`RunContext.check`.

    Shrinks towards the earliest place of a run. ``places`` limits the choice, e.g.
    ``faults(places=["body", "teardown"])``.
    """
    chosen = list(places)
    unknown = [place for place in chosen if place not in PLACES]
    if unknown or not chosen:
        raise ResourceUsageError(
            f"faults(places={chosen!r}): choose one or more of {', '.join(map(repr, PLACES))}."
        )
    return st.sampled_from([Fault(place) for place in PLACES if place in chosen])


@dataclass
class ArmedFault:
    """One fault, armed for one run against the resource under ``target``."""

    where: Place
    target: str
    exception: InjectedFault = field(init=False)
    fired: bool = False

    def __post_init__(self) -> None:
        self.exception = InjectedFault(
            f"pytest-resources injected a failure into {self.where.description} "
            f"(resource {self.target!r})"
        )

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
        # resource's own.
        seen: set[int] = set()
        while error is not None and id(error) not in seen:
            if error is self.exception:
                return True
            seen.add(id(error))
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


def _not_applicable(where: Place, target: str, why: str) -> None:
    """Inside a hypothesis test a fault that does not apply is a rejected example."""
    __tracebackhide__ = True
    if hypothesis.currently_in_test_context():
        hypothesis.reject()
    raise ResourceUsageError(
        f"run_context.check(): Fault(where={where.value!r}) does not apply to {target!r}: {why}."
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
    armed = None if fault is None else ArmedFault(Place(fault.where), target)
    try:
        FaultedRun(run, named, target, armed).check(use)
    except FaultNotApplicable as not_applicable:
        assert armed is not None
        _not_applicable(armed.where, target, not_applicable.why)
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
            raise FaultNotApplicable(f"Dagster never called {self.armed.where.reached_by}")

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
        """A fault that fired before teardown and never reached Dagster was swallowed."""
        __tracebackhide__ = True
        armed = self.armed
        if armed is not None and armed.fired and armed.where is not Place.TEARDOWN:
            raise LifecycleError(
                f"the failure injected into {armed.where.description} (resource "
                f"{self.target!r}) never reached Dagster: the resource caught it, so a real "
                "failure there would go unnoticed and the run would go on with a half "
                "set-up resource."
            )
