"""What the project and the test choose: the options, ini settings and markers the plugin
declares, and the checks a test's runs apply (the project's ini settings, as the test's marks
override them). Imported by the plugin and by code-location items; cheap (Dagster loads on first
call)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_resources._settings import Settings


def settings_from(config: pytest.Config) -> Settings:
    from pytest_resources._release_check import DEFAULT_ALLOW
    from pytest_resources._settings import Settings

    allowed: list[str] = config.getini("resources_release_allow")
    threads = [
        pattern.removeprefix("thread:") for pattern in allowed if pattern.startswith("thread:")
    ]
    paths = [pattern for pattern in allowed if not pattern.startswith("thread:")]
    return Settings(
        leak_audit=config.getini("resources_leak_audit"),
        check_secrets=config.getini("resources_check_secrets"),
        release_check=config.getini("resources_release_check"),
        strict_detectors=config.getini("resources_strict_detectors"),
        release_allow=DEFAULT_ALLOW.extend(paths=paths, thread_names=threads),
    )


def choices_marked_on(item: pytest.Item) -> dict[str, bool | None]:
    return {
        "leak_audit": False if item.get_closest_marker("no_leak_audit") else None,
        "release_check": True if item.get_closest_marker("release_check") else None,
    }


def item_settings(item: pytest.Item) -> Settings:
    """The checks a test's runs apply: the project's, as the test's marks override them."""
    return settings_from(item.config).overridden(**choices_marked_on(item))


def add_options(parser: pytest.Parser) -> None:
    """The plugin's ini settings and command-line options."""
    parser.addini(
        "resources_leak_audit",
        type="bool",
        default=True,
        help="pytest-resources: audit every opened resource for private state in its serialized "
        "config (default: true).",
    )
    parser.addini(
        "resources_leak_audit_reason",
        default="",
        help="pytest-resources: why the project switched the leak audit off (shown in the header).",
    )
    parser.addini(
        "resources_release_check",
        type="bool",
        default=False,
        help="pytest-resources: fail when files, sockets, threads or child processes are left "
        "open after a run's teardown (default: false).",
    )
    parser.addini(
        "resources_release_allow",
        type="linelist",
        default=[],
        help="pytest-resources: what the release check may find left open: fnmatch patterns of "
        "paths or socket addresses, or 'thread:NAME-PATTERN'.",
    )
    parser.addini(
        "resources_check_secrets",
        type="bool",
        default=False,
        help="pytest-resources: also fail on secret config (EnvVar, dagster__is_secret) shown in "
        "plaintext in repr() or the repository snapshot (default: false).",
    )
    parser.addini(
        "resources_strict_detectors",
        type="bool",
        default=False,
        help="pytest-resources: widen the misspelled-hook and live-value detectors to what is "
        "probably, not certainly, a defect (default: false).",
    )
    group = parser.getgroup("pytest-resources")
    from pytest_resources._report.options import add_report_options  # pytest alone

    add_report_options(group)
    group.addoption(
        "--dagster-definitions",
        nargs="?",
        const="",
        default=None,
        metavar="MODULE[:ATTRIBUTE]",
        help="check every resource of a code location: one test per resource key of its "
        "Definitions. Without a value: the ini option dagster_definitions, else the module of "
        "pyproject.toml's [tool.dagster] or [tool.dg.project].",
    )
    group.addoption(
        "--dagster-definitions-env",
        default=None,
        metavar="FILE",
        help="a .env file with the variables the code location's EnvVars read (default: .env "
        "in the rootdir, when there is one).",
    )
    group.addoption(
        "--dagster-definitions-audit",
        type=int,
        default=None,
        metavar="N",
        help="also audit each resource class of the code location with N generated configs "
        "under every injected fault (default: the ini option, else 0).",
    )
    parser.addini(
        "dagster_definitions",
        default="",
        help="pytest-resources: the code location (MODULE[:ATTRIBUTE]) whose resources every run "
        "checks, as --dagster-definitions does.",
    )
    parser.addini(
        "dagster_definitions_env",
        default="",
        help="pytest-resources: the .env file for --dagster-definitions.",
    )
    parser.addini(
        "dagster_definitions_audit",
        default="0",
        help="pytest-resources: generated configs per resource class for --dagster-definitions.",
    )
    parser.addini(
        "dagster_definitions_audit_fields",
        type="linelist",
        default=[],
        help="pytest-resources: fields the audits of --dagster-definitions-audit pin, one "
        "'CLASS.field = value' line each (value a Python literal).",
    )


def code_location_requested(config: pytest.Config) -> bool:
    return config.getoption("dagster_definitions") is not None or bool(
        str(config.getini("dagster_definitions")).strip()
    )


def add_markers(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "resource(resource, /, **config_or_options): open a Dagster resource for this test "
        "through Dagster's own initialization. A class takes its config as keyword arguments: "
        "resource(MyResource, host='db'); an instance takes options: "
        "resource(MyResource(host='db'), key='db', leak_audit=False).",
    )
    config.addinivalue_line(
        "markers",
        "release_check: fail this test when its runs leave files, sockets, threads or child "
        "processes open after teardown.",
    )
    config.addinivalue_line(
        "markers",
        "no_leak_audit(reason): do not audit this test's resources for private state in their "
        "serialized config.",
    )
