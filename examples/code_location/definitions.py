"""A code location as a Dagster project has it: resources wired into one
``Definitions``.

``make demo`` audits it with no test written::

    pytest --dagster-definitions=examples.code_location.definitions \
        --dagster-definitions-env=examples/code_location/demo.env

No ``from __future__ import annotations`` here: with it, pydantic refuses the
``configure_at_launch()`` partial nested in ``ReportsResource``.
"""

# --8<-- [start:definitions]
import json
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import PrivateAttr


class CredentialsResource(dg.ConfigurableResource):
    username: str
    password: str
    _token: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._token = f"token-for-{self.username}"

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self._token = ""


class WarehouseResource(dg.ConfigurableResource):
    credentials: CredentialsResource  # nested: set up first, torn down last
    schema_name: str = "analytics"


class ApiResource(dg.ConfigurableResource):
    base_url: str
    timeout_seconds: int = 10


class ReportsResource(dg.ConfigurableResource):
    # The configure_at_launch() partial below, shared with the "api" key.
    api: ApiResource


class JsonIOManager(dg.ConfigurableIOManager):
    base_dir: str = "/tmp/code-location-demo"

    def _path(self, key: dg.AssetKey) -> Path:
        return Path(self.base_dir, *key.path).with_suffix(".json")

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        self._path(context.asset_key).write_text(json.dumps(obj))

    def load_input(self, context: dg.InputContext) -> Any:
        return json.loads(self._path(context.asset_key).read_text())


class CacheResource(dg.ConfigurableResource):
    """Broken on purpose: its teardown raises, which Dagster only logs."""

    url: str
    _pool: list[str] = PrivateAttr(default_factory=list)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._pool.append(self.url)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        raise ConnectionResetError(f"lost the connection to {self.url} while closing")


@dg.asset
def daily_report(warehouse: WarehouseResource, reports: ReportsResource) -> list[str]:
    return [warehouse.schema_name, reports.api.base_url]


api = ApiResource.configure_at_launch()

defs = dg.Definitions(
    assets=[daily_report],
    resources={
        "warehouse": WarehouseResource(
            credentials=CredentialsResource(
                username="reporting", password=dg.EnvVar("WAREHOUSE_PASSWORD")
            )
        ),
        "api": api,
        "reports": ReportsResource(api=api),
        "io_manager": JsonIOManager(),
        "cache": CacheResource(url="redis://cache:6379"),
    },
    jobs=[
        dg.define_asset_job(
            "nightly",
            config={
                "resources": {
                    "api": {"config": {"base_url": "https://api.example.com"}}
                }
            },
        )
    ],
)
# --8<-- [end:definitions]
