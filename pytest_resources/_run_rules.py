"""Rules 7 and 8, and rule 5 for a teardown the recording cannot see: what Dagster's own events
say about a real run (``run_context.materialize``), checked beside the recording
(:mod:`pytest_resources._rules` holds the rules and those the recording alone shows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import dagster

from pytest_resources._recording import Recording
from pytest_resources._rules import TEARDOWN_HINT, Rule, Violation


@dataclass(frozen=True)
class StepProcess:
    """A process of a multiprocess run that ran steps, and the resource keys those steps need
    (with what the needed resources need in turn)."""

    pid: int
    step_keys: tuple[str, ...]
    needed: frozenset[str]


@dataclass(frozen=True)
class TeardownFailure:
    """Dagster's "Teardown of resources [...] failed." engine event."""

    pid: int | None
    message: str
    # The resource keys it lists, sorted (Dagster lists a set: any order).
    keys: tuple[str, ...]
    exception: BaseException | None


@dataclass(frozen=True)
class RunFacts:
    """What Dagster's events tell of a real run beside the recording."""

    # The process that drove a multiprocess run; None for an in-process run.
    orchestrator_pid: int | None = None
    step_processes: tuple[StepProcess, ...] = ()
    teardown_failures: tuple[TeardownFailure, ...] = ()


def check_run(
    recording: Recording, facts: RunFacts, earlier: Sequence[Violation]
) -> list[Violation]:
    """Rules 7 and 8, and rule 5 for the failed teardowns that ``earlier`` violations (of the
    same run) do not explain."""
    found = _orchestrator_violations(recording, facts.orchestrator_pid)
    found.extend(_unneeded_violations(recording, facts.step_processes))
    found.extend(_teardown_failures(recording, facts.teardown_failures, [*earlier, *found]))
    return found


def _orchestrator_violations(recording: Recording, pid: int | None) -> list[Violation]:
    found: list[Violation] = []
    if pid is None:
        return found
    for key, registered in recording.resources.items():
        events = tuple(e for e in recording.events if e.key == key and e.pid == pid)
        if not events:
            continue
        hooks = ", ".join(dict.fromkeys(str(event.hook) for event in events))
        found.append(
            Violation(
                Rule.ORCHESTRATOR,
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
    recording: Recording, step_processes: Sequence[StepProcess]
) -> list[Violation]:
    """Resources set up in a step process whose steps do not need them (nor need a resource
    that depends on them): Dagster initializes only what a step requires, so something else did."""
    found = []
    for process in step_processes:
        pid = process.pid
        used = dict.fromkeys(e.key.split(".")[0] for e in recording.events if e.pid == pid)
        for key in used:
            if key in process.needed:
                continue
            events = tuple(e for e in recording.events if e.pid == pid and e.key == key)
            found.append(
                Violation(
                    Rule.UNNEEDED,
                    key,
                    events[0].resource_class,
                    f"{key!r} was set up in process {pid}, which ran step(s) "
                    f"{', '.join(sorted(process.step_keys))}; none of them needs it.",
                    "a step process initializes the resources its step requires; declare the "
                    "resource as a parameter of the asset or op that uses it rather than building "
                    "it inside the step.",
                    events,
                    recording.run_id,
                )
            )
    return found


def _teardown_failures(
    recording: Recording, failures: Sequence[TeardownFailure], earlier: Sequence[Violation]
) -> list[Violation]:
    """Failed teardowns Dagster reported in a process where no recorded resource broke rule 5
    (a function resource, an IO manager)."""
    explained_pids = {e.pid for v in earlier if v.rule == Rule.TEARDOWN_RAISES for e in v.events}
    found = []
    for failure in failures:
        if failure.pid in explained_pids:
            continue
        known = [key for key in failure.keys if key in recording.resources]
        cls = recording.resources[known[0]].resource_class if known else dagster.ResourceDefinition
        found.append(
            Violation(
                Rule.TEARDOWN_RAISES,
                ", ".join(failure.keys) or "(unknown)",
                cls,
                f"Dagster reported in pid {failure.pid}: {failure.message}",
                TEARDOWN_HINT,
                tuple(e for e in recording.events if e.pid == failure.pid),
                recording.run_id,
                failure.exception,
            )
        )
    return found
