"""The code of docs/strategies.md, tested: hypothesis strategies that draw config for
any Dagster ``Config`` class.

No ``from __future__ import annotations``: ``st.builds`` reads ``make_report``'s
annotations, and nested ``configure_at_launch()`` partials need real annotations too."""

# --8<-- [start:imports]
from typing import Any

import dagster as dg
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import Field

from pytest_resources import (
    ConfigWithEnv,
    RunContext,
    env_applied,
    register_resource_strategies,
    resource_configs,
    resource_configs_with_env,
    resource_instances,
)

# --8<-- [end:imports]


# --8<-- [start:database]
class Database(dg.ConfigurableResource):
    username: str
    port: int = 5432

    def dsn(self) -> str:
        return f"postgresql://{self.username}@db:{self.port}"


@given(resource_configs(Database))
def test_any_config_builds_a_dsn(config: dict[str, Any]) -> None:
    assert Database(**config).dsn().startswith("postgresql://")


@given(resource_instances(Database, port=5432))
def test_any_database_on_the_default_port(database: Database) -> None:
    assert database.port == 5432


# --8<-- [end:database]


class Aliased(dg.ConfigurableResource):
    user_name: str = Field(alias="user-name")


# --8<-- [start:overrides]
admins = resource_configs(Database, username="admin")
high_ports = resource_configs(Database, port=st.integers(1024, 65535))
aliased = resource_configs(
    Aliased, **{"user-name": "admin"}
)  # an alias that is no identifier
always_a_port = resource_configs(Database, port=...)  # port in every example
# --8<-- [end:overrides]


@settings(max_examples=20)
@given(admins, high_ports, aliased, always_a_port)
def test_overrides(
    admin: dict[str, Any],
    high_port: dict[str, Any],
    alias: dict[str, Any],
    with_port: dict[str, Any],
) -> None:
    assert admin["username"] == "admin"
    assert 1024 <= high_port["port"] <= 65535
    assert alias == {"user-name": "admin"}
    assert "port" in with_port


class Simple(dg.ConfigurableResource):
    host: str


class Outer(dg.ConfigurableResource):
    db: Simple


@settings(max_examples=20)
@given(
    # --8<-- [start:nested]
    resource_instances(Outer, db=resource_instances(Simple, host="localhost"))
    # --8<-- [end:nested]
)
def test_nested_override(outer: Outer) -> None:
    assert outer.db.host == "localhost"


# --8<-- [start:env]
@settings(max_examples=20, deadline=None)
@given(resource_configs_with_env(Database))
def test_database_reads_its_environment(
    run_context: RunContext, example: ConfigWithEnv
) -> None:
    config, env = example
    with env_applied(env), run_context.run() as run, run.open(Database(**config)) as db:
        expected = env.get("PYTEST_RESOURCES_DATABASE_USERNAME", config["username"])
        assert db.username == expected


# --8<-- [end:env]


# --8<-- [start:launch]
@settings(max_examples=5, deadline=None)
@given(resource_configs(Database))
def test_database_in_a_run(config: dict[str, Any]) -> None:
    expected = Database(**config)
    seen: list[dict[str, Any]] = []

    @dg.asset
    def probe(db: Database) -> None:
        seen.append(db.model_dump())

    run_config = {
        "resources": {"db": {"config": dict(expected._convert_to_config_dictionary())}}
    }
    dg.materialize(
        [probe], resources={"db": Database.configure_at_launch()}, run_config=run_config
    )
    assert seen == [expected.model_dump()]


# --8<-- [end:launch]


# --8<-- [start:builds]
def make_report(db: Database) -> str:
    return f"report from {db.dsn()}"


register_resource_strategies(Database, Outer)


@settings(max_examples=20)
@given(st.builds(make_report))
def test_report(report: str) -> None:
    assert report.startswith("report from postgresql://")


# --8<-- [end:builds]
