"""Shared by the plugin's own tests: pytester's inner runs (for what pytest reports) and real
runs opened directly in this process (for the pure logic over what they recorded)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import _pytest.pytester
import pytest
from hypothesis import settings
from plugin_internals import DirectRuns, Session

# The suite runs on loaded 2-core machines: a hypothesis deadline would measure the machine, not
# the plugin. Inner runs are in-process and take their settings from this profile too.
settings.register_profile("pytest-resources-suite", deadline=None)
settings.load_profile("pytest-resources-suite")

pytest_plugins = ["pytester"]

# pytester's in-process runs drop every module an inner run imported. Dagster registers its
# serializable classes on import, so a second import of a lazily loaded Dagster module fails;
# keeping every installed module also makes each inner run cost milliseconds, not a fresh
# `import dagster`. Only the inner runs' own files (test modules, conftests) are dropped.
_INSTALLED_ROOTS = (sys.prefix, sys.base_prefix, str(Path(__file__).resolve().parents[1]))


def _installed(name: str) -> bool:
    module_file = getattr(sys.modules.get(name), "__file__", None)
    return module_file is None or module_file.startswith(_INSTALLED_ROOTS)


class _SnapshotKeepingInstalledModules(_pytest.pytester.SysModulesSnapshot):
    def __init__(self, preserve=None):  # type: ignore[no-untyped-def]
        super().__init__(
            preserve=lambda name: _installed(name) or bool(preserve and preserve(name))
        )


_TESTS = Path(__file__).resolve().parent

# Set before any Pytester takes its own snapshot, for this test process only.
_pytest.pytester.SysModulesSnapshot = _SnapshotKeepingInstalledModules  # type: ignore[misc]


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    # On CI (the CI or BUILD_NUMBER variables) pytest prints whole messages in its short test
    # summary: the inner runs' output must not depend on where the suite runs.
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("BUILD_NUMBER", raising=False)
    # The inner runs import the suite's shared resource classes (resources_for_tests.py), in
    # this process and in a subprocess.
    monkeypatch.syspath_prepend(str(_TESTS))
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(_TESTS), os.environ.get("PYTHONPATH")]))
    )
    # Each inner run gets its own ini, so the outer project's addopts never leak in. Warnings
    # are errors there too, so one from the plugin fails its test; the deprecation warnings
    # Dagster itself emits are not the inner tests' business.
    pytester.makeini(
        """
        [pytest]
        addopts = -p no:cacheprovider --strict-markers
        filterwarnings =
            error
            ignore::DeprecationWarning:dagster
            ignore::DeprecationWarning:dagster_shared
            ignore::DeprecationWarning:pydantic
            ignore:(?s).*Implicitly cleaning up <Temporary:pytest.PytestUnraisableExceptionWarning
        """
    )
    return pytester


@pytest.fixture(scope="session")
def _direct_session() -> Iterator[Session]:
    # One Dagster instance for all direct runs of a (worker) process, as the plugin keeps one.
    session = Session()
    yield session
    session.close()


@pytest.fixture
def direct_runs(_direct_session: Session, request: pytest.FixtureRequest) -> Iterator[DirectRuns]:
    """Real runs for a test of pure logic, released when it ends (see ``DirectRuns``)."""
    yield DirectRuns(_direct_session.begin_test(request.node.nodeid))
    _direct_session.end_test()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The tests marked slow (subprocesses, step processes, many audits) start first, longest
    # first, and xdist hands tests out one at a time (`make test`: --maxschedchunk 1), so that
    # its workers finish together rather than one waiting on a slow test started last.
    def rough_seconds(item: pytest.Item) -> float:
        slow = item.get_closest_marker("slow")
        return float(slow.kwargs["seconds"]) if slow is not None else 0.0

    items.sort(key=rough_seconds, reverse=True)
