"""Misuses of the marker and of ``run_context`` end in one message that says what to do, at the
user's line, never in a traceback from inside the plugin or pytest."""

from __future__ import annotations

import pytest

RESOURCES = """
import contextlib

import dagster as dg
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st


class Cache(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        pass


class Tracked(dg.ConfigurableResource):
    name: str = "x"

    def setup_for_execution(self, context):
        pass

    def teardown_after_execution(self, context):
        pass


class TeardownAfterFailedSetup(dg.ConfigurableResource):
    '''Its try: starts before its setup, so a failed setup is torn down (rule 3).'''

    name: str

    def setup_for_execution(self, context):
        if len(self.name) > 2:
            raise ConnectionError("cannot connect")

    def teardown_after_execution(self, context):
        pass

    @contextlib.contextmanager
    def yield_for_execution(self, context):
        try:
            self.setup_for_execution(context)
            yield self
        finally:
            self.teardown_after_execution(context)
"""


def _no_plugin_internals(result: pytest.RunResult) -> None:
    result.stdout.no_fnmatch_line("*pytest_resources/*.py:*")
    result.stdout.no_fnmatch_line("*pluggy/*")
    result.stdout.no_fnmatch_line("*ExceptionGroup*")


# The error names the line of the decorator (the module's mark has none); the marks below start
# after RESOURCES and one blank line.
_DECORATOR_LINE = RESOURCES.count("\n") + 2


@pytest.mark.parametrize(
    ("mark", "where"),
    [
        (
            "@pytest.mark.resource(Cache)\ndef test_cache(resource):\n    pass\n",
            f":{_DECORATOR_LINE}: ",
        ),
        (
            "class TestCache:\n    @pytest.mark.resource(Cache)\n"
            "    def test_cache(self, resource):\n        pass\n",
            f":{_DECORATOR_LINE + 1}: ",
        ),
        (
            "pytestmark = pytest.mark.resource(Cache)\ndef test_cache(resource):\n    pass\n",
            ": ",
        ),
    ],
    ids=["function", "method", "module"],
)
def test_a_class_marked_alone_explains_the_pytest_quirk(
    pytester: pytest.Pytester, mark: str, where: str
) -> None:
    pytester.makepyfile(RESOURCES + "\n\n" + mark)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*test_a_class_marked_alone_explains_the_pytest_quirk.py"
            + where
            + "pytest.mark.resource(Cache) with only a class makes no mark: pytest takes "
            "a mark called with one class and nothing else as decorating that class, so it "
            "marks Cache itself (and above a test, calls Cache(test_function)). Write "
            "pytest.mark.resource.with_args(Cache) or pass an instance: "
            "pytest.mark.resource(Cache()).",
        ]
    )
    result.stdout.no_fnmatch_line("*takes 1 positional argument*")
    result.stdout.no_fnmatch_line("*_pytest/*")


FUNCTION_RESOURCE = """
@dg.resource
def api_client(context):
    return object()
"""


def test_a_function_resource_marked_alone_says_where_it_is_checked(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        RESOURCES
        + FUNCTION_RESOURCE
        + """
@pytest.mark.resource(api_client)
def test_client(resource):
    pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*test_a_function_resource_marked_alone_says_where_it_is_checked.py:"
            f"{_DECORATOR_LINE + FUNCTION_RESOURCE.count(chr(10)) - 1}: "
            "pytest.mark.resource(api_client) marks no test: api_client is a function resource "
            "(@dg.resource), and pytest takes a mark called with one function and nothing else "
            "as decorating that function, so Python then calls api_client(test_function). The "
            "marker and run_context.open() take ConfigurableResource instances; a function "
            "resource is checked where Dagster loads it: pytest --dagster-definitions."
        ]
    )
    result.stdout.no_fnmatch_line("*ParameterCheckError*")
    result.stdout.no_fnmatch_line("*dagster_shared*")


def test_a_function_resource_given_to_the_marker_or_open_says_where_it_is_checked(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        RESOURCES
        + FUNCTION_RESOURCE
        + """
@pytest.mark.resource.with_args(api_client)
def test_marked(resource):
    pass


def test_opened(run_context):
    with run_context.open(api_client):
        pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "@pytest.mark.resource expects a Dagster ConfigurableResource class or instance, got "
            "a function resource (@dg.resource or a ResourceDefinition), whose lifecycle is its "
            "own function: it is checked where Dagster loads it, with pytest "
            "--dagster-definitions.",
            "E*ResourceUsageError: run_context.open() takes a Dagster ConfigurableResource (or a "
            "dict of key to resource), got a function resource *",
        ]
    )


def test_an_unset_env_var_is_one_message_naming_the_resource_field_and_variable(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
class Store(dg.ConfigurableResource):
    access_key: str
    secret_key: str = "fixed"


@pytest.mark.resource(Store(access_key=dg.EnvVar("PR_TEST_UNSET_ACCESS")))
def test_marked(resource):
    pass


def test_opened(run_context):
    store = Store(
        access_key=dg.EnvVar("PR_TEST_UNSET_ACCESS"), secret_key=dg.EnvVar("PR_TEST_UNSET_SECRET")
    )
    with run_context.open({"s3": store}):
        pass


# Correct: the exception itself is Dagster's, as under plain Dagster.
def test_expects_dagsters_error(run_context):
    with pytest.raises(dg.DagsterInvalidConfigError):
        with run_context.open(Store(access_key=dg.EnvVar("PR_TEST_UNSET_ACCESS"))):
            pass


# Correct: set by a fixture before the marked resource opens.
@pytest.fixture
def access_key(monkeypatch):
    monkeypatch.setenv("PR_TEST_UNSET_ACCESS", "AKIA-from-the-fixture")


@pytest.mark.resource(Store(access_key=dg.EnvVar("PR_TEST_UNSET_ACCESS")))
def test_set_by_a_fixture(access_key, resource):
    assert resource.access_key == "AKIA-from-the-fixture"
"""
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2, errors=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_marked*",
            "DagsterInvalidConfigError: an environment variable is not set:",
            "  resource `store`, field `access_key`, reads EnvVar('PR_TEST_UNSET_ACCESS'), which "
            "is not set.",
            "  Set PR_TEST_UNSET_ACCESS where the test runs (the CI job's environment, or "
            "monkeypatch.setenv in a fixture that runs before the resource opens), or give the "
            "field a value for the test.",
            "*_ test_opened _*",
            "*test_an_unset_env_var_is_one_message_naming_the_resource_field_and_variable.py:*: "
            "DagsterInvalidConfigError: environment variables are not set:",
            "  resource `s3`, field `access_key`, reads EnvVar('PR_TEST_UNSET_ACCESS'), which is "
            "not set.",
            "  resource `s3`, field `secret_key`, reads EnvVar('PR_TEST_UNSET_SECRET'), which is "
            "not set.",
        ]
    )
    result.stdout.no_fnmatch_line("*PostProcessingError*")
    result.stdout.no_fnmatch_line("*contextlib*")


def test_open_inside_given_without_a_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
@settings(max_examples=5, database=None)
@given(name=st.text(max_size=3))
def test_property(run_context, name):
    with run_context.open(Tracked(name=name)):
        pass
    assert run_context.lifecycle(Tracked).setup_calls == 1
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*with run_context.open(Tracked(name=name)):",
            "E*ResourceUsageError: run_context.open() inside @given opens every example in the "
            "test's one default run, so the lifecycle rules would count all examples as one run. "
            "Give each example its own run: `with run_context.run() as run, "
            "run.open(MyResource(...)) as live:` (or run_context.check(resource, fault=...), "
            "which does that).",
        ]
    )
    result.stdout.no_fnmatch_line("*assert * == 1*")


def test_marker_with_given_says_why_the_health_check_refuses(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
@pytest.mark.resource(Tracked())
@given(n=st.integers())
def test_refused(resource, n):
    pass


@pytest.mark.resource(Tracked())
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=5)
@given(n=st.integers())
def test_shared_on_purpose(resource, run_context, n):
    assert run_context.lifecycle(Tracked).setup_calls == 1
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "@pytest.mark.resource with @given: the marked resource opens once for the whole "
            "test, so every example hypothesis generates shares one live value in one run, and "
            "hypothesis' function_scoped_fixture health check refuses the 'resource' fixture. "
            "To check each example on its own, drop the mark and open a fresh run per example: "
            "`with run_context.run() as run, run.open(MyResource(...)) as live:`. To share one "
            "live resource across the examples on purpose, add "
            "@settings(suppress_health_check=[HealthCheck.function_scoped_fixture]).",
        ]
    )
    result.stdout.no_fnmatch_line("*FailedHealthCheck*")


def test_run_context_in_a_session_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
@pytest.fixture(scope="session")
def shared(run_context):
    with run_context.open(Tracked()) as live:
        yield live


def test_shared(shared):
    pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*with run_context.open(Tracked()) as live:",
            "E*ResourceUsageError: run_context records the runs of the test that is running, and "
            "no test is running here: it was used in a fixture wider than a function (session, "
            "package, module or class scope) or outside a test. Use it in the test or in a "
            "function-scoped fixture*",
        ]
    )
    result.stdout.no_fnmatch_line("*RuntimeError*")


def test_rule_broken_in_a_fixture_is_reported_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
from resources_for_tests import FailingTeardown


@pytest.fixture
def opened(run_context):
    with run_context.open(FailingTeardown()) as live:
        yield live


def test_uses(opened):
    pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*with run_context.open(FailingTeardown()) as live:",
            "E       pytest_resources.LifecycleError: 1 lifecycle rule broken:",
        ]
    )
    assert result.stdout.str().count("teardown_after_execution raised OSError") == 1
    _no_plugin_internals(result)


def test_run_raises_its_problems_so_hypothesis_shrinks(pytester: pytest.Pytester) -> None:
    """The test swallows the setup error; the broken rule still fails the example it belongs
    to, and hypothesis shrinks it to the shortest name that fails setup."""
    pytester.makepyfile(
        RESOURCES
        + """
@settings(max_examples=50, database=None)
@given(name=st.text(max_size=6))
def test_swallows(run_context, name):
    with run_context.run() as run:
        with contextlib.suppress(dg.DagsterError, ConnectionError):
            with run.open(TeardownAfterFailedSetup(name=name)):
                pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*with run_context.run() as run:",
            "E*LifecycleError: 1 lifecycle rule broken:",
            "*test_swallows(*",
            "*name='000',*",
        ]
    )
