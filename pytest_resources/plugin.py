"""pytest hooks, the ``resource`` marker and the fixtures.

Thin on purpose: pytest loads this module in every run, also in projects that never touch
Dagster, so dagster and hypothesis are imported only once a test uses a fixture or the marker.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from pytest_resources._errors import ResourceUsageError

if TYPE_CHECKING:
    from pytest_resources._run import (  # noqa: F401
        OpenResources,
        Problems,
        RunContext,
        Settings,
        TestRuns,
    )

_RUN_CONTEXT = pytest.StashKey["RunContext"]()
_TEST_RUNS = pytest.StashKey["TestRuns"]()
_MARKED_RUN = pytest.StashKey["OpenResources"]()
_MARKED_VALUES = pytest.StashKey[dict[str, Any]]()
# How many runs' problems the end-of-test report spells out; a hypothesis test can break a rule
# in every example it tries while shrinking.
_REPORTED_RUNS = 3


def pytest_addoption(parser: pytest.Parser) -> None:
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


def _code_location_requested(config: pytest.Config) -> bool:
    return config.getoption("dagster_definitions") is not None or bool(
        str(config.getini("dagster_definitions")).strip()
    )


def pytest_configure(config: pytest.Config) -> None:
    if _code_location_requested(config):
        from pytest_resources._definitions import CodeLocationPlugin

        config.pluginmanager.register(CodeLocationPlugin(config), "pytest-resources-definitions")
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


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = []
    if not config.getini("resources_leak_audit"):
        reason = config.getini("resources_leak_audit_reason") or "no reason given"
        lines.append(f"pytest-resources: private-state leak audit off for this project ({reason})")
    if config.getini("resources_release_check"):
        from pytest_resources._release_check import unavailable_reason

        unavailable = unavailable_reason()
        state = f"unavailable: {unavailable}" if unavailable else "on"
        lines.append(f"pytest-resources: release check {state}")
    return lines


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    context = config.stash.get(_RUN_CONTEXT, None)
    if context is not None and context.totals.tests:
        terminalreporter.write_sep("-", "pytest-resources")
        terminalreporter.write_line(context.totals.summary())


def _settings_from(config: pytest.Config) -> Settings:
    from pytest_resources._release_check import DEFAULT_ALLOW
    from pytest_resources._run import Settings

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


def _choices_marked_on(item: pytest.Item) -> dict[str, bool | None]:
    return {
        "leak_audit": False if item.get_closest_marker("no_leak_audit") else None,
        "release_check": True if item.get_closest_marker("release_check") else None,
    }


def item_settings(item: pytest.Item) -> Settings:
    """The checks a test's runs apply: the project's, as the test's marks override them."""
    return _settings_from(item.config).overridden(**_choices_marked_on(item))


@pytest.fixture(scope="session")
def run_context(pytestconfig: pytest.Config) -> Iterator[RunContext]:
    """Real Dagster run contexts: ``open`` resources, start ``run()``s, read ``lifecycle``.

    Session scoped so that hypothesis' ``@given`` tests may request it; each ``run()`` inside
    such a test is a fresh run, checked on its own.
    """
    from pytest_resources._run import RunContext

    context = RunContext(_settings_from(pytestconfig))
    pytestconfig.stash[_RUN_CONTEXT] = context
    context.warm_up()
    yield context
    context.close()


@pytest.fixture(autouse=True)
def _pytest_resources_test(request: pytest.FixtureRequest) -> Generator[None, None, None]:
    """Opens the marked resources and keeps the test's lifecycle records; idle otherwise."""
    item = request.node
    marks = list(item.iter_markers("resource"))
    if not marks and "run_context" not in request.fixturenames:
        yield
        return
    context: RunContext = request.getfixturevalue("run_context")
    settings = context.settings.overridden(**_choices_marked_on(item))
    test_runs = context.begin_test(item.nodeid, settings)
    item.stash[_TEST_RUNS] = test_runs
    try:
        if marks:
            _open_marked_resources(item, test_runs, marks)
        yield
        # The call phase closes the marked run; this catches the case where it never ran.
        _close_marked_run(item, None)
        if test_runs.unreported():
            _raise_end_of_test(test_runs, test_runs.unreported())
    finally:
        context.end_test()
        # The item lives as long as the session: what the test recorded and the live values
        # it was handed must not.
        for key in (_TEST_RUNS, _MARKED_VALUES):
            if key in item.stash:
                del item.stash[key]


def _open_marked_resources(item: pytest.Item, test_runs: TestRuns, marks: list[Any]) -> None:
    __tracebackhide__ = True
    from pytest_resources._marker import resources_from_marks
    from pytest_resources._recording import Location
    from pytest_resources._run import OpenResources

    try:
        marked = resources_from_marks(marks)
    except ResourceUsageError as error:
        usage_error = str(error)
    else:
        usage_error = ""
    if usage_error:  # failed outside the except block, so no chained traceback is shown
        pytest.fail(usage_error, pytrace=False)
    path, lineno, _ = item.reportinfo()
    location = Location(str(path), (lineno or 0) + 1)
    opened = OpenResources(
        test_runs.default_run,
        marked.named,
        location=location,
        raise_on_exit=False,
        settings=test_runs.settings.overridden(release_check=marked.release_check or None),
        unaudited=marked.unaudited,
    )
    item.stash[_MARKED_VALUES] = opened.__enter__()
    item.stash[_MARKED_RUN] = opened


def _close_marked_run(item: pytest.Item, error: BaseException | None) -> None:
    opened = item.stash.get(_MARKED_RUN, None)
    if opened is None:
        return
    del item.stash[_MARKED_RUN]
    if error is None:
        opened.__exit__(None, None, None)
    else:
        opened.__exit__(type(error), error, error.__traceback__)


def _raise_end_of_test(test_runs: TestRuns, problems: list[Problems]) -> None:
    __tracebackhide__ = True
    from pytest_resources._run import report_problems

    error = report_problems(problems, limit=_REPORTED_RUNS)
    error.__pytest_resources_plain__ = True  # type: ignore[attr-defined]
    test_runs.mark_reported(problems)
    raise error


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Close the marked run as the test body ends; fail the test for anything its runs broke."""
    test_runs = item.stash.get(_TEST_RUNS, None)
    if test_runs is None:
        return (yield)
    try:
        result = yield
    except BaseException as error:
        _close_marked_run(item, error)
        test_runs.mark_reported([p for p in test_runs.unreported() if test_runs.shown_by(p, error)])
        unreported = test_runs.unreported()
        if unreported:
            from pytest_resources._run import report_problems

            # The test's own failure stays the headline; the report goes beside it.
            report = report_problems(unreported, limit=_REPORTED_RUNS)
            item.add_report_section("call", "resource lifecycle", str(report))
            test_runs.mark_reported(unreported)
        raise
    _close_marked_run(item, None)
    if test_runs.unreported():
        _raise_end_of_test(test_runs, test_runs.unreported())
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    # A rule broken by the test as a whole has no line of the test to point at: show the report.
    if call.excinfo is not None and getattr(
        call.excinfo.value, "__pytest_resources_plain__", False
    ):
        report.longrepr = f"{call.excinfo.typename}: {call.excinfo.value}"
    return report


def _marked_values(request: pytest.FixtureRequest, fixture: str) -> dict[str, Any]:
    values: dict[str, Any] | None = request.node.stash.get(_MARKED_VALUES, None)
    if values is None:
        pytest.fail(
            f"the {fixture} fixture hands out resources marked on the test, its class or module "
            "with @pytest.mark.resource(MyResource, field=value); this test has none.",
            pytrace=False,
        )
    return values


@pytest.fixture
def resource(request: pytest.FixtureRequest) -> Any:
    """The live value of the one resource marked with ``@pytest.mark.resource``."""
    values = _marked_values(request, "resource")
    if len(values) != 1:
        pytest.fail(
            f"the resource fixture needs exactly one marked resource, this test has "
            f"{len(values)} ({', '.join(values)}); use the resources fixture: "
            f"resources[{next(iter(values))!r}].",
            pytrace=False,
        )
    return next(iter(values.values()))


@pytest.fixture
def resources(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The live values of every resource marked with ``@pytest.mark.resource``, by key."""
    return dict(_marked_values(request, "resources"))
