"""The suite's one door to the plugin's private names, and real runs opened without pytester.

Tests of pure logic (the rules over a recording, the wire codec, the leak audit, the release
check, the strategies) call it directly; every private name they need is imported here, so a
module that moves inside the package is fixed in this one file. Inner pytester runs import from
here too.
"""

from __future__ import annotations

from typing import Any

import pytest

import pytest_resources._audit as _audit
import pytest_resources._hooks as hooks_module
import pytest_resources._leak_audit.forms as audit_cache
import pytest_resources._leak_audit.search as audit_search
import pytest_resources._release_check.procfs as _procfs
import pytest_resources._release_check.snapshot as _snapshot
import pytest_resources._release_watch as _release_watch
import pytest_resources._strategies.field_kinds as field_kinds
from pytest_resources import OpenResources, Run, RunContext
from pytest_resources._definitions.loading import DefinitionsError, module_path, parse_target
from pytest_resources._detectors import (
    annotation_kind,
    edit_distance,
    find_defects,
    misspelled_hooks,
)
from pytest_resources._faults import PLACES, Place
from pytest_resources._hooks import Hook, Location, format_user_traceback
from pytest_resources._keys import default_key
from pytest_resources._leak_audit import (
    Leak,
    ResolvedConfig,
    RunStateWatch,
    assert_no_private_leaks,
    find_private_leaks,
    find_secret_exposures,
    find_yielded_leaks,
    forget_audited_forms,
    format_leak_report,
    redact,
)
from pytest_resources._ledger import Ledger
from pytest_resources._lifecycle import Lifecycle, lifecycle_of
from pytest_resources._live_values import unusable_live_value, unusable_live_values
from pytest_resources._multiprocess import _wire as wire
from pytest_resources._plain_data import NotPlainData, frozen, remember
from pytest_resources._problems import Problems
from pytest_resources._recording import Event, Recording
from pytest_resources._release_check import (
    AllowList,
    Attributor,
    Leftover,
    ProcessState,
    attribute_warnings,
    collect_resource_warnings,
    format_leftovers,
    leftovers,
    release_check_available,
    setup_lines,
    take_snapshot,
    unavailable_reason,
    wait_for_release,
)
from pytest_resources._release_check.snapshot import portable_snapshot
from pytest_resources._rules import Rule, Violation, format_violations
from pytest_resources._run_rules import RunFacts, TeardownFailure, check_run
from pytest_resources._session import Session, TestRuns
from pytest_resources._strategies import (
    ConfigWithEnv,
    env_applied,
    register_resource_strategies,
)
from pytest_resources._strategies.acceptance import dagster_errors_by_public_api
from pytest_resources._strategies.constraints import NO_CONSTRAINTS, Constraints
from pytest_resources._strategies.plan import nested_instances
from pytest_resources._strategies.routes import Route, Site
from pytest_resources._totals import SessionTotals

__all__ = [
    "NO_CONSTRAINTS",
    "PLACES",
    "AllowList",
    "Attributor",
    "ConfigWithEnv",
    "Constraints",
    "DefinitionsError",
    "DirectRuns",
    "Event",
    "Hook",
    "Leak",
    "Ledger",
    "Leftover",
    "Location",
    "NotPlainData",
    "Place",
    "Problems",
    "ProcessState",
    "Recording",
    "ResolvedConfig",
    "Route",
    "Rule",
    "Run",
    "RunContext",
    "RunFacts",
    "RunStateWatch",
    "Session",
    "SessionTotals",
    "Site",
    "TeardownFailure",
    "Violation",
    "annotation_kind",
    "assert_no_private_leaks",
    "attribute_warnings",
    "audit_cache",
    "audit_search",
    "check_run",
    "collect_resource_warnings",
    "dagster_errors_by_public_api",
    "default_key",
    "edit_distance",
    "env_applied",
    "field_kinds",
    "find_defects",
    "find_private_leaks",
    "find_secret_exposures",
    "find_yielded_leaks",
    "forget_audited_forms",
    "forget_release_check_availability",
    "format_leak_report",
    "format_leftovers",
    "format_user_traceback",
    "format_violations",
    "frozen",
    "hooks_module",
    "leftovers",
    "misspelled_hooks",
    "module_path",
    "nested_instances",
    "parse_target",
    "portable_snapshot",
    "pretend_no_proc_filesystem",
    "pretend_release_check_unavailable",
    "redact",
    "register_resource_strategies",
    "release_check_available",
    "remember",
    "setup_lines",
    "spend_no_time_shrinking",
    "take_snapshot",
    "unavailable_reason",
    "unusable_live_value",
    "unusable_live_values",
    "wait_for_release",
    "wire",
]


def spend_no_time_shrinking(monkeypatch: pytest.MonkeyPatch) -> None:
    """An audit's shrinking after its first failure gets no time at all."""
    monkeypatch.setattr(_audit, "_SHRINK_SECONDS", 0.0)


def pretend_release_check_unavailable(monkeypatch: pytest.MonkeyPatch, reason: str) -> None:
    """The engine sees a platform where the release check is incomplete, for ``reason``."""
    monkeypatch.setattr(_release_watch, "release_check_available", lambda: False)
    monkeypatch.setattr(_release_watch, "unavailable_reason", lambda: reason)


def forget_release_check_availability(monkeypatch: pytest.MonkeyPatch) -> None:
    """The release check decides again whether it can read this platform."""
    monkeypatch.setattr(_snapshot, "_availability", {})


def pretend_no_proc_filesystem(monkeypatch: pytest.MonkeyPatch, fd_directory: str) -> None:
    """The release check looks for open files in ``fd_directory``, and has not looked yet."""
    monkeypatch.setattr(_procfs, "FD_DIR", fd_directory)
    forget_release_check_availability(monkeypatch)


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
        return Run(self._test_runs.new_target()).open(resources, **options)

    def lifecycle(self, key_or_class: str | type[Any]) -> Lifecycle:
        """What was recorded for a key or class in all of this test's runs."""
        return lifecycle_of(self._test_runs.recordings, key_or_class)

    @property
    def recordings(self) -> list[Recording]:
        """One recording per initialization this test opened, oldest first."""
        return list(self._test_runs.recordings)

    def problems(self) -> list[Problems]:
        """What this test's runs broke, one entry per initialization that broke something."""
        return [entry.problems for entry in self._test_runs.ledger.entries]
