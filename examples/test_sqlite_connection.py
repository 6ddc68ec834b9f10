"""A database connection: open for the run, closed after it, also when a step fails."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from pytest_resources import RunContext


# --8<-- [start:sqlite]
class SQLiteResource(dg.ConfigurableResource):
    path: str

    @contextmanager
    def yield_for_execution(
        self, context: dg.InitResourceContext
    ) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(self.path)
        try:
            yield connection
        finally:
            connection.close()


def test_connection_closed_after_the_run(
    run_context: RunContext, tmp_path: Path
) -> None:
    with run_context.open(
        SQLiteResource(path=str(tmp_path / "db.sqlite"))
    ) as connection:
        connection.execute("create table users (name text)")
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        connection.execute("select 1")


def test_closed_when_the_step_fails(run_context: RunContext, tmp_path: Path) -> None:
    database = SQLiteResource(path=str(tmp_path / "db.sqlite"))
    with pytest.raises(ZeroDivisionError), run_context.open(database) as connection:
        1 / 0  # noqa: B018
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        connection.execute("select 1")
    assert run_context.lifecycle(SQLiteResource).yield_exits == 1


# --8<-- [end:sqlite]


# The same against PostgreSQL, where a server is reachable: set
# PYTEST_RESOURCES_POSTGRES_DSN (e.g. "postgresql://postgres@127.0.0.1:5432/postgres")
# and install psycopg; skipped otherwise.
POSTGRES_DSN = os.environ.get("PYTEST_RESOURCES_POSTGRES_DSN")


class PostgresResource(dg.ConfigurableResource):
    dsn: str

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[Any]:
        import psycopg

        connection = psycopg.connect(self.dsn)
        try:
            yield connection
        finally:
            connection.close()


@pytest.mark.skipif(
    POSTGRES_DSN is None, reason="PYTEST_RESOURCES_POSTGRES_DSN is not set"
)
@pytest.mark.release_check  # the connection's socket must be closed after the run, too
def test_postgres_connection_closed_after_the_run(run_context: RunContext) -> None:
    pytest.importorskip("psycopg")
    assert POSTGRES_DSN is not None
    with run_context.open(PostgresResource(dsn=POSTGRES_DSN)) as connection:
        assert connection.execute("select 1").fetchone() == (1,)
    assert connection.closed
