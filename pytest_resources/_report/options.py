"""The report's command-line options, and the hooks that collect it registered when one of its
files is asked for. Imports pytest alone: plugin.py loads it in every session."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


def add_report_options(group: Any) -> None:
    group.addoption(
        "--resources-report",
        default=None,
        metavar="PATH.html",
        help="write a self-contained HTML report of every test's runs, with the timeline of "
        "each broken run.",
    )
    group.addoption(
        "--resources-report-json",
        default=None,
        metavar="PATH",
        help="write every test's runs as JSON (merge shards into one HTML report with "
        "python -m pytest_resources.report merge).",
    )
    group.addoption(
        "--resources-report-all-runs",
        action="store_true",
        default=False,
        help="draw the timeline of every run in the HTML report, not only of broken ones.",
    )


def configure_report(config: pytest.Config, test_runs_of: Callable[[pytest.Item], Any]) -> None:
    """Check the report paths and register the hooks that collect the report, if asked for.
    ``test_runs_of`` gives an item's running test, or None."""
    html = config.getoption("resources_report", None)
    json_path = config.getoption("resources_report_json", None)
    if html is None and json_path is None:
        return
    from pytest_resources._report.collect import ReportPlugin, check_paths

    if not hasattr(config, "workerinput"):  # an xdist worker: its controller checked them
        check_paths(html, json_path)
    plugin = ReportPlugin(
        config,
        test_runs_of,
        html=html,
        json_path=json_path,
        all_runs=config.getoption("resources_report_all_runs", False),
    )
    config.pluginmanager.register(plugin, "pytest-resources-report")
