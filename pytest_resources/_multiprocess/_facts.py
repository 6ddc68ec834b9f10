"""What Dagster's own events tell of a real run, for the rules that read them (7, 8, and 5 for
a teardown no recorded resource explains): :class:`~pytest_resources._rules.RunFacts`."""

from __future__ import annotations

import os
from typing import Any

import dagster

from pytest_resources._multiprocess._wire import remote_exception, reported_exception
from pytest_resources._run_rules import RunFacts, StepProcess, TeardownFailure

# How Dagster's engine event for a failed teardown starts.
TEARDOWN_FAILED = "Teardown of resources"
_DAGSTER_DIRECTORY = os.path.dirname(dagster.__file__) + os.sep


def is_teardown_failure(event: dagster.DagsterEvent) -> bool:
    """Whether ``event`` is Dagster's "Teardown of resources [...] failed." engine event."""
    return event.event_type_value == "ENGINE_EVENT" and (event.message or "").startswith(
        TEARDOWN_FAILED
    )


def run_facts(result: Any, *, orchestrator_pid: int | None) -> RunFacts:
    """The facts of a run: ``orchestrator_pid`` for a multiprocess run, and what Dagster's
    result says (nothing when the run raised before it had one)."""
    if result is None:
        return RunFacts(orchestrator_pid)
    return RunFacts(
        orchestrator_pid,
        _step_processes(result, orchestrator_pid) if orchestrator_pid is not None else (),
        tuple(
            _teardown_failure(event) for event in result.all_events if is_teardown_failure(event)
        ),
    )


def _step_processes(result: Any, orchestrator_pid: int) -> tuple[StepProcess, ...]:
    """Each process that ran steps, with the resources its steps need (Dagster initializes only
    those, and what they need in turn)."""
    from pytest_resources._dagster import create_execution_plan, resources_init

    job = result.job_def
    steps_by_pid: dict[int, set[str]] = {}
    for event in result.all_events:
        if event.step_key and event.pid is not None and event.pid != orchestrator_pid:
            steps_by_pid.setdefault(event.pid, set()).add(event.step_key)
    if not steps_by_pid:
        return ()
    plan = create_execution_plan(job, run_config=result.dagster_run.run_config)
    dependencies = resources_init.resolve_resource_dependencies(job.resource_defs)
    processes = []
    for pid, step_keys in steps_by_pid.items():
        needed: set[str] = set()
        for step_key in step_keys:
            needed |= resources_init.get_required_resource_keys_for_step(
                job, plan.get_step_by_key(step_key), plan
            )
        pending = list(needed)
        while pending:  # what the needed resources need in turn
            for dependency in dependencies.get(pending.pop(), set()):
                if dependency not in needed:
                    needed.add(dependency)
                    pending.append(dependency)
        processes.append(StepProcess(pid, tuple(sorted(step_keys)), frozenset(needed)))
    return tuple(processes)


def _teardown_failure(event: dagster.DagsterEvent) -> TeardownFailure:
    message = event.message or ""
    error = getattr(event.event_specific_data, "error", None)
    exception = None
    if error is not None:
        name = error.cls_name or "Exception"
        text = (error.message or "").strip().removeprefix(f"{name}:").strip()
        frames = [frame for frame in error.stack or () if _DAGSTER_DIRECTORY not in frame]
        exception = remote_exception(reported_exception(name, text, frames))
    listed = message[len(TEARDOWN_FAILED) :].strip().removesuffix(" failed.").strip("[] ")
    keys = tuple(sorted(filter(None, listed.split(", "))))  # Dagster lists a set: any order
    return TeardownFailure(event.pid, message, keys, exception)
