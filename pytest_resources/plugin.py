"""pytest hooks, the ``resource`` marker and the fixtures.

Thin on purpose: pytest loads this module in every run, also in projects that never touch
Dagster, so dagster and hypothesis are imported only once a test uses a fixture or the marker.
"""

from __future__ import annotations

import sys
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from pytest_resources._errors import ResourceUsageError, UnsupportedDagster
from pytest_resources._item_settings import choices_marked_on, settings_from

if TYPE_CHECKING:
    from pytest_resources._context import RunContext, Session, TestRuns  # noqa: F401
    from pytest_resources._initialization import Initialization  # noqa: F401
    from pytest_resources._problems import Problems

_SESSION = pytest.StashKey["Session"]()
_TEST_RUNS = pytest.StashKey["TestRuns"]()
_MARKED_RUN = pytest.StashKey["Initialization"]()
_MARKED_VALUES = pytest.StashKey[dict[str, Any]]()
# The test's resource marks until they are opened, once every other fixture is set up.
_PENDING_MARKS = pytest.StashKey[list[Any]]()
# Set when a fixture uses the marked values: the run then closes after that fixture's teardown.
_CLOSE_AT_TEARDOWN = pytest.StashKey[bool]()
_CALL_ERROR = pytest.StashKey[BaseException]()
# Set when pytest reports the test as xfailed: its broken rules are what it expects.
_EXPECTED_TO_FAIL = pytest.StashKey[bool]()
# What each xdist worker checked, gathered on the controller for the closing summary.
_WORKER_TOTALS = pytest.StashKey[list[dict[str, Any]]]()
_WORKER_OUTPUT_KEY = "pytest_resources_totals"
# The fixture behind ``resource`` and ``resources``; whatever depends on it opens after it.
_MARKED_FIXTURE = "_pytest_resources_marked"
# How many runs' problems the end-of-test report spells out; a hypothesis test can break a rule
# in every example it tries while shrinking.
_REPORTED_RUNS = 3


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from pytest_resources import _hookspecs

    pluginmanager.add_hookspecs(_hookspecs)


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
    parser.addini(
        "dagster_definitions_audit_fields",
        type="linelist",
        default=[],
        help="pytest-resources: fields the audits of --dagster-definitions-audit pin, one "
        "'CLASS.field = value' line each (value a Python literal).",
    )


def _code_location_requested(config: pytest.Config) -> bool:
    return config.getoption("dagster_definitions") is not None or bool(
        str(config.getini("dagster_definitions")).strip()
    )


def _unsupported_dagster() -> str | None:
    """Why the installed Dagster is one the plugin cannot work with, if it is: checked once a
    feature is first used, before any module that needs Dagster's internals loads."""
    try:
        import pytest_resources._dagster  # noqa: F401
    except UnsupportedDagster as error:
        return str(error)
    return None


def pytest_configure(config: pytest.Config) -> None:
    if _code_location_requested(config):
        unsupported = _unsupported_dagster()
        if unsupported:
            raise pytest.UsageError(unsupported)
        from pytest_resources._definitions import CodeLocationPlugin

        config.pluginmanager.register(CodeLocationPlugin(config), "pytest-resources-definitions")
    else:
        for name in ("--dagster-definitions-env", "--dagster-definitions-audit"):
            if config.getoption(name) is not None:
                raise pytest.UsageError(
                    f"pytest-resources: {name} applies to a code location, and none is named: "
                    "add --dagster-definitions[=MODULE] (or the ini option dagster_definitions)"
                )
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


def pytest_sessionfinish(session: pytest.Session) -> None:
    """On an xdist worker, hand what it checked to the controller."""
    worker_output = getattr(session.config, "workeroutput", None)
    plugin_session = session.config.stash.get(_SESSION, None)
    if worker_output is not None and plugin_session is not None:
        _add_plugin_errors(plugin_session.totals)
        worker_output[_WORKER_OUTPUT_KEY] = plugin_session.totals.as_dict()


def _add_plugin_errors(totals: Any) -> None:
    """The forms this process's audits could not build (only if an audit ran: no import)."""
    cache = sys.modules.get("pytest_resources._leak_audit.forms")
    if cache is not None:
        totals.plugin_errors.update(cache.unbuildable_forms())


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """On the xdist controller, keep each finished worker's totals."""
    totals = getattr(node, "workeroutput", {}).get(_WORKER_OUTPUT_KEY)
    if totals:
        node.config.stash.setdefault(_WORKER_TOTALS, []).append(totals)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    session = config.stash.get(_SESSION, None)
    totals = session.totals if session is not None else None
    worker_totals = config.stash.get(_WORKER_TOTALS, [])
    if worker_totals:
        from pytest_resources._totals import SessionTotals

        totals = SessionTotals()
        for worker in worker_totals:
            totals.merge(worker)
    elif totals is not None:
        _add_plugin_errors(totals)
    if totals is not None and totals.tests:
        terminalreporter.write_sep("-", "pytest-resources")
        terminalreporter.write_line(totals.summary())
        for message in sorted(totals.plugin_errors):
            terminalreporter.write_line(f"ERROR (pytest-resources): {message}", red=True)


@pytest.fixture(scope="session")
def run_context(pytestconfig: pytest.Config) -> Iterator[RunContext]:
    """Real Dagster run contexts: ``open`` resources, start ``run()``s, read ``lifecycle``.

    Session scoped so that hypothesis' ``@given`` tests may request it; each ``run()`` inside
    such a test is a fresh run, checked on its own.
    """
    unsupported = _unsupported_dagster()
    if unsupported:
        pytest.fail(unsupported, pytrace=False)
    from pytest_resources._context import Session

    session = Session(settings_from(pytestconfig))
    pytestconfig.stash[_SESSION] = session
    session.warm_up()
    yield session.run_context
    session.close()


@pytest.fixture(autouse=True)
def _pytest_resources_test(request: pytest.FixtureRequest) -> Generator[None, None, None]:
    """Keeps the test's lifecycle records; idle for a test without marks or ``run_context``.

    The marked resources open later, once every other fixture is set up (see
    ``_open_pending_marks``), so mocks, environment and files those fixtures make are in place.
    """
    item = request.node
    marks = list(item.iter_markers("resource"))
    if not marks and "run_context" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("run_context")
    session = item.config.stash[_SESSION]
    settings = session.settings.overridden(**choices_marked_on(item))
    test_runs = session.begin_test(item.nodeid, settings)
    item.stash[_TEST_RUNS] = test_runs
    if marks:
        item.stash[_PENDING_MARKS] = marks
    try:
        yield
        # The call phase closes the marked run; this catches the case where it never ran.
        test_runs.ledger.close_forgotten()
        _close_marked_run(item, None)
    finally:
        if _PENDING_MARKS in item.stash:
            del item.stash[_PENDING_MARKS]
        # The item lives as long as the session; what it holds of this test must not. (The
        # records themselves are released at the end of the teardown phase, by
        # pytest_runtest_teardown, once what other fixtures' teardowns broke is reported.)
        for key in (_TEST_RUNS, _MARKED_VALUES, _CALL_ERROR):
            if key in item.stash:
                del item.stash[key]


def _open_pending_marks(item: pytest.Item) -> None:
    """Open the test's marked resources, once; a setup that fails is the test's setup error."""
    __tracebackhide__ = True
    marks = item.stash.get(_PENDING_MARKS, None)
    if marks is None:
        return
    del item.stash[_PENDING_MARKS]
    test_runs = item.stash[_TEST_RUNS]
    try:
        _open_marked_resources(item, test_runs, marks)
    except BaseException as error:
        _mark_shown(test_runs, error)
        raise


def _open_marked_resources(item: pytest.Item, test_runs: TestRuns, marks: list[Any]) -> None:
    __tracebackhide__ = True
    from pytest_resources._hooks import Location
    from pytest_resources._initialization import Initialization
    from pytest_resources._marker import resources_from_marks

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
    opened = Initialization(
        test_runs.default_target,
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
    from pytest_resources._problems import report_problems

    error = report_problems(problems, limit=_REPORTED_RUNS)
    error.__pytest_resources_plain__ = True  # type: ignore[attr-defined]
    test_runs.ledger.mark_reported(problems)
    raise error


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    """Open the marked resources after every fixture of the test is set up."""
    __tracebackhide__ = True
    if item.get_closest_marker("resource") is not None:
        _refuse_marker_under_given(item)
    try:
        result = yield
    except BaseException as error:
        test_runs = item.stash.get(_TEST_RUNS, None)  # set by the autouse fixture
        if test_runs is not None:
            _mark_shown(test_runs, error)
        raise
    _open_pending_marks(item)
    return result


def _refuse_marker_under_given(item: pytest.Item) -> None:
    """Say why hypothesis refuses the ``resource`` fixture in a ``@given`` test, and what to do,
    before its health check fails the test with no word about resources."""
    function: Any = getattr(item, "function", None)
    if not getattr(function, "is_hypothesis_test", False):
        return
    import inspect

    from hypothesis import HealthCheck
    from hypothesis import settings as hypothesis_settings

    requested = sorted({"resource", "resources"} & set(inspect.signature(function).parameters))
    # Where hypothesis' own pytest plugin reads the test's settings from.
    settings: Any = (
        getattr(getattr(item, "obj", None), "_hypothesis_internal_use_settings", None)
        or hypothesis_settings.default
    )
    if not requested or HealthCheck.function_scoped_fixture in settings.suppress_health_check:
        return
    pytest.fail(
        f"@pytest.mark.resource with @given: the marked resource opens once for the whole test, "
        f"so every example hypothesis generates shares one live value in one run, and "
        f"hypothesis' function_scoped_fixture health check refuses the {requested[0]!r} "
        "fixture. To check each example on its own, drop the mark and open a fresh run per "
        "example: `with run_context.run() as run, run.open(MyResource(...)) as live:`. To "
        "share one live resource across the examples on purpose, add "
        "@settings(suppress_health_check=[HealthCheck.function_scoped_fixture]).",
        pytrace=False,
    )


def _mark_shown(test_runs: TestRuns, error: BaseException) -> None:
    """Mark the problems that ``error`` (or an error of its group) already shows."""
    errors = [error]
    while errors:
        current = errors.pop()
        test_runs.ledger.mark_shown_by(current)
        errors.extend(getattr(current, "exceptions", ()))


def _report_beside(item: pytest.Item, test_runs: TestRuns, when: str) -> None:
    """What the error failing the test does not show, in a section of its report: the test's
    own failure stays the headline."""
    unreported = test_runs.ledger.unreported()
    if unreported:
        from pytest_resources._problems import report_problems

        report = report_problems(unreported, limit=_REPORTED_RUNS)
        item.add_report_section(when, "resource lifecycle", str(report))
        test_runs.ledger.mark_reported(unreported)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Close the marked run as the test body ends; fail the test for anything its runs broke."""
    test_runs = item.stash.get(_TEST_RUNS, None)
    if test_runs is None:
        return (yield)
    close_now = not item.stash.get(_CLOSE_AT_TEARDOWN, False)
    try:
        result = yield
    except BaseException as error:
        if close_now:
            _close_marked_run(item, error)
        else:
            item.stash[_CALL_ERROR] = error
        test_runs.ledger.mark_shown_by(error)
        _report_beside(item, test_runs, "call")
        raise
    if close_now:
        _close_marked_run(item, None)
    if test_runs.ledger.unreported():
        _raise_end_of_test(test_runs, test_runs.ledger.unreported())
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    """Fail the test for what its fixtures' teardowns broke, unless their errors show it."""
    __tracebackhide__ = True
    test_runs = item.stash.get(_TEST_RUNS, None)
    if test_runs is None:
        return (yield)
    try:
        try:
            result = yield
        except BaseException as error:
            _mark_shown(test_runs, error)
            _report_beside(item, test_runs, "teardown")
            raise
        if test_runs.ledger.unreported():
            _raise_end_of_test(test_runs, test_runs.ledger.unreported())
        return result
    finally:
        if test_runs.ledger.not_inspected:
            from pytest_resources._leak_audit import format_not_inspected

            item.add_report_section(
                "teardown",
                "resources not inspected",
                format_not_inspected(test_runs.ledger.not_inspected),
            )
        item.config.stash[_SESSION].end_test(
            expected_to_fail=item.stash.get(_EXPECTED_TO_FAIL, False)
        )


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """Explain pytest's quirk behind a collection error of ``@pytest.mark.resource(Cls)``."""
    report = yield
    excinfo = getattr(getattr(report, "call", None), "excinfo", None)
    if report.failed and excinfo is not None and excinfo.errisinstance(UnsupportedDagster):
        report.longrepr = str(excinfo.value)  # a public name imported at the test module's top
    elif report.failed and excinfo is not None and "dagster" in sys.modules:
        from pytest_resources._reports import explained_collection_error

        report.longrepr = explained_collection_error(excinfo, collector.path) or report.longrepr
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if hasattr(report, "wasxfail"):
        item.stash[_EXPECTED_TO_FAIL] = True
    # A rule broken by the test as a whole has no line of the test to point at: show the report.
    if call.excinfo is not None and getattr(
        call.excinfo.value, "__pytest_resources_plain__", False
    ):
        report.longrepr = f"{call.excinfo.typename}: {call.excinfo.value}"
    elif report.failed and call.excinfo is not None and "dagster" in sys.modules:
        from pytest_resources._reports import explained_unset_variable

        report.longrepr = explained_unset_variable(call.excinfo) or report.longrepr
    return report


def _fixtures_using(item: pytest.Item, fixture: str) -> tuple[set[str], list[str]]:
    """The fixtures of ``item`` that depend, directly or not, on ``fixture``; and the others,
    in pytest's order."""
    info = getattr(item, "_fixtureinfo", None)
    definitions: dict[str, Any] = dict(info.name2fixturedefs) if info is not None else {}
    depends: dict[str, bool] = {}

    def uses(name: str, seen: frozenset[str]) -> bool:
        if name == fixture:
            return True
        if name not in depends:
            requested = {arg for d in definitions.get(name, ()) for arg in d.argnames}
            depends[name] = any(uses(arg, seen | {name}) for arg in requested - seen - {name})
        return depends[name]

    names: list[str] = list(getattr(item, "fixturenames", ()))
    using = {name for name in names if name in definitions and uses(name, frozenset())}
    others = [name for name in names if name in definitions and name not in using]
    return using - {fixture, "resource", "resources"}, others


def _fixtures_being_set_up(request: pytest.FixtureRequest) -> set[str]:
    """The chain of fixtures whose setup asked for this one (``getfixturevalue`` included)."""
    names = set()
    current: Any = request
    while current is not None:
        names.add(getattr(current, "fixturename", None))
        current = getattr(current, "_parent_request", None)
    return {name for name in names if name}


@pytest.fixture
def _pytest_resources_marked(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """The marked resources' live values, opened after every fixture that does not need them."""
    __tracebackhide__ = True
    item = request.node
    if item.stash.get(_PENDING_MARKS, None) is None and _MARKED_VALUES not in item.stash:
        asked = "resources" if "resources" in _fixtures_being_set_up(request) else "resource"
        pytest.fail(
            f"the {asked} fixture hands out resources marked on the test, its class or module "
            "with @pytest.mark.resource(MyResource, field=value); this test has none.",
            pytrace=False,
        )
    using, others = _fixtures_using(item, _MARKED_FIXTURE)
    being_set_up = _fixtures_being_set_up(request)
    for name in others:
        if name not in being_set_up and name != "request":
            request.getfixturevalue(name)
    # A fixture that uses the live values may use them in its teardown too: the run then stays
    # open until that teardown is done.
    if using or being_set_up - {_MARKED_FIXTURE, "resource", "resources"}:
        item.stash[_CLOSE_AT_TEARDOWN] = True
    _open_pending_marks(item)
    yield item.stash[_MARKED_VALUES]
    if item.stash.get(_CLOSE_AT_TEARDOWN, False):
        _close_marked_run(item, item.stash.get(_CALL_ERROR, None))


@pytest.fixture
def resource(_pytest_resources_marked: dict[str, Any]) -> Any:
    """The live value of the one resource marked with ``@pytest.mark.resource``."""
    values = _pytest_resources_marked
    if len(values) != 1:
        pytest.fail(
            f"the resource fixture needs exactly one marked resource, this test has "
            f"{len(values)} ({', '.join(values)}); use the resources fixture: "
            f"resources[{next(iter(values))!r}].",
            pytrace=False,
        )
    return next(iter(values.values()))


@pytest.fixture
def resources(_pytest_resources_marked: dict[str, Any]) -> dict[str, Any]:
    """The live values of every resource marked with ``@pytest.mark.resource``, by key."""
    return dict(_pytest_resources_marked)
