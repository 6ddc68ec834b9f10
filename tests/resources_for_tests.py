"""Resource classes the suite shares: correct ones, and ones that break one rule each.

Tests import them directly; pytester's inner runs import them too (tests/conftest.py puts this
folder on their path), so that a class is written out once.
"""

from contextlib import contextmanager

import dagster as dg
from pydantic import PrivateAttr


class Client(dg.ConfigurableResource):
    username: str = "alice"
    _token: str = PrivateAttr(default="")

    def setup_for_execution(self, context):
        self._token = "tok-" + self.username

    def teardown_after_execution(self, context):
        self._token = ""


class YieldWithoutSetup(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        pass

    @contextmanager
    def yield_for_execution(self, context):
        yield self


class YieldSetupTwice(dg.ConfigurableResource):
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
    def setup_for_execution(self, context):
        pass

    def teardown_after_execution(self, context):
        pass

    @contextmanager
    def yield_for_execution(self, context):
        self.setup_for_execution(context)
        yield self


class TeardownAfterFailedSetup(dg.ConfigurableResource):
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


class CorrectYield(dg.ConfigurableResource):
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
    def teardown_after_execution(self, context):
        raise RuntimeError("could not close the connection pool")


class FailingTeardown(dg.ConfigurableResource):
    """Breaks rule 5."""

    def teardown_after_execution(self, context):
        raise OSError("disk gone")


class Inner(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        pass

    def teardown_after_execution(self, context):
        pass


class Outer(dg.ConfigurableResource):
    inner: Inner

    def setup_for_execution(self, context):
        pass

    def teardown_after_execution(self, context):
        pass


class OuterTearsDownInner(dg.ConfigurableResource):
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
    host: str = "localhost"


class SetupOnly(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        pass
