"""An IO manager is a resource too: its setup, teardown and the value it hands out are
checked the same way. Drive it with Dagster's ``build_output_context`` /
``build_input_context``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from pydantic import PrivateAttr

from pytest_resources import RunContext


# --8<-- [start:io-managers]
class JsonFileIOManager(dg.ConfigurableIOManager):
    """Stores each asset as ``<base_dir>/<asset key>.json``; counts what a run wrote."""

    base_dir: str
    _written: list[str] = PrivateAttr(default_factory=list)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        Path(self.base_dir).mkdir(parents=True, exist_ok=True)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self._written.clear()

    def _path(self, asset_key: dg.AssetKey) -> Path:
        return Path(self.base_dir, *asset_key.path).with_suffix(".json")

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        self._path(context.asset_key).write_text(json.dumps(obj))
        self._written.append(context.asset_key.to_user_string())

    def load_input(self, context: dg.InputContext) -> Any:
        return json.loads(self._path(context.asset_key).read_text())


def test_round_trip(run_context: RunContext, tmp_path: Path) -> None:
    base_dir = tmp_path / "store"  # does not exist yet: setup creates it
    with run_context.open(JsonFileIOManager(base_dir=str(base_dir))) as io_manager:
        key = dg.AssetKey("users")
        io_manager.handle_output(
            dg.build_output_context(asset_key=key), ["alice", "bob"]
        )
        assert io_manager.load_input(dg.build_input_context(asset_key=key)) == [
            "alice",
            "bob",
        ]
    assert (base_dir / "users.json").exists()
    lifecycle = run_context.lifecycle(JsonFileIOManager)
    assert (lifecycle.setup_calls, lifecycle.teardown_calls) == (1, 1)


class CountingIOManager(dg.IOManager):
    """A plain IO manager object, as returned by a factory."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.stored: dict[str, Any] = {}

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        self.stored[self.prefix + context.asset_key.to_user_string()] = obj

    def load_input(self, context: dg.InputContext) -> Any:
        return self.stored[self.prefix + context.asset_key.to_user_string()]


class CountingIOManagerFactory(dg.ConfigurableIOManagerFactory):
    prefix: str = "mem/"

    def create_io_manager(self, context: dg.InitResourceContext) -> CountingIOManager:
        return CountingIOManager(self.prefix)


@pytest.mark.resource(CountingIOManagerFactory, prefix="test/")
def test_factory_hands_out_its_io_manager(resource: CountingIOManager) -> None:
    # The live value is what create_io_manager returned, not the factory.
    assert isinstance(resource, CountingIOManager)
    resource.handle_output(dg.build_output_context(asset_key=dg.AssetKey("a")), 1)
    assert resource.stored == {"test/a": 1}


# --8<-- [end:io-managers]
