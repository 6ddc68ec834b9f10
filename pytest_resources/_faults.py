"""Fault injection and property-based lifecycle checks: ``faults()``, ``check`` and ``audit``.

A fault is raised from inside Dagster's own resource initialization (through the recording
hooks), so a resource meets it exactly as it would meet a real failure at that point of a run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import dagster
import hypothesis
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from pytest_resources._errors import LifecycleError, ResourceUsageError
from pytest_resources._recording import CREATE, SETUP, TEARDOWN, Recording
from pytest_resources._run import Lifecycle, OpenResources, as_named_resources

if TYPE_CHECKING:
    from pytest_resources._run import Run, RunContext

#: Where a fault can go, in the order a run meets them.
PLACES = ("nested_setup", "setup", "create_resource", "later_setup", "body", "teardown")
_DESCRIPTIONS = {
    "nested_setup": "the setup of one of its nested resources",
    "setup": "its setup_for_execution",
    "create_resource": "its create_resource",
    "later_setup": "the setup of a resource initialized after it",
    "body": "the step using it (the test body)",
    "teardown": "its teardown_after_execution, after it ran",
}
# The recorded hook each place fires in; "later_setup" and "body" are raised by check itself.
_HOOK_OF_PLACE = {
    "nested_setup": SETUP,
    "setup": SETUP,
    "create_resource": CREATE,
    "teardown": TEARDOWN,
}
# The key of the resource that fails after the checked one: it requires the checked resource,
# so Dagster initializes it later.
_LATER_KEY = "pytest_resources_later_resource"


class InjectedFault(Exception):
    """The failure pytest-resources injected into a run: never a bug of the resource."""


@dataclass(frozen=True)
class Fault:
    """Where to inject a failure into a run; drawn by :func:`faults`."""

    where: str

    def __post_init__(self) -> None:
        if self.where not in PLACES:
            raise InvalidArgument(
                f"Fault(where={self.where!r}): where must be one of {', '.join(map(repr, PLACES))}."
            )


def faults(*, places: Iterable[str] = PLACES) -> st.SearchStrategy[Fault]:
    """Places to inject a failure into a run, for :meth:`RunContext.check`.

    Shrinks towards the earliest place of a run. ``places`` limits the choice, e.g.
    ``faults(places=["body", "teardown"])``.
    """
    chosen = list(places)
    unknown = [place for place in chosen if place not in PLACES]
    if unknown or not chosen:
        raise InvalidArgument(
            f"faults(places={chosen!r}): choose one or more of {', '.join(map(repr, PLACES))}."
        )
    return st.sampled_from([Fault(place) for place in PLACES if place in chosen])


@dataclass
class _ArmedFault:
    """One fault, armed for one run against the resource under ``target``."""

    where: str
    target: str
    exception: InjectedFault = field(init=False)
    fired: bool = False

    def __post_init__(self) -> None:
        self.exception = InjectedFault(
            f"pytest-resources injected a failure into {_DESCRIPTIONS[self.where]} "
            f"(resource {self.target!r})"
        )

    def fire(self) -> None:
        __tracebackhide__ = True
        self.fired = True
        raise self.exception

    def fire_at(self, hook: str, key: str) -> None:
        __tracebackhide__ = True
        if self.fired or hook != _HOOK_OF_PLACE.get(self.where):
            return
        if self.where == "nested_setup":
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


def _later_resource(target: str, fault: _ArmedFault) -> dagster.ResourceDefinition:
    @dagster.resource(required_resource_keys={target})
    def later_resource(_context: dagster.InitResourceContext) -> None:
        fault.fire()

    return later_resource


def _not_applicable(fault: _ArmedFault, why: str) -> None:
    """Inside a hypothesis test a fault that does not apply is a rejected example."""
    __tracebackhide__ = True
    if hypothesis.currently_in_test_context():
        hypothesis.reject()
    raise ResourceUsageError(
        f"run_context.check(): Fault(where={fault.where!r}) does not apply to "
        f"{fault.target!r}: {why}."
    )


def check_resource(
    run: Run,
    resource: Any,
    *,
    fault: Fault | None,
    key: str | None,
    use: Callable[[Any], object] | None,
) -> Lifecycle:
    """Open ``resource`` in ``run`` with ``fault`` injected; every rule and the leak audit must
    hold, and the injected failure must be the only thing that goes wrong."""
    __tracebackhide__ = True
    named = as_named_resources(resource, key, what="run_context.check()")
    if len(named) != 1:
        raise ResourceUsageError("run_context.check() checks one resource at a time.")
    (target,) = named
    armed = None if fault is None else _ArmedFault(fault.where, target)
    to_open = dict(named)
    if armed is not None and armed.where == "later_setup":
        to_open[_LATER_KEY] = _later_resource(target, armed)
    if armed is not None and armed.where == "nested_setup":
        layout = Recording(run.run_id)
        layout.register(named)
        if not any(nested.startswith(target + ".") for nested in layout.resources):
            _not_applicable(armed, "it has no nested resources")
    opened = OpenResources(
        run,
        to_open,
        fault=armed,
    )
    try:
        with opened as values:
            if use is not None:
                use(values[target])
            if armed is not None and armed.where == "body":
                armed.fire()
    except BaseException as error:
        if armed is None or not armed.is_injected(error):
            raise  # the resource's own failure, or a broken rule raised at the run's exit
        if opened.problems:
            run.owner.raised.add(id(opened.problems))
            raise opened.problems.error() from None
    else:
        if armed is not None and armed.fired and armed.where != "teardown":
            raise LifecycleError(
                f"the failure injected into {_DESCRIPTIONS[armed.where]} (resource {target!r}) "
                "never reached Dagster: the resource caught it, so a real failure there would "
                "go unnoticed and the run would go on with a half set-up resource."
            )
    if armed is not None and not armed.fired:
        _not_applicable(armed, f"Dagster never called {_DESCRIPTIONS[armed.where]}")
    return run.lifecycle(target)


@dataclass(frozen=True)
class AuditSummary:
    """What :meth:`RunContext.audit` checked."""

    resource_class: type[Any]
    examples: int
    by_fault: dict[str, int]

    def __str__(self) -> str:
        faults_seen = ", ".join(f"{place} {count}" for place, count in self.by_fault.items())
        return (
            f"audited {self.resource_class.__qualname__}: {self.examples} generated configs "
            f"run with injected faults ({faults_seen}); every lifecycle rule and the leak audit "
            "held"
        )


def audit_resource_class(
    context: RunContext,
    resource_class: type[Any],
    *,
    max_examples: int,
    use: Callable[[Any], object] | None,
    overrides: dict[str, Any],
) -> AuditSummary:
    """Generated configs x injected faults x the rules and the leak audit, one run each."""
    __tracebackhide__ = True
    from pytest_resources._strategies import resources

    counts: Counter[str] = Counter()
    instances = resources(resource_class, **overrides)

    @hypothesis.settings(max_examples=max_examples, deadline=None)
    @hypothesis.given(resource=instances, fault=st.none() | faults())
    def audit_one(resource: Any, fault: Fault | None) -> None:
        __tracebackhide__ = True
        with context.run() as run:
            check_resource(run, resource, fault=fault, key=None, use=use)
        counts["no fault" if fault is None else fault.where] += 1

    audit_one()
    ordered = {place: counts[place] for place in ("no fault", *PLACES) if counts[place]}
    return AuditSummary(resource_class, sum(counts.values()), ordered)
