"""The hooks behind ``--resources-report`` and ``--resources-report-json``: each test's runs
taken as plain data when the test ends (before its records are released), its outcome from its
reports, and the files written once, by the process that ran the tests or, under pytest-xdist,
by the controller from what every worker sent."""

from __future__ import annotations

from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import pytest

from pytest_resources._report.json_file import (
    HTML_MARKER,
    JSON_MARKER,
    ReportFileError,
    check_writable,
    write_json,
)

WORKER_OUTPUT_KEY = "pytest_resources_report"
# The worst outcome of a test's phases wins.
_OUTCOME_ORDER = ("passed", "skipped", "xpassed", "xfailed", "error", "failed")


def check_paths(html: str | None, json_path: str | None) -> None:
    """A pytest usage error, at startup, for a path the session could not write its report to."""
    try:
        if html is not None:
            check_writable(Path(html), "--resources-report", HTML_MARKER)
        if json_path is not None:
            check_writable(Path(json_path), "--resources-report-json", JSON_MARKER)
    except ReportFileError as error:
        raise pytest.UsageError(f"pytest-resources: {error}") from None


class ReportPlugin:
    """Collects every test's runs and writes the report files at the end of the session.

    ``test_runs_of`` gives an item's running test (``TestRuns``), or None for a test that
    opened nothing.
    """

    def __init__(
        self,
        config: pytest.Config,
        test_runs_of: Callable[[pytest.Item], Any],
        *,
        html: str | None,
        json_path: str | None,
        all_runs: bool,
    ) -> None:
        self.config = config
        self.test_runs_of = test_runs_of
        self.html = Path(html) if html is not None else None
        self.json_path = Path(json_path) if json_path is not None else None
        self.all_runs = all_runs
        self.tests: dict[str, dict[str, Any]] = {}
        # Outcome and duration of the phases a test reported before its runs were taken.
        self.phases: dict[str, tuple[str, float]] = {}
        self.from_workers: list[dict[str, Any]] = []
        self.write_error = ""

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, None, None]:
        # Innermost: runs after the fixtures' teardowns closed the test's last runs, and before
        # the plugin's own hook ends the test and releases its records.
        test_runs = self.test_runs_of(item)
        try:
            return (yield)
        finally:
            outcome, duration = self.phases.pop(item.nodeid, ("passed", 0.0))
            if test_runs is not None and test_runs.ledger.recordings:
                from pytest_resources._report.runs import runs_of_test

                self.tests[item.nodeid] = {
                    "nodeid": item.nodeid,
                    "outcome": outcome,
                    "duration_s": duration,
                    "runs": runs_of_test(test_runs.ledger, test_runs.settings),
                }

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if getattr(
            self.config, "workerinput", None
        ) is None and self.config.pluginmanager.has_plugin("dsession"):
            return  # the xdist controller: the workers collect
        test = self.tests.get(report.nodeid)
        if test is None and report.when == "teardown":
            return  # a test that opened nothing
        earlier = (test["outcome"], test["duration_s"]) if test else self.phases.get(report.nodeid)
        outcome, duration = earlier or ("passed", 0.0)
        worse = _outcome(report)
        if _OUTCOME_ORDER.index(worse) > _OUTCOME_ORDER.index(outcome):
            outcome = worse
        duration = round(duration + report.duration, 6)
        if test is None:
            self.phases[report.nodeid] = (outcome, duration)
        else:
            test["outcome"], test["duration_s"] = outcome, duration

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """On the xdist controller: what a finished worker collected."""
        self.from_workers.extend(getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY, ()))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        worker_output = getattr(self.config, "workeroutput", None)
        if worker_output is not None:
            worker_output[WORKER_OUTPUT_KEY] = list(self.tests.values())
            return
        tests = [*self.tests.values(), *self.from_workers]
        try:
            if self.json_path is not None:
                write_json(self.json_path, tests)
            if self.html is not None:
                from pytest_resources._report.html import write_html

                write_html(self.html, tests, all_runs=self.all_runs)
        except OSError as error:  # the disk filled up, or the path went away, during the run
            self.write_error = f"could not write the lifecycle report: {error}"

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.write_error:
            terminalreporter.write_line(f"ERROR (pytest-resources): {self.write_error}", red=True)
            return
        for label, path in (("HTML", self.html), ("JSON", self.json_path)):
            if path is not None and path.exists():
                terminalreporter.write_line(f"pytest-resources: {label} report written to {path}")


def _outcome(report: pytest.TestReport) -> str:
    xfailed = hasattr(report, "wasxfail")
    if report.failed:
        return "failed" if report.when == "call" else "error"
    if report.skipped:
        return "xfailed" if xfailed else "skipped"
    return "xpassed" if xfailed and report.when == "call" else "passed"
