"""Leak audit precision in real runs: what the test report says for correct-but-tricky resources
(nothing) and for run state that leaks or outlives its run (one entry per leak, where it is)."""

from __future__ import annotations

import pytest

TOKEN = "tok-5e7a5e7a5e7a5e7a5e7a"

RESOURCES = f"""
import contextlib
import os
import pathlib
import uuid
from typing import Any

import dagster as dg
import pytest
from pydantic import Field, PrivateAttr


class ConfigPath(os.PathLike):
    def __init__(self, text):
        self._text = text

    def __fspath__(self):
        return self._text


class Tricky(dg.ConfigurableResource):
    base_dir: str = "s3://bucket/warehouse"
    workspace_id: str = "6F9619FF-8B86-D011-B42D-00C04FC964FF"
    timeout_ms: str
    password: str
    column_types: dict[str, str] = Field(default_factory=dict)
    _state: dict = PrivateAttr(default_factory=dict)

    def setup_for_execution(self, context):
        self._state = {{
            "base_path": ConfigPath(self.base_dir),
            "workspace": uuid.UUID(self.workspace_id),
            "timeout": int(self.timeout_ms),
            "auth_method": "password",
            "metric": type(self).__name__,
            "columns": list(self.column_types),
            "kwargs": self.model_dump(),
            "hmac_key": self.password.encode(),
        }}
        os.environ.pop("PRECISION_PASSWORD", None)  # hardening: scrub the secret once read


class Auth:
    def __init__(self, token):
        self.token = token


class AuthInExtras(dg.ConfigurableResource):
    extras: dict[str, Any] = Field(default_factory=dict)
    _token: str = PrivateAttr(default="")

    def setup_for_execution(self, context):
        self._token = "{TOKEN}"
        self.extras["auth"] = Auth(self._token)


class WritesItsEnvVar(dg.ConfigurableResource):
    password: str
    headers: dict[str, str] = Field(default_factory=dict)
    _role_token: str = PrivateAttr(default="")

    def setup_for_execution(self, context):
        self._role_token = "{TOKEN}"
        os.environ["PRECISION_PASSWORD"] = self._role_token
        self.headers["X-Role"] = self._role_token


class YieldsACopy(dg.ConfigurableResource):
    token: str = ""
    _token: str = PrivateAttr(default="")

    @contextlib.contextmanager
    def yield_for_execution(self, context):
        self._token = "{TOKEN}"
        yield self.model_copy(update={{"token": self._token}})


class YieldsItself(YieldsACopy):
    @contextlib.contextmanager
    def yield_for_execution(self, context):
        self._token = "{TOKEN}"
        yield self


SHARED = {{}}


class SharedDefault(dg.ConfigurableResource):
    _session: dict = PrivateAttr(default_factory=lambda: SHARED)

    def setup_for_execution(self, context):
        self._session["token"] = "{TOKEN}"


class CachesOnClass(dg.ConfigurableResource):
    _client: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context):
        self._client = Auth("{TOKEN}")
        type(self).cached_token = "{TOKEN}"


class Teardown(dg.ConfigurableResource):
    marker: str

    def teardown_after_execution(self, context):
        pathlib.Path(self.marker).write_text("torn down")
"""


@pytest.fixture
def precision_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRECISION_PASSWORD", "correct-horse-battery")
    monkeypatch.setenv("PRECISION_TIMEOUT", "30000")


def test_config_kept_privately_in_any_form_passes(
    pytester: pytest.Pytester, precision_env: None
) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
def tricky():
    os.environ.setdefault("PRECISION_PASSWORD", "correct-horse-battery")
    return Tricky(
        timeout_ms=dg.EnvVar("PRECISION_TIMEOUT"),
        password=dg.EnvVar("PRECISION_PASSWORD"),
        column_types={"000000": ""},
    )


def test_opened(run_context):
    with run_context.open(tricky()):
        pass


def test_marked(run_context):
    with run_context.open(tricky(), key="again"):
        pass


def test_yields_itself(run_context):
    with run_context.open(YieldsItself()):
        pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=3)


def test_run_state_that_leaks_is_one_entry_per_leak(
    pytester: pytest.Pytester, precision_env: None
) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
def test_auth_object(run_context):
    with run_context.open(AuthInExtras()):
        pass


def test_writes_its_env_var(run_context):
    with run_context.open(WritesItsEnvVar(password=dg.EnvVar("PRECISION_PASSWORD"))):
        pass


def test_yields_a_copy(run_context):
    with run_context.open(YieldsACopy()):
        pass
"""
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(
        [
            "E*PrivateStateLeak: 1 private-state leak in serialized config:",
            "E*resource 'auth_in_extras' (AuthInExtras), live copy, seen after setup and after "
            "teardown:",
            "E*private attribute _token = 'to…' (24 chars), stored at "
            "test_run_state_that_leaks_is_one_entry_per_leak.py:53, found in:",
            "E*model_dump(), _convert_to_config_dictionary(): [[]'extras'][[]'auth'].token",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "E*resource 'writes_its_env_var' (WritesItsEnvVar), live copy, seen after setup and "
            "after teardown:",
            "E*private attribute _role_token = 'to…' (24 chars), stored at *.py:64, found in:",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "E*resource 'yields_a_copy' (YieldsACopy), value yielded to ops, seen after setup:",
            "E*private attribute _token = 'to…' (24 chars), stored at *.py:74, found in:",
            "E*Yield a client or the resource itself, not a copy of the resource*",
        ]
    )
    assert TOKEN not in result.stdout.str()


def test_run_state_that_outlives_the_run_says_where(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
def test_shared_default(run_context):
    with run_context.open(SharedDefault()):
        pass


def test_cached_on_the_class(run_context):
    with run_context.open(CachesOnClass()):
        pass
"""
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "E*resource 'shared_default' (SharedDefault), outlived the run, seen after teardown "
            "of run *:",
            "E*run state _session[[]'token'] = 'to…' (24 chars), stored at *.py:91, made during "
            "the run, still reachable after its teardown from:",
            "E*user's instance._session[[]'token'], "
            "the default of SharedDefault._session[[]'token']",
            "E*If _session is shared across runs on purpose (a connection pool), declare it on the "
            "class: __shared_across_runs__ = ('_session',).*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "E*resource 'caches_on_class' (CachesOnClass), outlived the run, seen after teardown "
            "of run *:",
            "E*run state CachesOnClass.cached_token = 'to…' (24 chars), stored at *.py:99, "
            "made during the run, still reachable after its teardown from:",
            "E*vars(CachesOnClass)[[]'cached_token']",
            "E*Keep run state on the live copy only: not on the class, not in a shared default*",
        ]
    )


def test_an_open_never_exited_fails_its_test_after_teardown_ran(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
def test_forgets_to_exit(run_context, tmp_path):
    marker = tmp_path / "marker"
    run_context.open(Teardown(marker=str(marker))).__enter__()
    pytest.marker_path = marker


def test_teardown_ran():
    assert pytest.marker_path.read_text() == "torn down"


def test_exits(run_context, tmp_path):
    with run_context.open(Teardown(marker=str(tmp_path / "marker"))):
        pass


@pytest.fixture
def opened_by_a_fixture(run_context, tmp_path):
    # Exited by the fixture's own teardown, after the test body: not forgotten.
    with run_context.open(Teardown(marker=str(tmp_path / "marker"))) as live:
        yield live


def test_uses_a_fixture_that_exits(opened_by_a_fixture):
    assert opened_by_a_fixture.marker
"""
    )
    result = pytester.runpytest("-p", "no:randomly")
    # Reported when the test ends, after its fixtures' teardowns: the test body itself passed.
    result.assert_outcomes(passed=4, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*_ ERROR at teardown of test_forgets_to_exit _*",
            "LifecycleError: run_context.open() at "
            "test_an_open_never_exited_fails_its_test_after_teardown_ran.py:110 was entered and "
            "never exited: the test ended with its resources still set up, and their teardown ran "
            "only then. Use it as a context manager: `with run_context.open(...) as live:`.",
        ]
    )


SECRETS = """
import dagster as dg
from pydantic import Field


class BakedDefault(dg.ConfigurableResource):
    api_token: str = dg.EnvVar("PRECISION_IMPORT_TOKEN").get_value() or ""


class ReadAtRunStart(dg.ConfigurableResource):
    api_token: str = Field(repr=False)


class MarkedSecret(dg.ConfigurableResource):
    api_key: str = Field(repr=False, json_schema_extra={"dagster__is_secret": True})


def test_baked_default(run_context):
    with run_context.open(BakedDefault()):
        pass


def test_marked_in_plaintext(run_context):
    with run_context.open(MarkedSecret(api_key="ak-plaintext-" + "0123456789")):
        pass


def test_read_at_run_start(run_context):
    with run_context.open(ReadAtRunStart(api_token=dg.EnvVar("PRECISION_IMPORT_TOKEN"))):
        pass


def test_marked_from_env(run_context):
    with run_context.open(MarkedSecret(api_key=dg.EnvVar("PRECISION_IMPORT_TOKEN"))):
        pass
"""


def test_the_secrets_check_finds_baked_defaults_and_marked_secrets_in_the_snapshot(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRECISION_IMPORT_TOKEN", "import-time-secret-0123")
    pytester.makepyfile(SECRETS)
    pytester.runpytest().assert_outcomes(passed=4)
    result = pytester.runpytest("-p", "no:randomly", "-o", "resources_check_secrets=true")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "E*PrivateStateLeak: 1 plaintext secret in serialized config:",
            "E*resource 'baked_default' (BakedDefault), the class, seen after setup and after "
            "teardown:",
            "E*secret config field api_token (its default is the value of "
            "$PRECISION_IMPORT_TOKEN) = 'im…' (23 chars), in plaintext in:",
            "E*config schema default: [[]'api_token']",
            "E*A default computed at import*declare the field without a default and set it with "
            "EnvVar('NAME') where the resource is configured.",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "E*resource 'marked_secret' (MarkedSecret), user's instance, seen after setup and "
            "after teardown:",
            "E*secret config field api_key (marked dagster__is_secret) = 'ak…' (23 chars), in "
            "plaintext in:",
            "E*repository snapshot: [[]'configured_values'][[]'api_key']",
            "E*dagster__is_secret only masks a field in the UI*",
        ]
    )
    assert "import-time-secret-0123" not in result.stdout.str()
    assert "ak-plaintext-0123456789" not in result.stdout.str()
