"""Resource classes the suite shares: correct ones, and ones that break one rule each.

Tests import them directly; pytester's inner runs import them too (tests/conftest.py puts this
folder on their path), so that a class is written out once.
"""

# No `from __future__ import annotations`: with it, pydantic refuses a configure_at_launch()
# partial as a nested field.
from contextlib import contextmanager

import dagster as dg
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
