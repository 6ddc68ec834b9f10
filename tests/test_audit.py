"""run_context.audit: every fault place for every generated config, one failure per cause,
safe to run (a temporary working directory, relative path names), and clear failures."""

from __future__ import annotations

import os
import re

import pytest
from plugin_internals import spend_no_time_shrinking

RESOURCES = """
import os
import sqlite3
from contextlib import contextmanager
from typing import Optional

import dagster as dg
import pytest
from pydantic import PrivateAttr

from pytest_resources import ConfigFailure, LifecycleError
from resources_for_tests import Inner, TryBeforeSetup


class TryAfterSetup(dg.ConfigurableResource):
    name: str = "client"
    inner: Optional[Inner] = None

    def setup_for_execution(self, context):
        pass

    def teardown_after_execution(self, context):
        pass

    @contextmanager
    def yield_for_execution(self, context):
        self.setup_for_execution(context)
        try:
            yield self
        finally:
            self.teardown_after_execution(context)
"""


@pytest.mark.slow(seconds=7)
def test_a_teardown_after_a_failed_setup_is_caught_for_every_seed(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
def test_broken(run_context):
    run_context.audit(TryBeforeSetup, max_examples=20)
"""
    )
    for seed in range(20):
        result = pytester.runpytest(f"--hypothesis-seed={seed}")
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                "E*LifecycleError: 1 lifecycle rule broken:",
                "E*teardown_after_execution was called once although setup_for_execution raised.",
                "E*The run that failed had Fault(where='setup') injected.",
            ]
        )


@pytest.mark.slow(seconds=7)
def test_a_correct_resource_passes_for_every_seed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
def test_correct(run_context):
    summary = run_context.audit(TryAfterSetup, max_examples=10)
    assert summary.examples == 10
    runs = summary.by_fault
    # Every place ran for every config; nested_setup for those with a nested resource; its
    # yield_for_execution never calls create_resource.
    for place in ("no fault", "setup", "later_setup", "body", "teardown"):
        assert runs[place] == 10, place
    assert 0 < runs["nested_setup"] < 10
    assert "create_resource" not in runs
    assert summary.not_applicable == {
        "create_resource": "Dagster never called its create_resource"
    }
"""
    )
    for seed in range(5):
        pytester.runpytest(f"--hypothesis-seed={seed}").assert_outcomes(passed=1)


def test_one_bug_is_one_failure_at_the_users_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
class BrokenEverywhere(dg.ConfigurableResource):
    name: str = ""

    def setup_for_execution(self, context):
        pass

    def teardown_after_execution(self, context):
        pass

    @contextmanager
    def yield_for_execution(self, context):
        # Never calls setup nor teardown: every place shows it.
        yield self


def test_broken(run_context):
    run_context.audit(BrokenEverywhere, max_examples=20)
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*run_context.audit(BrokenEverywhere, max_examples=20)",
            "E*LifecycleError: 2 lifecycle rules broken:",
            "E*broke rule 1*",
            "E*broke rule 2*",
            "E*Failing test case: audit(",
            "E*resource=BrokenEverywhere(),",
            "E*The run that failed had no fault injected.",
            "test_one_bug_is_one_failure_at_the_users_line.py:*: LifecycleError",
        ]
    )
    output = result.stdout.str()
    assert "distinct failures" not in output
    assert "hypothesis/core.py" not in output
    assert "ExceptionGroup" not in output
    assert "Explanation:" not in output


def test_places_that_never_apply_are_reported(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
class NoTeardown(dg.ConfigurableResource):
    name: str = ""

    def setup_for_execution(self, context):
        pass


def test_summary(run_context):
    summary = run_context.audit(NoTeardown, max_examples=1)
    assert summary.examples == 1
    assert summary.by_fault == {
        "no fault": 1, "setup": 1, "create_resource": 1, "later_setup": 1, "body": 1
    }
    assert summary.not_applicable == {
        "nested_setup": "it has no nested resources",
        "teardown": "Dagster never called its teardown_after_execution (Dagster calls it only "
        "when the class overrides it)",
    }
    print(summary)
"""
    )
    result = pytester.runpytest("-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*audited NoTeardown: 1 generated config, each run with no fault and under every "
            "fault that applies (no fault 1, setup 1, create_resource 1, later_setup 1, body 1 "
            "runs); not applicable: nested_setup: it has no nested resources; teardown: Dagster "
            "never called its teardown_after_execution (*); every lifecycle rule and the leak "
            "audit held"
        ]
    )


def _listing(directory: str) -> set[str]:
    return set(os.listdir(directory))


@pytest.mark.slow(seconds=4)
def test_an_audit_writes_only_inside_temporary_directories(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
class Database(dg.ConfigurableResource):
    path: str
    _connection: object = PrivateAttr(default=None)

    def setup_for_execution(self, context):
        self._connection = sqlite3.connect(self.path)
        self._connection.execute("create table if not exists t (x)")

    def teardown_after_execution(self, context):
        self._connection.close()


class Results(dg.ConfigurableResource):
    results_dir: str = "results"
    db_path: Optional[str] = None
    output_file: str = "out.txt"

    def setup_for_execution(self, context):
        os.makedirs(self.results_dir, exist_ok=True)
        with open(os.path.join(self.results_dir, self.output_file), "w") as written:
            written.write("x")
        if self.db_path is not None:
            sqlite3.connect(os.path.join(self.results_dir, self.db_path + ".db")).close()


def test_database(run_context):
    run_context.audit(Database, max_examples=30)


def test_results(run_context):
    run_context.audit(Results, max_examples=30)
"""
    )
    before = (_listing(str(pytester.path)), _listing("/"), os.getcwd())
    pytester.runpytest().assert_outcomes(passed=2)
    after = (_listing(str(pytester.path)), _listing("/"), os.getcwd())
    assert after == before


def test_a_config_the_resource_cannot_take_names_the_field_and_the_fix(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
class Timeout(dg.ConfigurableResource):
    timeout: int = 10

    def setup_for_execution(self, context):
        if self.timeout < 0:
            raise ValueError(f"timeout must not be negative: {self.timeout}")


class Token(dg.ConfigurableResource):
    api_token: str

    def setup_for_execution(self, context):
        if len(self.api_token) >= 5:
            raise ValueError(f"token {self.api_token} is too long")


def test_timeout(run_context):
    run_context.audit(Timeout, max_examples=30)


def test_token(run_context):
    run_context.audit(Token, max_examples=30)


def test_pinned(run_context):
    run_context.audit(Timeout, timeout=5)
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=2, passed=1)
    result.stdout.fnmatch_lines(
        [
            "*ValueError: timeout must not be negative: -1",
            "*The above exception was the direct cause of the following exception:*",
            "E*ConfigFailure: Timeout's own code raised ValueError: timeout must not be "
            "negative: -1",
            "E*with no fault injected, for the generated config Timeout(timeout=-1).",
            "E*The failing statement reads `timeout`: `raise ValueError(*)` (test_a_config_*.py:*)",
            "E*If Timeout cannot take such a value, constrain the field so that pydantic "
            "rejects it and the audit draws only values it takes, e.g. "
            "`timeout: int = Field(ge=0)` or `Annotated*",
            "E*or pin it for the audit: run_context.audit(Timeout, timeout=<a value or strategy>).",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "E*ConfigFailure: Token's own code raised ValueError: token '00…' (5 chars) is too "
            "long",
            "E*for the generated config Token(api_token='00…' (5 chars)).",
            "E*The failing statement reads `api_token`: `raise ValueError(*)` (*)",
            "E*`api_token: str = Field(max_length=4)` or `Field(pattern=...)`;",
            "E*resource=Token(api_token='00…' (5 chars)),",
        ]
    )
    assert "00000" not in result.stdout.str()


@pytest.mark.slow(seconds=3)
def test_a_config_failure_names_the_fields_the_failing_code_read(
    pytester: pytest.Pytester,
) -> None:
    """The field named is the one the failing statement read (directly, through a local name,
    or in the condition that raised), never merely the first drawn; when the statement reads
    none, every drawn field is listed, and the message says it could not tell."""
    pytester.makepyfile(
        RESOURCES
        + """
import contextlib


def connect(path, read_only):
    # A database library's own check, deep below the resource's code.
    if read_only:
        raise OSError("Cannot open database in read-only mode: it does not exist")
    return contextlib.nullcontext()


def make_client(user, retries):
    if retries > 3:
        raise ValueError("the server allows at most 3 retries")
    return object()


class Client(dg.ConfigurableResource):
    client_id: str = "app"
    base_url: str = "https://api.example.test"

    def setup_for_execution(self, context):
        url = self.base_url
        self._host = url.split("//")[1]


class Guarded(dg.ConfigurableResource):
    client_id: str = "app"
    base_url: str = "https://api.example.test"

    def setup_for_execution(self, context):
        if not self.base_url.startswith("https://"):
            raise RuntimeError("refusing to send the token in clear")


class Database(dg.ConfigurableResource):
    database_path: str
    read_only: bool = False

    @contextmanager
    def yield_for_execution(self, context):
        with connect(self.database_path, read_only=self.read_only) as connection:
            yield connection


class Everything(dg.ConfigurableResource):
    user: str = "me"
    retries: int = 0

    def setup_for_execution(self, context):
        self._client = make_client(**self.model_dump())


def test_client(run_context):
    run_context.audit(Client, max_examples=10)


def test_guarded(run_context):
    run_context.audit(Guarded, max_examples=10)


def test_database(run_context):
    run_context.audit(Database, max_examples=10)


def test_everything(run_context):
    run_context.audit(Everything, max_examples=10)


def test_client_pinned(run_context):
    # Correct: a base_url the resource takes is pinned, and client_id varies freely.
    run_context.audit(Client, base_url="https://api.example.test", max_examples=10)
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=4, passed=1)
    result.stdout.fnmatch_lines(
        [
            "E*ConfigFailure: Client's own code raised IndexError: list index out of range",
            "E*The failing statement reads `base_url`: `self._host = url.split(*` "
            "(test_a_config_failure_names_the_fields_the_failing_code_read.py:*)",
            "E*e.g. `base_url: str = Field(*)`*",
            "E*or pin it for the audit: run_context.audit(Client, base_url=<a value or strategy>).",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "E*ConfigFailure: Guarded's own code raised RuntimeError: refusing to send the token*",
            "E*The failing statement reads `base_url`: `raise RuntimeError(*)` (*)",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "E*ConfigFailure: Database's own code raised OSError: Cannot open database in "
            "read-only mode: it does not exist",
            "E*The failing statement reads `database_path`, `read_only`: `with connect(*`*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "E*ConfigFailure: Everything's own code raised ValueError: the server allows at "
            "most 3 retries",
            "E*The failing statement reads no field directly; the drawn fields, most likely "
            "first: *`retries`*.",
        ]
    )
    assert "reads `client_id`" not in result.stdout.str()


def test_state_that_outlives_a_run_is_reported_as_the_first_failure(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
_jvm = []


class StartsAJvm(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        pass

    def teardown_after_execution(self, context):
        pass

    @contextmanager
    def yield_for_execution(self, context):
        self.setup_for_execution(context)
        if not _jvm:  # the first start forgets to tear down; later runs find it running
            _jvm.append("started")
            yield self
            return
        try:
            yield self
        finally:
            self.teardown_after_execution(context)


def test_jvm(run_context):
    run_context.audit(StartsAJvm, max_examples=10)
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E*LifecycleError: 1 lifecycle rule broken:",
            "E*teardown_after_execution was called 0 times in this run; expected once*",
            "E*pytest-resources: the audit failed for StartsAJvm(); when hypothesis replayed "
            "that example it passed, so an earlier run changed something that outlives a run*",
            "*.py:*: LifecycleError",
        ]
    )
    assert "Flaky" not in result.stdout.str()


def test_shrinking_stops_when_its_time_is_spent(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
NAMES = []


def varied(name):
    return len(set(name)) >= 4


class FailsForVariedNames(dg.ConfigurableResource):
    name: str

    def setup_for_execution(self, context):
        NAMES.append(self.name)

    def teardown_after_execution(self, context):
        if varied(self.name):
            raise ValueError("cannot log out")


def test_budget(run_context):
    try:
        run_context.audit(FailsForVariedNames, max_examples=100)
    finally:
        first_failure = next(i for i, name in enumerate(NAMES) if varied(name))
        print(f"runs after the first failure: {len(NAMES) - first_failure}")
"""
    )
    result = pytester.runpytest("-s", "--hypothesis-seed=3")
    result.assert_outcomes(failed=1)
    unbounded = int(re.search(r"runs after the first failure: (\d+)", result.stdout.str())[1])
    assert unbounded > 20  # hypothesis shrank, as it does within the budget
    spend_no_time_shrinking(monkeypatch)
    result = pytester.runpytest("-s", "--hypothesis-seed=3")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["E*LifecycleError: 1 lifecycle rule broken:", "*broke rule 5*"])
    bounded = int(re.search(r"runs after the first failure: (\d+)", result.stdout.str())[1])
    assert bounded <= 3  # the failing run and hypothesis' replays of it


def test_a_validator_that_raises_other_than_a_validation_error_fails_the_audit(
    pytester: pytest.Pytester,
) -> None:
    """Dagster reports a TypeError from a validator as a crash of the run, not as a config error
    naming the field: the audit fails on it, naming the validator, its field and the fix. The
    twins raising ValueError, or pinned to a value the validator takes, pass."""
    pytester.makepyfile(
        RESOURCES
        + """
from typing import Literal

from pydantic import Field, field_validator, model_validator

SECRET = {"json_schema_extra": {"dagster__is_secret": True}}


class OAuthClient(dg.ConfigurableResource):
    # Broken: any token type but two is a TypeError.
    client_secret: str = Field(default="s3cr3t-value-1234", **SECRET)
    token_type: str

    @field_validator("token_type")
    @classmethod
    def known_type(cls, value):
        if value not in ("bearer", "mac") and value:
            raise TypeError(f"unsupported token type {value!r}")
        return value


class Careful(dg.ConfigurableResource):
    token_type: str

    @field_validator("token_type")
    @classmethod
    def known_type(cls, value):
        if value not in ("bearer", "mac") and value:
            raise ValueError(f"unsupported token type {value!r}")
        return value


class Window(dg.ConfigurableResource):
    # Broken: a model validator that refuses some configs with a KeyError.
    start: int
    end: int

    @model_validator(mode="after")
    def ordered(self):
        if self.start > self.end:
            raise KeyError("start after end")
        return self


class Mode(dg.ConfigurableResource):
    mode: Literal["read", "write"] = "read"


def test_oauth(run_context):
    run_context.audit(OAuthClient, max_examples=10)


def test_careful(run_context):
    run_context.audit(Careful, max_examples=10)


def test_window(run_context):
    run_context.audit(Window, max_examples=10)


def test_oauth_pinned(run_context):
    run_context.audit(OAuthClient, token_type="bearer", max_examples=3)


def test_literal(run_context):
    run_context.audit(Mode, max_examples=3)
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines(
        [
            "E*ConfigFailure: field_validator OAuthClient.known_type (field 'token_type') raised "
            "TypeError: unsupported token type *",
            "E*  for * of * generated configs, e.g. OAuthClient(*token_type=*).",
            "E*  TypeError is not a validation error: Dagster reports it as a crash of the run, "
            "where a ValueError would be a config error naming the field.",
            "E*  Raise ValueError (or AssertionError) in the validator, which pydantic reports as "
            "a validation error; or pin the field for the audit: "
            "run_context.audit(OAuthClient, token_type=<a value or strategy>).",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "E*ConfigFailure: model_validator Window.ordered raised KeyError: 'start after end'",
            "E*or pin the field for the audit: run_context.audit(Window, <field>=<a value or "
            "strategy>).",
        ]
    )
    assert "s3cr3t-value-1234" not in result.stdout.str()


def test_a_config_failure_names_the_nested_resource_that_raised(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
class Inner(dg.ConfigurableResource):
    url: str

    def setup_for_execution(self, context):
        if not self.url:
            raise RuntimeError("no url to connect to")


class Outer(dg.ConfigurableResource):
    inner: Inner
    label: str = "outer"


class OuterThatRaises(dg.ConfigurableResource):
    inner: Inner
    label: str

    def setup_for_execution(self, context):
        if not self.label:
            raise RuntimeError("no label")


def test_inner_raises(run_context):
    run_context.audit(Outer, max_examples=10)


def test_outer_raises(run_context):
    run_context.audit(OuterThatRaises, inner=Inner(url="http://example.test"), max_examples=10)


def test_inner_pinned(run_context):
    run_context.audit(Outer, inner=Inner(url="http://example.test"), max_examples=3)
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "E*ConfigFailure: Inner's own code (nested in Outer as `inner`) raised RuntimeError: "
            "no url to connect to",
            "E*If Inner cannot take such a value, constrain the field *, e.g. `url: str = "
            "Field(min_length=1)` or `Field(pattern=...)`;",
            "E*or pin it for the audit: run_context.audit(Outer, inner=<a value or strategy>).",
        ]
    )
    result.stdout.fnmatch_lines(
        ["E*ConfigFailure: OuterThatRaises's own code raised RuntimeError: no label"]
    )


@pytest.mark.slow(seconds=8)
@pytest.mark.parametrize("seed", [1, 5, 8, 15, 19])
def test_the_audit_draws_declared_bounds_whatever_the_seed(
    pytester: pytest.Pytester, seed: int
) -> None:
    """A setup that divides by a field's bound, or overflows at its longest or reads its shortest
    length, fails the audit for every seed, not for some."""
    pytester.makepyfile(
        """
from contextlib import contextmanager

import dagster as dg
from pydantic import Field


class Batches(dg.ConfigurableResource):
    batch_size: int = Field(ge=0, le=1000)

    @contextmanager
    def yield_for_execution(self, context):
        self._per_batch = 1 / self.batch_size
        yield self


class Headroom(dg.ConfigurableResource):
    used: float = Field(ge=-5.5, le=99.5)

    @contextmanager
    def yield_for_execution(self, context):
        self._left = 1 / (99.5 - self.used)
        yield self


class Chunks(dg.ConfigurableResource):
    chunk: int = Field(ge=-100, le=1000, multiple_of=10)

    @contextmanager
    def yield_for_execution(self, context):
        self._left = 1 / (1000 - self.chunk)
        yield self


class Prefix(dg.ConfigurableResource):
    prefix: str = Field(max_length=64)

    @contextmanager
    def yield_for_execution(self, context):
        self._buffer = bytearray(64)
        self._buffer[len(self.prefix)] = 0  # off by one: a 64-character prefix overflows
        yield self


class Hosts(dg.ConfigurableResource):
    hosts: list[str] = Field(max_length=5)

    @contextmanager
    def yield_for_execution(self, context):
        self._primary = self.hosts[0]  # an empty list is allowed
        yield self


class Careful(dg.ConfigurableResource):
    # Correct: zero and the empty values are excluded by the bounds, so this is safe.
    batch_size: int = Field(ge=1, le=1000)
    rate: float = Field(gt=0.0, lt=2.0)
    prefix: str = Field(min_length=1, max_length=64)
    hosts: list[str] = Field(min_length=1, max_length=5)

    @contextmanager
    def yield_for_execution(self, context):
        self._per_batch = 1 / self.batch_size / self.rate / (2.0 - self.rate)
        self._buffer = bytearray(65)
        self._buffer[len(self.prefix)] = 1
        self._initial = self.prefix[0]
        self._primary = self.hosts[0]
        yield self


def test_batches(run_context):
    run_context.audit(Batches)


def test_headroom(run_context):
    run_context.audit(Headroom)


def test_chunks(run_context):
    run_context.audit(Chunks)


def test_prefix(run_context):
    run_context.audit(Prefix)


def test_hosts(run_context):
    run_context.audit(Hosts)


def test_careful(run_context):
    run_context.audit(Careful)
"""
    )
    result = pytester.runpytest("-p", "hypothesis", f"--hypothesis-seed={seed}")
    result.assert_outcomes(passed=1, failed=5)
    result.stdout.fnmatch_lines(["*ZeroDivisionError*"])
    assert "FAILED test_the_audit_draws_declared_bounds_whatever_the_seed.py::test_careful" not in (
        result.stdout.str()
    )


@pytest.mark.parametrize(
    ("accepted", "expected"), [(0, "1 of 1 generated config,"), (2, "1 of 3 generated configs,")]
)
def test_a_validator_failure_counts_its_configs_in_the_right_number(
    accepted: int, expected: str
) -> None:
    import dagster as dg

    from pytest_resources._config_failure import odd_error_failure
    from pytest_resources._strategies.acceptance import Rejection, RejectionStats

    class Window(dg.ConfigurableResource):
        start: int

    stats = RejectionStats(accepted=accepted)
    stats.record(
        Rejection("start", "KeyError: 'start'", "KeyError", "validating Window"), "start=1"
    )
    assert expected in str(odd_error_failure(Window, stats))
