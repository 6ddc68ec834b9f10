"""The whole plugin under pytest-xdist: marker, fixtures, strategies, runs, and failure reports
that survive the trip from a worker to the controller."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_definitions import BROKEN, code_location
from test_summary import SUITE as SUMMARY_SUITE

pytest.importorskip("xdist")

SUITE = """
import os

import dagster as dg
import pytest
from hypothesis import given, settings
from pydantic import PrivateAttr

from pytest_resources import resource_configs
from resources_for_tests import ForgetsTeardown


class Client(dg.ConfigurableResource):
    username: str = "ann"
    _token: str = PrivateAttr(default="")

    def setup_for_execution(self, context):
        self._token = "tok"

    def teardown_after_execution(self, context):
        self._token = ""


class LeakyHeaders(dg.ConfigurableResource):
    headers: dict = {}
    _api_token: str = PrivateAttr(default="")

    def setup_for_execution(self, context):
        self._api_token = "sk-live-0123456789abcdef"
        self.headers["Authorization"] = self._api_token


@dg.asset
def users(client: Client):
    return ["ann", "bob"]


@dg.asset
def report(users, client: Client):
    return len(users)


@pytest.mark.resource(Client, username="bob")
def test_marked(resource):
    assert resource._token == "tok"


def test_opened(run_context):
    with run_context.open(Client()) as live:
        assert live._token == "tok"
    assert run_context.lifecycle(Client).teardown_calls == 1


@settings(max_examples=5, deadline=None)
@given(config=resource_configs(Client))
def test_generated(run_context, config):
    with run_context.run() as run, run.open(Client(**config)):
        pass


def test_in_process_run(run_context):
    assert run_context.materialize([users, report], resources={"client": Client()}).success


def test_multiprocess_run(run_context):
    result = run_context.materialize(
        [users, report], resources={"client": Client()}, executor="multiprocess"
    )
    assert result.success
    run_context.lifecycle("client").assert_once_per_process(processes=2)
    assert os.getpid() not in result.pids


@pytest.mark.resource(ForgetsTeardown())
def test_broken_marked(resource):
    pass


def test_leak(run_context):
    with run_context.open(LeakyHeaders()):
        pass
"""


@pytest.mark.slow(seconds=40)
def test_plugin_under_xdist(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    # One xdist run (a controller and two workers, each importing Dagster) for every case that
    # must cross from a worker to the controller: this file's suite, the end-of-run summary's
    # (test_summary.py) and a code location's items (test_definitions.py).
    # Every worker's temporary files go here, so that leftovers would show.
    scratch = pytester.mkdir("scratch")
    monkeypatch.setenv("TMPDIR", str(scratch))
    pytester.makepyfile(
        test_suite=SUITE,
        test_summary=SUMMARY_SUITE
        + """

def test_unexpected(run_context):
    with run_context.open(FailingTeardown()):
        pass
""",
    )
    code_location(pytester, BROKEN)
    result = pytester.runpytest_subprocess(
        "-n", "2", "-rA", "--dagster-definitions", "my_project.definitions"
    )
    result.assert_outcomes(passed=10, failed=5, xfailed=1)
    # Each case's own outcome, as the controller reports it.
    result.stdout.fnmatch_lines(
        [
            "*= PASSES =*",
            "*= short test summary info =*",
        ]
    )
    passed = {
        "test_suite.py::test_marked",
        "test_suite.py::test_opened",
        "test_suite.py::test_generated",
        "test_suite.py::test_in_process_run",
        "test_suite.py::test_multiprocess_run",
        *(f"test_summary.py::test_opened[[]{n}[]]" for n in range(4)),
        "my_project/definitions.py::resource[[]api[]]",
    }
    failed = {
        "test_suite.py::test_broken_marked",
        "test_suite.py::test_leak",
        "test_summary.py::test_unexpected",
        "my_project/definitions.py::resource[[]down[]]",
        "my_project/definitions.py::resource[[]closes_badly[]]",
    }
    for nodeid in sorted(passed):
        result.stdout.fnmatch_lines([f"PASSED {nodeid}"])
    for nodeid in sorted(failed):
        result.stdout.fnmatch_lines([f"FAILED {nodeid}*"])
    result.stdout.fnmatch_lines(["XFAIL test_summary.py::test_expected_to_break*"])
    # The reports are plain text: they reach the controller whole.
    result.stdout.fnmatch_lines(
        [
            "*_ test_broken_marked _*",
            "*LifecycleError: 1 lifecycle rule broken:",
            "",
            "resource 'forgets_teardown' (resources_for_tests.ForgetsTeardown) broke rule 2: *",
            "  teardown_after_execution was called 0 times in this run; expected once*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*_ test_leak _*",
            "*PrivateStateLeak: 1 private-state leak in serialized config:",
        ]
    )
    assert "sk-live-0123456789abcdef" not in result.stdout.str()
    # A code location's items report as on one process.
    result.stdout.fnmatch_lines(
        [
            "LifecycleError: 1 lifecycle rule broken:",
            "*- pytest-resources: code location -*",
        ]
    )
    result.stdout.fnmatch_lines(["api*Api*passed*"])
    result.stdout.fnmatch_lines(["closes_badly*ClosesBadly*failed*"])
    result.stdout.fnmatch_lines(["down*Api*failed*"])
    # The controller sums what the workers checked: every inner test and run, the two workers
    # and the multiprocess run's two step processes.
    result.stdout.fnmatch_lines(
        [
            "*- pytest-resources -*",
            "16 tests opened 20 resources in 20 runs (4 processes), 81 lifecycle calls recorded "
            "and checked; 4 runs broke a rule; 1 run broke a rule in tests expected to fail "
            "(xfail)",
        ]
    )
    # One multiprocess instance per worker that asked for one, removed at the session's end.
    leftovers = [p.name for p in Path(scratch).iterdir() if p.name.startswith("pytest-resources")]
    assert leftovers == []
