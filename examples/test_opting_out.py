"""Opting out: record without enforcing the rules (``check=False``), and tests the
plugin leaves alone."""

from __future__ import annotations

import dagster as dg

from pytest_resources import RunContext


class LegacyPoolResource(dg.ConfigurableResource):
    """A legacy client whose teardown raises when the pool is already closed."""

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        raise RuntimeError("pool already closed")


class CacheResource(dg.ConfigurableResource):
    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        pass


# --8<-- [start:check-false]
def test_record_without_enforcing(run_context: RunContext) -> None:
    with run_context.open(LegacyPoolResource(), check=False):
        pass
    # Nothing was raised, but everything was recorded: assert on it yourself.
    lifecycle = run_context.lifecycle(LegacyPoolResource)
    teardown = next(e for e in lifecycle.events if e.hook == "teardown_after_execution")
    assert teardown.outcome == "raised"
    assert str(teardown.exception) == "pool already closed"


# --8<-- [end:check-false]


# --8<-- [start:per-open]
def test_only_the_legacy_resource_unchecked(run_context: RunContext) -> None:
    # check= applies to one open: the cache opened beside it is still checked.
    with (
        run_context.open(LegacyPoolResource(), check=False),
        run_context.open(CacheResource()),
    ):
        pass
    assert run_context.lifecycle(CacheResource).teardown_calls == 1


# --8<-- [end:per-open]


# --8<-- [start:idle]
def test_without_the_plugin() -> None:
    # No marker and no run_context: the plugin does nothing for this test, and Dagster
    # swallows the raising teardown as it always does.
    with dg.build_resources({"pool": LegacyPoolResource()}):
        pass


# --8<-- [end:idle]
