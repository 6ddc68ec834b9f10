"""Every way to mark a test with ``@pytest.mark.resource``: class or instance, at the
function, class or module level, one resource or several."""

from __future__ import annotations

from typing import Any

import dagster as dg
import pytest


class CacheResource(dg.ConfigurableResource):
    size: int = 128


class ClockResource(dg.ConfigurableResource):
    timezone: str = "UTC"


class DatabaseResource(dg.ConfigurableResource):
    host: str
    port: int = 5432

    def url(self) -> str:
        return f"postgresql://{self.host}:{self.port}"


# --8<-- [start:module]
# Every test in this module gets a cache. A resource without required config is marked
# with an instance (pytest takes a mark called with a bare class as decorating it).
pytestmark = pytest.mark.resource(CacheResource())
# --8<-- [end:module]


# --8<-- [start:class-spelling]
@pytest.mark.resource(DatabaseResource, host="db", port=5433)
def test_class_spelling(resources: dict[str, Any]) -> None:
    # Class spelling: the keyword arguments are the config. The key is the class name in
    # snake_case without "Resource": DatabaseResource -> "database".
    assert resources["database"].url() == "postgresql://db:5433"
    assert resources["cache"].size == 128  # from the module's mark
    # --8<-- [end:class-spelling]


# --8<-- [start:instance-spelling]
@pytest.mark.resource(DatabaseResource(host="primary"), key="primary")
@pytest.mark.resource(DatabaseResource(host="replica"), key="replica")
def test_instance_spelling(resources: dict[str, Any]) -> None:
    # Instance spelling: keyword arguments are options; key= tells two resources apart.
    assert resources["primary"].host == "primary"
    assert resources["replica"].host == "replica"
    # --8<-- [end:instance-spelling]


# --8<-- [start:with-args]
@pytest.mark.resource.with_args(ClockResource)
def test_with_args(resources: dict[str, Any]) -> None:
    # with_args passes a bare class through: it is built with its defaults.
    assert resources["clock"].timezone == "UTC"
    # --8<-- [end:with-args]


# --8<-- [start:class-level]
@pytest.mark.resource(DatabaseResource, host="db")
class TestReports:
    def test_uses_the_class_mark(self, resources: dict[str, Any]) -> None:
        assert resources["database"].host == "db"

    def test_each_test_gets_its_own_run(self, resources: dict[str, Any]) -> None:
        assert set(resources) == {"cache", "database"}
        # --8<-- [end:class-level]


# --8<-- [start:fixture]
@pytest.fixture
def report_rows(resources: dict[str, Any]) -> list[str]:
    # A fixture may use the marked resources while the test runs.
    return [resources["database"].url()]


@pytest.mark.resource(DatabaseResource, host="db")
def test_fixture_uses_marked_resource(report_rows: list[str]) -> None:
    assert report_rows == ["postgresql://db:5432"]
    # --8<-- [end:fixture]
