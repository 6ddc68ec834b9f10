"""The seed's API client: a token fetched in setup, once per run, and dropped at teardown."""

from __future__ import annotations

import dagster as dg
import pytest
from pydantic import PrivateAttr

from pytest_resources import RunContext

TOKEN_REQUESTS: list[str] = []


def fetch_token(username: str, password: str) -> str:
    """Stands in for the token endpoint; counts how often it is hit."""
    TOKEN_REQUESTS.append(username)
    return f"token-for-{username}"


class MyClientResource(dg.ConfigurableResource):
    username: str
    password: str
    _api_token: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._api_token = fetch_token(self.username, self.password)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self._api_token = ""

    def get_all_users(self) -> list[str]:
        assert self._api_token, "the client was not set up"
        return [self.username]


# --8<-- [start:marked]
@pytest.mark.resource(MyClientResource, username="alice", password="pw")
def test_users(resource: MyClientResource) -> None:
    assert resource.get_all_users() == ["alice"]


# --8<-- [end:marked]
# --8<-- [start:by-hand]
def test_token_fetched_once_per_run(run_context: RunContext) -> None:
    TOKEN_REQUESTS.clear()
    with run_context.open(MyClientResource(username="a", password="b")) as client:
        client.get_all_users()
        client.get_all_users()
    assert TOKEN_REQUESTS == ["a"]
    assert run_context.lifecycle(MyClientResource).teardown_calls == 1


# --8<-- [end:by-hand]
