"""Every form of resource opens through Dagster's own initialization and is recorded."""

from __future__ import annotations

import inspect

import dagster
import pytest


def test_user_instance_is_never_set_up(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import dagster as dg
from pydantic import PrivateAttr


class Client(dg.ConfigurableResource):
    username: str
    _token: str = PrivateAttr(default="")

    def setup_for_execution(self, context):
        self._token = "tok"


def test_copy(run_context):
    mine = Client(username="a")
    with run_context.open(mine) as live:
        assert live._token == "tok"
        assert live is not mine
        assert type(live).__name__ == "Client" and isinstance(live, Client)
    assert mine._token == ""
"""
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_yield_override_and_value_yielding(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
from contextlib import contextmanager

import dagster as dg


class Connection:
    closed = False


class Database(dg.ConfigurableResource):
    path: str

    @contextmanager
    def yield_for_execution(self, context):
        connection = Connection()
        try:
            yield connection
        finally:
            connection.closed = True


class ClientFactory(dg.ConfigurableResource):
    def create_resource(self, context):
        return {"client": "made"}


def test_yields_the_connection(run_context):
    with run_context.open(Database(path="x")) as connection:
        assert isinstance(connection, Connection)
        assert not connection.closed
    assert connection.closed
    assert run_context.lifecycle("database").hooks == (
        "yield_for_execution enter", "yield_for_execution exit"
    )


def test_create_resource_value(run_context):
    with run_context.open(ClientFactory()) as value:
        assert value == {"client": "made"}
"""
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_nested_and_partial_resources(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import dagster as dg


class Inner(dg.ConfigurableResource):
    size: int = 1

    def setup_for_execution(self, context):
        pass


class Outer(dg.ConfigurableResource):
    inner: Inner

    def setup_for_execution(self, context):
        pass


def test_nested(run_context):
    with run_context.open(Outer(inner=Inner(size=2))) as outer:
        assert outer.inner.size == 2
    assert run_context.lifecycle(Inner).keys == ("outer.inner",)
    keys = [event.key for event in run_context.lifecycle(Outer).events]
    inner_first = [event.key for event in sorted(
        run_context.lifecycle(Inner).events + run_context.lifecycle(Outer).events,
        key=lambda event: event.sequence)]
    assert inner_first[0] == "outer.inner" and keys


def test_partial_with_run_config(run_context):
    inner = Inner.configure_at_launch()
    with run_context.open(
        {"outer": Outer(inner=inner), "inner": inner}, resource_config={"inner": {"size": 5}}
    ) as live:
        # (Dagster 1.8 hands the parent the partial's defaults; later versions the run config.)
        assert isinstance(live["outer"].inner, Inner)
        assert live["inner"].size == 5
    assert run_context.lifecycle("inner").setup_calls == 1
"""
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_env_var_resolves_on_the_copy(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import dagster as dg


class Client(dg.ConfigurableResource):
    password: str
    port: int


def test_env(run_context, monkeypatch):
    monkeypatch.setenv("CLIENT_PASSWORD", "s3cret")
    monkeypatch.setenv("CLIENT_PORT", "5432")
    mine = Client(password=dg.EnvVar("CLIENT_PASSWORD"), port=dg.EnvVar.int("CLIENT_PORT"))
    with run_context.open(mine) as live:
        assert (live.password, live.port) == ("s3cret", 5432)
"""
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_io_manager(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import dagster as dg


class MemoryIOManager(dg.ConfigurableIOManager):
    prefix: str = "p"

    def handle_output(self, context, obj):
        pass

    def load_input(self, context):
        return 1


def test_io_manager(run_context, tmp_path):
    with run_context.open({
        "memory": MemoryIOManager(),
        "files": dg.FilesystemIOManager(base_dir=str(tmp_path)),
    }) as live:
        assert live["memory"].prefix == "p"
        assert hasattr(live["files"], "handle_output")
    assert run_context.lifecycle(MemoryIOManager).create_resource_calls == 1
"""
    )
    pytester.runpytest().assert_outcomes(passed=1)


@pytest.mark.skipif(
    "event_loop" not in inspect.signature(dagster.build_resources).parameters,
    reason="this Dagster has no async yield_for_execution",
)
def test_async_yield_for_execution(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
from contextlib import asynccontextmanager

import dagster as dg


class AsyncClient(dg.ConfigurableResource):
    @asynccontextmanager
    async def yield_for_execution(self, context):
        yield "async value"


def test_async(run_context):
    with run_context.open(AsyncClient()) as value:
        assert value == "async value"
    lifecycle = run_context.lifecycle(AsyncClient)
    assert (lifecycle.yield_enters, lifecycle.yield_exits) == (1, 1)
"""
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_run_context_surface_and_fresh_runs(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import dagster as dg


def run_of(context):
    # context.run since dagster 1.9; context.run_id and dagster_run warn since 1.13.
    return context.run if hasattr(type(context), "run") else context.dagster_run


class Client(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        assert run_of(context).run_id
        assert context.instance is not None


def test_surface(run_context):
    assert isinstance(run_context.init_context, dg.InitResourceContext)
    assert run_of(run_context.init_context).run_id == run_context.run_id
    assert isinstance(run_context.instance, dg.DagsterInstance)
    with run_context.run() as first, run_context.run() as second:
        assert first.run_id != second.run_id != run_context.run_id
        with first.open(Client()):
            pass
        assert first.lifecycle(Client).setup_calls == 1
        with second.open(Client()):
            pass
    assert run_context.lifecycle(Client).setup_calls == 2


def test_one_instance_per_session(run_context):
    assert run_context.instance is run_context.instance


def test_unknown_key(run_context):
    with run_context.open(Client()):
        pass
    run_context.lifecycle("clinet")
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        ["E*ResourceUsageError: no resource 'clinet' was opened in this test; opened: client."]
    )


def test_open_misuse_is_a_clear_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import dagster as dg
import pytest
from pytest_resources import ResourceUsageError


class Client(dg.ConfigurableResource):
    host: str = "h"


@pytest.mark.parametrize("bad, message", [
    (Client, "run_context.open() takes a resource instance, got the class Client; build it "
             "first: Client(field=value, ...)."),
    (42, "run_context.open() takes a Dagster ConfigurableResource (or a dict of key to "
         "resource), got int: 42."),
    ({"bad key": Client()}, "run_context.open(): resource keys must be Python identifiers, "
                           "got ['bad key']."),
])
def test_misuse(run_context, bad, message):
    with pytest.raises(ResourceUsageError) as error:
        run_context.open(bad)
    assert str(error.value) == message
"""
    )
    pytester.runpytest().assert_outcomes(passed=3)
