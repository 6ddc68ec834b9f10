"""Marks the code location's deliberately broken resource as an expected failure."""

# --8<-- [start:xfail]
import pytest

from pytest_resources import LifecycleError

REASON = "CacheResource's teardown raises; Dagster would only log it"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.name == "resource[cache]":
            item.add_marker(
                pytest.mark.xfail(raises=LifecycleError, reason=REASON, strict=True)
            )
        elif item.name == "audit[CacheResource]":
            # Known broken: no need to spend generated configs on it.
            item.add_marker(pytest.mark.xfail(run=False, reason=REASON))


# --8<-- [end:xfail]
