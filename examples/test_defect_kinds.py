"""Defect kinds the lifecycle rules cannot see: each broken resource beside its fix.

Each broken resource's test is expected to fail (``xfail(strict=True)``), so the demo
stays green while proving the check fires; the fixed twin after it passes.
docs/defect-kinds.md includes them; ``pytest examples/test_defect_kinds.py --runxfail``
shows the messages."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from pydantic import Field, PrivateAttr

from pytest_resources import LifecycleError, PrivateStateLeak, RunContext

broken = pytest.mark.xfail(
    raises=LifecycleError, strict=True, reason="a broken resource"
)


class Connection:
    """Stands in for a database driver's connection."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.closed = False

    def query(self, sql: str) -> list[str]:
        assert not self.closed, "the connection is closed"
        return [sql]

    def close(self) -> None:
        self.closed = True


# --8<-- [start:misspelled-hook]
class MisspelledTeardownResource(dg.ConfigurableResource):
    dsn: str
    _connection: Connection | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._connection = Connection(self.dsn)

    def teardown_for_execution(
        self, context: dg.InitResourceContext
    ) -> None:  # never called
        if self._connection is not None:
            self._connection.close()


@broken
@pytest.mark.resource(MisspelledTeardownResource, dsn="sqlite://")
def test_misspelled_hook(resource: MisspelledTeardownResource) -> None:
    pass


# --8<-- [end:misspelled-hook]


# --8<-- [start:misspelled-hook-fix]
class TeardownResource(dg.ConfigurableResource):
    dsn: str
    _connection: Connection | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._connection = Connection(self.dsn)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._connection is not None:
            self._connection.close()


@pytest.mark.resource(TeardownResource, dsn="sqlite://")
def test_hook_spelled_right(resource: TeardownResource) -> None:
    pass


# --8<-- [end:misspelled-hook-fix]


# --8<-- [start:generator-value]
class RowsResource(dg.ConfigurableResource, dg.IAttachDifferentObjectToOpContext):
    dsn: str

    def get_object_to_set_on_execution_context(self) -> Any:
        yield Connection(self.dsn)  # ops get the generator, not the connection


@broken
def test_generator_value(run_context: RunContext) -> None:
    with run_context.open(RowsResource(dsn="sqlite://")):
        pass


# --8<-- [end:generator-value]


# --8<-- [start:generator-value-fix]
class ConnectionForOpsResource(
    dg.ConfigurableResource, dg.IAttachDifferentObjectToOpContext
):
    dsn: str

    def get_object_to_set_on_execution_context(self) -> Any:
        return Connection(self.dsn)


def test_connection_value(run_context: RunContext) -> None:
    with run_context.open(ConnectionForOpsResource(dsn="sqlite://")) as connection:
        assert connection.query("select 1") == ["select 1"]


# --8<-- [end:generator-value-fix]


# --8<-- [start:unentered]
class PoolResource(dg.ConfigurableResource):
    dsn: str

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        connection = Connection(self.dsn)
        try:
            yield connection
        finally:
            connection.close()

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[Any]:
        yield self.connect()  # not entered: ops get a one-shot context manager


@broken
def test_unentered_context_manager(run_context: RunContext) -> None:
    with run_context.open(PoolResource(dsn="sqlite://")):
        pass


# --8<-- [end:unentered]


# --8<-- [start:unentered-fix]
class EnteredPoolResource(dg.ConfigurableResource):
    dsn: str

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        connection = Connection(self.dsn)
        try:
            yield connection
        finally:
            connection.close()

    @contextmanager
    def yield_for_execution(
        self, context: dg.InitResourceContext
    ) -> Iterator[Connection]:
        with self.connect() as connection:
            yield connection


def test_entered_context_manager(run_context: RunContext) -> None:
    with run_context.open(EnteredPoolResource(dsn="sqlite://")) as connection:
        assert connection.query("select 1") == ["select 1"]
    assert connection.closed


# --8<-- [end:unentered-fix]


# --8<-- [start:private-state]
class SessionResource(dg.ConfigurableResource):
    user: str
    headers: dict[str, str] = Field(default_factory=dict)  # public: part of the config
    _token: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._token = f"token-of-{self.user}-0123456789abcdef"
        self.headers["Authorization"] = self._token  # the token is now config


@pytest.mark.xfail(
    raises=PrivateStateLeak, strict=True, reason="the token is in the headers"
)
def test_private_state_in_config(run_context: RunContext) -> None:
    with run_context.open(SessionResource(user="alice")):
        pass


# --8<-- [end:private-state]


# --8<-- [start:private-state-fix]
class PrivateSessionResource(dg.ConfigurableResource):
    user: str
    _token: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._token = f"token-of-{self.user}-0123456789abcdef"

    def headers(self) -> dict[str, str]:
        return {"Authorization": self._token}


def test_private_state_stays_private(run_context: RunContext) -> None:
    with run_context.open(PrivateSessionResource(user="alice")) as session:
        assert session.headers()["Authorization"].startswith("token-of-alice")


# --8<-- [end:private-state-fix]


# --8<-- [start:secret]
class ApiResource(dg.ConfigurableResource):
    api_key: str  # set from an EnvVar below: a secret


@pytest.mark.xfail(raises=PrivateStateLeak, strict=True, reason="repr() shows the key")
def test_secret_in_repr(
    run_context: RunContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_KEY", "sk-live-0123456789abcdef")
    with run_context.open(
        ApiResource(api_key=dg.EnvVar("API_KEY")), check_secrets=True
    ):
        pass


# --8<-- [end:secret]


# --8<-- [start:secret-fix]
class HiddenKeyApiResource(dg.ConfigurableResource):
    api_key: str = Field(repr=False)  # still config, never shown by repr() or str()


def test_secret_hidden(
    run_context: RunContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_KEY", "sk-live-0123456789abcdef")
    with run_context.open(
        HiddenKeyApiResource(api_key=dg.EnvVar("API_KEY")), check_secrets=True
    ):
        pass


# --8<-- [end:secret-fix]


# --8<-- [start:unclosed-in-setup]
class SchemaResource(dg.ConfigurableResource):
    path: str
    _schema: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._schema = open(self.path).read()  # noqa: SIM115 - the file is never closed


@broken
def test_unclosed_file_in_setup(run_context: RunContext, tmp_path: Path) -> None:
    (tmp_path / "schema.sql").write_text("create table t (x int)")
    with run_context.open(
        SchemaResource(path=str(tmp_path / "schema.sql")), release_check=True
    ):
        pass


# --8<-- [end:unclosed-in-setup]


# --8<-- [start:unclosed-in-setup-fix]
class ClosingSchemaResource(dg.ConfigurableResource):
    path: str
    _schema: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._schema = Path(self.path).read_text()  # opens, reads and closes


def test_file_closed_in_setup(run_context: RunContext, tmp_path: Path) -> None:
    (tmp_path / "schema.sql").write_text("create table t (x int)")
    with run_context.open(
        ClosingSchemaResource(path=str(tmp_path / "schema.sql")), release_check=True
    ):
        pass


# --8<-- [end:unclosed-in-setup-fix]


# --8<-- [start:step-builds-its-own]
class CacheResource(dg.ConfigurableResource):
    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        pass


@dg.asset
def builds_its_own_cache() -> int:
    with dg.build_resources(
        {"cache": CacheResource()}
    ):  # Dagster knows nothing of this
        return 1


@broken
def test_step_builds_a_resource(run_context: RunContext) -> None:
    # The fix, a resource declared as the asset's parameter, is in
    # examples/test_multiprocess.py.
    run_context.materialize([builds_its_own_cache], executor="multiprocess")


# --8<-- [end:step-builds-its-own]
