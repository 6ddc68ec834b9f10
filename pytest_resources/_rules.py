"""The lifecycle rules, checked over one recording (one initialization of a run's resources).

Each rule is counted per resource key and per process: the multiprocess executor sets up its own
copy in every step process, and that is correct. Rules 1-6 read the recording alone; rules 7 and
8, and rule 5 for a teardown the recording cannot see, also read what Dagster's own events say
about a real run (:mod:`pytest_resources._run_rules`); rules 9 and 10 are the detectors'
(:mod:`pytest_resources._detectors`). To add a rule: a member of :class:`Rule`, its check here
(or a detector there), and its section in docs/defect-kinds.md.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import dagster

from pytest_resources._hooks import (
    Hook,
    defines,
    describe_exception,
    format_user_traceback,
    holds_run_state,
    is_context_manager_resource,
)
from pytest_resources._recording import Event, Recording


class Rule(enum.IntEnum):
    """Every rule a run's resources are checked against, by the number reports show."""

    SETUP_ONCE = 1
    TEARDOWN_ONCE = 2
    YIELD_ONCE = 3
    NESTING_ORDER = 4
    TEARDOWN_RAISES = 5
    SHARED_INSTANCE = 6
    ORCHESTRATOR = 7
    UNNEEDED = 8
    MISSPELLED_HOOK = 9
    LIVE_VALUE = 10

    @property
    def title(self) -> str:
        return _TITLES[self]

    def __str__(self) -> str:  # the number, as reports show it, on every Python version
        return str(self.value)


_TITLES = {
    Rule.SETUP_ONCE: "setup_for_execution runs exactly once per run per process",
    Rule.TEARDOWN_ONCE: (
        "teardown_after_execution runs exactly once after a successful setup, "
        "never after a failed one"
    ),
    Rule.YIELD_ONCE: "yield_for_execution is entered and exited exactly once per run per process",
    Rule.NESTING_ORDER: "nested resources are set up before their parent and torn down after it",
    Rule.TEARDOWN_RAISES: "teardown must not raise (Dagster only logs it and lets the run succeed)",
    Rule.SHARED_INSTANCE: "one resource instance is initialized once per run",
    Rule.ORCHESTRATOR: (
        "the orchestrating process of a multiprocess run sets up none of its resources"
    ),
    Rule.UNNEEDED: "a step process sets up only the resources its steps need",
    Rule.MISSPELLED_HOOK: "lifecycle hooks are named as Dagster names them",
    Rule.LIVE_VALUE: (
        "ops get a usable live value, not a generator or an unentered context manager"
    ),
}


@dataclass(frozen=True)
class Violation:
    """One broken rule, for one resource, in one run and process."""

    rule: Rule
    key: str
    # The resource's class; a function resource's function, which the report names the same way.
    resource_class: type[Any] | Callable[..., Any]
    what_happened: str
    hint: str
    events: tuple[Event, ...]
    run_id: str
    exception: BaseException | None = None

    def describe(self) -> str:
        cls = self.resource_class
        lines = [
            f"resource {self.key!r} ({cls.__module__}.{cls.__qualname__}) broke rule {self.rule}: "
            f"{Rule(self.rule).title}",
            f"  {self.what_happened}",
            f"  hint: {self.hint}",
        ]
        if self.exception is not None:
            formatted = format_user_traceback(self.exception)
            lines.append("  the exception Dagster would have swallowed (your frames):")
            lines.extend(
                "    " + line for chunk in formatted for line in chunk.rstrip().splitlines()
            )
        lines.append(f"  recorded events in run {self.run_id[:8]}, in order:")
        if self.events:
            lines.extend(f"    {event.sequence:>2}. {event.describe()}" for event in self.events)
        else:
            lines.append("    (none)")
        return "\n".join(lines)


def format_violations(violations: Sequence[Violation]) -> str:
    count = len(violations)
    header = f"{count} lifecycle rule{'s' if count != 1 else ''} broken:"
    return "\n\n".join([header, *(violation.describe() for violation in violations)])


def check_recording(recording: Recording) -> list[Violation]:
    """Every broken rule in one recording, in the order the resources were registered."""
    violations = [
        _shared_instance(recording, resource_class, keys)
        for resource_class, keys in recording.shared
        if holds_run_state(resource_class)
    ]
    for key, registered in recording.resources.items():
        for events in _by_process(event for event in recording.events if event.key == key):
            violations.extend(_check_resource(recording, registered.resource_class, key, events))
    violations.extend(_check_nesting(recording))
    violations.extend(_failed_teardowns(recording))
    return violations


def _shared_instance(
    recording: Recording, resource_class: type[Any], keys: tuple[str, ...]
) -> Violation:
    """Rule 6, once for an instance reachable under several keys: Dagster initializes it once
    per key, so each setup builds its own state. A class without hooks of its own builds none,
    and sharing its instance is fine."""
    name = resource_class.__name__
    shown = " and as ".join(repr(key) for key in keys)
    count = len(keys)
    return Violation(
        rule=Rule.SHARED_INSTANCE,
        key=keys[0],
        resource_class=resource_class,
        what_happened=(
            f"the same {name} instance is reachable as {shown}, so Dagster sets it up "
            f"{'twice' if count == 2 else _times(count)} and hands out "
            f"{_NUMBER_WORDS.get(count, str(count))} different objects."
        ),
        hint=(
            f"nest {name}.configure_at_launch() and pass the instance once, as a top-level "
            "resource, or keep a single top-level resource."
        ),
        events=tuple(event for event in recording.events if event.key in keys),
        run_id=recording.run_id,
    )


def _by_process(events: Iterable[Event]) -> list[list[Event]]:
    groups: dict[int, list[Event]] = {}
    for event in events:
        groups.setdefault(event.pid, []).append(event)
    return list(groups.values())


def _calls(events: Sequence[Event], hook: Hook) -> list[Event]:
    return [event for event in events if event.hook == hook]


_NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five"}


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


@dataclass(frozen=True)
class _Calls:
    """One resource's recorded calls in one process of one run, by hook."""

    cls: type[Any]
    setups: list[Event]
    teardowns: list[Event]
    creates: list[Event]
    enters: list[Event]
    exits: list[Event]

    @classmethod
    def of(cls, resource_class: type[Any], events: Sequence[Event]) -> _Calls:
        return cls(
            resource_class,
            *(_calls(events, hook) for hook in (Hook.SETUP, Hook.TEARDOWN, Hook.CREATE)),
            *(_calls(events, hook) for hook in (Hook.YIELD_ENTER, Hook.YIELD_EXIT)),
        )

    @property
    def entered_and_failed(self) -> bool:
        return bool(self.enters) and all(event.outcome == "raised" for event in self.enters)


@dataclass(frozen=True)
class _Broken:
    """What one rule found wrong, before it is told which resource and run it is about."""

    rule: Rule
    what_happened: str
    hint: str
    exception: BaseException | None = None


def _check_resource(
    recording: Recording, cls: type[Any], key: str, events: list[Event]
) -> list[Violation]:
    """Rules 1, 2, 3 and 5 for one resource in one process."""
    calls = _Calls.of(cls, events)
    return [
        Violation(
            found.rule,
            key,
            cls,
            found.what_happened,
            found.hint,
            tuple(events),
            recording.run_id,
            found.exception,
        )
        for check in (_setup_once, _teardown_once, _yield_once, _teardown_raises)
        if (found := check(calls)) is not None
    ]


def _setup_once(calls: _Calls) -> _Broken | None:
    setups = calls.setups
    if not defines(calls.cls, Hook.SETUP) or len(setups) == 1:
        return None
    if not setups:
        if calls.entered_and_failed:  # yield_for_execution failed before it could call setup
            return None
        return _Broken(
            Rule.SETUP_ONCE,
            "setup_for_execution was never called in this run.",
            "an overridden yield_for_execution must call self.setup_for_execution(context) "
            "itself; Dagster does not call it for you.",
        )
    return _Broken(
        Rule.SETUP_ONCE,
        f"setup_for_execution was called {_times(len(setups))} in this run.",
        "call it once: Dagster's default yield_for_execution already calls it, so an "
        "override that also calls it, or setup code that calls it again, runs it twice.",
    )


def _teardown_once(calls: _Calls) -> _Broken | None:
    if not defines(calls.cls, Hook.TEARDOWN):
        return None
    setups, teardowns = calls.setups, calls.teardowns
    setup_failed = bool(setups) and setups[-1].outcome == "raised"
    started = bool(setups) or bool(calls.creates) or bool(calls.enters)
    expected = 0 if setup_failed or not started else 1
    if setup_failed and teardowns:
        return _Broken(
            Rule.TEARDOWN_ONCE,
            f"teardown_after_execution was called {_times(len(teardowns))} although "
            "setup_for_execution raised.",
            "Dagster never tears down a resource whose setup failed; only release what setup "
            "acquired: start the try/finally that calls teardown after setup returned.",
        )
    if len(teardowns) == expected:
        return None
    reason = "setup_for_execution succeeded" if setups else "the resource was initialized"
    hint = (
        "an overridden yield_for_execution must call "
        "self.teardown_after_execution(context) itself, after its yield: Dagster "
        "resumes the generator when the step ends, also when the step failed."
        if not teardowns and defines(calls.cls, Hook.YIELD)
        else "teardown must run exactly once: do not call it from setup, create_resource "
        "or your own code, and let one finally block call it."
    )
    return _Broken(
        Rule.TEARDOWN_ONCE,
        f"teardown_after_execution was called {_times(len(teardowns))} in this run; "
        f"expected {_times(expected)}, because {reason}.",
        hint,
    )


def _yield_once(calls: _Calls) -> _Broken | None:
    enters, exits = calls.enters, calls.exits
    if any(_yielded_again(call) for call in exits):
        return _Broken(
            Rule.YIELD_ONCE,
            "yield_for_execution yielded a second time when Dagster resumed it after the step "
            "(contextlib: generator didn't stop), so the code after its first yield never "
            "finished.",
            "yield exactly once: put the release code after that one yield, in a finally block; "
            "a second yield (for example in a loop or in both try and finally) is never resumed.",
        )
    if not enters or not is_context_manager_resource(calls.cls):
        return None
    entered = not calls.entered_and_failed
    if len(enters) == 1 and not (entered and len(exits) != 1):
        return None
    return _Broken(
        Rule.YIELD_ONCE,
        f"yield_for_execution was entered {_times(len(enters))} and exited {_times(len(exits))}.",
        "yield_for_execution must yield exactly once, inside try/finally.",
    )


def _teardown_raises(calls: _Calls) -> _Broken | None:
    """The first release call that raised; an exit that only passed on a failed teardown's
    error is that teardown's."""
    for call in calls.teardowns + calls.exits:
        if call.outcome != "raised" or call.exception is None or _yielded_again(call):
            continue
        if call.hook == Hook.YIELD_EXIT and _raised(calls.teardowns):
            continue
        return _Broken(
            Rule.TEARDOWN_RAISES,
            f"{call.hook} raised {describe_exception(call.exception)}",
            TEARDOWN_HINT,
            call.exception,
        )
    return None


TEARDOWN_HINT = (
    "catch and handle errors while releasing resources; Dagster logs a failed teardown as an "
    "engine event and reports the run as a success."
)


def _failed_teardowns(recording: Recording) -> list[Violation]:
    """Rule 5 for the teardowns Dagster swallowed whose error no recorded hook raised (those
    the rules above judge): a function resource's or IO manager function's code after its
    ``yield``, or a function resource nested in a recorded resource."""
    recorded = {
        id(event.exception): event.key.split(".", 1)[0]
        for event in recording.events
        if event.exception is not None
    }
    found = []
    for failed in recording.failed_teardowns:
        if recorded.get(id(failed.exception)) == failed.key:
            continue
        function = recording.function_resources.get(failed.key)
        registered = recording.resources.get(failed.key)
        source: type[Any] | Callable[..., Any] = dagster.ResourceDefinition
        where = f"tearing down {failed.key!r}"
        if function is not None:
            source = function
            where = f"the code after the yield of {getattr(function, '__qualname__', function)}"
        elif registered is not None:
            source = registered.resource_class
            where = f"tearing down {failed.key!r}, outside its own hooks (a resource nested in it),"
        hint = TEARDOWN_HINT
        if type(failed.exception) is RuntimeError and failed.exception.args == (
            "generator didn't stop",
        ):
            hint = "a @contextmanager resource must yield exactly once, the yield in try/finally."
        found.append(
            Violation(
                Rule.TEARDOWN_RAISES,
                failed.key,
                source,
                f"{where} raised {describe_exception(failed.exception)}",
                hint,
                tuple(event for event in recording.events if event.key == failed.key),
                recording.run_id,
                failed.exception,
            )
        )
    return found


def _yielded_again(call: Event) -> bool:
    """contextlib's verdict on a generator that yielded again when resumed after the step."""
    return (
        call.hook == Hook.YIELD_EXIT
        and type(call.exception) is RuntimeError
        and call.exception.args == ("generator didn't stop",)
    )


def _raised(calls: Sequence[Event]) -> bool:
    return any(call.outcome == "raised" for call in calls)


_SETUP_PHASE = (Hook.SETUP, Hook.CREATE, Hook.YIELD_ENTER)
_TEARDOWN_PHASE = (Hook.TEARDOWN, Hook.YIELD_EXIT)


def _check_nesting(recording: Recording) -> list[Violation]:
    found = []
    events = recording.events
    for parent, child in recording.nesting:
        parent_events = [e for e in events if e.key == parent]
        child_events = [e for e in events if e.key == child]
        for pid in {e.pid for e in parent_events}:
            parent_setup = [
                e.sequence for e in parent_events if e.pid == pid and e.hook in _SETUP_PHASE
            ]
            child_setup = [
                e.sequence for e in child_events if e.pid == pid and e.hook in _SETUP_PHASE
            ]
            parent_down = [
                e.sequence for e in parent_events if e.pid == pid and e.hook in _TEARDOWN_PHASE
            ]
            child_down = [
                e.sequence for e in child_events if e.pid == pid and e.hook in _TEARDOWN_PHASE
            ]
            problem = None
            if parent_setup and child_setup and max(child_setup) > min(parent_setup):
                problem = f"{child!r} was still being set up after {parent!r} started its setup."
            elif parent_down and child_down and min(child_down) < max(parent_down):
                problem = f"{child!r} was torn down before {parent!r} finished its teardown."
            if problem is not None:
                registered = recording.resources[parent]
                found.append(
                    Violation(
                        Rule.NESTING_ORDER,
                        parent,
                        registered.resource_class,
                        problem,
                        "let Dagster drive nested resources: do not call a nested resource's "
                        "setup or teardown from its parent.",
                        tuple(e for e in events if e.key in (parent, child) and e.pid == pid),
                        recording.run_id,
                    )
                )
    return found
