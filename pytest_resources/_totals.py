"""What the session checked, for the summary at the end of the run."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_resources._ledger import Ledger


@dataclass
class SessionTotals:
    """What the session checked, for the summary at the end of the run."""

    tests: int = 0
    runs: int = 0
    resources: int = 0
    hook_calls: int = 0
    pids: set[int] = field(default_factory=set)
    runs_with_problems: int = 0
    # Runs that broke a rule in tests marked xfail: what those tests expect, not news.
    expected_runs_with_problems: int = 0
    audited_examples: int = 0
    # Values the leak audit skipped because it could not read them (NotInspected).
    not_inspected: int = 0
    # The plugin's own errors that weakened every audit (a form it cannot build on this Dagster).
    plugin_errors: set[str] = field(default_factory=set)

    def add(self, test: Ledger, *, expected_to_fail: bool = False) -> None:
        if not test.recordings:
            return
        self.tests += 1
        self.runs += len({recording.run_id for recording in test.recordings})
        self.resources += sum(len(recording.resources) for recording in test.recordings)
        self.hook_calls += sum(len(recording.events) for recording in test.recordings)
        self.pids.update(event.pid for r in test.recordings for event in r.events)
        if expected_to_fail:
            self.expected_runs_with_problems += len(test.entries)
        else:
            self.runs_with_problems += len(test.entries)
        self.audited_examples += sum(summary.examples for summary in test.audits)
        self.not_inspected += len({item.place() for item in test.not_inspected})

    def as_dict(self) -> dict[str, Any]:
        """Plain data, for an xdist worker to send to the controller."""
        numbers = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {**numbers, "pids": sorted(self.pids), "plugin_errors": sorted(self.plugin_errors)}

    def merge(self, other: Mapping[str, Any]) -> None:
        """Add a worker's totals (from :meth:`as_dict`)."""
        for name, value in other.items():
            if name == "pids":
                self.pids.update(value)
            elif name == "plugin_errors":
                self.plugin_errors.update(value)
            elif hasattr(self, name):
                setattr(self, name, getattr(self, name) + value)

    def summary(self) -> str:
        text = (
            f"{counted(self.tests, 'test')} opened {counted(self.resources, 'resource')} in "
            f"{counted(self.runs, 'run')} ({counted(len(self.pids), 'process', 'processes')}), "
            f"{counted(self.hook_calls, 'lifecycle call')} recorded and checked"
        )
        if self.audited_examples:
            configs = counted(self.audited_examples, "generated config")
            text += f", {configs} audited under injected faults"
        if self.not_inspected:
            text += (
                f"; {counted(self.not_inspected, 'value')} not inspected by the leak audit "
                "(each test's report names them: pytest -rA)"
            )
        broken, expected = self.runs_with_problems, self.expected_runs_with_problems
        if broken:
            text += f"; {counted(broken, 'run')} broke a rule"
        if expected:
            text += f"; {counted(expected, 'run')} broke a rule in tests expected to fail (xfail)"
        return text


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """``1 run``, ``2 runs``, ``3 processes`` (``plural`` where it is not ``noun + 's'``)."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"
