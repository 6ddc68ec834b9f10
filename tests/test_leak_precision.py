"""Leak audit precision, by direct calls: config kept privately in any form is no leak, run state
is caught wherever it hides (inside objects, in a copy handed to ops), and run state that
outlives its run is found on the user's instance, a fresh instance and the class.

Live copies come from Dagster's own machinery (``build_resources``).
"""

import enum
import os
import pathlib
import threading
import uuid
from collections.abc import Iterator
from typing import Any, ClassVar

import dagster as dg
import pytest
from plugin_internals import (
    Leak,
    ResolvedConfig,
    RunStateWatch,
    find_private_leaks,
    find_secret_exposures,
    find_yielded_leaks,
)
from pydantic import Field, PrivateAttr

TOKEN = "tok-" + "5e7a" * 8
FALLBACK_URL = "https://fallback.example.com/v2"


class Flavor(enum.Enum):
    FAST = "fast-lane"


class ConfigPath(os.PathLike[str]):
    """A path object of our own (like universal_pathlib's UPath): os.PathLike, not a Path."""

    def __init__(self, text: str) -> None:
        self._text = text

    def __fspath__(self) -> str:
        return self._text


class RemotePath(os.PathLike[str]):
    """A remote path that, like universal_pathlib's for s3://, has no local file system path."""

    def __init__(self, url: str) -> None:
        self._url = url

    def __fspath__(self) -> str:
        raise NotImplementedError("not a local path")

    def __str__(self) -> str:
        return self._url


class Tagged(str):
    """A str subclass, as libraries use for identifiers."""


class Endpoint:
    """An object whose text is a config value, and whose state holds only config."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __str__(self) -> str:
        return self.url


class RestatesConfig(dg.ConfigurableResource):
    """Keeps its config privately in many other types: every one of them is config."""

    root_dir: str = "data/warehouse"
    remote_dir: str = "s3://bucket/warehouse"
    workspace_id: str = "6F9619FF-8B86-D011-B42D-00C04FC964FF"
    signing_secret: str = "shh-signing-secret"
    timeout_ms: str = "30000"
    password: str = "hunter2hunter2"
    user_agent: str = FALLBACK_URL
    fallback: str = Field(default="", description=f"Empty means {FALLBACK_URL}.")
    column_types: dict[str, str] = Field(default_factory=dict)
    flavor: str = "fast-lane"
    endpoint: str = "https://api.example.com/v1"
    _kept: dict[str, Any] = PrivateAttr(default_factory=dict)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._kept = {
            "root": pathlib.Path(self.root_dir),
            "absolute_root": pathlib.Path(self.root_dir).resolve(),
            "own_path": ConfigPath(self.root_dir),
            "remote_path": RemotePath(self.remote_dir),
            "workspace": uuid.UUID(self.workspace_id),
            "hmac_key": self.signing_secret.encode(),
            "timeout": int(self.timeout_ms),
            "timeout_seconds": float(self.timeout_ms),
            "auth_method": "password",  # a field's name
            "metric_prefix": type(self).__name__,
            "library_constant": FALLBACK_URL,  # equal to another field's default
            "fallback": self.fallback or FALLBACK_URL,  # named in a description
            "columns": list(self.column_types),  # keys of config
            "flavor": Flavor(self.flavor),
            "tagged": Tagged(self.endpoint),
            "endpoint": Endpoint(self.endpoint),
            "kwargs": self.model_dump(),
        }


class DumpsEnvVarConfig(dg.ConfigurableResource):
    user: str
    password: str
    _kwargs: dict[str, Any] = PrivateAttr(default_factory=dict)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._kwargs = self.model_dump()  # holds the resolved password, not the EnvVar


class ScrubsItsSecret(dg.ConfigurableResource):
    """Common hardening: read the secret, then remove it from the environment."""

    password: str
    _password: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._password = self.password
        os.environ.pop(PASSWORD_VARIABLE, None)


class WritesTokenIntoItsEnvVar(dg.ConfigurableResource):
    """Writes its role token into the variable its EnvVar field reads, and leaks it."""

    password: str
    headers: dict[str, str] = Field(default_factory=dict)
    _role_token: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._role_token = TOKEN
        os.environ[PASSWORD_VARIABLE] = self._role_token
        self.headers["X-Role"] = self._role_token


class BearerAuth:
    """A requests-style auth object."""

    def __init__(self, token: str) -> None:
        self.token = token


class AuthInExtras(dg.ConfigurableResource):
    extras: dict[str, Any] = Field(default_factory=dict)
    _token: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._token = TOKEN
        self.extras["auth"] = BearerAuth(self._token)


class SlottedAuth:
    __slots__ = ("token",)

    def __init__(self, token: str) -> None:
        self.token = token


class SlottedAuthInExtras(AuthInExtras):
    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._token = TOKEN
        self.extras["auth"] = SlottedAuth(self._token)


class ConfigAuthInExtras(dg.ConfigurableResource):
    """The correct twin: an auth object built from config only."""

    api_key: str = "ak-0123456789abcdef"
    extras: dict[str, Any] = Field(default_factory=dict)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self.extras["auth"] = BearerAuth(self.api_key)


class SecretFromPrivateBytes(dg.ConfigurableResource):
    """A conversion of run state is run state: the token as bytes, shown as text."""

    note: str = ""
    _key: bytes = PrivateAttr(default=b"")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._key = TOKEN.encode()
        object.__setattr__(self, "note", self._key.decode())


PASSWORD_VARIABLE = "LEAK_PRECISION_PASSWORD"


@pytest.fixture(scope="module")
def instance() -> dg.DagsterInstance:
    return dg.DagsterInstance.ephemeral()


@pytest.fixture
def password_env() -> Iterator[str]:
    os.environ[PASSWORD_VARIABLE] = "correct-horse-battery"
    yield PASSWORD_VARIABLE
    os.environ.pop(PASSWORD_VARIABLE, None)


def audit(
    resource: dg.ConfigurableResource[Any], instance: dg.DagsterInstance, **kwargs: Any
) -> list[Leak]:
    """After setup and after teardown, as a run does; the resolved config taken before setup."""
    config = ResolvedConfig.of(resource)
    leaks: list[Leak] = []
    with dg.build_resources({"r": resource}, instance=instance) as built:
        live_copy = built.r
        leaks += find_private_leaks(
            live_copy, key="r", user_instance=resource, resolved_config=config, **kwargs
        )
    leaks += find_private_leaks(live_copy, key="r", user_instance=resource, resolved_config=config)
    return leaks


def test_config_restated_in_other_types_is_no_leak(instance: dg.DagsterInstance) -> None:
    assert audit(RestatesConfig(column_types={"000000": ""}), instance) == []


def test_a_dump_of_config_with_an_envvar_is_no_leak(
    password_env: str, instance: dg.DagsterInstance
) -> None:
    resource = DumpsEnvVarConfig(user="alice", password=dg.EnvVar(password_env))
    assert audit(resource, instance) == []


def test_a_secret_scrubbed_from_the_environment_in_setup_stays_config(
    password_env: str, instance: dg.DagsterInstance
) -> None:
    resource = ScrubsItsSecret(password=dg.EnvVar(password_env))
    assert audit(resource, instance) == []
    # Without the live copy's or the snapshot's values the variable would be read again now,
    # gone: this is why the resolved config is taken before setup.
    assert PASSWORD_VARIABLE not in os.environ


def test_a_token_written_into_the_envvar_it_reads_is_still_run_state(
    password_env: str, instance: dg.DagsterInstance
) -> None:
    resource = WritesTokenIntoItsEnvVar(password=dg.EnvVar(password_env))
    leaks = audit(resource, instance)
    assert {(leak.private_attribute, leak.path) for leak in leaks} >= {
        ("_role_token", "model_dump()['headers']['X-Role']")
    }


def test_the_live_copys_values_stand_in_when_no_snapshot_was_taken(
    password_env: str, instance: dg.DagsterInstance
) -> None:
    scrubbing = ScrubsItsSecret(password=dg.EnvVar(password_env))
    writing = WritesTokenIntoItsEnvVar(password=dg.EnvVar(password_env))
    with dg.build_resources({"r": scrubbing}, instance=instance) as built:
        assert find_private_leaks(built.r, key="r", user_instance=scrubbing) == []
    os.environ[PASSWORD_VARIABLE] = "correct-horse-battery"
    with dg.build_resources({"r": writing}, instance=instance) as built:
        assert find_private_leaks(built.r, key="r", user_instance=writing) != []


@pytest.mark.parametrize("resource_class", [AuthInExtras, SlottedAuthInExtras])
def test_a_token_inside_an_object_in_a_public_field_is_found(
    resource_class: type[AuthInExtras], instance: dg.DagsterInstance
) -> None:
    leaks = audit(resource_class(), instance)
    assert "model_dump()['extras']['auth'].token" in {leak.path for leak in leaks}
    assert {leak.private_attribute for leak in leaks} == {"_token"}


def test_an_object_built_from_config_only_is_no_leak(instance: dg.DagsterInstance) -> None:
    assert audit(ConfigAuthInExtras(), instance) == []


def test_a_conversion_of_run_state_is_run_state(instance: dg.DagsterInstance) -> None:
    leaks = audit(SecretFromPrivateBytes(), instance)
    assert "model_dump()['note']" in {leak.path for leak in leaks}


@pytest.mark.parametrize(
    ("value", "covered"),
    [
        (pathlib.Path("data/warehouse/"), True),
        (ConfigPath("data/warehouse"), True),
        (RemotePath("s3://bucket/warehouse"), True),
        (RemotePath("s3://bucket/elsewhere"), False),
        (Tagged("data/warehouse"), True),
        (b"shh-signing-secret", True),
        (uuid.UUID("6f9619ff-8b86-d011-b42d-00c04fc964ff"), True),
        (30000, True),
        (30000.0, True),
        (Flavor.FAST, True),
        ("RestatesConfig", True),
        ("column_types", True),
        (["000000"], True),
        ({"root_dir": "data/warehouse"}, True),
        (Endpoint("https://api.example.com/v1"), True),
        (FALLBACK_URL, True),
        # Not config: other text, a number nobody configured, a path elsewhere, opaque objects.
        (TOKEN, False),
        (TOKEN.encode(), False),
        (30001, False),
        (pathlib.Path("/elsewhere/warehouse"), False),
        (["000000", TOKEN], False),
        (Endpoint(TOKEN), False),
        (object(), False),
    ],
)
def test_resolved_config_covers_plain_conversions_only(value: object, covered: bool) -> None:
    config = ResolvedConfig.of(RestatesConfig(column_types={"000000": ""}))
    assert config.covers(value) is covered


class YieldsACopy(dg.ConfigurableResource):
    token: str = ""
    _token: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._token = TOKEN


class YieldsAClient(YieldsACopy):
    pass


def test_a_copy_handed_to_ops_with_run_state_in_config_is_a_leak(
    instance: dg.DagsterInstance,
) -> None:
    resource = YieldsACopy()
    with dg.build_resources({"r": resource}, instance=instance) as built:
        live_copy = built.r
        handed = live_copy.model_copy(update={"token": live_copy._token})
        leaks = find_yielded_leaks(live_copy, handed, key="r", resource_class=YieldsACopy)
        clean_copy = live_copy.model_copy()
        # A client (anything but the resource's class) is run state by design.
        client = BearerAuth(live_copy._token)
        assert find_yielded_leaks(live_copy, clean_copy, key="r") == []
        assert find_yielded_leaks(live_copy, client, key="r") == []
        assert find_yielded_leaks(live_copy, live_copy, key="r") == []
    assert {(leak.audited, leak.path) for leak in leaks} >= {
        ("value yielded to ops", "model_dump()['token']")
    }


# --- run state that outlives the run ------------------------------------------------------------

SHARED_SESSION: dict[str, str] = {}


class SharedPrivateDefault(dg.ConfigurableResource):
    _session: dict[str, str] = PrivateAttr(default_factory=lambda: SHARED_SESSION)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._session["token"] = TOKEN


class OwnPrivateDefault(dg.ConfigurableResource):
    _session: dict[str, str] = PrivateAttr(default_factory=dict)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._session["token"] = TOKEN


class SessionBox:
    def __init__(self) -> None:
        self.items: dict[str, str] = {}


SHARED_BOX = SessionBox()


class SharedPublicDefault(dg.ConfigurableResource):
    state: Any = Field(default_factory=lambda: SHARED_BOX)
    _token: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._token = TOKEN
        self.state.items["token"] = self._token

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.state.items.clear()


class CachesOnTheClass(dg.ConfigurableResource):
    region: str = "eu-west-1"
    _client: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._client = BearerAuth(TOKEN)
        type(self).cached_client = self._client
        type(self).cached_token = TOKEN


class KeepsConfigOnTheClass(dg.ConfigurableResource):
    """Class-level bookkeeping of config and constants, and a lock made on first use: nothing
    of the run stays."""

    region: str = "eu-west-1"
    BASE_URL: ClassVar[str] = "https://api.example.com/v1"
    _lock: ClassVar[Any] = None
    _client: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if type(self)._lock is None:
            type(self)._lock = threading.Lock()
        self._client = BearerAuth(TOKEN)
        type(self).last_region = self.region
        type(self).last_url = self.BASE_URL

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self._client = None


def outlived(resource: dg.ConfigurableResource[Any], instance: dg.DagsterInstance) -> set[str]:
    watch = RunStateWatch(resource, ResolvedConfig.of(resource))
    with dg.build_resources({"r": resource}, instance=instance) as built:
        watch.after_setup(built.r)
    return {leak.path for leak in watch.after_teardown("r")}


def test_a_shared_private_default_carries_the_session_into_the_next_instance(
    instance: dg.DagsterInstance,
) -> None:
    try:
        assert outlived(SharedPrivateDefault(), instance) == {
            "user's instance._session['token']",
            "the default of SharedPrivateDefault._session['token']",
        }
    finally:
        SHARED_SESSION.clear()
    assert outlived(OwnPrivateDefault(), instance) == set()


FACTORY_CALLS: list[str] = []


def make_session() -> dict[str, str]:
    FACTORY_CALLS.append("called")
    return {}


class FactoryDefault(dg.ConfigurableResource):
    _session: dict[str, str] = PrivateAttr(default_factory=make_session)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._session["token"] = TOKEN


def test_default_factories_are_read_not_called(instance: dg.DagsterInstance) -> None:
    resource = FactoryDefault()
    calls_by_construction = len(FACTORY_CALLS)
    watch = RunStateWatch(resource, ResolvedConfig.of(resource))
    with dg.build_resources({"r": resource}, instance=instance) as built:
        calls_by_dagster = len(FACTORY_CALLS)
        watch.after_setup(built.r)
    assert watch.after_teardown("r") == []
    # Only Dagster's own copies called it: the watch never builds an instance.
    assert len(FACTORY_CALLS) == calls_by_dagster > calls_by_construction


def test_a_shared_public_default_carries_the_token_into_the_users_instance(
    instance: dg.DagsterInstance,
) -> None:
    class KeepsIt(SharedPublicDefault):
        def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
            pass

    try:
        assert "user's instance.state.items['token']" in outlived(KeepsIt(), instance)
    finally:
        SHARED_BOX.items.clear()
    # Cleared in teardown: nothing outlives the run.
    assert outlived(SharedPublicDefault(), instance) == set()


def test_a_client_or_token_cached_on_the_class_outlives_the_run(
    instance: dg.DagsterInstance,
) -> None:
    try:
        assert outlived(CachesOnTheClass(), instance) == {
            "vars(CachesOnTheClass)['cached_client']",
            "vars(CachesOnTheClass)['cached_token']",
        }
    finally:
        del CachesOnTheClass.cached_client, CachesOnTheClass.cached_token
    assert outlived(KeepsConfigOnTheClass(), instance) == set()


# --- issue 16: the secrets check ----------------------------------------------------------------

IMPORT_TIME_ENVIRONMENT = {
    "LEAK_PRECISION_IMPORT_TOKEN": "import-time-secret-0123",
    "LEAK_PRECISION_REGION": "eu-central-1",
}
os.environ.update(IMPORT_TIME_ENVIRONMENT)


class BakesASecretIntoItsSchema(dg.ConfigurableResource):
    # Evaluated at import: the token becomes the field's default in the config schema.
    api_token: str = dg.EnvVar("LEAK_PRECISION_IMPORT_TOKEN").get_value() or ""
    region: str = os.environ["LEAK_PRECISION_REGION"]  # not a secret: no finding


for _name in IMPORT_TIME_ENVIRONMENT:
    del os.environ[_name]


@pytest.fixture
def import_time_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in IMPORT_TIME_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)


class ReadsItsSecretAtRunStart(dg.ConfigurableResource):
    api_token: str
    region: str = "eu-central-1"


@pytest.mark.usefixtures("import_time_environment")
def test_a_secret_baked_into_a_schema_default_is_exposed() -> None:
    exposures = find_secret_exposures(BakesASecretIntoItsSchema(), key="r")
    assert [(e.config_field, e.form, e.reason) for e in exposures] == [
        (
            "api_token",
            "config schema default",
            "its default is the value of $LEAK_PRECISION_IMPORT_TOKEN",
        )
    ]
    assert "EnvVar('NAME') where the resource is configured" in exposures[0].hint
    twin = ReadsItsSecretAtRunStart(api_token=dg.EnvVar("LEAK_PRECISION_IMPORT_TOKEN"))
    assert find_secret_exposures(twin, key="r") == []


class MarkedSecret(dg.ConfigurableResource):
    api_key: str = Field(repr=False, json_schema_extra={"dagster__is_secret": True})


def test_a_field_marked_secret_shown_in_the_snapshot_is_exposed(
    password_env: str, instance: dg.DagsterInstance
) -> None:
    plain = MarkedSecret(api_key="ak-plaintext-0123456789")
    exposures = find_secret_exposures(plain, key="r")
    assert [(e.config_field, e.path) for e in exposures] == [
        ("api_key", "repository snapshot['configured_values']['api_key']")
    ]
    assert "masks a field in the UI" in exposures[0].hint
    from_env = MarkedSecret(api_key=dg.EnvVar(password_env))
    with dg.build_resources({"r": from_env}, instance=instance) as built:
        assert find_secret_exposures(built.r, key="r", user_instance=from_env) == []
