"""Property-based: for any config hypothesis draws, setup runs once and teardown
releases everything setup acquired.

``run_context`` is session scoped, so ``@given`` may request it; open each example in
its own ``run_context.run()`` so that every example is a fresh run, checked on its own.
"""

from __future__ import annotations

import itertools
from typing import Any

import dagster as dg
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import Field, PrivateAttr

from pytest_resources import RunContext, resource_configs

OPEN_CONNECTIONS: set[int] = set()
CONNECTION_IDS = itertools.count(1)


class PoolResource(dg.ConfigurableResource):
    host: str
    size: int = Field(default=2, ge=1, le=8)
    read_only: bool = False
    _connections: list[int] = PrivateAttr(default_factory=list)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        for _ in range(self.size):
            connection = next(CONNECTION_IDS)
            OPEN_CONNECTIONS.add(connection)
            self._connections.append(connection)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        for connection in self._connections:
            OPEN_CONNECTIONS.discard(connection)
        self._connections.clear()

    def connections(self) -> list[int]:
        return list(self._connections)


@settings(max_examples=25, deadline=None)
@given(config=resource_configs(PoolResource))
def test_teardown_releases_what_setup_acquired(
    run_context: RunContext, config: dict[str, Any]
) -> None:
    with run_context.run() as run:
        with run.open(PoolResource(**config)) as pool:
            assert len(pool.connections()) == pool.size
            assert set(pool.connections()) <= OPEN_CONNECTIONS
        assert not OPEN_CONNECTIONS
        lifecycle = run.lifecycle(PoolResource)
        assert (lifecycle.setup_calls, lifecycle.teardown_calls) == (1, 1)


@settings(max_examples=10, deadline=None)
@given(
    config=resource_configs(
        PoolResource, host=st.sampled_from(["db1", "db2"]), size=...
    )
)
def test_overrides_pin_a_field(run_context: RunContext, config: dict[str, Any]) -> None:
    assert config["host"] in ("db1", "db2")
    assert "size" in config  # `...` always includes a defaulted field
    with run_context.run() as run, run.open(PoolResource(**config)) as pool:
        assert pool.host == config["host"]
