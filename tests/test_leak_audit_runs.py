"""The leak audit runs by itself on every resource a test's runs open, and can be switched off."""

from __future__ import annotations

import pytest

SECRET = "sk-live-0123456789abcdef"

RESOURCES = f"""
import sqlite3

import dagster as dg
import pytest
from pydantic import PrivateAttr


class TokenClient(dg.ConfigurableResource):
    username: str = "alice"
    _api_token: str = PrivateAttr(default="")

    def setup_for_execution(self, context):
        self._api_token = "{SECRET}"


class LeakyHeaders(dg.ConfigurableResource):
    headers: dict = {{}}
    _api_token: str = PrivateAttr(default="")

    def setup_for_execution(self, context):
        self._api_token = "{SECRET}"
        self.headers["Authorization"] = self._api_token


class HoldsConnection(dg.ConfigurableResource):
    path: str = ":memory:"
    _connection: object = PrivateAttr(default=None)

    def setup_for_execution(self, context):
        self._connection = sqlite3.connect(self.path)

    def teardown_after_execution(self, context):
        self._connection.close()
"""


def test_a_leak_fails_the_test_with_the_value_redacted(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
@pytest.mark.resource(LeakyHeaders())
def test_marked(resource):
    pass


def test_opened(run_context):
    with run_context.open(LeakyHeaders()):
        pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "PrivateStateLeak: 1 private-state leak in serialized config:",
            "",
            "resource 'leaky_headers' (LeakyHeaders), live copy, seen after setup and after "
            "teardown:",
            # The line that copied the token into config, not the one that fetched it.
            "  private attribute _api_token = 'sk…' (24 chars), stored at "
            "test_a_leak_fails_the_test_with_the_value_redacted.py:22, found in:",
            "    model_dump(), model_dump(mode='json'), model_dump_json(), "
            "_convert_to_config_dictionary(): [[]'headers'[]][[]'Authorization'[]]",
            "    run config: [[]'resources'][[]'leaky_headers'][[]'config'][[]'headers']"
            "[[]'Authorization']",
            "    pickle state: [[]'__dict__'][[]'headers'][[]'Authorization']",
            "    repr(), str(): [[]'Authorization': …]",
            "",
            "Keep run state in PrivateAttr attributes only*",
        ]
    )
    # Raised at the `with` line when run_context.open closes.
    result.stdout.fnmatch_lines(["E*PrivateStateLeak: 1 private-state leak in serialized config:"])
    assert SECRET not in result.stdout.str()


def test_well_behaved_resources_pass(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
@pytest.mark.resource(TokenClient())
@pytest.mark.resource(HoldsConnection())
def test_marked(resources):
    pass


def test_dagster_io_manager(run_context, tmp_path):
    with run_context.open(dg.FilesystemIOManager(base_dir=str(tmp_path))):
        pass
"""
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_a_swallowed_leak_still_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
from pytest_resources import PrivateStateLeak


def test_swallows(run_context):
    with pytest.raises(PrivateStateLeak):
        with run_context.open(LeakyHeaders()):
            pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["PrivateStateLeak: * private-state leak* in serialized config:"])


def test_opting_out_per_resource_and_per_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
@pytest.mark.resource(LeakyHeaders(), leak_audit=False)
def test_marker_option(resource):
    pass


@pytest.mark.no_leak_audit(reason="headers are public in this test")
def test_no_leak_audit_marker(run_context):
    with run_context.open(LeakyHeaders()):
        pass


def test_open_option(run_context):
    with run_context.open(LeakyHeaders(), leak_audit=False):
        pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=3)
    result.stdout.no_fnmatch_line("pytest-resources: *")


def test_opting_out_per_project_shows_the_reason(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        """
        [pytest]
        addopts = -p no:cacheprovider
        filterwarnings = ignore::DeprecationWarning
        resources_leak_audit = false
        resources_leak_audit_reason = legacy resources, see TICKET-12
        """
    )
    pytester.makepyfile(
        RESOURCES
        + """
def test_opened(run_context):
    with run_context.open(LeakyHeaders()):
        pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "pytest-resources: private-state leak audit off for this project "
            "(legacy resources, see TICKET-12)"
        ]
    )


def test_secrets_check_is_opt_in(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_KEY", "plaintext-secret-value")
    pytester.makepyfile(
        """
import dagster as dg


class Api(dg.ConfigurableResource):
    api_key: str


def test_secret_in_repr(run_context):
    with run_context.open(Api(api_key=dg.EnvVar("API_KEY"))):
        pass
"""
    )
    pytester.runpytest().assert_outcomes(passed=1)
    result = pytester.runpytest("-o", "resources_check_secrets=true")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E*PrivateStateLeak: 1 plaintext secret in serialized config:",
            "E*resource 'api' (Api), live copy, seen after setup and after teardown:",
            "E*secret config field api_key (from EnvVar('API_KEY')) = 'pl…' (22 chars), in "
            "plaintext in:",
            "E*repr(), str(): [[]api_key=…]",
            "E*Leave secrets out of repr() and str(): declare the field with Field(repr=False).",
        ]
    )
    assert "plaintext-secret-value" not in result.stdout.str()
