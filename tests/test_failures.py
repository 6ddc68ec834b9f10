"""Teardown runs whichever phase fails, and the test's own failure is never masked."""

from __future__ import annotations

import pytest

RESOURCES = """
import dagster as dg
import pytest

CALLS = []


class Tracked(dg.ConfigurableResource):
    name: str = "tracked"

    def setup_for_execution(self, context):
        CALLS.append(("setup", self.name))

    def teardown_after_execution(self, context):
        CALLS.append(("teardown", self.name))


class BrokenSetup(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        raise ConnectionError("cannot reach the API")

    def teardown_after_execution(self, context):
        CALLS.append(("teardown", "broken"))


class BrokenCreate(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        CALLS.append(("setup", "create"))

    def teardown_after_execution(self, context):
        CALLS.append(("teardown", "create"))

    def create_resource(self, context):
        raise ValueError("cannot build the client")


class NoTeardown(dg.ConfigurableResource):
    def teardown_after_execution(self, context):
        pass

    def yield_for_execution(self, context):
        from contextlib import contextmanager

        @contextmanager
        def cm():
            yield self

        return cm()
"""


def test_teardown_runs_when_a_later_resource_fails_setup(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
def test_later_setup_fails(run_context):
    with pytest.raises(dg.DagsterResourceFunctionError):
        with run_context.open({"first": Tracked(), "second": BrokenSetup()}):
            pass
    assert CALLS == [("setup", "tracked"), ("teardown", "tracked")]
    assert run_context.lifecycle("second").teardown_calls == 0
"""
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_teardown_runs_when_create_resource_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
def test_create_fails(run_context):
    with pytest.raises(dg.DagsterResourceFunctionError):
        with run_context.open(BrokenCreate()):
            pass
    assert CALLS == [("setup", "create"), ("teardown", "create")]
"""
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_teardown_runs_when_the_body_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
@pytest.mark.resource(Tracked())
def test_marked_body_fails(resource):
    raise KeyError("body")


def test_after_marked():
    assert CALLS == [("setup", "tracked"), ("teardown", "tracked")]
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["E*KeyError: 'body'"])


def test_own_failure_stays_the_headline(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
@pytest.mark.resource(NoTeardown())
def test_assertion_fails(resource):
    assert 1 == 2
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    # Beside the test's error: a note on it (Python 3.11+) or a report section.
    result.stdout.fnmatch_lines(
        [
            "E       assert 1 == 2",
            "*1 lifecycle rule broken:",
            "*resource 'no_teardown' (*NoTeardown) broke rule 2*",
        ]
    )


def test_marked_rule_breaks_fail_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
@pytest.mark.resource(NoTeardown())
def test_passes_its_body(resource):
    pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*LifecycleError: 1 lifecycle rule broken:",
            "resource 'no_teardown' (*NoTeardown) broke rule 2*",
            "*recorded events in run *, in order:",
            "*no_teardown*yield_for_execution enter*at test_marked_rule_breaks_fail_the_test.py:*",
        ]
    )
    # The report stands alone: no traceback through the plugin's hooks.
    result.stdout.no_fnmatch_line("*pytest_resources/plugin.py*")


def test_a_swallowed_lifecycle_error_still_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
def test_swallows(run_context):
    try:
        with run_context.open(NoTeardown()):
            pass
    except AssertionError:
        pass


def test_check_false_records_only(run_context):
    with run_context.open(NoTeardown(), check=False):
        pass
    assert run_context.lifecycle(NoTeardown).teardown_calls == 0
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*_ test_swallows _*", "LifecycleError: 1 lifecycle rule broken:", "", "*broke rule 2*"]
    )


def test_hypothesis_examples_each_get_a_fresh_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
from hypothesis import given, settings, strategies as st


@settings(max_examples=20, database=None)
@given(name=st.text(min_size=1, max_size=5))
def test_property(run_context, name):
    with run_context.run() as run:
        with run.open(Tracked(name=name)):
            pass
        assert run.lifecycle(Tracked).teardown_calls == 1


class Flaky(dg.ConfigurableResource):
    name: str

    def teardown_after_execution(self, context):
        if len(self.name) > 2:
            raise RuntimeError("teardown fails for long names")


@settings(max_examples=50, database=None)
@given(name=st.text(min_size=1, max_size=5))
def test_breaks_for_some_values(run_context, name):
    with run_context.run() as run:
        with run.open(Flaky(name=name)):
            pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*broke rule 5*",
            "*teardown_after_execution raised RuntimeError: teardown fails for long names",
            "*test_breaks_for_some_values(*",
            "*name='000',*",
        ]
    )
    result.stdout.no_fnmatch_line("*FailedHealthCheck*")
