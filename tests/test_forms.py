"""Every form of resource opens through Dagster's own initialization and is recorded.

Each test uses the plugin's ``run_context`` as a user's test does: these resources break no
rule, so the plugin, loaded in this process too, passes them.
"""

# No `from __future__ import annotations`: with it, pydantic refuses a configure_at_launch()
# partial as a nested field.
import inspect
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from resources_for_tests import Client, Plain

from pytest_resources import ResourceUsageError


def test_user_instance_is_never_set_up(run_context: Any) -> None:
    mine = Client(username="a")
    with run_context.open(mine) as live:
        assert live._token == "tok-a"
        assert live is not mine
        assert type(live).__name__ == "Client"
        assert isinstance(live, Client)
    assert mine._token == ""


class Connection:
    closed = False


class Database(dg.ConfigurableResource):
    path: str

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Any:
        connection = Connection()
        try:
            yield connection
        finally:
            connection.closed = True


class ClientFactory(dg.ConfigurableResource):
    def create_resource(self, context: dg.InitResourceContext) -> Any:
        return {"client": "made"}


def test_yield_override_yields_its_value(run_context: Any) -> None:
    with run_context.open(Database(path="x")) as connection:
        assert isinstance(connection, Connection)
        assert not connection.closed
    assert connection.closed
    assert run_context.lifecycle("database").hooks == (
        "yield_for_execution enter",
        "yield_for_execution exit",
    )


def test_create_resource_value(run_context: Any) -> None:
    with run_context.open(ClientFactory()) as value:
        assert value == {"client": "made"}


class Sized(dg.ConfigurableResource):
    size: int = 1

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        pass


class HoldsSized(dg.ConfigurableResource):
    inner: Sized

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        pass


def test_nested(run_context: Any) -> None:
    with run_context.open(HoldsSized(inner=Sized(size=2))) as outer:
        assert outer.inner.size == 2
    assert run_context.lifecycle(Sized).keys == ("holds_sized.inner",)
    keys = [event.key for event in run_context.lifecycle(HoldsSized).events]
    inner_first = [
        event.key
        for event in sorted(
            run_context.lifecycle(Sized).events + run_context.lifecycle(HoldsSized).events,
            key=lambda event: event.sequence,
        )
    ]
    assert inner_first[0] == "holds_sized.inner"
    assert keys


def test_partial_with_run_config(run_context: Any) -> None:
    inner = Sized.configure_at_launch()
    with run_context.open(
        {"outer": HoldsSized(inner=inner), "inner": inner},
        resource_config={"inner": {"size": 5}},
    ) as live:
        # (Dagster 1.8 hands the parent the partial's defaults; later versions the run config.)
        assert isinstance(live["outer"].inner, Sized)
        assert live["inner"].size == 5
    assert run_context.lifecycle("inner").setup_calls == 1


class Credentials(dg.ConfigurableResource):
    password: str
    port: int


def test_env_var_resolves_on_the_copy(run_context: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIENT_PASSWORD", "s3cret")
    monkeypatch.setenv("CLIENT_PORT", "5432")
    mine = Credentials(password=dg.EnvVar("CLIENT_PASSWORD"), port=dg.EnvVar.int("CLIENT_PORT"))
    with run_context.open(mine) as live:
        assert (live.password, live.port) == ("s3cret", 5432)


class MemoryIOManager(dg.ConfigurableIOManager):
    prefix: str = "p"

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        pass

    def load_input(self, context: dg.InputContext) -> Any:
        return 1


def test_io_manager(run_context: Any, tmp_path: Path) -> None:
    with run_context.open(
        {
            "memory": MemoryIOManager(),
            "files": dg.FilesystemIOManager(base_dir=str(tmp_path)),
        }
    ) as live:
        assert live["memory"].prefix == "p"
        assert hasattr(live["files"], "handle_output")
    assert run_context.lifecycle(MemoryIOManager).create_resource_calls == 1


class AsyncClient(dg.ConfigurableResource):
    @asynccontextmanager
    async def yield_for_execution(self, context: dg.InitResourceContext) -> Any:
        yield "async value"


@pytest.mark.skipif(
    "event_loop" not in inspect.signature(dg.build_resources).parameters,
    reason="this Dagster has no async yield_for_execution",
)
def test_async_yield_for_execution(run_context: Any) -> None:
    with run_context.open(AsyncClient()) as value:
        assert value == "async value"
    lifecycle = run_context.lifecycle(AsyncClient)
    assert (lifecycle.yield_enters, lifecycle.yield_exits) == (1, 1)


def run_of(context: Any) -> Any:
    # context.run since dagster 1.9; context.run_id and dagster_run warn since 1.13.
    return context.run if hasattr(type(context), "run") else context.dagster_run


class RunAware(dg.ConfigurableResource):
    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        assert run_of(context).run_id
        assert context.instance is not None


def test_run_context_surface_and_fresh_runs(run_context: Any) -> None:
    assert isinstance(run_context.init_context, dg.InitResourceContext)
    assert run_of(run_context.init_context).run_id == run_context.run_id
    assert isinstance(run_context.instance, dg.DagsterInstance)
    with run_context.run() as first, run_context.run() as second:
        assert first.run_id != second.run_id != run_context.run_id
        with first.open(RunAware()):
            pass
        assert first.lifecycle(RunAware).setup_calls == 1
        with second.open(RunAware()):
            pass
    assert run_context.lifecycle(RunAware).setup_calls == 2


def test_one_instance_per_session(run_context: Any) -> None:
    assert run_context.instance is run_context.instance


def test_unknown_key(run_context: Any) -> None:
    with run_context.open(RunAware()):
        pass
    with pytest.raises(ResourceUsageError) as raised:
        run_context.lifecycle("clinet")
    assert str(raised.value) == "no resource 'clinet' was opened in this test; opened: run_aware."


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            Plain,
            "run_context.open() takes a resource instance, got the class Plain; build it "
            "first: Plain(field=value, ...).",
        ),
        (
            42,
            "run_context.open() takes a Dagster ConfigurableResource (or a dict of key to "
            "resource), got int: 42.",
        ),
        (
            {"bad key": Plain()},
            "run_context.open(): resource keys must be Python identifiers, got ['bad key'].",
        ),
    ],
)
def test_open_misuse_is_a_clear_error(run_context: Any, bad: Any, message: str) -> None:
    with pytest.raises(ResourceUsageError) as error:
        run_context.open(bad)
    assert str(error.value) == message
