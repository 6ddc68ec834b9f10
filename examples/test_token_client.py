"""An API client: a token fetched in setup, once per run, never in serialized config.

``responses`` serves both endpoints, so the client makes real ``requests`` calls."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest
import requests
import responses
from pydantic import PrivateAttr

from pytest_resources import RunContext, assert_no_private_leaks

API = "https://api.example.com"
TOKEN = "sk-live-0123456789abcdef"


class MyClientResource(dg.ConfigurableResource):
    username: str
    password: str
    _api_token: str = PrivateAttr(default="")
    _session: requests.Session | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._session = requests.Session()
        response = self._session.post(
            f"{API}/token", json={"username": self.username, "password": self.password}
        )
        response.raise_for_status()
        self._api_token = response.json()["token"]

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._session is not None:
            self._session.close()
        self._api_token = ""

    def get_all_users(self) -> list[str]:
        assert self._session is not None, "the client was not set up"
        response = self._session.get(
            f"{API}/users", headers={"Authorization": f"Bearer {self._api_token}"}
        )
        response.raise_for_status()
        users: list[str] = response.json()
        return users


@pytest.fixture(autouse=True)
def api() -> Iterator[responses.RequestsMock]:
    """The API, for each test: marked resources open after the test's fixtures."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(f"{API}/token", json={"token": TOKEN})
        mock.get(
            f"{API}/users",
            json=["alice", "bob"],
            match=[
                responses.matchers.header_matcher({"Authorization": f"Bearer {TOKEN}"})
            ],
        )
        yield mock


def token_requests(api: responses.RequestsMock) -> int:
    return sum(1 for call in api.calls if call.request.url == f"{API}/token")


# --8<-- [start:marked]
@pytest.mark.resource(MyClientResource, username="alice", password="pw")
def test_users(resource: MyClientResource) -> None:
    assert resource.get_all_users() == ["alice", "bob"]


# --8<-- [end:marked]
# --8<-- [start:by-hand]
def test_token_fetched_once_per_run(
    run_context: RunContext, api: responses.RequestsMock
) -> None:
    before = token_requests(api)
    with run_context.open(MyClientResource(username="a", password="b")) as client:
        client.get_all_users()
        client.get_all_users()
        assert_no_private_leaks(client)  # the token stays out of every serialized form
    assert token_requests(api) - before == 1
    assert run_context.lifecycle(MyClientResource).teardown_calls == 1


# --8<-- [end:by-hand]
