"""The table of what each item of the code location came to, shown at the end of the run."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

# The report attribute that carries an item's row of the summary table to the xdist controller.
REPORT_ATTRIBUTE = "pytest_resources_code_location"
# How much of a skip reason the summary table shows.
_REASON_WIDTH = 70


@dataclass
class SummaryRow:
    key: str
    resource_class: str
    checks: str
    verdict: str = "passed"
    seconds: float = 0.0


@dataclass
class CodeLocationSummary:
    """What each item of the code location came to, from its reports (also under xdist)."""

    rows: dict[str, SummaryRow] = field(default_factory=dict)

    def add(self, report: pytest.TestReport) -> None:
        described = getattr(report, REPORT_ATTRIBUTE, None)
        if not isinstance(described, dict):
            return
        row = self.rows.setdefault(
            report.nodeid,
            SummaryRow(described["key"], described["class"], described["checks"]),
        )
        row.seconds += report.duration
        verdict = _verdict(report)
        if verdict is not None:
            row.verdict = verdict

    def lines(self) -> list[str]:
        header = ("key", "class", "checks run", "verdict", "time")
        table = [header] + [
            (row.key, row.resource_class, row.checks, row.verdict, f"{row.seconds:.2f}s")
            for row in self.rows.values()
        ]
        widths = [max(len(line[column]) for line in table) for column in range(len(header))]
        return [
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
            for line in table
        ]


def _verdict(report: pytest.TestReport) -> str | None:
    if hasattr(report, "wasxfail"):
        return "xpassed" if report.passed else "xfailed"
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
        reason = reason.removeprefix("Skipped: ").partition(": set")[0]
        reason = re.sub(r"^resource '[^']*' ", "", reason)  # the table shows the key
        if len(reason) > _REASON_WIDTH:
            reason = reason[: _REASON_WIDTH - 3] + "..."
        return f"skipped: {reason}" if reason else "skipped"
    if report.failed:
        return "failed" if report.when == "call" else "error"
    return "passed" if report.when == "call" else None
