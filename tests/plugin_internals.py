"""The suite's one door to the plugin's private names, and real runs opened without pytester.

Tests of pure logic (the rules over a recording, the codecs, the strategies) call it directly;
every private name they need is imported here, so a module that moves inside the package is
fixed in this one file.
"""

from __future__ import annotations

from typing import Any

from pytest_resources._recording import Recording
from pytest_resources._rules import RunFacts, check_run, format_violations
from pytest_resources._run import Lifecycle, OpenResources, Problems, RunContext, TestRuns

__all__ = [
    "DirectRuns",
    "Recording",
    "RunContext",
    "RunFacts",
    "check_run",
    "format_violations",
]


class DirectRuns:
    """Real Dagster runs of one test, opened through the plugin's engine in this process.

    The plugin's own ``run_context`` fixture would fail the outer test for every broken rule,
    even one the test caught; these runs raise the same errors (``LifecycleError``,
    ``PrivateStateLeak``) from the same code, for a test that breaks a rule on purpose to catch
    and read.
    """

    def __init__(self, test_runs: TestRuns) -> None:
        self._test_runs = test_runs

    def open(self, resources: Any, /, **options: Any) -> OpenResources:
        """As ``run_context.open``, in a fresh run."""
        return self._test_runs.new_run().open(resources, **options)

    def lifecycle(self, key_or_class: str | type[Any]) -> Lifecycle:
        """What was recorded for a key or class in all of this test's runs."""
        return self._test_runs.session.lifecycle(key_or_class)

    @property
    def recordings(self) -> list[Recording]:
        """One recording per initialization this test opened, oldest first."""
        return list(self._test_runs.recordings)

    def problems(self) -> list[Problems]:
        """What this test's runs broke, one entry per initialization that broke something."""
        return list(self._test_runs.problems)
