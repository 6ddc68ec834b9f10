"""A test's runs as plain data: what the JSON report holds (``schema.json`` describes it) and
what the timelines are drawn from. Built once a run's rules are checked (the text timeline of a
failure) or once its test ends (the report files), before the test's records are released.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pytest_resources._hooks import describe_exception
from pytest_resources._recording import Event, Recording
from pytest_resources._rules import Rule, Violation


def is_injected_fault(error: BaseException | None) -> bool:
    """Whether ``error`` is, or was raised from, the failure a fault place injected."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        cls = type(error)
        if cls.__name__ == "InjectedFault" and cls.__module__ == "pytest_resources":
            return True
        seen.add(id(error))
        error = error.__cause__
    return False


def _class_name(cls: Any) -> str:
    return f"{getattr(cls, '__module__', '?')}.{getattr(cls, '__qualname__', repr(cls))}"


def _event_record(event: Event, sequence: int, fault: bool) -> dict[str, Any]:
    exception = event.exception
    return {
        "sequence": sequence,
        "key": event.key,
        "class": _class_name(event.resource_class),
        "hook": str(event.hook),
        "pid": event.pid,
        "outcome": event.outcome,
        "exception": describe_exception(exception) if exception is not None else None,
        "fault": fault,
        "location": str(event.location) if event.location is not None else None,
        "started_ns": event.started_ns,
        "duration_ns": event.duration_ns,
    }


def _violation_record(violation: Violation, sequences: dict[int, int]) -> dict[str, Any]:
    exception = violation.exception
    return {
        "rule": int(violation.rule),
        "title": Rule(violation.rule).title,
        "key": violation.key,
        "message": violation.what_happened,
        "hint": violation.hint,
        "events": [sequences[id(e)] for e in violation.events if id(e) in sequences],
        "exception": describe_exception(exception) if exception is not None else None,
    }


def _finding_text(finding: Any) -> str:
    """One line for a leak, an exposed secret or something left open."""
    key = getattr(finding, "resource_key", None) or getattr(finding, "opened_by", None) or "?"
    # The object audited (live copy or user's instance) and when: one line per place found.
    seen = ", ".join(
        part for part in (getattr(finding, "audited", ""), getattr(finding, "when", "")) if part
    )
    if hasattr(finding, "private_attribute"):
        return f"{key}: private {finding.private_attribute} shows in {finding.path} ({seen})"
    if hasattr(finding, "config_field"):
        return f"{key}: secret {finding.config_field} shows in plaintext in {finding.path} ({seen})"
    return f"{key}: {finding.kind} left open: {finding.description}"


def run_record(
    run_id: str,
    recordings: Sequence[Recording],
    violations: Iterable[Violation] = (),
    problems: Iterable[Any] = (),
    checks: Sequence[str] = (),
) -> dict[str, Any]:
    """One run (one ``run_id``): its recordings' resources and events, numbered in the order
    they were recorded, its broken rules: ``violations`` and those of ``problems`` (each a
    :class:`~pytest_resources._problems.Problems`), and what else ``problems`` found."""
    events: list[dict[str, Any]] = []
    sequences: dict[int, int] = {}
    resources: dict[str, dict[str, Any]] = {}
    faulted = False
    for recording in recordings:
        for key, registered in recording.resources.items():
            resources.setdefault(
                key,
                {
                    "key": key,
                    "class": _class_name(registered.resource_class),
                    "parent": registered.parent_key,
                },
            )
        for event in recording.events:
            sequences[id(event)] = len(events) + 1
            # The call the fault was injected into raised it first; the calls around it (the
            # yield_for_execution that called it) only passed it on.
            fault = not faulted and is_injected_fault(event.exception)
            faulted = faulted or fault
            events.append(_event_record(event, len(events) + 1, fault))
    broken = [_violation_record(violation, sequences) for violation in violations]
    findings: list[str] = []
    for found in problems:
        broken.extend(_violation_record(v, sequences) for v in found.violations)
        findings.extend(_finding_text(item) for item in (*found.leaks, *found.left_open))
        findings.extend(f"{where} was entered and never exited" for where in found.never_exited)
    started = [e["started_ns"] for e in events if e["started_ns"]]
    ended = [e["started_ns"] + e["duration_ns"] for e in events if e["started_ns"]]
    return {
        "run_id": run_id,
        "verdict": "broken" if broken or findings else "ok",
        "resources": list(resources.values()),
        "processes": list(dict.fromkeys(e["pid"] for e in events)),
        "checks": list(checks),
        "time_ns": max(ended) - min(started) if started else 0,
        "events": events,
        "violations": broken,
        "findings": findings,
    }


def checks_of(settings: Any, release_checked: bool) -> list[str]:
    """The checks a test's runs went through, by the names the report shows."""
    checks = ["lifecycle rules"]
    if settings.leak_audit:
        checks.append("leak audit")
    if settings.check_secrets:
        checks.append("secrets")
    if settings.release_check or release_checked:
        checks.append("release check")
    return checks


def runs_of_test(ledger: Any, settings: Any) -> list[dict[str, Any]]:
    """Every run of a test that ends, from its ledger (a ``Ledger``)."""
    by_run: dict[str, list[Recording]] = {}
    for recording in ledger.recordings:
        by_run.setdefault(recording.run_id, []).append(recording)
    checks = checks_of(settings, ledger.release_checked)
    return [
        run_record(
            run_id,
            recordings,
            problems=[entry.problems for entry in ledger.entries if entry.run_id == run_id],
            checks=checks,
        )
        for run_id, recordings in by_run.items()
    ]
