"""What Dagster itself does with a resource's lifecycle, shown with plain Dagster.

These tests use no part of the plugin: they pin down the behaviour the plugin's rules
are built on (docs/explanation/dagster-lifecycle.md). No ``from __future__ import
annotations``: with it, pydantic rejects a nested ``configure_at_launch()`` partial."""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import pytest
from pydantic import PrivateAttr

CALLS: list[str] = []


@pytest.fixture(scope="module")
def instance() -> Iterator[dg.DagsterInstance]:
    # One instance for the module: a new ephemeral instance costs ~35 ms per
    # build_resources.
    with dg.DagsterInstance.ephemeral() as instance:
        yield instance


@pytest.fixture(autouse=True)
def _clear_calls() -> None:
    CALLS.clear()


# --8<-- [start:copy]
class TokenResource(dg.ConfigurableResource):
    username: str
    _token: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._token = f"token-for-{self.username}"


def test_dagster_sets_up_a_copy(instance: dg.DagsterInstance) -> None:
    mine = TokenResource(username="alice")
    with dg.build_resources({"api": mine}, instance=instance) as built:
        assert built.api is not mine
        assert built.api._token == "token-for-alice"
    assert mine._token == ""  # your instance is never set up


# --8<-- [end:copy]


# --8<-- [start:swallowed]
class LeakyPoolResource(dg.ConfigurableResource):
    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        raise RuntimeError("could not close the connection pool")


@dg.asset
def users(pool: LeakyPoolResource) -> list[str]:
    return ["alice"]


def test_a_raising_teardown_does_not_fail_the_run(instance: dg.DagsterInstance) -> None:
    result = dg.materialize(
        [users], resources={"pool": LeakyPoolResource()}, instance=instance
    )
    assert result.success  # dagster issue 10259
    engine_messages = [
        event.message or ""
        for event in result.all_events
        if event.event_type_value == "ENGINE_EVENT"
    ]
    assert any("Teardown of resources" in message for message in engine_messages)


# --8<-- [end:swallowed]


# --8<-- [start:nested]
class InnerResource(dg.ConfigurableResource):
    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        CALLS.append("inner setup")

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        CALLS.append("inner teardown")


class OuterResource(dg.ConfigurableResource):
    inner: InnerResource

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        CALLS.append("outer setup")

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        CALLS.append("outer teardown")


def test_nested_resources_first_in_last_out(instance: dg.DagsterInstance) -> None:
    with dg.build_resources(
        {"outer": OuterResource(inner=InnerResource())}, instance=instance
    ):
        pass
    assert CALLS == ["inner setup", "outer setup", "outer teardown", "inner teardown"]


# --8<-- [end:nested]


# --8<-- [start:twice]
def test_one_instance_reachable_twice_is_set_up_twice(
    instance: dg.DagsterInstance,
) -> None:
    inner = InnerResource()
    resources = {"inner": inner, "outer": OuterResource(inner=inner)}
    with dg.build_resources(resources, instance=instance) as built:
        assert built.inner is not built.outer.inner  # two different live objects
    assert CALLS.count("inner setup") == 2


def test_configure_at_launch_is_set_up_once(instance: dg.DagsterInstance) -> None:
    inner = InnerResource.configure_at_launch()
    resources = {"inner": inner, "outer": OuterResource(inner=inner)}
    with dg.build_resources(resources, instance=instance) as built:
        assert built.inner is built.outer.inner
    assert CALLS.count("inner setup") == 1


# --8<-- [end:twice]


# --8<-- [start:failed-setup]
class BrokenSetupResource(dg.ConfigurableResource):
    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        CALLS.append("broken setup")
        raise ConnectionError("database is down")

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        CALLS.append("broken teardown")


def test_no_teardown_after_a_failed_setup(instance: dg.DagsterInstance) -> None:
    # Dagster initializes resources in the order of their keys: "cache", then
    # "database".
    resources = {"cache": InnerResource(), "database": BrokenSetupResource()}
    with (
        pytest.raises(dg.DagsterResourceFunctionError),
        dg.build_resources(resources, instance=instance),
    ):
        pass
    # What was set up before it is torn down; the failed resource is not.
    assert CALLS == ["inner setup", "broken setup", "inner teardown"]


# --8<-- [end:failed-setup]


# --8<-- [start:resumed]
class NoFinallyResource(dg.ConfigurableResource):
    """Tears down after its yield, with no try/finally around it."""

    @contextmanager
    def yield_for_execution(
        self, context: dg.InitResourceContext
    ) -> Iterator["NoFinallyResource"]:
        CALLS.append("setup")
        yield self
        CALLS.append("teardown")


@dg.asset
def failing_step(no_finally: NoFinallyResource) -> None:
    raise ValueError("the step fails")


def test_a_failed_step_resumes_the_generator(instance: dg.DagsterInstance) -> None:
    result = dg.materialize(
        [failing_step],
        resources={"no_finally": NoFinallyResource()},
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    assert CALLS == ["setup", "teardown"]  # the line after the yield ran


# --8<-- [end:resumed]
