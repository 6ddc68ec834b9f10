"""Run state across runs, through pytest: a pool shared on purpose (declared, or reported as run
state that outlived its run), one secret counted once, and what setup adds to the process in
every run (a module's global containers, loggers' handlers)."""

from __future__ import annotations

import pytest

from pytest_resources._leak_audit import SecretExposure, format_leak_report

POOL = """
from typing import Any

import dagster as dg
import pytest
from pydantic import PrivateAttr


class Pool:
    def __init__(self):
        self.connections = []

    def acquire(self):
        if not self.connections:
            self.connections.append(object())
        return self.connections[0]


POOL = Pool()


class PooledDatabase(dg.ConfigurableResource):
    dsn: str = "postgres://warehouse"
    _pool: Pool = PrivateAttr(default_factory=lambda: POOL)
    _connection: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context):
        self._connection = self._pool.acquire()


class DeclaredPool(PooledDatabase):
    __shared_across_runs__ = ("_pool",)


class MisspelledPool(PooledDatabase):
    __shared_across_runs__ = ("_pol",)


def open_twice(run_context, resource):
    for _ in range(2):
        with run_context.run() as run, run.open(resource):
            pass


def test_undeclared(run_context):
    open_twice(run_context, PooledDatabase())


def test_declared(run_context):
    open_twice(run_context, DeclaredPool())


def test_misspelled(run_context):
    open_twice(run_context, MisspelledPool())


@pytest.mark.resource(MisspelledPool())
def test_misspelled_marked(resource):
    pass
"""


def test_a_pool_shared_on_purpose_is_run_state_that_outlived_its_run_until_declared(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(POOL)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*_ ERROR at setup of test_misspelled_marked _*",
            "E*TypeError: MisspelledPool.__shared_across_runs__ names '_pol'*",
            "*_ test_undeclared _*",
            "E*PrivateStateLeak: 1 value of run state outlived its run:",
            "E*resource 'pooled_database' (PooledDatabase), outlived the run, seen after teardown "
            "of run *:",
            "E*run state _connection = builtins.object object, stored at *.py:27, made during the "
            "run, still reachable after its teardown from:",
            "E*user's instance._pool.connections[[]0], "
            "the default of PooledDatabase._pool.connections[[]0]",
            "E*If _pool is shared across runs on purpose (a connection pool), declare it on the "
            "class: __shared_across_runs__ = ('_pool',). Otherwise build a new object in its "
            "default_factory, and release it in teardown.",
            "*_ test_misspelled _*",
            "E*TypeError: MisspelledPool.__shared_across_runs__ names '_pol', not a private "
            "attribute of MisspelledPool; give a tuple of its private attributes: _connection, "
            "_pool.",
        ]
    )
    assert "in serialized config" not in result.stdout.str()
    # The misspelling is the user's error, shown from the test's line, not from the plugin.
    assert "_leak_audit" not in result.stdout.str()


SECRETS = """
import dagster as dg
from pydantic import Field


class MarkedSecret(dg.ConfigurableResource):
    api_key: str = Field(json_schema_extra={"dagster__is_secret": True})


class SecretFromEnv(dg.ConfigurableResource):
    api_key: str = Field(repr=False)


def test_marked(run_context):
    with run_context.open(MarkedSecret(api_key="sk-live-0123456789abcdef"), check_secrets=True):
        pass


def test_from_env(run_context, monkeypatch):
    monkeypatch.setenv("API_KEY", "sk-live-0123456789abcdef")
    resource = SecretFromEnv(api_key=dg.EnvVar("API_KEY"))
    with run_context.open(resource, check_secrets=True):
        pass
"""


def test_one_secret_shown_by_both_objects_is_counted_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SECRETS)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "E*PrivateStateLeak: 1 plaintext secret in serialized config:",
            "E*resource 'marked_secret' (MarkedSecret), user's instance, seen after setup and "
            "after teardown:",
            "E*secret config field api_key (marked dagster__is_secret) = 'sk…' (24 chars), in "
            "plaintext in:",
            "E*repr(), str(): [[]api_key=…]",
            "E*repository snapshot: [[]'configured_values'][[]'api_key']",
        ]
    )
    # Said once: the live copy's repr() shows the same secret at the same place.
    assert "live copy" not in result.stdout.str()
    assert not [line for line in result.stdout.lines if line.startswith("E") and "sk-live" in line]


def test_the_summary_counts_each_secret_field_once() -> None:
    def exposure(audited: str, form: str) -> SecretExposure:
        return SecretExposure(
            "api", "Api", audited, "api_key", "marked dagster__is_secret", form, form, None, "'s…'"
        )

    report = format_leak_report(
        [
            exposure("live copy", "repr()"),
            exposure("user's instance", "repr()"),
            exposure("user's instance", "repository snapshot"),
        ]
    )
    assert report.startswith("1 plaintext secret in serialized config:\n")


PROCESS_STATE = """
import logging
import uuid

import dagster as dg

TOKENS = []
CLIENTS = {}
log = logging.getLogger("test_process_state.app")


class AddsEveryRun(dg.ConfigurableResource):
    client_id: str = "warehouse"

    def setup_for_execution(self, context):
        TOKENS.append(f"token-{uuid.uuid4()}")
        log.addHandler(logging.NullHandler())


class AddsOnce(dg.ConfigurableResource):
    client_id: str = "warehouse"

    def setup_for_execution(self, context):
        CLIENTS.setdefault(self.client_id, object())
        if not log.handlers:
            log.addHandler(logging.NullHandler())


CALLS = []


class ClientPerKey(dg.ConfigurableResource):
    api_key: str

    def setup_for_execution(self, context):
        CLIENTS.setdefault(self.api_key, object())


class RecordsItsCalls(dg.ConfigurableResource):
    client_id: str = "warehouse"

    def setup_for_execution(self, context):
        # What a test records: short markers and config, no run state.
        CALLS.extend(["setup", self.client_id])


def open_runs(run_context, resources):
    for resource in resources:
        with run_context.run() as run, run.open(resource):
            pass


def test_adds_every_run(run_context):
    open_runs(run_context, [AddsEveryRun()] * 3)


def test_adds_every_run_audited(run_context):
    # Each generated config runs with no fault and under every fault place: runs alike.
    run_context.audit(AddsEveryRun, max_examples=5)


def test_adds_once(run_context):
    log.handlers.clear()
    # A cache keyed by config grows for each new config, and never again for the same one.
    open_runs(run_context, [AddsOnce(client_id=name) for name in ("a", "b", "a", "b", "c")])


def test_adds_once_audited(run_context):
    run_context.audit(AddsOnce, max_examples=15)


def test_records_its_calls(run_context):
    open_runs(run_context, [RecordsItsCalls()] * 3)
    assert len(CALLS) == 6


def test_cache_per_resolved_key(run_context, monkeypatch):
    # The same EnvVar, another value in each run: another config, so another client.
    for n in range(3):
        monkeypatch.setenv("API_KEY", f"key-{n}-0123456789")
        with run_context.run() as run, run.open(ClientPerKey(api_key=dg.EnvVar("API_KEY"))):
            pass


def test_cleared_between_runs(run_context):
    for _ in range(3):
        TOKENS.clear()
        log.handlers.clear()
        with run_context.run() as run, run.open(AddsEveryRun()):
            pass
"""


def test_what_setup_adds_to_the_process_in_every_run_is_reported(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_process_state=PROCESS_STATE)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=5, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ test_adds_every_run _*",
            "E*PrivateStateLeak: 2 containers outside the class grew run after run:",
            "E*resource 'adds_every_run' (AddsEveryRun), outlived the run, seen after teardown "
            "of run *:",
            "E*setup added to these again, so they grow run after run (sizes with the same "
            "config):",
            "E*global test_process_state.TOKENS: 1 after run *, 2 after run *, "
            "added to at test_process_state.py:15",
            "E*logger 'test_process_state.app': 1 after run *, 2 after run *, "
            "added to at test_process_state.py:16",
            "E*Make setup idempotent across runs: add a logging handler once*",
            "*_ test_adds_every_run_audited _*",
            "E*PrivateStateLeak: * container* outside the class grew run after run:",
        ]
    )
    # Reported in the second run, which failed the test: the third never ran.
    assert ", 3 after run" not in result.stdout.str()
