"""Each lifecycle rule: a correct resource passes, one that breaks it fails with a clear message."""

from __future__ import annotations

import pytest

RESOURCES = """
from contextlib import contextmanager

import dagster as dg
import pytest
from pydantic import PrivateAttr


class Client(dg.ConfigurableResource):
    username: str = "alice"
    _token: str = PrivateAttr(default="")

    def setup_for_execution(self, context):
        self._token = "tok-" + self.username

    def teardown_after_execution(self, context):
        self._token = ""


class YieldWithoutSetup(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        pass

    @contextmanager
    def yield_for_execution(self, context):
        yield self


class YieldSetupTwice(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        pass

    @contextmanager
    def yield_for_execution(self, context):
        self.setup_for_execution(context)
        self.setup_for_execution(context)
        try:
            yield self
        finally:
            self.teardown_after_execution(context)


class YieldWithoutTeardown(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        pass

    def teardown_after_execution(self, context):
        pass

    @contextmanager
    def yield_for_execution(self, context):
        self.setup_for_execution(context)
        yield self


class TeardownAfterFailedSetup(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        raise ConnectionError("database is down")

    def teardown_after_execution(self, context):
        pass

    @contextmanager
    def yield_for_execution(self, context):
        try:
            self.setup_for_execution(context)
            yield self
        finally:
            self.teardown_after_execution(context)


class CorrectYield(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        pass

    def teardown_after_execution(self, context):
        pass

    @contextmanager
    def yield_for_execution(self, context):
        self.setup_for_execution(context)
        try:
            yield self
        finally:
            self.teardown_after_execution(context)


class TeardownRaises(dg.ConfigurableResource):
    def teardown_after_execution(self, context):
        raise RuntimeError("could not close the connection pool")


class Inner(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        pass

    def teardown_after_execution(self, context):
        pass


class Outer(dg.ConfigurableResource):
    inner: Inner

    def setup_for_execution(self, context):
        pass

    def teardown_after_execution(self, context):
        pass


class OuterTearsDownInner(dg.ConfigurableResource):
    inner: Inner

    def teardown_after_execution(self, context):
        self.inner.teardown_after_execution(context)
"""


@pytest.mark.parametrize(
    "resource",
    ["Client()", "CorrectYield()", "Outer(inner=Inner())", "Inner()"],
)
def test_correct_resources_pass(pytester: pytest.Pytester, resource: str) -> None:
    pytester.makepyfile(
        RESOURCES
        + f"""
def test_open(run_context):
    with run_context.open({resource}):
        pass
"""
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_rule_1_setup_never_called(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
def test_open(run_context):
    with run_context.open(YieldWithoutSetup()):
        pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E*LifecycleError: 1 lifecycle rule broken:",
            "E*resource 'yield_without_setup' (test_rule_1_setup_never_called.YieldWithoutSetup)"
            " broke rule 1: setup_for_execution runs exactly once per run per process",
            "E*setup_for_execution was never called in this run.",
            "E*hint: an overridden yield_for_execution must call "
            "self.setup_for_execution(context) itself*",
            "E*recorded events in run *, in order:",
            "E*1. yield_without_setup yield_for_execution enter   returned  pid * at "
            "test_rule_1_setup_never_called.py:*",
        ]
    )


def test_rule_1_setup_called_twice(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
def test_open(run_context):
    with run_context.open(YieldSetupTwice()):
        pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*broke rule 1: setup_for_execution runs exactly once per run per process",
            "E*setup_for_execution was called 2 times in this run.",
        ]
    )


def test_rule_2_teardown_never_called(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
def test_open(run_context):
    with run_context.open(YieldWithoutTeardown()):
        pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*broke rule 2: teardown_after_execution runs exactly once after a successful setup*",
            "E*teardown_after_execution was called 0 times in this run; expected once, "
            "because setup_for_execution succeeded.",
            "E*hint: an overridden yield_for_execution must call "
            "self.teardown_after_execution(context) itself, after its yield: Dagster resumes "
            "the generator when the step ends, also when the step failed.",
        ]
    )


def test_rule_2_teardown_skipped_when_the_body_fails(pytester: pytest.Pytester) -> None:
    """Teardown after the yield without try/finally is not a bug under Dagster."""
    pytester.makepyfile(
        RESOURCES
        + """
class HappyPathTeardown(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        pass

    def teardown_after_execution(self, context):
        pass

    @contextmanager
    def yield_for_execution(self, context):
        self.setup_for_execution(context)
        yield self
        self.teardown_after_execution(context)


def test_happy_path(run_context):
    with run_context.open(HappyPathTeardown()):
        pass


def test_step_fails(run_context):
    with run_context.open(HappyPathTeardown()):
        raise ValueError("the step failed")
"""
    )
    result = pytester.runpytest()
    # Dagster resumes the generator with next(), so even this teardown runs: both pass the rule,
    # and the failing test fails with its own error only.
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*ValueError: the step failed"])
    result.stdout.no_fnmatch_line("*LifecycleError*")


def test_rule_2_teardown_after_failed_setup(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
def test_open(run_context):
    with run_context.open(TeardownAfterFailedSetup()):
        pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    # The setup error stays the headline; the broken rule is reported beside it.
    result.stdout.fnmatch_lines(
        [
            "E*ConnectionError: database is down",
            "E*dagster*DagsterResourceFunctionError: *",
            "*broke rule 2*",
            "*teardown_after_execution was called once although setup_for_execution raised.",
        ]
    )


def test_rule_3_yield_entered_and_exited_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
def test_open(run_context):
    with run_context.open(CorrectYield()):
        pass
    lifecycle = run_context.lifecycle(CorrectYield)
    assert (lifecycle.yield_enters, lifecycle.yield_exits) == (1, 1)


def test_exits_when_the_body_raises(run_context):
    try:
        with run_context.open(CorrectYield()):
            raise KeyError("boom")
    except KeyError:
        pass
    lifecycle = run_context.lifecycle(CorrectYield)
    assert lifecycle.hooks == (
        "setup_for_execution",
        "yield_for_execution enter",
        "teardown_after_execution",
        "yield_for_execution exit",
    )
"""
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_rule_4_nested_order(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
def test_correct_order(run_context):
    with run_context.open(Outer(inner=Inner())):
        pass
    keys = [event.key for event in run_context.lifecycle(Inner).events]
    assert keys == ["outer.inner"] * 5


def test_parent_tears_down_its_child(run_context):
    with run_context.open(OuterTearsDownInner(inner=Inner())):
        pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*resource 'outer_tears_down_inner.inner' (*Inner) broke rule 2*",
            "*teardown_after_execution was called 2 times in this run; expected once*",
            "*resource 'outer_tears_down_inner' (*OuterTearsDownInner) broke rule 4: nested "
            "resources are set up before their parent and torn down after it",
            "*'outer_tears_down_inner.inner' was torn down before 'outer_tears_down_inner' "
            "finished its teardown.",
        ]
    )


def test_rule_5_teardown_raises(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
def test_open(run_context):
    with run_context.open(TeardownRaises()):
        pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*broke rule 5: teardown must not raise (Dagster only logs it and lets the run "
            "succeed)",
            "E*teardown_after_execution raised RuntimeError: could not close the connection pool",
            "E*the exception Dagster would have swallowed (your frames):",
            '*File "*test_rule_5_teardown_raises.py", line *, in teardown_after_execution',
            "*RuntimeError: could not close the connection pool",
        ]
    )


def test_rule_6_one_instance_reachable_twice(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
def test_shared_instance(run_context):
    inner = Inner()
    with run_context.open({"outer": Outer(inner=inner), "inner": inner}):
        pass


def test_configure_at_launch_is_set_up_once(run_context):
    inner = Inner.configure_at_launch()
    with run_context.open({"outer": Outer(inner=inner), "inner": inner}):
        pass
    assert run_context.lifecycle("inner").setup_calls == 1
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*resource 'inner' (*Inner) broke rule 6: one resource instance is initialized once "
            "per run",
            "E*the same Inner instance is reachable as 'inner' and as 'outer.inner', so "
            "Dagster sets it up twice and hands out two different objects.",
            "E*hint: nest Inner.configure_at_launch() and pass the instance once*",
        ]
    )


def test_resources_without_hooks_break_no_rule(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import dagster as dg


class Plain(dg.ConfigurableResource):
    host: str = "localhost"


class SetupOnly(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        pass


def test_plain(run_context):
    with run_context.open(Plain()):
        pass
    # Dagster calls the default no-op setup too, and the record says so.
    assert run_context.lifecycle(Plain).hooks == ("setup_for_execution", "create_resource")


def test_setup_only_is_never_torn_down(run_context):
    with run_context.open(SetupOnly()):
        pass
    lifecycle = run_context.lifecycle(SetupOnly)
    assert lifecycle.hooks == ("setup_for_execution", "create_resource")
"""
    )
    pytester.runpytest().assert_outcomes(passed=2)
