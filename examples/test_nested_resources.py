"""Nested resources: set up before their parent, torn down after it, and
``configure_at_launch()`` partials configured with ``resource_config=``.

No ``from __future__ import annotations`` here: with it, pydantic cannot accept a
``configure_at_launch()`` partial as a nested field
(``Outer(inner=Inner.configure_at_launch())`` raises a ValidationError)."""

# --8<-- [start:nested]
import dagster as dg
import pytest
from pydantic import PrivateAttr

from pytest_resources import Lifecycle, RunContext


class CredentialsResource(dg.ConfigurableResource):
    username: str
    _token: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._token = f"token-for-{self.username}"

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self._token = ""

    def token(self) -> str:
        assert self._token, "credentials not set up"
        return self._token


class WarehouseResource(dg.ConfigurableResource):
    credentials: CredentialsResource
    schema_name: str = "public"
    _session: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # The nested resource is already set up: Dagster initializes it first.
        self._session = f"{self.schema_name}:{self.credentials.token()}"

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self._session = ""

    def session(self) -> str:
        return self._session


def when(lifecycle: Lifecycle, hook: str) -> int:
    """The position of a hook call among all the calls recorded in the run."""
    return next(event.sequence for event in lifecycle.events if event.hook == hook)


@pytest.mark.resource(
    WarehouseResource, credentials=CredentialsResource(username="alice")
)
def test_nested_resource_is_live_in_its_parent(resource: WarehouseResource) -> None:
    assert resource.session() == "public:token-for-alice"


def test_nested_first_in_last_out(run_context: RunContext) -> None:
    warehouse = WarehouseResource(credentials=CredentialsResource(username="alice"))
    with run_context.open(warehouse) as live:
        assert live.session() == "public:token-for-alice"
    # A nested resource is recorded under "<parent key>.<field name>".
    parent = run_context.lifecycle("warehouse")
    nested = run_context.lifecycle("warehouse.credentials")
    assert nested.setup_calls == nested.teardown_calls == 1
    assert (
        when(nested, "setup_for_execution")
        < when(parent, "setup_for_execution")
        < when(parent, "teardown_after_execution")
        < when(nested, "teardown_after_execution")
    )


# --8<-- [end:nested]


# --8<-- [start:configure-at-launch]
def test_configure_at_launch_with_resource_config(run_context: RunContext) -> None:
    credentials = CredentialsResource.configure_at_launch()
    resources = {
        "credentials": credentials,
        "warehouse": WarehouseResource(credentials=credentials, schema_name="sales"),
    }
    with run_context.open(
        resources, resource_config={"credentials": {"username": "bob"}}
    ) as live:
        assert live["warehouse"].session() == "sales:token-for-bob"
        assert live["credentials"].token() == "token-for-bob"
    # The partial is one resource of the run: set up once, shared by the warehouse.
    assert run_context.lifecycle(CredentialsResource).setup_calls == 1
    assert run_context.lifecycle(CredentialsResource).keys == ("credentials",)


# --8<-- [end:configure-at-launch]
