"""Each lifecycle rule: a correct resource passes, one that breaks it fails with a clear message.

The rules are pure logic over what a real Dagster run recorded: these tests open the resources
in this process (``direct_runs``) and read the error the plugin raises. One pytester run shows
how pytest reports it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from dagster import DagsterResourceFunctionError
from plugin_internals import DirectRuns
from resources_for_tests import (
    Client,
    CorrectYield,
    HappyPathTeardown,
    Inner,
    Outer,
    OuterTearsDownInner,
    Plain,
    SetupOnly,
    TeardownAfterFailedSetup,
    TeardownRaises,
    YieldSetupTwice,
    YieldWithoutSetup,
    YieldWithoutTeardown,
    closes_badly,
    closes_cleanly,
    closes_hostilely,
    handles_its_close,
    yields_rows,
)

from pytest_resources import LifecycleError


def lines_of(text: str) -> pytest.LineMatcher:
    return pytest.LineMatcher(text.splitlines())


@pytest.mark.parametrize(
    "build",
    [Client, CorrectYield, lambda: Outer(inner=Inner()), Inner],
    ids=["Client()", "CorrectYield()", "Outer(inner=Inner())", "Inner()"],
)
def test_correct_resources_pass(direct_runs: DirectRuns, build: Callable[[], Any]) -> None:
    with direct_runs.open(build()) as opened_value:
        assert opened_value is not None
    assert not direct_runs.problems()


def test_a_broken_rule_fails_the_test_in_pytests_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
from resources_for_tests import TeardownAfterFailedSetup, YieldWithoutSetup


def test_setup_never_called(run_context):
    with run_context.open(YieldWithoutSetup()):
        pass


def test_setup_raises(run_context):
    with run_context.open(TeardownAfterFailedSetup()):
        pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ test_setup_never_called _*",
            "E*LifecycleError: 1 lifecycle rule broken:",
            "E*resource 'yield_without_setup' (resources_for_tests.YieldWithoutSetup)"
            " broke rule 1: setup_for_execution runs exactly once per run per process",
            "E*setup_for_execution was never called in this run.",
            "*_ test_setup_raises _*",
            # The setup error stays the headline; the broken rule is reported beside it.
            "E*ConnectionError: database is down",
            "E*dagster*DagsterResourceFunctionError: *",
            "*broke rule 2*",
            "*teardown_after_execution was called once although setup_for_execution raised.",
        ]
    )


def test_rule_1_setup_never_called(direct_runs: DirectRuns) -> None:
    with pytest.raises(LifecycleError) as raised, direct_runs.open(YieldWithoutSetup()):
        pass
    lines_of(str(raised.value)).fnmatch_lines(
        [
            "1 lifecycle rule broken:",
            "resource 'yield_without_setup' (resources_for_tests.YieldWithoutSetup)"
            " broke rule 1: setup_for_execution runs exactly once per run per process",
            "*setup_for_execution was never called in this run.",
            "*hint: an overridden yield_for_execution must call "
            "self.setup_for_execution(context) itself*",
            "*recorded events in run *, in order:",
            "*1. yield_without_setup yield_for_execution enter   returned  pid * at *"
            "test_rules.py:*",
        ]
    )


def test_rule_1_setup_called_twice(direct_runs: DirectRuns) -> None:
    with pytest.raises(LifecycleError) as raised, direct_runs.open(YieldSetupTwice()):
        pass
    lines_of(str(raised.value)).fnmatch_lines(
        [
            "*broke rule 1: setup_for_execution runs exactly once per run per process",
            "*setup_for_execution was called 2 times in this run.",
        ]
    )


def test_rule_2_teardown_never_called(direct_runs: DirectRuns) -> None:
    with pytest.raises(LifecycleError) as raised, direct_runs.open(YieldWithoutTeardown()):
        pass
    lines_of(str(raised.value)).fnmatch_lines(
        [
            "*broke rule 2: teardown_after_execution runs exactly once after a successful setup*",
            "*teardown_after_execution was called 0 times in this run; expected once, "
            "because setup_for_execution succeeded.",
            "*hint: an overridden yield_for_execution must call "
            "self.teardown_after_execution(context) itself, after its yield: Dagster resumes "
            "the generator when the step ends, also when the step failed.",
        ]
    )


def test_rule_2_teardown_skipped_when_the_body_fails(direct_runs: DirectRuns) -> None:
    """Teardown after the yield without try/finally is not a bug under Dagster."""
    with direct_runs.open(HappyPathTeardown()):
        pass
    # Dagster resumes the generator with next(), so even this teardown runs: both pass the rule,
    # and the failing body fails with its own error only.
    with (
        pytest.raises(ValueError, match=r"^the step failed$") as raised,
        direct_runs.open(HappyPathTeardown()),
    ):
        raise ValueError("the step failed")
    assert not getattr(raised.value, "__notes__", None)
    assert not direct_runs.problems()
    assert direct_runs.lifecycle(HappyPathTeardown).teardown_calls == 2


def test_rule_2_teardown_after_failed_setup(direct_runs: DirectRuns) -> None:
    with (
        pytest.raises(DagsterResourceFunctionError) as raised,
        direct_runs.open(TeardownAfterFailedSetup()),
    ):
        pass
    cause = raised.value.__cause__
    assert type(cause) is ConnectionError
    assert str(cause) == "database is down"
    [problems] = direct_runs.problems()
    lines_of(problems.report()).fnmatch_lines(
        [
            "*broke rule 2*",
            "*teardown_after_execution was called once although setup_for_execution raised.",
        ]
    )


def test_rule_3_yield_entered_and_exited_once(direct_runs: DirectRuns) -> None:
    with direct_runs.open(CorrectYield()):
        pass
    lifecycle = direct_runs.lifecycle(CorrectYield)
    assert (lifecycle.yield_enters, lifecycle.yield_exits) == (1, 1)
    assert not direct_runs.problems()


def test_rule_3_exits_when_the_body_raises(direct_runs: DirectRuns) -> None:
    with pytest.raises(KeyError, match="boom"), direct_runs.open(CorrectYield()):
        raise KeyError("boom")
    assert direct_runs.lifecycle(CorrectYield).hooks == (
        "setup_for_execution",
        "yield_for_execution enter",
        "teardown_after_execution",
        "yield_for_execution exit",
    )
    assert not direct_runs.problems()


def test_rule_4_nested_order(direct_runs: DirectRuns) -> None:
    with direct_runs.open(Outer(inner=Inner())):
        pass
    keys = [event.key for event in direct_runs.lifecycle(Inner).events]
    assert keys == ["outer.inner"] * 5
    assert not direct_runs.problems()


def test_rule_4_parent_tears_down_its_child(direct_runs: DirectRuns) -> None:
    with (
        pytest.raises(LifecycleError) as raised,
        direct_runs.open(OuterTearsDownInner(inner=Inner())),
    ):
        pass
    lines_of(str(raised.value)).fnmatch_lines(
        [
            "*resource 'outer_tears_down_inner.inner' (*Inner) broke rule 2*",
            "*teardown_after_execution was called 2 times in this run; expected once*",
            "*resource 'outer_tears_down_inner' (*OuterTearsDownInner) broke rule 4: nested "
            "resources are set up before their parent and torn down after it",
            "*'outer_tears_down_inner.inner' was torn down before 'outer_tears_down_inner' "
            "finished its teardown.",
        ]
    )


def test_rule_5_teardown_raises(direct_runs: DirectRuns) -> None:
    with pytest.raises(LifecycleError) as raised, direct_runs.open(TeardownRaises()):
        pass
    lines_of(str(raised.value)).fnmatch_lines(
        [
            "*broke rule 5: teardown must not raise (Dagster only logs it and lets the run "
            "succeed)",
            "*teardown_after_execution raised RuntimeError: could not close the connection pool",
            "*the exception Dagster would have swallowed (your frames):",
            '*File "*resources_for_tests.py", line *, in teardown_after_execution',
            "*RuntimeError: could not close the connection pool",
        ]
    )


def test_rule_5_a_function_resources_teardown_raises(direct_runs: DirectRuns) -> None:
    # Its twins pass: a teardown that runs cleanly, and one that handles its own error.
    with direct_runs.open({"clean": closes_cleanly, "handled": handles_its_close}) as opened:
        assert opened == {"clean": "connection", "handled": "connection"}
    resources = {"clean": closes_cleanly, "db": closes_badly, "handled": handles_its_close}
    with pytest.raises(LifecycleError) as raised, direct_runs.open(resources):
        pass
    lines_of(str(raised.value)).fnmatch_lines(
        [
            "1 lifecycle rule broken:",
            "",
            "resource 'db' (resources_for_tests.closes_badly) broke rule 5: teardown must not "
            "raise (Dagster only logs it and lets the run succeed)",
            "  the code after the yield of closes_badly raised ConnectionError: could not close "
            "the function's connection",
            "  hint: catch and handle errors while releasing resources;*",
            "  the exception Dagster would have swallowed (your frames):",
            '*File "*resources_for_tests.py", line *, in closes_badly',
            "*ConnectionError: could not close the function's connection",
            "  recorded events in run *, in order:",
            "    (none)",
        ]
    )


def test_rule_5_survives_a_hostile_exception(direct_runs: DirectRuns) -> None:
    with pytest.raises(LifecycleError) as raised, direct_runs.open({"db": closes_hostilely}):
        pass
    lines_of(str(raised.value)).fnmatch_lines(
        ["  the code after the yield of closes_hostilely raised HostileError: <unprintable*"]
    )


def test_rule_10_a_function_resource_that_yields_a_generator(direct_runs: DirectRuns) -> None:
    with pytest.raises(LifecycleError) as raised, direct_runs.open({"rows": yields_rows}):
        pass
    lines_of(str(raised.value)).fnmatch_lines(
        [
            "resource 'rows' (resources_for_tests.yields_rows) broke rule 10: ops get a usable "
            "live value, not a generator or an unentered context manager",
            "  ops get context.resources.rows as a generator made by yields_rows.<locals>."
            "<genexpr>, not a usable object; Dagster hands it out as it is.",
        ]
    )


def test_rule_6_one_instance_reachable_twice(direct_runs: DirectRuns) -> None:
    inner = Inner()
    with (
        pytest.raises(LifecycleError) as raised,
        direct_runs.open({"outer": Outer(inner=inner), "inner": inner}),
    ):
        pass
    lines_of(str(raised.value)).fnmatch_lines(
        [
            "*resource 'inner' (*Inner) broke rule 6: one resource instance is initialized once "
            "per run",
            "*the same Inner instance is reachable as 'inner' and as 'outer.inner', so "
            "Dagster sets it up twice and hands out two different objects.",
            "*hint: nest Inner.configure_at_launch() and pass the instance once*",
        ]
    )


def test_rule_6_configure_at_launch_is_set_up_once(direct_runs: DirectRuns) -> None:
    inner = Inner.configure_at_launch()
    with direct_runs.open({"outer": Outer(inner=inner), "inner": inner}):
        pass
    assert direct_runs.lifecycle("inner").setup_calls == 1
    assert not direct_runs.problems()


def test_resources_without_hooks_break_no_rule(direct_runs: DirectRuns) -> None:
    with direct_runs.open(Plain()):
        pass
    # Dagster calls the default no-op setup too, and the record says so.
    assert direct_runs.lifecycle(Plain).hooks == ("setup_for_execution", "create_resource")
    with direct_runs.open(SetupOnly()):
        pass
    # Never torn down: it defines no teardown.
    assert direct_runs.lifecycle(SetupOnly).hooks == ("setup_for_execution", "create_resource")
    assert not direct_runs.problems()
