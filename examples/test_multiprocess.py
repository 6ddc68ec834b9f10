"""A real run with a process per step: the client is set up and torn down once in each
step process, and never in the test's own process."""

from __future__ import annotations

import dagster as dg
from pydantic import PrivateAttr

from pytest_resources import RunContext


class MyClientResource(dg.ConfigurableResource):
    username: str
    password: str
    _api_token: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._api_token = f"token-for-{self.username}"

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self._api_token = ""

    def get_all_users(self) -> list[str]:
        assert self._api_token, "the client was not set up"
        return [self.username]


# --8<-- [start:run]
# Module level: each step process re-imports the assets from here.
@dg.asset
def users(client: MyClientResource) -> list[str]:
    return client.get_all_users()


@dg.asset
def report(users: list[str], client: MyClientResource) -> str:
    return f"{len(users)} users, read by {client.username}"


def test_each_step_process_sets_up_its_own_client(run_context: RunContext) -> None:
    result = run_context.materialize(
        [users, report],
        resources={"client": MyClientResource(username="a", password="b")},
        executor="multiprocess",
    )
    assert result.success
    assert result.asset_value("report") == "1 users, read by a"
    # One setup and one teardown in each of the two step processes, none in this one.
    run_context.lifecycle("client").assert_once_per_process(processes=2)


# --8<-- [end:run]
