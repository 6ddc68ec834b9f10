"""The one-call audit, ``run_context.audit``: generated configs, each run with no fault and
under every fault place that applies, against every rule and the leak audit."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import dagster
import hypothesis
import hypothesis.errors

from pytest_resources._config_failure import config_failure, odd_error_failure
from pytest_resources._environ import in_temporary_directory
from pytest_resources._errors import (
    LifecycleError,
    PrivateStateLeak,
    ResourceUsageError,
)
from pytest_resources._faults import (
    PLACES,
    ArmedFault,
    Fault,
    FaultedRun,
    FaultNotApplicable,
    fault_list,
    target_of,
)
from pytest_resources._initialization import RunTarget
from pytest_resources._setup_calls import http_libraries_imported
from pytest_resources._strategies import masked, plan_for_audit, shown_config


@dataclass(frozen=True)
class AuditSummary:
    """What :meth:`RunContext.audit` checked."""

    resource_class: type[Any]
    #: Generated configs; each ran once with no fault and once under every fault that applies.
    examples: int
    #: Runs per fault place ("no fault" first), in the order a run meets them.
    by_fault: dict[str, int]
    #: Fault places that applied to no generated config, with the reason.
    not_applicable: dict[str, str] = field(default_factory=dict)
    #: Defaulted fields the strategies cannot infer: every config kept their default.
    defaults_kept: tuple[str, ...] = ()

    def __str__(self) -> str:
        runs = ", ".join(f"{place} {count}" for place, count in self.by_fault.items())
        configs = "config" if self.examples == 1 else "configs"
        text = (
            f"audited {self.resource_class.__qualname__}: {self.examples} generated {configs}, "
            f"each run with no fault and under every fault that applies ({runs} runs)"
        )
        if self.not_applicable:
            skipped = "; ".join(f"{place}: {why}" for place, why in self.not_applicable.items())
            text += f"; not applicable: {skipped}"
        if self.defaults_kept:
            text += f"; kept their default: {', '.join(self.defaults_kept)}"
        return text + "; every lifecycle rule and the leak audit held"


@dataclass
class _Tally:
    """What an audit ran: configs that passed every place, runs per place, and why a place
    did not apply (a place may apply to some configs only: an optional nested resource)."""

    configs: int = 0
    runs: Counter[str] = field(default_factory=Counter)
    why_not: dict[str, str] = field(default_factory=dict)


# Once an audit has failed, hypothesis shrinks the example for at most this long; then every
# other candidate passes untried, so the report comes soon with the smallest example found.
_SHRINK_SECONDS = 20.0


@dataclass
class _Failures:
    """The audit's latest failure, kept in case hypothesis cannot reproduce it, and the
    shrinking time budget."""

    error: BaseException | None = None
    example: str = ""
    # Where the run that failed had its fault: shrinking reruns only that place.
    place: Fault | None = None
    first_at: float | None = None

    def keep(self, error: BaseException, example: str, place: Fault | None) -> None:
        self.error, self.example, self.place = error, example, place
        if self.first_at is None:
            self.first_at = time.monotonic()

    def skips(self, example: str) -> bool:
        """Whether to pass ``example`` untried: the budget is spent, and it is not the one
        hypothesis will replay (the smallest failing example, the latest one found)."""
        if self.first_at is None or time.monotonic() - self.first_at < _SHRINK_SECONDS:
            return False
        return example != self.example

    def as_headline(self) -> BaseException | None:
        """The kept failure, for when hypothesis' replay passed: the run changed state that
        lives as long as the process, so the replay did not meet the same conditions."""
        error = self.error
        if error is None:
            return None
        note = (
            f"pytest-resources: the audit failed for {self.example}; when hypothesis replayed "
            "that example it passed, so an earlier run changed something that outlives a run "
            "(a started JVM or server, a module-level cache, an environment variable). The "
            "failure above is the one that happened."
        )
        if hasattr(error, "add_note"):
            error.add_note(note)
        else:  # Python 3.10: pytest shows __notes__ all the same
            error.__notes__ = [*getattr(error, "__notes__", []), note]
        # Raised from inside the handler of hypothesis' Flaky error: show this one alone.
        error.__suppress_context__ = True
        return error


class _Example:
    """A generated config as hypothesis shows it: the call that builds it, secrets redacted."""

    def __init__(self, cls: type[Any], config: dict[str, Any], instance: Any) -> None:
        self.cls, self.config, self.instance = cls, config, instance

    def __repr__(self) -> str:
        return f"{self.cls.__name__}({shown_config(self.cls, self.config)})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # hypothesis would otherwise show how the example was built: the raw config, secrets too.
        printer.text(repr(self))


def _fault_name(place: Fault | None) -> str:
    return "no fault injected" if place is None else f"{place!r} injected"


def _tally_name(place: Fault) -> str:
    """A place as the summary counts it: ``setup_call(myproj.client.fetch_token)``."""
    return place.where if place.call is None else f"{place.where}({place.call})"


def _users_exception(error: BaseException) -> BaseException:
    """The user's own exception inside Dagster's wrappers (DagsterResourceFunctionError...)."""
    while isinstance(error, dagster.DagsterUserCodeExecutionError) and error.__cause__:
        error = error.__cause__
    return error


def _audited_places(setup_calls: list[str]) -> list[Fault]:
    """Every place, the setup_call place once per callable named (checked importable now, not
    in the middle of hypothesis' examples)."""
    # Where no HTTP library is imported, no setup can send a request through one.
    chosen = [place for place in PLACES if place != "setup_http" or http_libraries_imported()]
    places = fault_list(chosen, setup_calls)
    for place in places:
        ArmedFault.of(place, "")  # raises ResourceUsageError for a callable that is not there
    return places


def audit_resource_class(
    fresh_run: Callable[[], AbstractContextManager[RunTarget]],
    resource_class: type[Any],
    *,
    max_examples: int,
    use: Callable[[Any], object] | None,
    overrides: dict[str, Any],
    setup_calls: tuple[str, ...] = (),
) -> AuditSummary:
    """Generated configs, each run with no fault and under every fault place that applies to
    it, each run fresh (``fresh_run`` raises what the run broke at its exit), against the
    rules and the leak audit, in a temporary directory. ``setup_calls`` names the callables
    the ``setup_call`` place makes fail, one place each."""
    __tracebackhide__ = True
    places = _audited_places(list(setup_calls))
    plan = plan_for_audit(resource_class, overrides)
    tally = _Tally()
    failures = _Failures()
    examples = plan.accepted().map(
        lambda accepted: _Example(resource_class, accepted.config, accepted.instance)
    )

    def run_once(example: _Example, place: Fault | None) -> None:
        __tracebackhide__ = True
        named, target = target_of(example.instance, None)
        armed = None if place is None else ArmedFault.of(place, target)
        with fresh_run() as run:
            faulted = FaultedRun(run, named, target, armed)
            try:
                faulted.check(use)
            except FaultNotApplicable as not_applicable:
                assert place is not None
                tally.why_not.setdefault(_tally_name(place), not_applicable.why)
                return
            except (LifecycleError, PrivateStateLeak, ResourceUsageError):
                raise
            except Exception as error:
                problems = faulted.opened.problems
                if problems:
                    # A broken rule is the headline; the resource's exception is its cause.
                    run.ledger.mark_raised(problems)
                    raise problems.error() from error
                users = _users_exception(error)
                failure = config_failure(example.cls, example.config, _fault_name(place), users)
                if masked(resource_class, example.config, str(users)) != str(users):
                    # The exception's own text shows a secret: leave it out of the report.
                    raise failure from None
                raise failure from users
        tally.runs["no fault" if place is None else _tally_name(place)] += 1

    # One failure per cause: no shrinking of several bugs at once (each shrink reruns every
    # place), and no explain phase, whose lines are the plugin's, not the user's.
    @hypothesis.settings(
        max_examples=max_examples,
        deadline=None,
        report_multiple_bugs=False,
        phases=[phase for phase in hypothesis.Phase if phase.name != "explain"],
    )
    @hypothesis.given(resource=examples)
    def audit(resource: _Example) -> None:
        __tracebackhide__ = True
        if failures.skips(repr(resource)):
            return
        # Once a run has failed, hypothesis only looks for a smaller example that fails: the
        # place that failed tells, at a seventh of the cost.
        to_run = (None, *places) if failures.error is None else (failures.place,)
        with in_temporary_directory("pytest-resources-audit-"):
            for place in to_run:
                try:
                    run_once(resource, place)
                except BaseException as error:
                    hypothesis.note(f"The run that failed had {_fault_name(place)}.")
                    failures.keep(error, repr(resource), place)
                    raise
        tally.configs += 1

    # hypothesis keys its example database by the test's source, the same for every class:
    # key it by the audited class too, so a failure saved for one class is replayed for it.
    audit.hypothesis.inner_test._hypothesis_internal_add_digest = (  # type: ignore[attr-defined]
        f"{resource_class.__module__}.{resource_class.__qualname__}".encode()
    )
    try:
        audit()
    except hypothesis.errors.Flaky:
        headline = failures.as_headline()
        if headline is None:
            raise
        raise headline.with_traceback(None)  # noqa: B904 - its context is hidden (as_headline)
    except Exception as error:
        # Raised afresh from here, a frame pytest hides: the report points at the user's
        # audit line, not at hypothesis' internals (the resource's own frames stay in its cause).
        raise error.with_traceback(None)  # noqa: B904 - the same exception, not a new one
    if plan.stats.odd_errors:
        raise odd_error_failure(resource_class, plan.stats)
    runs = tally.runs
    return AuditSummary(
        resource_class,
        tally.configs,
        {name: runs[name] for name in ("no fault", *map(_tally_name, places)) if runs[name]},
        {place: why for place, why in tally.why_not.items() if not runs[place]},
        tuple(plan.defaults_kept),
    )
