"""The hooks of ``--dagster-definitions``, registered only when it is asked for."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from pytest_resources._definitions.items import CodeLocationItem, collect_code_location
from pytest_resources._definitions.loading import DefinitionsError
from pytest_resources._definitions.options import options_from
from pytest_resources._definitions.summary import REPORT_ATTRIBUTE, CodeLocationSummary
from pytest_resources._item_settings import item_settings


class CodeLocationPlugin:
    """The hooks of ``--dagster-definitions``, registered only when it is asked for."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.summary = CodeLocationSummary()

    def pytest_report_header(self) -> list[str]:
        try:
            options = options_from(self.config)
        except DefinitionsError:
            return []  # collection stops with the error
        env = f", variables from {options.env_source}" if options.env_source else ""
        return [
            f"pytest-resources: code location {options.target} (named by "
            f"{options.target.named_by}){env}"
        ]

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, items: list[pytest.Item]
    ) -> None:
        # First, so that -k, -m and --deselect choose among the code location's items too.
        items.extend(collect_code_location(session))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if isinstance(item, CodeLocationItem):
            setattr(report, REPORT_ATTRIBUTE, item.summary_row(item_settings(item)))
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Also on the xdist controller: the row travels with the worker's report.
        self.summary.add(report)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.summary.rows:
            terminalreporter.write_sep("-", "pytest-resources: code location")
            for line in self.summary.lines():
                terminalreporter.write_line(line)
