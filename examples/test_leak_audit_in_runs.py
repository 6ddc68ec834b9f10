"""The private-state leak audit: a resource's run state (a token, a connection) must
never show up in a serialized form of its config (dumps, run config, the UI's snapshot,
pickles, repr)."""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import dagster as dg
import pytest
from pydantic import Field, PrivateAttr

# --8<-- [start:imports]
from pytest_resources import (
    PrivateStateLeak,
    RunContext,
    assert_no_private_leaks,
    find_private_leaks,
)

# --8<-- [end:imports]


@pytest.fixture(scope="module")
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as instance:
        yield instance


def fetch_token(username: str) -> str:
    return "sk-" + hashlib.sha256(username.encode()).hexdigest()[:40]


# --8<-- [start:clean]
class ApiClientResource(dg.ConfigurableResource):
    username: str
    password: str
    _api_token: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._api_token = fetch_token(self.username)


def test_no_private_state_in_config(
    instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_PASSWORD", "correct horse battery staple")
    resource = ApiClientResource(username="alice", password=dg.EnvVar("API_PASSWORD"))
    with dg.build_resources({"api": resource}, instance=instance) as built:
        # built.api is the copy Dagster set up (create_resource returns self)
        assert_no_private_leaks(
            built.api, key="api", when="after setup", user_instance=resource
        )


# --8<-- [end:clean]


# --8<-- [start:leaky]
class HeaderClientResource(dg.ConfigurableResource):
    username: str
    headers: dict[str, str] = Field(
        default_factory=dict
    )  # public: serialized with the config
    _api_token: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._api_token = fetch_token(self.username)
        self.headers["Authorization"] = f"Bearer {self._api_token}"  # the leak


def test_a_token_copied_into_config_is_found(instance: dg.DagsterInstance) -> None:
    resource = HeaderClientResource(username="alice")
    with dg.build_resources({"api": resource}, instance=instance) as built:
        leaks = find_private_leaks(built.api, key="api", user_instance=resource)
        assert {leak.private_attribute for leak in leaks} == {"_api_token"}
        assert "model_dump()" in {leak.form for leak in leaks}
        with pytest.raises(PrivateStateLeak, match="private attribute _api_token"):
            assert_no_private_leaks(built.api, key="api", user_instance=resource)


# --8<-- [end:leaky]


# --8<-- [start:in-runs]
@pytest.mark.xfail(
    raises=PrivateStateLeak, strict=True, reason="the token is in the headers"
)
def test_every_open_is_audited(run_context: RunContext) -> None:
    with run_context.open(HeaderClientResource(username="alice")) as client:
        assert client.headers["Authorization"].startswith("Bearer sk-")


# --8<-- [end:in-runs]


# --8<-- [start:config-kept]
class WarehouseResource(dg.ConfigurableResource):
    base_dir: str
    workspace_id: str
    signing_secret: str
    timeout_ms: str = "30000"
    _base_path: Path | None = PrivateAttr(default=None)
    _workspace: uuid.UUID | None = PrivateAttr(default=None)
    _signer: Any = PrivateAttr(default=None)
    _timeout: int = PrivateAttr(default=0)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Config restated in other types is config, wherever it is kept: no leak.
        self._base_path = Path(self.base_dir)
        self._workspace = uuid.UUID(self.workspace_id)
        self._signer = hmac.new(self.signing_secret.encode(), digestmod="sha256")
        self._timeout = int(self.timeout_ms)
        os.environ.pop("SIGNING_SECRET", None)  # hardening: it was read, once, before


def test_config_kept_privately_is_no_leak(
    run_context: RunContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIGNING_SECRET", "a signing secret")
    resource = WarehouseResource(
        base_dir="/data/warehouse",
        workspace_id="6f9619ff-8b86-d011-b42d-00c04fc964ff",
        signing_secret=dg.EnvVar("SIGNING_SECRET"),
    )
    with run_context.open(resource) as warehouse:
        assert warehouse._base_path == Path("/data/warehouse")


# --8<-- [end:config-kept]


# --8<-- [start:outlived]
class CachingClientResource(dg.ConfigurableResource):
    username: str
    _api_token: str = PrivateAttr(default="")
    tokens: ClassVar[dict[str, str]] = {}

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._api_token = fetch_token(self.username)
        type(self).tokens[self.username] = self._api_token  # outlives the run


@pytest.mark.xfail(raises=PrivateStateLeak, strict=True, reason="kept on the class")
def test_run_state_must_not_outlive_the_run(run_context: RunContext) -> None:
    try:
        with run_context.open(CachingClientResource(username="alice")):
            pass
    finally:
        CachingClientResource.tokens.clear()


# --8<-- [end:outlived]


# --8<-- [start:opt-out]
@pytest.mark.resource(HeaderClientResource(username="alice"), leak_audit=False)
def test_marked_without_audit(resource: HeaderClientResource) -> None:
    assert "Authorization" in resource.headers


@pytest.mark.no_leak_audit(reason="the headers are a public test fixture here")
def test_whole_test_without_audit(run_context: RunContext) -> None:
    with run_context.open(HeaderClientResource(username="alice")):
        pass


def test_one_open_without_audit(run_context: RunContext) -> None:
    with run_context.open(HeaderClientResource(username="alice"), leak_audit=False):
        pass


# --8<-- [end:opt-out]
