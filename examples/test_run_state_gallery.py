"""Run state that outlives a run (a pool shared on purpose, a setup that adds to the
process in every run) and a secret in plaintext, counted once. Each broken resource's
test is expected to fail with ``PrivateStateLeak`` (``xfail(strict=True)``); the fixed
resource after it passes. docs/gallery.md shows the messages (``pytest
examples/test_run_state_gallery.py --runxfail``)."""

import logging
import uuid
from typing import Any

import dagster as dg
import pytest
from pydantic import Field, PrivateAttr

from pytest_resources import PrivateStateLeak, RunContext

broken = pytest.mark.xfail(
    raises=PrivateStateLeak, strict=True, reason="a broken resource"
)


class ConnectionPool:
    def __init__(self) -> None:
        self.connections: list[object] = []

    def acquire(self) -> object:
        if not self.connections:
            self.connections.append(object())  # a real pool would connect here
        return self.connections[0]


PROCESS_POOL = ConnectionPool()
SHARED_POOL = ConnectionPool()


# --8<-- [start:shared-pool]
class PooledWarehouse(dg.ConfigurableResource):
    dsn: str
    # Every instance, so every run, borrows from the one pool of the process.
    _pool: ConnectionPool = PrivateAttr(default_factory=lambda: PROCESS_POOL)
    _connection: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._connection = self._pool.acquire()


@broken
def test_shared_pool(run_context: RunContext) -> None:
    with run_context.open(PooledWarehouse(dsn="postgres://warehouse")):
        pass


# --8<-- [end:shared-pool]


# --8<-- [start:shared-pool-fix]
class DeclaredPooledWarehouse(dg.ConfigurableResource):
    __shared_across_runs__ = ("_pool",)  # the pool outlives every run on purpose

    dsn: str
    _pool: ConnectionPool = PrivateAttr(default_factory=lambda: SHARED_POOL)
    _connection: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._connection = self._pool.acquire()


def test_shared_pool_declared(run_context: RunContext) -> None:
    with run_context.open(DeclaredPooledWarehouse(dsn="postgres://warehouse")):
        pass


# --8<-- [end:shared-pool-fix]


# --8<-- [start:grows]
audit_log = logging.getLogger("examples.warehouse.audit")
SESSIONS: list[str] = []


class LoggingWarehouse(dg.ConfigurableResource):
    dsn: str

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        audit_log.addHandler(logging.NullHandler())  # one more in every run
        SESSIONS.append(f"session-{uuid.uuid4()}")


@broken
def test_setup_adds_every_run(run_context: RunContext) -> None:
    for _ in range(2):
        resource = LoggingWarehouse(dsn="postgres://warehouse")
        with run_context.run() as run, run.open(resource):
            pass


# --8<-- [end:grows]


# --8<-- [start:grows-fix]
class IdempotentWarehouse(dg.ConfigurableResource):
    dsn: str
    _session: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if not audit_log.handlers:  # added once, on first use
            audit_log.addHandler(logging.NullHandler())
        self._session = f"session-{uuid.uuid4()}"  # the run's own, on the live copy


def test_setup_idempotent(run_context: RunContext) -> None:
    for _ in range(2):
        resource = IdempotentWarehouse(dsn="postgres://warehouse")
        with run_context.run() as run, run.open(resource):
            pass


# --8<-- [end:grows-fix]


# --8<-- [start:secret]
class MarkedSecretClient(dg.ConfigurableResource):
    api_key: str = Field(json_schema_extra={"dagster__is_secret": True})


@broken
def test_marked_secret(run_context: RunContext) -> None:
    resource = MarkedSecretClient(api_key="sk-live-0123456789abcdef")
    with run_context.open(resource, check_secrets=True):
        pass


# --8<-- [end:secret]


# --8<-- [start:secret-fix]
class EnvSecretClient(dg.ConfigurableResource):
    api_key: str = Field(repr=False)


def test_secret_from_env(
    run_context: RunContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAREHOUSE_API_KEY", "sk-live-0123456789abcdef")
    resource = EnvSecretClient(api_key=dg.EnvVar("WAREHOUSE_API_KEY"))
    with run_context.open(resource, check_secrets=True):
        pass


# --8<-- [end:secret-fix]
