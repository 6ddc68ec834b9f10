"""Resource classes the suite shares: correct ones, and ones that break one rule each.

Tests import them directly; pytester's inner runs import them too (tests/conftest.py puts this
folder on their path), so that a class is written out once.
"""

# No `from __future__ import annotations`: with it, pydantic refuses a configure_at_launch()
# partial as a nested field.
from contextlib import contextmanager
from typing import Annotated, Any, Optional, Union

import dagster as dg
import typing_extensions
from dagster import InitResourceContext as ResourceContext
from pydantic import PrivateAttr


class Client(dg.ConfigurableResource):
    """Correct: private state set in setup, cleared in teardown."""

    username: str = "alice"
    _token: str = PrivateAttr(default="")

    def setup_for_execution(self, context):
        self._token = "tok-" + self.username

    def teardown_after_execution(self, context):
        self._token = ""


class YieldWithoutSetup(dg.ConfigurableResource):
    """Breaks rule 1: its yield_for_execution never calls setup."""

    def setup_for_execution(self, context):
        pass

    @contextmanager
    def yield_for_execution(self, context):
        yield self


class YieldSetupTwice(dg.ConfigurableResource):
    """Breaks rule 1: its yield_for_execution calls setup twice."""

    def setup_for_execution(self, context):
        pass

    @contextmanager
    def yield_for_execution(self, context):
        self.setup_for_execution(context)
        self.setup_for_execution(context)
        try:
            yield self
        finally:
            self.teardown_after_execution(context)


class YieldWithoutTeardown(dg.ConfigurableResource):
    """Breaks rule 2: its yield_for_execution never calls teardown."""

    def setup_for_execution(self, context):
        pass

    def teardown_after_execution(self, context):
        pass

    @contextmanager
    def yield_for_execution(self, context):
        self.setup_for_execution(context)
        yield self


class ForgetsTeardown(dg.ConfigurableResource):
    """Breaks rule 2: its yield_for_execution sets up and never tears down."""

    @contextmanager
    def yield_for_execution(self, context):
        self.setup_for_execution(context)
        yield self

    def teardown_after_execution(self, context):
        pass


class TeardownAfterFailedSetup(dg.ConfigurableResource):
    """Breaks rule 2: its setup fails, and its finally tears down anyway."""

    def setup_for_execution(self, context):
        raise ConnectionError("database is down")

    def teardown_after_execution(self, context):
        pass

    @contextmanager
    def yield_for_execution(self, context):
        try:
            self.setup_for_execution(context)
            yield self
        finally:
            self.teardown_after_execution(context)


class TryBeforeSetup(dg.ConfigurableResource):
    """Correct until its setup fails: its try/finally starts before setup (rule 2)."""

    name: str = "client"

    def setup_for_execution(self, context):
        pass

    def teardown_after_execution(self, context):
        pass

    @contextmanager
    def yield_for_execution(self, context):
        try:  # starts before setup: a failed setup is torn down
            self.setup_for_execution(context)
            yield self
        finally:
            self.teardown_after_execution(context)


class CorrectYield(dg.ConfigurableResource):
    """Correct: its yield_for_execution sets up, yields once, tears down in finally."""

    def setup_for_execution(self, context):
        pass

    def teardown_after_execution(self, context):
        pass

    @contextmanager
    def yield_for_execution(self, context):
        self.setup_for_execution(context)
        try:
            yield self
        finally:
            self.teardown_after_execution(context)


class TeardownRaises(dg.ConfigurableResource):
    """Breaks rule 5 (as FailingTeardown, with another message)."""

    def teardown_after_execution(self, context):
        raise RuntimeError("could not close the connection pool")


class FailingTeardown(dg.ConfigurableResource):
    """Breaks rule 5."""

    def teardown_after_execution(self, context):
        raise OSError("disk gone")


class Inner(dg.ConfigurableResource):
    """Correct, and nested in Outer."""

    def setup_for_execution(self, context):
        pass

    def teardown_after_execution(self, context):
        pass


class Outer(dg.ConfigurableResource):
    """Correct, with a nested resource."""

    inner: Inner

    def setup_for_execution(self, context):
        pass

    def teardown_after_execution(self, context):
        pass


class OuterTearsDownInner(dg.ConfigurableResource):
    """Breaks rules 2 and 4: tears down its nested resource itself."""

    inner: Inner

    def teardown_after_execution(self, context):
        self.inner.teardown_after_execution(context)


class HappyPathTeardown(dg.ConfigurableResource):
    """Tears down after its yield without try/finally: not a bug, Dagster resumes it anyway."""

    def setup_for_execution(self, context):
        pass

    def teardown_after_execution(self, context):
        pass

    @contextmanager
    def yield_for_execution(self, context):
        self.setup_for_execution(context)
        yield self
        self.teardown_after_execution(context)


class Plain(dg.ConfigurableResource):
    """Correct, with no hooks of its own."""

    host: str = "localhost"


class SetupOnly(dg.ConfigurableResource):
    """Correct, with a setup and no teardown."""

    def setup_for_execution(self, context):
        pass


# --- rule 9: hooks misspelled, with their context written every way Python allows ---------------
# Annotations here are objects (no `from __future__ import annotations`); tests/test_detectors.py
# has the same as strings.


class MisspelledEveryWay(dg.ConfigurableResource):
    """Breaks rule 9 once per method: Dagster calls none of them."""

    def teardown_for_execution(
        self,
        context: Optional[dg.InitResourceContext] = None,  # noqa: UP045
    ) -> None:
        pass

    def setup_for_executon(self, context: dg.InitResourceContext | None) -> None:
        pass

    def yield_for_executon(
        self,
        context: Union[None, dg.InitResourceContext],  # noqa: RUF036, UP007
    ) -> Any:
        pass

    def tear_down_after_execution(self, context: Annotated[dg.InitResourceContext, "run"]) -> None:
        pass

    def teardownAfterExecution(
        self,
        context: typing_extensions.Annotated[typing_extensions.Optional[ResourceContext], 1],  # noqa: UP045
    ) -> None:
        pass

    def SetupForExecution(self, context: "dg.InitResourceContext") -> None:
        pass

    def setup_for_executions(self, context: Optional["ResourceContext"]) -> None:
        pass

    def teardown_after_executions(self, ctx, /) -> None:  # type: ignore[no-untyped-def]
        pass

    def yield_for_executions(self, *args: Any) -> Any:
        pass

    def Teardown_After_Execution(self, context: Any = None, *, force: bool = False) -> None:
        pass


class _Releases:
    """A mixin that is no resource: its own code calls its look-alike."""

    def release(self) -> None:
        self.teardown_for_execution(None)

    def teardown_for_execution(
        self,
        context: Optional[dg.InitResourceContext],  # noqa: UP045
    ) -> None:
        pass


class _HookLikeBase(dg.ConfigurableResource):
    """A user's base class whose teardown calls a helper its subclasses define."""

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        getattr(self, "teardown_after_executions")(context)  # noqa: B009

    def teardown_after_executions(self, context: dg.InitResourceContext) -> None:
        pass


class HookLookAlikes(_Releases, _HookLikeBase):
    """Correct (rule 9): public methods named like hooks that are not hooks."""

    def setup_for_testing(self) -> None:
        pass

    def teardown(self) -> None:
        pass

    @property
    def setup_for_executions(self) -> bool:
        return True

    @classmethod
    def create_resources(cls, context: dg.InitResourceContext) -> list[Any]:
        return []

    @staticmethod
    def yield_for_executions(context: dg.InitResourceContext) -> None:
        pass

    def setup_for_executon(
        self,
        context: Optional[dg.AssetExecutionContext],  # noqa: UP045
    ) -> None:
        pass

    def yield_for_executon(self, context: dg.InitResourceContext, *, retries: int) -> None:
        pass

    def create_resourse(self, *names: str) -> list[str]:
        return list(names)

    def teardown_after_executon(self, context: "dg.OpExecutionContext | None") -> None:
        pass

    def teardown_after_executions(self, context: dg.InitResourceContext) -> None:
        pass  # overrides its base's helper, which the base's teardown calls


# --- function resources: no hooks to record, a teardown all the same --------------------------


@dg.resource
def closes_badly(context):
    """Breaks rule 5: its code after the yield raises."""
    yield "connection"
    raise ConnectionError("could not close the function's connection")


@dg.resource
def closes_cleanly(context):
    """Correct: its code after the yield runs, and returns."""
    closed = []
    yield "connection"
    closed.append(True)


@dg.resource
def handles_its_close(context):
    """Correct: its teardown catches its own error."""
    yield "connection"
    try:
        raise ConnectionError("already closed")
    except ConnectionError:
        pass


@dg.resource
def yields_rows(context):
    """Breaks rule 10: ops get a generator, not the rows."""
    yield (row for row in [1, 2])


class HostileError(Exception):
    """An exception that refuses to be shown or truth-tested."""

    def __bool__(self) -> bool:
        raise RuntimeError("no truth value")

    def __str__(self) -> str:
        raise RuntimeError("no text")


@dg.resource
def closes_hostilely(context):
    """Breaks rule 5 with an exception the report must survive."""
    yield "connection"
    raise HostileError
