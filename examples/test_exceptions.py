"""The plugin's exceptions: assertion errors for broken resources, one for misuse."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg
import pytest

# --8<-- [start:imports]
from pytest_resources import LifecycleError, PrivateStateLeak, ResourceUsageError

# --8<-- [end:imports]

if TYPE_CHECKING:
    from pytest_resources import RunContext


class DatabaseResource(dg.ConfigurableResource):
    host: str


class RaisingTeardownResource(dg.ConfigurableResource):
    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        raise RuntimeError("could not close the connection pool")


def test_broken_resources_fail_as_assertions() -> None:
    assert issubclass(LifecycleError, AssertionError)
    assert issubclass(PrivateStateLeak, AssertionError)
    assert not issubclass(ResourceUsageError, AssertionError)


def test_misuse(run_context: RunContext) -> None:
    with pytest.raises(ResourceUsageError, match="build it first"):
        run_context.open(DatabaseResource)  # the class, not an instance


# --8<-- [start:caught]
@pytest.mark.xfail(
    raises=LifecycleError, strict=True, reason="caught, and reported at the end"
)
def test_catching_the_error_does_not_pass(run_context: RunContext) -> None:
    with pytest.raises(LifecycleError), run_context.open(RaisingTeardownResource()):
        pass


# --8<-- [end:caught]
