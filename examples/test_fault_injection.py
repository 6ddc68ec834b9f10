"""Fault injection: make a run fail at each point a real run can fail, and check that
the resource still keeps every lifecycle rule."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import PrivateAttr

from pytest_resources import (
    ConfigFailure,
    Fault,
    LifecycleError,
    ResourceUsageError,
    RunContext,
    faults,
    resource_instances,
)


class CredentialsResource(dg.ConfigurableResource):
    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        pass

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        pass


class ClientResource(dg.ConfigurableResource):
    username: str
    credentials: CredentialsResource
    _session: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._session = f"session-of-{self.username}"

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self._session = ""


# --8<-- [start:check]
def test_setup_fails(run_context: RunContext) -> None:
    client = ClientResource(username="alice", credentials=CredentialsResource())
    # The injected failure is expected and swallowed; a broken rule or a leak is not.
    lifecycle = run_context.check(client, fault=Fault("setup"))
    assert (lifecycle.setup_calls, lifecycle.teardown_calls) == (1, 0)
    # The nested credentials were set up before the client, so they were torn down.
    assert run_context.lifecycle("client.credentials").teardown_calls == 1


# --8<-- [end:check]


# --8<-- [start:not-applicable]
def test_a_fault_that_does_not_apply(run_context: RunContext) -> None:
    assert repr(Fault("nested_setup")) == "Fault(where='nested_setup')"
    # CredentialsResource has no nested resources: outside hypothesis, that is a usage
    # error.
    with pytest.raises(
        ResourceUsageError, match=r"Fault\(where='nested_setup'\) does not apply"
    ):
        run_context.check(CredentialsResource(), fault=Fault("nested_setup"))


# --8<-- [end:not-applicable]


# --8<-- [start:given]
@settings(max_examples=30, deadline=None)
@given(client=resource_instances(ClientResource), fault=faults())
def test_every_config_under_every_fault(
    run_context: RunContext, client: ClientResource, fault: Fault
) -> None:
    run_context.check(client, fault=fault)  # one fresh run per example


# --8<-- [end:given]


# --8<-- [start:audit]
def test_audit(run_context: RunContext) -> None:
    summary = run_context.audit(ClientResource, max_examples=20)
    print(summary)


# --8<-- [end:audit]


# --8<-- [start:audit-files]
class ReportsResource(dg.ConfigurableResource):
    """Writes where its config says: the audit draws `results_dir` and `db_path` as
    relative names, and runs each example in a fresh temporary working directory."""

    results_dir: str = "results"
    db_path: str = "reports.sqlite"
    _connection: sqlite3.Connection | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        os.makedirs(self.results_dir, exist_ok=True)
        self._connection = sqlite3.connect(os.path.join(self.results_dir, self.db_path))

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._connection is not None:
            self._connection.close()


def test_audit_writes_only_in_temporary_directories(run_context: RunContext) -> None:
    before = set(os.listdir())
    run_context.audit(ReportsResource, max_examples=20)
    assert set(os.listdir()) == before


# --8<-- [end:audit-files]


# --8<-- [start:config-failure]
class TimeoutClientResource(dg.ConfigurableResource):
    timeout_seconds: int = 30  # a negative timeout makes setup fail

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if self.timeout_seconds < 0:
            raise ValueError(f"timeout must not be negative: {self.timeout_seconds}")


@pytest.mark.xfail(
    raises=ConfigFailure, strict=True, reason="the field takes negative values"
)
def test_audit_finds_a_value_the_resource_cannot_take(run_context: RunContext) -> None:
    run_context.audit(TimeoutClientResource)


def test_audit_with_the_field_pinned(run_context: RunContext) -> None:
    run_context.audit(TimeoutClientResource, timeout_seconds=st.integers(0, 3600))


# --8<-- [end:config-failure]


# --8<-- [start:broken]
class OpensBeforeTryResource(dg.ConfigurableResource):
    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        pass

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        pass

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[None]:
        self.setup_for_execution(context)
        self.create_resource(context)  # when this raises, nothing tears the setup down
        try:
            yield
        finally:
            self.teardown_after_execution(context)


@pytest.mark.xfail(
    raises=LifecycleError, strict=True, reason="no teardown when create fails"
)
def test_only_a_fault_shows_it(run_context: RunContext) -> None:
    run_context.check(OpensBeforeTryResource())  # passes: without a fault all is well
    run_context.check(OpensBeforeTryResource(), fault=Fault("create_resource"))


# --8<-- [end:broken]


# --8<-- [start:inside-setup]
def fetch_token(client_id: str) -> str:
    """The project's own call to its auth server (a stand-in here)."""
    return f"token for {client_id}"


class FlusherResource(dg.ConfigurableResource):
    client_id: str
    _stop: threading.Event = PrivateAttr(default_factory=threading.Event)
    _thread: threading.Thread | None = PrivateAttr(default=None)
    _token: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._thread = threading.Thread(
            target=self._stop.wait, args=(2,), name="flusher", daemon=True
        )
        self._thread.start()
        # When this raises, Dagster never calls teardown: the thread runs on.
        self._token = fetch_token(self.client_id)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.stop_flushing()

    def stop_flushing(self) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join()


@pytest.mark.release_check
@pytest.mark.xfail(raises=LifecycleError, strict=True, reason="thread left running")
def test_a_setup_that_fails_half_way(run_context: RunContext) -> None:
    run_context.audit(FlusherResource, setup_calls=[f"{__name__}.fetch_token"])


# --8<-- [end:inside-setup]


# --8<-- [start:inside-setup-fix]
class SafeFlusherResource(FlusherResource):
    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._thread = threading.Thread(
            target=self._stop.wait, args=(2,), name="flusher", daemon=True
        )
        self._thread.start()
        try:
            self._token = fetch_token(self.client_id)
        except BaseException:
            self.stop_flushing()  # Dagster will not call teardown after a failed setup
            raise


@pytest.mark.release_check
def test_a_setup_that_cleans_up_after_itself(run_context: RunContext) -> None:
    run_context.audit(SafeFlusherResource, setup_calls=[f"{__name__}.fetch_token"])


# --8<-- [end:inside-setup-fix]
