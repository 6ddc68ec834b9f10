"""Fault injection: run_context.check under every fault, faults(), and the one-call audit."""

from __future__ import annotations

import pytest

RESOURCES = """
from contextlib import contextmanager

import dagster as dg
import pytest
from hypothesis import given, settings, strategies as st
from pydantic import PrivateAttr

from pytest_resources import Fault, faults, resource_instances
from resources_for_tests import Inner, TryBeforeSetup


class Client(dg.ConfigurableResource):
    username: str
    inner: Inner
    _token: str = PrivateAttr(default="")

    def setup_for_execution(self, context):
        self._token = "token-" + self.username

    def teardown_after_execution(self, context):
        self._token = ""


class NoTeardownWhenCreateFails(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        pass

    def teardown_after_execution(self, context):
        pass

    @contextmanager
    def yield_for_execution(self, context):
        self.setup_for_execution(context)
        value = self.create_resource(context)
        try:
            yield value
        finally:
            self.teardown_after_execution(context)


class SwallowsSetupErrors(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        pass

    @contextmanager
    def yield_for_execution(self, context):
        try:
            self.setup_for_execution(context)
        except Exception:
            pass
        yield self


class TeardownFailsForEmptyNames(dg.ConfigurableResource):
    name: str

    def teardown_after_execution(self, context):
        if not self.name:
            raise ValueError("cannot log out without a name")
"""


@pytest.mark.parametrize(
    "where",
    ["nested_setup", "setup", "create_resource", "later_setup", "body", "teardown"],
)
def test_a_correct_resource_holds_under_every_fault(pytester: pytest.Pytester, where: str) -> None:
    pytester.makepyfile(
        RESOURCES
        + f"""
def test_check(run_context):
    run_context.check(Client(username="a", inner=Inner()), fault=Fault({where!r}))
    # Whatever failed where, the nested resource was torn down if it was set up.
    inner = run_context.lifecycle("client.inner")
    set_up = [
        e for e in inner.events if e.hook == "setup_for_execution" and e.outcome == "returned"
    ]
    assert inner.teardown_calls == len(set_up)
"""
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_check_catches_what_only_a_fault_shows(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
def test_create_fails(run_context):
    run_context.check(NoTeardownWhenCreateFails(), fault=Fault("create_resource"))


def test_setup_fails(run_context):
    run_context.check(TryBeforeSetup(), fault=Fault("setup"))


def test_swallowed(run_context):
    run_context.check(SwallowsSetupErrors(), fault=Fault("setup"))


def test_without_fault_all_is_well(run_context):
    run_context.check(NoTeardownWhenCreateFails())
    run_context.check(TryBeforeSetup())
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(
        [
            "*_ test_create_fails _*",
            "E*LifecycleError: 1 lifecycle rule broken:",
            "E*resource 'no_teardown_when_create_fails' (*) broke rule 2*",
            "E*teardown_after_execution was called 0 times in this run; expected once, because "
            "setup_for_execution succeeded.",
            "*_ test_setup_fails _*",
            "E*teardown_after_execution was called once although setup_for_execution raised.",
            "*_ test_swallowed _*",
            "E*LifecycleError: the failure injected into its setup_for_execution (resource "
            "'swallows_setup_errors') never reached Dagster*",
        ]
    )


def test_a_fault_that_does_not_apply(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
def test_nested_without_nested(run_context):
    run_context.check(Inner(), fault=Fault("nested_setup"))


@settings(max_examples=10, database=None)
@given(fault=faults())
def test_rejected_inside_hypothesis(run_context, fault):
    run_context.check(Inner(), fault=fault)
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "E*ResourceUsageError: run_context.check(): Fault(where='nested_setup') does not "
            "apply to "
            "'inner': it has no nested resources."
        ]
    )
    # The plugin's own signal that a place does not apply is not chained into the message.
    result.stdout.no_fnmatch_line("*FaultNotApplicable*")


def test_property_based_check_finds_the_minimal_config(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
@settings(max_examples=30, database=None)
@given(resource=resource_instances(Client), fault=faults())
def test_correct(run_context, resource, fault):
    run_context.check(resource, fault=fault)


@settings(max_examples=50, database=None)
@given(resource=resource_instances(TeardownFailsForEmptyNames), fault=faults(places=["body"]))
def test_breaks_for_some_config(run_context, resource, fault):
    run_context.check(resource, fault=fault)
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*broke rule 5*",
            "*teardown_after_execution raised ValueError: cannot log out without a name",
            "*resource=TeardownFailsForEmptyNames(name=''),*",
            "*fault=Fault(where='body'),*",
        ]
    )
    result.stdout.no_fnmatch_line("*FailedHealthCheck*")


def test_faults_arguments(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
from pytest_resources import ResourceUsageError


def test_bad_place():
    with pytest.raises(ResourceUsageError, match="choose one or more of"):
        faults(places=["setpu"])
    with pytest.raises(ResourceUsageError, match="where must be one of"):
        Fault("setpu")


@given(fault=faults(places=["body", "teardown"]))
def test_only_the_places_asked_for(fault):
    assert fault.where in ("body", "teardown")
"""
    )
    pytester.runpytest().assert_outcomes(passed=2)


@pytest.mark.slow(seconds=6)
def test_one_call_audit(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
def test_audit_correct(run_context):
    summary = run_context.audit(Client, max_examples=10)
    assert summary.examples == 10
    assert str(summary).startswith("audited Client: ")
    print(summary)


def test_audit_broken(run_context):
    run_context.audit(TeardownFailsForEmptyNames, max_examples=25)
"""
    )
    result = pytester.runpytest("-s")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*audited Client: 10 generated configs, each run with no fault and under every "
            "fault that applies (no fault 10, nested_setup 10, setup 10, create_resource 10, "
            "later_setup 10, body 10, teardown 10 runs); every lifecycle rule and the leak "
            "audit held",
        ]
    )
    result.stdout.fnmatch_lines(
        ["*broke rule 5*", "*resource=TeardownFailsForEmptyNames(name='')*"]
    )


def test_property_based_check_finds_a_leak_for_some_config(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
class LeaksWhenVerbose(dg.ConfigurableResource):
    verbose: bool = False
    shown_token: str = ""
    _token: str = PrivateAttr(default="")

    def setup_for_execution(self, context):
        self._token = "sk-" + "verbose" * 3  # built, so the source shown never spells it
        if self.verbose:
            object.__setattr__(self, "shown_token", self._token)


@settings(max_examples=50, database=None)
@given(resource=resource_instances(LeaksWhenVerbose, shown_token=""))
def test_leaks(run_context, resource):
    run_context.check(resource)
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E*PrivateStateLeak: * private-state leak* in serialized config:",
            "*resource=LeaksWhenVerbose(verbose=True, shown_token=''),*",
        ]
    )
    assert "sk-verboseverboseverbose" not in result.stdout.str()
