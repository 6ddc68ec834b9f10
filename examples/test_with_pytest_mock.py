"""pytest-mock beside the plugin: patch what a resource calls, keep Dagster's lifecycle
real.

Patch the function the resource calls (here the module's ``fetch_token``), never the
resource's own hooks: Dagster sets up a copy of your instance, so a mock on the instance
is never called. Skipped when pytest-mock is not installed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg
import pytest
from pydantic import PrivateAttr

from pytest_resources import RunContext

if TYPE_CHECKING:
    from unittest.mock import MagicMock

    from pytest_mock import MockerFixture

pytest.importorskip("pytest_mock")


# --8<-- [start:resource]
def fetch_token(username: str, password: str) -> str:
    raise RuntimeError("no network in tests")


class TokenClientResource(dg.ConfigurableResource):
    username: str
    password: str
    _api_token: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._api_token = fetch_token(self.username, self.password)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self._api_token = ""

    def auth_header(self) -> str:
        return f"Bearer {self._api_token}"


# --8<-- [end:resource]
# --8<-- [start:marked]
@pytest.fixture
def token_service(mocker: MockerFixture) -> MagicMock:
    """A function-scoped patch: the marked resource opens after it, closes before it."""
    return mocker.patch(f"{__name__}.fetch_token", return_value="tok-123")


@pytest.mark.resource(TokenClientResource, username="alice", password="pw")
def test_marked_resource_sees_the_patch(
    resource: TokenClientResource, token_service: MagicMock
) -> None:
    assert resource.auth_header() == "Bearer tok-123"
    token_service.assert_called_once_with("alice", "pw")


# --8<-- [end:marked]
# --8<-- [start:by-hand]
def test_token_fetched_once(run_context: RunContext, mocker: MockerFixture) -> None:
    fake = mocker.patch(f"{__name__}.fetch_token", return_value="tok-123")
    with run_context.open(
        TokenClientResource(username="alice", password="pw")
    ) as client:
        assert client.auth_header() == "Bearer tok-123"
    fake.assert_called_once_with("alice", "pw")
    assert run_context.lifecycle(TokenClientResource).teardown_calls == 1


def test_setup_failure_means_no_teardown(
    run_context: RunContext, mocker: MockerFixture
) -> None:
    mocker.patch(f"{__name__}.fetch_token", side_effect=PermissionError("bad password"))
    client = TokenClientResource(username="alice", password="bad")
    # Dagster wraps an error raised while initializing a resource.
    with (
        pytest.raises(dg.DagsterResourceFunctionError) as raised,
        run_context.open(client),
    ):
        pass
    assert isinstance(raised.value.__cause__, PermissionError)
    lifecycle = run_context.lifecycle(TokenClientResource)
    assert (lifecycle.setup_calls, lifecycle.teardown_calls) == (1, 0)


# --8<-- [end:by-hand]
# --8<-- [start:spy]
def test_spy_on_a_method(run_context: RunContext, mocker: MockerFixture) -> None:
    mocker.patch(f"{__name__}.fetch_token", return_value="tok-123")
    # Resources are frozen pydantic models: spy on the class, shared by Dagster's copy.
    spy = mocker.spy(TokenClientResource, "auth_header")
    with run_context.open(TokenClientResource(username="a", password="b")) as client:
        client.auth_header()
    spy.assert_called_once_with(client)


# --8<-- [end:spy]
