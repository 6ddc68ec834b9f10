"""The seed's database connection: open for the run, closed after it, also when a step fails."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pytest

from pytest_resources import RunContext


class SQLiteResource(dg.ConfigurableResource):
    path: str

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(self.path)
        try:
            yield connection
        finally:
            connection.close()


def test_connection_closed_after_the_run(run_context: RunContext, tmp_path: Path) -> None:
    with run_context.open(SQLiteResource(path=str(tmp_path / "db.sqlite"))) as connection:
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
