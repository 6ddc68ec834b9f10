"""The ``run_context`` fixture: open resources by hand, in the test's run or in fresh
runs, and read what was recorded."""

from __future__ import annotations

import dagster as dg
from pydantic import PrivateAttr

# --8<-- [start:imports]
from pytest_resources import Event, Lifecycle, Run, RunContext

# --8<-- [end:imports]


class AuditLogResource(dg.ConfigurableResource):
    """Writes to the Dagster instance it was set up with."""

    table: str = "audit"
    _instance: dg.DagsterInstance | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._instance = context.instance

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self._instance = None

    def instance(self) -> dg.DagsterInstance | None:
        return self._instance


class MetricsResource(dg.ConfigurableResource):
    prefix: str = "jobs"


# --8<-- [start:open-many]
def test_open_several(run_context: RunContext) -> None:
    resources = {
        "audit": AuditLogResource(),
        "metrics": MetricsResource(prefix="nightly"),
    }
    with run_context.open(resources) as live:
        assert live["metrics"].prefix == "nightly"
        # Every run of the session uses one ephemeral DagsterInstance.
        assert live["audit"].instance() is run_context.instance
    assert run_context.lifecycle("audit").teardown_calls == 1


# --8<-- [end:open-many]


# --8<-- [start:key]
def test_open_under_a_key(run_context: RunContext) -> None:
    with run_context.open(AuditLogResource(table="logins"), key="logins") as logins:
        assert logins.table == "logins"
    # Look a lifecycle up by key, or by class for all keys of that class.
    assert run_context.lifecycle("logins").setup_calls == 1
    assert run_context.lifecycle(AuditLogResource).keys == ("logins",)


# --8<-- [end:key]


# --8<-- [start:runs]
def test_fresh_runs(run_context: RunContext) -> None:
    with run_context.run() as first, first.open(AuditLogResource()):
        pass
    with run_context.run() as second, second.open(AuditLogResource()):
        pass
    assert first.run_id != second.run_id != run_context.run_id
    # Each run keeps its own records; run_context.lifecycle sees every run of the test.
    assert first.lifecycle(AuditLogResource).setup_calls == 1
    assert {event.run_id for event in second.lifecycle(AuditLogResource).events} == {
        second.run_id
    }
    assert run_context.lifecycle(AuditLogResource).setup_calls == 2


# --8<-- [end:runs]


# --8<-- [start:events]
def test_read_the_record(run_context: RunContext) -> None:
    with run_context.open(AuditLogResource()):
        pass
    lifecycle = run_context.lifecycle(AuditLogResource)
    assert lifecycle.hooks == (
        "setup_for_execution",
        "create_resource",
        "yield_for_execution enter",
        "teardown_after_execution",
        "yield_for_execution exit",
    )
    setup = lifecycle.events[0]
    assert (setup.key, setup.outcome, setup.run_id) == (
        "audit_log",
        "returned",
        run_context.run_id,
    )
    print(lifecycle)  # one line per event, as in a failure report


# --8<-- [end:events]


# --8<-- [start:init-context]
def audit_table(context: dg.InitResourceContext) -> str:
    """Code of yours that takes Dagster's init context."""
    return f"{context.resource_config or 'audit'} on {type(context.instance).__name__}"


def test_init_context(run_context: RunContext) -> None:
    # A real InitResourceContext bound to the test's run and the session's instance.
    assert audit_table(run_context.init_context) == "audit on DagsterInstance"
    assert run_context.init_context.instance is run_context.instance


# --8<-- [end:init-context]


def test_the_types(run_context: RunContext) -> None:
    with run_context.run() as run, run.open(MetricsResource()):
        pass
    assert isinstance(run, Run)
    lifecycle = run.lifecycle(MetricsResource)
    assert isinstance(lifecycle, Lifecycle)
    assert all(isinstance(event, Event) for event in lifecycle.events)
