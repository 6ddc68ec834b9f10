"""What one initialization or one real run broke, and the one pipeline from a recording to it.

:func:`find_problems` is the only place a recording becomes problems: the lifecycle rules, the
detectors' rules, for a real run the rules that read Dagster's events, and what the audits and
the release check found, less what an injected fault explains.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

from pytest_resources._detectors import find_defects
from pytest_resources._errors import LifecycleError, PrivateStateLeak
from pytest_resources._leak_audit import (
    Leak,
    NotInspected,
    SecretExposure,
    format_leak_report,
    format_not_inspected,
)
from pytest_resources._live_values import UnusableLiveValue
from pytest_resources._recording import Recording
from pytest_resources._release_check import Leftover, format_leftovers
from pytest_resources._report.runs import run_record
from pytest_resources._report.text import text_timeline
from pytest_resources._rules import Violation, check_recording, format_violations
from pytest_resources._run_rules import RunFacts, check_run

Finding: TypeAlias = Leak | SecretExposure


@dataclass(frozen=True, eq=False)
class Problems:
    """What one initialization broke: lifecycle rules, and private state seen in config."""

    violations: tuple[Violation, ...] = ()
    leaks: tuple[Finding, ...] = ()
    left_open: tuple[Leftover, ...] = ()
    # Where resources were opened and never closed by the test (the plugin closed them).
    never_exited: tuple[str, ...] = ()
    # What the leak audit skipped: shown beside the problems, never one itself.
    not_inspected: tuple[NotInspected, ...] = ()
    # The text timeline of the run that broke the rules ("" when it has too many lanes).
    timeline: str = ""

    def __bool__(self) -> bool:
        return bool(self.violations or self.leaks or self.left_open or self.never_exited)

    def report(self) -> str:
        parts = [
            f"{where} was entered and never exited: the test ended with its resources still "
            "set up, and their teardown ran only then. Use it as a context manager: "
            "`with run_context.open(...) as live:`."
            for where in self.never_exited
        ]
        if self.violations:
            parts.append(format_violations(self.violations))
        if self.timeline:
            parts.append(self.timeline)
        if self.left_open:
            parts.append(format_leftovers(self.left_open))
        if self.leaks:
            parts.append(format_leak_report(self.leaks))
        if self.not_inspected:
            parts.append(format_not_inspected(self.not_inspected))
        return "\n\n".join(parts)

    def error(self) -> LifecycleError | PrivateStateLeak:
        """A broken rule or something left open is a LifecycleError; leaks alone are a
        PrivateStateLeak."""
        lifecycle = self.violations or self.left_open or self.never_exited
        return (LifecycleError if lifecycle else PrivateStateLeak)(self.report())


def find_problems(
    recording: Recording,
    *,
    strict_detectors: bool,
    unusable: Sequence[UnusableLiveValue] = (),
    facts: RunFacts | None = None,
    leaks: Sequence[Finding] = (),
    left_open: Sequence[Leftover] = (),
    never_exited: Sequence[str] = (),
    not_inspected: Sequence[NotInspected] = (),
) -> Problems:
    """Every rule ``recording`` broke (with ``facts``, those of a real run too), beside what
    the audits and the release check found. An injected fault's failure is the test's doing,
    never a broken rule."""
    violations = [
        *check_recording(recording),
        *find_defects(recording, unusable, strict=strict_detectors),
    ]
    if facts is not None:
        violations.extend(check_run(recording, facts, violations))
    fault = recording.fault
    broken = tuple(v for v in violations if fault is None or not fault.is_injected(v.exception))
    return Problems(
        broken,
        tuple(leaks),
        tuple(left_open),
        tuple(never_exited),
        tuple(not_inspected),
        text_timeline(run_record(recording.run_id, [recording], broken)) if broken else "",
    )


def report_problems(problems: Sequence[Problems], *, limit: int) -> AssertionError:
    """One error for a test's problems: the newest ``limit`` initializations spelled out (a
    hypothesis test replays its minimal example last) and a count of the rest."""
    shown = problems[-limit:]
    merged = Problems(
        tuple(v for p in shown for v in p.violations),
        tuple(leak for p in shown for leak in p.leaks),
        tuple(item for p in shown for item in p.left_open),
        tuple(where for p in shown for where in p.never_exited),
        tuple(item for p in shown for item in p.not_inspected),
        "\n\n".join(p.timeline for p in shown if p.timeline),
    )
    error = merged.error()
    if len(problems) > limit:
        error.args = (
            f"{error.args[0]}\n\n(+{len(problems) - limit} more runs of this test broke rules "
            "or leaked private state, not shown)",
        )
    return error
