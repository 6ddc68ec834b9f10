"""An async resource: ``yield_for_execution`` as an ``@asynccontextmanager``.

Dagster runs it on the event loop of the run (``build_resources(event_loop=...)``); the
plugin gives every ``open`` its own loop. Dagster 1.8 has no such parameter, so this
module is skipped there."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import dagster as dg
import pytest

from pytest_resources import RunContext

pytestmark = pytest.mark.skipif(
    "event_loop" not in inspect.signature(dg.build_resources).parameters,
    reason="this Dagster has no async yield_for_execution (no event_loop parameter)",
)


# --8<-- [start:async]
class AsyncSession:
    """Stands in for an async HTTP or database client."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.closed = False

    async def get(self, path: str) -> str:
        await asyncio.sleep(0)
        assert not self.closed, "session used after the run"
        return f"{self.url}{path}"

    async def close(self) -> None:
        await asyncio.sleep(0)
        self.closed = True


class AsyncApiResource(dg.ConfigurableResource):
    url: str

    @asynccontextmanager
    async def yield_for_execution(
        self, context: dg.InitResourceContext
    ) -> AsyncIterator[AsyncSession]:
        session = AsyncSession(self.url)
        try:
            yield session
        finally:
            await session.close()


@pytest.mark.resource(AsyncApiResource, url="https://api.example")
def test_marked_async_resource(resource: AsyncSession) -> None:
    assert asyncio.run(resource.get("/users")) == "https://api.example/users"


def test_closed_after_the_run(run_context: RunContext) -> None:
    with run_context.open(AsyncApiResource(url="https://api.example")) as session:
        assert not session.closed
    assert session.closed
    lifecycle = run_context.lifecycle(AsyncApiResource)
    assert (lifecycle.yield_enters, lifecycle.yield_exits) == (1, 1)


def test_closed_when_the_step_fails(run_context: RunContext) -> None:
    with (
        pytest.raises(TimeoutError),
        run_context.open(AsyncApiResource(url="u")) as session,
    ):
        raise TimeoutError("the step failed")
    assert session.closed


# --8<-- [end:async]
