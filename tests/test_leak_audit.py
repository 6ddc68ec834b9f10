"""The private-state leak audit: which leaks it catches, what it leaves alone, how it reports.

Live copies come from Dagster's own machinery (``build_resources``), never from calling the
lifecycle hooks by hand, so each audit sees the object a run would set up.
"""

import dataclasses
import os
import sqlite3
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pytest
from dagster._core.storage.branching.branching_io_manager import BranchingIOManager
from plugin_internals import (
    Leak,
    assert_no_private_leaks,
    find_private_leaks,
    find_secret_exposures,
    format_leak_report,
    redact,
)
from pydantic import Field, PrivateAttr, computed_field, model_serializer

from pytest_resources import PrivateStateLeak

API_TOKEN = "sk-" + "a1b2c3d4" * 5
SESSION_ID = "sess-" + "9" * 30


class TokenClient(dg.ConfigurableResource):
    """Logs in during setup and keeps the token private: the well-behaved baseline."""

    username: str
    password: str
    _api_token: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._api_token = API_TOKEN


class ComputedTokenClient(TokenClient):
    @computed_field  # type: ignore[prop-decorator]
    @property
    def token(self) -> str:
        return self._api_token


class TokenCopyClient(TokenClient):
    token_copy: str = ""

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        super().setup_for_execution(context)
        object.__setattr__(self, "token_copy", self._api_token)


class HeadersClient(TokenClient):
    headers: dict[str, str] = Field(default_factory=dict)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        super().setup_for_execution(context)
        self.headers["Authorization"] = f"Bearer {self._api_token}"


class ReprClient(TokenClient):
    def __repr__(self) -> str:
        return f"ReprClient(username={self.username!r}, token={self._api_token})"


class SerializerClient(TokenClient):
    @model_serializer(mode="wrap")
    def _with_token(self, handler: Any) -> dict[str, Any]:
        return {**handler(self), "_api_token": self._api_token}


class Session(dg.ConfigurableResource):
    region: str = "eu-west-1"
    extra: dict[str, str] = Field(default_factory=dict)
    _session_id: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._session_id = SESSION_ID
        self.extra["session"] = self._session_id


class SessionUser(dg.ConfigurableResource):
    session: Session
    name: str = "warehouse"


class SqliteResource(dg.ConfigurableResource):
    path: str = ":memory:"
    _connection: sqlite3.Connection | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._connection = sqlite3.connect(self.path)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._connection is not None:
            self._connection.close()


class ConnectionInExtras(SqliteResource):
    extras: dict[str, Any] = Field(default_factory=dict)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        super().setup_for_execution(context)
        self.extras["connection"] = self._connection


class UrlCachingClient(dg.ConfigurableResource):
    """Caches a config value privately: that value is config, not private information."""

    url: str = "https://api.example.com/v1"
    _url: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._url = self.url


class ShortStateClient(dg.ConfigurableResource):
    mode: str = "read"
    retries: int = 3
    _mode: str = PrivateAttr(default="")
    _attempts: int = PrivateAttr(default=0)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._mode = "read"
        self._attempts = 3


class DocumentedClient(TokenClient):
    """Mentions _api_token in its own docs and field descriptions: that is no leak."""

    note: str = Field(default="", description="The _api_token is fetched at setup.")


class SessionDictClient(dg.ConfigurableResource):
    user: str
    cookie: str = ""
    _session: dict[str, str] = PrivateAttr(default_factory=dict)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._session = {"token": SESSION_ID, "kind": "web"}
        object.__setattr__(self, "cookie", f"sid={self._session['token']}")


class TokenKeyedClient(TokenClient):
    seen_tokens: dict[str, str] = Field(default_factory=dict)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        super().setup_for_execution(context)
        self.seen_tokens[self._api_token] = "first login"


class UnpicklableLeaker(TokenCopyClient):
    def __getstate__(self) -> dict[Any, Any]:
        raise TypeError("cannot pickle a live socket")


class Database(dg.ConfigurableResource):
    user: str
    password: str
    api_key: str = Field(default="", json_schema_extra={"dagster__is_secret": True})


class QuietDatabase(dg.ConfigurableResource):
    user: str
    password: str = Field(repr=False)


@pytest.fixture(scope="module")
def instance() -> dg.DagsterInstance:
    # One instance for the module: a new ephemeral instance per build_resources costs ~35 ms.
    return dg.DagsterInstance.ephemeral()


@pytest.fixture
def password_env() -> Iterator[str]:
    os.environ["LEAK_AUDIT_TEST_PASSWORD"] = "correct-horse-battery"
    yield "LEAK_AUDIT_TEST_PASSWORD"
    del os.environ["LEAK_AUDIT_TEST_PASSWORD"]


def audit_after_setup(
    resource: dg.ConfigurableResource[Any], instance: dg.DagsterInstance
) -> list[Leak]:
    with dg.build_resources({"r": resource}, instance=instance) as built:
        return find_private_leaks(built.r, key="r", when="after setup", user_instance=resource)


def paths(leaks: list[Leak]) -> set[str]:
    return {leak.path for leak in leaks}


def token_client(cls: type[TokenClient]) -> TokenClient:
    return cls(username="alice", password="hunter22")


@pytest.mark.parametrize(
    ("resource", "expected_paths"),
    [
        pytest.param(
            token_client(ComputedTokenClient),
            {
                "model_dump()['token']",
                "model_dump(mode='json')['token']",
                "model_dump_json()['token']",
                "repr()[token=…]",
                "str()[token=…]",
            },
            id="computed-field",
        ),
        pytest.param(
            token_client(TokenCopyClient),
            {
                "model_dump()['token_copy']",
                "_convert_to_config_dictionary()['token_copy']",
                "run config['resources']['r']['config']['token_copy']",
                "pickle state['__dict__']['token_copy']",
                "repr()[token_copy=…]",
            },
            id="setup-copies-into-field",
        ),
        pytest.param(
            token_client(HeadersClient),
            {
                "model_dump()['headers']['Authorization']",
                "model_dump_json()['headers']['Authorization']",
                "repr()['Authorization': …]",
            },
            id="headers-dict-filled-in-setup",
        ),
        pytest.param(token_client(ReprClient), {"repr()[token=…]"}, id="custom-repr"),
        pytest.param(
            token_client(SerializerClient),
            {"model_dump()['_api_token']", "model_dump_json()['_api_token']"},
            id="model-serializer",
        ),
    ],
)
def test_catches_private_token_leaks(
    resource: TokenClient, expected_paths: set[str], instance: dg.DagsterInstance
) -> None:
    leaks = audit_after_setup(resource, instance)

    live_copy_leaks = [leak for leak in leaks if leak.audited == "live copy"]
    assert expected_paths <= paths(live_copy_leaks)
    assert {leak.private_attribute for leak in live_copy_leaks} == {"_api_token"}
    assert {leak.redacted_value for leak in live_copy_leaks} == {"'sk…' (43 chars)"}
    assert {(leak.resource_key, leak.when) for leak in leaks} == {("r", "after setup")}


def test_catches_a_nested_resource_leaking_into_its_parent(instance: dg.DagsterInstance) -> None:
    leaks = audit_after_setup(SessionUser(session=Session()), instance)

    assert {leak.private_attribute for leak in leaks} == {"session._session_id"}
    assert {
        "model_dump()['session']['extra']['session']",
        "run config['resources']['r']['config']['session']['extra']['session']",
        "pickle state['__dict__']['session'].extra['session']",
        "repr()['session': …]",
    } <= paths(leaks)


def test_serializer_leaks_the_name_even_where_the_value_is_too_short(
    instance: dg.DagsterInstance,
) -> None:
    leaks = audit_after_setup(token_client(SerializerClient), instance)

    user_instance_leaks = [leak for leak in leaks if leak.audited == "user's instance"]
    assert {(leak.matched, leak.path) for leak in user_instance_leaks} >= {
        ("name", "model_dump()['_api_token']")
    }


def test_catches_an_item_of_a_private_container(instance: dg.DagsterInstance) -> None:
    leaks = audit_after_setup(SessionDictClient(user="alice"), instance)

    assert {leak.private_attribute for leak in leaks} == {"_session['token']"}
    assert "model_dump()['cookie']" in paths(leaks)


def test_catches_a_private_object_by_identity_and_by_its_specific_repr(
    instance: dg.DagsterInstance,
) -> None:
    leaks = audit_after_setup(ConnectionInExtras(), instance)

    assert {leak.private_attribute for leak in leaks} == {"_connection"}
    assert {"model_dump()['extras']['connection']", "repr()['connection': …]"} <= paths(leaks)
    assert {leak.redacted_value for leak in leaks} == {"sqlite3.Connection object"}


def test_reports_what_is_still_there_after_teardown(instance: dg.DagsterInstance) -> None:
    resource = token_client(TokenCopyClient)
    with dg.build_resources({"r": resource}, instance=instance) as built:
        live = built.r

    leaks = find_private_leaks(live, key="r", when="after teardown", user_instance=resource)

    assert "model_dump()['token_copy']" in paths(leaks)
    assert {leak.when for leak in leaks} == {"after teardown"}


@pytest.mark.parametrize(
    "resource",
    [
        pytest.param(token_client(TokenClient), id="token-client"),
        pytest.param(SqliteResource(), id="sqlite-connection"),
        pytest.param(UrlCachingClient(), id="caches-config-privately"),
        pytest.param(ShortStateClient(), id="short-common-values"),
        pytest.param(token_client(DocumentedClient), id="name-in-description"),
        pytest.param(
            BranchingIOManager(
                parent_io_manager=dg.FilesystemIOManager(base_dir="/tmp/leak-audit-parent"),
                branch_io_manager=dg.FilesystemIOManager(base_dir="/tmp/leak-audit-branch"),
            ),
            id="dagster-branching-io-manager",
        ),
    ],
)
def test_well_behaved_resources_pass(
    resource: dg.ConfigurableResource[Any], instance: dg.DagsterInstance
) -> None:
    assert audit_after_setup(resource, instance) == []


def test_dagster_filesystem_io_manager_passes_and_its_io_manager_is_refused(
    instance: dg.DagsterInstance,
) -> None:
    resource = dg.FilesystemIOManager(base_dir="/tmp/leak-audit")
    with (
        dg.build_resources({"io": resource}, instance=instance) as built,
        pytest.raises(TypeError, match="audit the resource"),
    ):
        assert_no_private_leaks(built.io)

    assert_no_private_leaks(resource, key="io")


def test_without_the_users_instance_a_cached_config_value_counts(
    instance: dg.DagsterInstance,
) -> None:
    resource = UrlCachingClient()
    with dg.build_resources({"r": resource}, instance=instance) as built:
        leaks = find_private_leaks(built.r, key="r")

    assert "model_dump()['url']" in paths(leaks)
    assert {leak.audited for leak in leaks} == {"resource"}


def test_a_form_that_cannot_be_built_is_skipped(instance: dg.DagsterInstance) -> None:
    leaks = audit_after_setup(token_client(UnpicklableLeaker), instance)

    assert "model_dump()['token_copy']" in paths(leaks)
    assert "pickle state" not in {leak.form for leak in leaks}


def test_a_private_value_used_as_a_key_is_redacted_in_the_path(
    instance: dg.DagsterInstance,
) -> None:
    leaks = audit_after_setup(token_client(TokenKeyedClient), instance)

    assert "model_dump()['seen_tokens'][<'sk…' (43 chars)>]" in paths(leaks)
    assert not [leak for leak in leaks if API_TOKEN in leak.path]


def test_redaction_keeps_two_characters_and_the_length() -> None:
    assert redact(API_TOKEN) == "'sk…' (43 chars)"
    assert redact(1234567) == "'12…' (7 chars)"
    assert redact({"token": API_TOKEN}) == "dict of 1 items"


def test_report_names_the_resource_attribute_form_path_and_moment() -> None:
    leak = Leak(
        resource_key="api",
        resource_class="TokenCopyClient",
        audited="live copy",
        private_attribute="_api_token",
        matched="value",
        form="model_dump()",
        path="model_dump()['token_copy']",
        when="after setup",
        redacted_value=redact(API_TOKEN),
    )

    seen_again = dataclasses.replace(
        leak, form="repr()", path="repr()[token_copy=…]", when="after teardown"
    )
    in_dump_json = dataclasses.replace(
        leak, form="model_dump_json()", path="model_dump_json()['token_copy']"
    )

    report = format_leak_report([leak, seen_again, in_dump_json])

    # One leak, one entry: the moments it was seen, and its forms grouped by where they hold it.
    assert report.splitlines()[:6] == [
        "1 private-state leak in serialized config:",
        "",
        "resource 'api' (TokenCopyClient), live copy, seen after setup and after teardown:",
        "  private attribute _api_token = 'sk…' (43 chars), found in:",
        "    model_dump(), model_dump_json(): ['token_copy']",
        "    repr(): [token_copy=…]",
    ]
    assert API_TOKEN not in report


def test_secret_exposures_are_off_by_default(
    password_env: str, instance: dg.DagsterInstance
) -> None:
    resource = Database(user="alice", password=dg.EnvVar(password_env), api_key="ak-1234567890")
    with dg.build_resources({"r": resource}, instance=instance) as built:
        assert_no_private_leaks(built.r, key="r", user_instance=resource)
        with pytest.raises(PrivateStateLeak, match="plaintext secret"):
            assert_no_private_leaks(built.r, key="r", user_instance=resource, check_secrets=True)


def test_secret_exposures_name_the_field_and_where_it_shows(
    password_env: str, instance: dg.DagsterInstance
) -> None:
    resource = Database(user="alice", password=dg.EnvVar(password_env), api_key="ak-1234567890")
    with dg.build_resources({"r": resource}, instance=instance) as built:
        exposures = find_secret_exposures(built.r, key="r", user_instance=resource)

    found = {(exposure.audited, exposure.config_field, exposure.path) for exposure in exposures}
    assert ("live copy", "password", "repr()[password=…]") in found
    snapshot_path = "repository snapshot['configured_values']['api_key']"
    assert ("user's instance", "api_key", snapshot_path) in found
    # The UI shows the EnvVar's name, never its value: the user's instance exposes no password.
    assert ("user's instance", "password") not in {(audited, field) for audited, field, _ in found}
    assert {exposure.reason for exposure in exposures if exposure.config_field == "password"} == {
        f"from EnvVar({password_env!r})"
    }


def test_a_secret_kept_out_of_repr_is_not_exposed(
    password_env: str, instance: dg.DagsterInstance
) -> None:
    resource = QuietDatabase(user="alice", password=dg.EnvVar(password_env))
    with dg.build_resources({"r": resource}, instance=instance) as built:
        assert find_secret_exposures(built.r, key="r", user_instance=resource) == []


LEAKY_TEST_MODULE = f"""
import dagster as dg
from pydantic import PrivateAttr

from plugin_internals import assert_no_private_leaks


class TokenCopyClient(dg.ConfigurableResource):
    username: str
    token_copy: str = ""
    _api_token: str = PrivateAttr(default="")

    def setup_for_execution(self, context):
        self._api_token = "{API_TOKEN}"
        object.__setattr__(self, "token_copy", self._api_token)


class TokenClient(dg.ConfigurableResource):
    username: str
    _api_token: str = PrivateAttr(default="")

    def setup_for_execution(self, context):
        self._api_token = "{API_TOKEN}"


def audit(resource):
    with dg.build_resources({{"api": resource}}) as built:
        assert_no_private_leaks(
            built.api, key="api", when="after setup", user_instance=resource
        )


def test_leaky():
    audit(TokenCopyClient(username="alice"))


def test_clean():
    audit(TokenClient(username="alice"))
"""


def test_failure_message_shows_where_and_redacts(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(LEAKY_TEST_MODULE)

    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")

    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "E   *PrivateStateLeak: 1 private-state leak in serialized config:",
            "E * resource 'api' (TokenCopyClient), live copy, seen after setup:",
            "E * private attribute _api_token = 'sk…' (43 chars), stored at "
            "test_failure_message_shows_where_and_redacts.py:14, found in:",
            "E * model_dump(), *: [[]'token_copy']",
            "E * run config: [[]'resources'][[]'api'][[]'config'][[]'token_copy']",
            "E * repr(), str(): [[]token_copy=…]",
        ]
    )
    # The secret itself is never printed, and pytest hides the helper's own frame.
    assert API_TOKEN not in result.stdout.str()
    result.stdout.no_fnmatch_line("*pytest_resources*_leak_audit*")
