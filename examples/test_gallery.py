"""A gallery of broken resources: one per lifecycle rule, each the kind of bug that
passes a plain Dagster run and fails here.

The test of each broken resource is expected to fail with ``LifecycleError``
(``xfail(strict=True)``), so the demo stays green while showing what each check catches;
the fixed resource after it passes. See the messages with ``pytest
examples/test_gallery.py --runxfail``; docs/gallery.md shows them.

No ``from __future__ import annotations``: with it, pydantic rejects a
``configure_at_launch()`` partial as a nested field (the last test)."""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import pytest
from pydantic import PrivateAttr

from pytest_resources import LifecycleError, RunContext

broken = pytest.mark.xfail(
    raises=LifecycleError, strict=True, reason="a broken resource"
)


# Rule 1: setup_for_execution runs exactly once.
# --8<-- [start:rule-1]
class ForgetsSetupResource(dg.ConfigurableResource):
    """Overrides yield_for_execution and forgets that calling setup is its own job."""

    url: str
    _client: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._client = f"client for {self.url}"

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[str]:
        yield self._client  # "": setup never ran


@broken
@pytest.mark.resource(ForgetsSetupResource, url="https://api.example")
def test_rule_1_setup_never_called(resource: str) -> None:
    pass


# --8<-- [end:rule-1]


# --8<-- [start:rule-1-fix]
class CallsSetupResource(dg.ConfigurableResource):
    url: str
    _client: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._client = f"client for {self.url}"

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[str]:
        self.setup_for_execution(context)  # an override calls setup itself
        yield self._client


@pytest.mark.resource(CallsSetupResource, url="https://api.example")
def test_rule_1_fixed(resource: str) -> None:
    assert resource == "client for https://api.example"


# --8<-- [end:rule-1-fix]


# Rule 2: teardown_after_execution runs exactly once after a successful setup.
# --8<-- [start:rule-2-never]
class ForgetsTeardownResource(dg.ConfigurableResource):
    """Calls setup itself, as an override must, but not teardown."""

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        pass

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        pass

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[None]:
        self.setup_for_execution(context)
        yield


@broken
def test_rule_2_teardown_never_called(run_context: RunContext) -> None:
    with run_context.open(ForgetsTeardownResource()):
        pass


# --8<-- [end:rule-2-never]


# Rule 2 too: never after a failed setup.
# --8<-- [start:rule-2-failed-setup]
class TeardownAfterFailedSetupResource(dg.ConfigurableResource):
    """Its try/finally starts before setup, so a failed setup is torn down anyway."""

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        raise ConnectionError("database is down")

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        pass

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[None]:
        try:
            self.setup_for_execution(context)
            yield
        finally:
            self.teardown_after_execution(context)


@broken
def test_rule_2_teardown_after_failed_setup(run_context: RunContext) -> None:
    # The setup error is expected here; the broken rule still fails the test at its end.
    resource = TeardownAfterFailedSetupResource()
    with pytest.raises(dg.DagsterResourceFunctionError), run_context.open(resource):
        pass


# --8<-- [end:rule-2-failed-setup]


# --8<-- [start:rule-2-fix]
class CarefulResource(dg.ConfigurableResource):
    fail_setup: bool = False

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if self.fail_setup:
            raise ConnectionError("database is down")

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        pass

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[None]:
        self.setup_for_execution(context)  # outside the try: no teardown if it raises
        try:
            yield
        finally:
            self.teardown_after_execution(context)  # also when the step fails


def test_rule_2_fixed(run_context: RunContext) -> None:
    with run_context.open(CarefulResource()):
        pass
    with (
        pytest.raises(dg.DagsterResourceFunctionError),
        run_context.open(CarefulResource(fail_setup=True), key="failing"),
    ):
        pass
    assert run_context.lifecycle("careful").teardown_calls == 1
    assert run_context.lifecycle("failing").teardown_calls == 0


# --8<-- [end:rule-2-fix]


# Rule 3: yield_for_execution is entered and exited exactly once.
# --8<-- [start:rule-3]
class ConnectionResource(dg.ConfigurableResource):
    url: str = "sqlite://"

    @contextmanager
    def yield_for_execution(
        self, context: dg.InitResourceContext
    ) -> Iterator["ConnectionResource"]:
        yield self  # a nested resource hands itself to its parent


class ReentersNestedResource(dg.ConfigurableResource):
    """Enters its nested resource again, although Dagster already initialized it."""

    connection: ConnectionResource

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[str]:
        with self.connection.yield_for_execution(context) as connection:
            yield connection.url


@broken
def test_rule_3_yield_entered_twice(run_context: RunContext) -> None:
    with run_context.open(ReentersNestedResource(connection=ConnectionResource())):
        pass


# --8<-- [end:rule-3]


# --8<-- [start:rule-3-fix]
class UsesNestedResource(dg.ConfigurableResource):
    connection: ConnectionResource

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[str]:
        yield self.connection.url  # Dagster already initialized it: just use it


def test_rule_3_fixed(run_context: RunContext) -> None:
    with run_context.open(UsesNestedResource(connection=ConnectionResource())) as url:
        assert url == "sqlite://"


# --8<-- [end:rule-3-fix]


# Rule 4: nested resources are set up first and torn down last.
# --8<-- [start:rule-4]
class PoolResource(dg.ConfigurableResource):
    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        pass

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        pass


class ClosesItsPoolResource(dg.ConfigurableResource):
    """Tears down its nested resource itself: before it is done, and once too often."""

    pool: PoolResource

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.pool.teardown_after_execution(context)


@broken
@pytest.mark.resource(ClosesItsPoolResource, pool=PoolResource())
def test_rule_4_parent_tears_down_its_nested_resource(
    resource: ClosesItsPoolResource,
) -> None:
    pass


# --8<-- [end:rule-4]


# --8<-- [start:rule-4-fix]
class LeavesItsPoolResource(dg.ConfigurableResource):
    pool: PoolResource

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        # Release only what this resource acquired: Dagster tears the pool down later.
        pass


@pytest.mark.resource(LeavesItsPoolResource, pool=PoolResource())
def test_rule_4_fixed(resource: LeavesItsPoolResource) -> None:
    pass


# --8<-- [end:rule-4-fix]


# Rule 5: teardown must not raise.
# --8<-- [start:rule-5]
class RaisingTeardownResource(dg.ConfigurableResource):
    """Dagster logs this teardown's error as an engine event; the run succeeds."""

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        raise RuntimeError("could not close the connection pool")


@broken
def test_rule_5_teardown_raises(run_context: RunContext) -> None:
    with run_context.open(RaisingTeardownResource()):
        pass


# --8<-- [end:rule-5]


# --8<-- [start:rule-5-fix]
class HandlesTeardownErrorsResource(dg.ConfigurableResource):
    def _close_pool(self) -> None:
        raise RuntimeError("could not close the connection pool")

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        try:
            self._close_pool()
        except RuntimeError:
            context.log.exception(
                "closing the pool failed; the connections time out on their own"
            )


def test_rule_5_fixed(run_context: RunContext) -> None:
    with run_context.open(HandlesTeardownErrorsResource()):
        pass


# --8<-- [end:rule-5-fix]


# Rule 6: one instance is initialized once per run.
# --8<-- [start:rule-6]
class SharedCacheResource(dg.ConfigurableResource):
    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        pass


class ReportResource(dg.ConfigurableResource):
    cache: SharedCacheResource


@broken
def test_rule_6_one_instance_reachable_twice(run_context: RunContext) -> None:
    cache = SharedCacheResource()
    # Dagster sets `cache` up twice, and the report sees another object than the assets.
    with run_context.open({"cache": cache, "report": ReportResource(cache=cache)}):
        pass


# --8<-- [end:rule-6]


# --8<-- [start:rule-6-fix]
def test_rule_6_fixed_with_configure_at_launch(run_context: RunContext) -> None:
    cache = SharedCacheResource.configure_at_launch()
    with run_context.open({"cache": cache, "report": ReportResource(cache=cache)}):
        pass
    assert run_context.lifecycle(SharedCacheResource).setup_calls == 1


# --8<-- [end:rule-6-fix]
