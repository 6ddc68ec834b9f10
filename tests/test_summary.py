"""The end of a run says what the plugin checked; a run that never used it says nothing."""

from __future__ import annotations

import pytest


def test_summary_counts_what_was_checked(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import dagster as dg
import pytest


class Client(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        pass


@pytest.mark.resource(Client())
def test_marked(resource):
    pass


def test_two_runs(run_context):
    with run_context.run() as run:
        with run.open(Client()):
            pass
    with run_context.run() as run:
        with run.open(Client()):
            pass


def test_unrelated():
    pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "*- pytest-resources -*",
            "2 tests opened 3 resources in 3 runs (1 process), 6 lifecycle calls recorded and "
            "checked",
        ]
    )


def test_no_summary_without_use(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain():\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*pytest-resources*")


SUITE = """
import dagster as dg
import pytest

from pytest_resources import LifecycleError
from resources_for_tests import FailingTeardown


class Client(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        pass


@pytest.mark.parametrize("n", range(4))
def test_opened(run_context, n):
    with run_context.open(Client()):
        pass


@pytest.mark.xfail(raises=LifecycleError, strict=True)
def test_expected_to_break(run_context):
    with run_context.open(FailingTeardown()):
        pass
"""


def test_expected_failures_are_counted_as_expected(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SUITE)
    result = pytester.runpytest()
    result.assert_outcomes(passed=4, xfailed=1)
    result.stdout.fnmatch_lines(
        [
            "5 tests opened 5 resources in 5 runs (1 process), 13 lifecycle calls recorded and "
            "checked; 1 run broke a rule in tests expected to fail (xfail)",
        ]
    )
    result.stdout.no_fnmatch_line("*; 1 run broke a rule;*")
