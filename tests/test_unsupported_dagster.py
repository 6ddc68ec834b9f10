"""A Dagster the plugin cannot work with: one clear error at the first use of a plugin feature,
and every test that uses none of them still passes.

Each run is a subprocess whose conftest makes the installed Dagster look like an unsupported
one before the plugin first needs it: a private name deleted from its module (as a release that
moved it would leave it), or an older version number.
"""

from __future__ import annotations

import dagster
import pytest

from pytest_resources import _dagster as door
from pytest_resources._dagster import TESTED_MINORS, InstanceRef, refusal

# Dagster's own modules, once imported, hold their reference to it: only the plugin, looking it
# up afterwards, misses it.
MOVED_INTERNAL = """
import dagster
from dagster._core.execution import api

with dagster.build_resources({}):
    pass
del api.create_execution_plan
"""

OLDER_DAGSTER = """
import dagster

dagster.__version__ = "1.7.16"
"""

TESTS = """
import dagster as dg
import pytest


class Api(dg.ConfigurableResource):
    url: str = "https://example.test"


def test_plain():
    assert True


def test_plain_dagster_still_works():
    with dg.build_resources({"api": Api()}) as resources:
        assert resources.api.url == "https://example.test"


def test_run_context(run_context):
    run_context.open(Api())


@pytest.mark.resource(Api(url="https://marked.test"))
def test_marked(resource):
    assert resource.url
"""

NEWEST = TESTED_MINORS[-1]
SUPPORTED = f"Supported: dagster >= 1.8, tested on {', '.join(TESTED_MINORS)}. *"


def _assert_no_traceback_from_the_plugin(result: pytest.RunResult) -> None:
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output
    assert "INTERNALERROR" not in output
    assert "pytest_resources/" not in output  # no frame of the plugin's files


def _summary(result: pytest.RunResult) -> set[str]:
    """The run's outcome per test and per module that failed to import (its ``-rA`` lines)."""
    words = ("PASSED ", "FAILED ", "ERROR ")
    return {line.split(" - ")[0] for line in result.outlines if line.startswith(words)}


def _section(result: pytest.RunResult, title: str) -> pytest.LineMatcher:
    """The lines of the report section headed ``title``, up to the next section."""
    lines = result.outlines
    [start] = [i for i, line in enumerate(lines) if line.startswith("_") and f" {title} " in line]
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith(("_", "="))), None)
    return pytest.LineMatcher(lines[start + 1 : end])


@pytest.mark.slow(seconds=8)
def test_a_moved_internal_fails_each_test_and_module_using_the_plugin_with_one_message(
    pytester: pytest.Pytester,
) -> None:
    """One run for two cases: a test using a plugin fixture or marker errors at its setup, and a
    test module importing a public name fails that module alone."""
    pytester.makeconftest(MOVED_INTERNAL)
    pytester.makepyfile(
        test_uses=TESTS,
        test_strategies="from pytest_resources import resource_configs\n\n"
        "def test_drawn():\n    assert resource_configs\n",
        test_plain="def test_plain():\n    assert True\n",
    )
    # As for any import that fails, pytest stops at a collection error unless told to go on.
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-rA", "--continue-on-collection-errors"
    )
    result.assert_outcomes(passed=3, errors=3)
    assert _summary(result) == {
        "PASSED test_uses.py::test_plain",
        "PASSED test_uses.py::test_plain_dagster_still_works",
        "ERROR test_uses.py::test_run_context",
        "ERROR test_uses.py::test_marked",
        "ERROR test_strategies.py",
        "PASSED test_plain.py::test_plain",
    }
    moved = [
        f"pytest-dagster-resources * cannot work with dagster {dagster.__version__}:",
        "  Dagster moved or removed create_execution_plan (looked in dagster._core.execution.api)",
        SUPPORTED,
    ]
    # Each error's own section holds the message: not one of the others' after it.
    _section(result, "ERROR at setup of test_run_context").fnmatch_lines(moved)
    _section(result, "ERROR at setup of test_marked").fnmatch_lines(moved)
    _section(result, "ERROR collecting test_strategies.py").fnmatch_lines(moved)
    result.stdout.fnmatch_lines(
        [f"*Fix: pin dagster to {NEWEST} (pip install 'dagster=={NEWEST}.*')*"]
    )
    _assert_no_traceback_from_the_plugin(result)


@pytest.mark.slow(seconds=8)
def test_a_dagster_older_than_supported_is_named_with_the_fix(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(OLDER_DAGSTER)
    pytester.makepyfile(TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_run_context*",
            "pytest-dagster-resources * cannot work with dagster 1.7.16:",
            "  dagster 1.7.16 is older than 1.8, the oldest it supports",
            f"{SUPPORTED[:-1]}Fix: pip install 'dagster>=1.8'.",
        ]
    )
    _assert_no_traceback_from_the_plugin(result)


@pytest.mark.slow(seconds=5)
def test_a_code_location_asked_for_stops_the_run_with_the_message(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(MOVED_INTERNAL)
    pytester.makepyfile(definitions="import dagster as dg\n\ndefs = dg.Definitions()\n")
    result = pytester.runpytest_subprocess("--dagster-definitions", "definitions")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: pytest-dagster-resources * cannot work with dagster {dagster.__version__}:",
            "  Dagster moved or removed create_execution_plan *",
            SUPPORTED,
        ]
    )
    _assert_no_traceback_from_the_plugin(result)


@pytest.mark.slow(seconds=5)
def test_the_same_tests_pass_on_the_installed_dagster(pytester: pytest.Pytester) -> None:
    """The twin: without the conftest every test passes, the plugin's too."""
    pytester.makepyfile(TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_the_refusal_names_each_problem_and_none_for_a_supported_dagster() -> None:
    assert refusal("1.8.0", []) is None
    assert refusal("1!0+dev", []) is None  # a development build is not refused for its number
    older = refusal("1.7.16", [])
    assert older is not None
    assert older.splitlines()[1:] == [
        "  dagster 1.7.16 is older than 1.8, the oldest it supports",
        f"{SUPPORTED[:-1]}Fix: pip install 'dagster>=1.8'.",
    ]
    moved = refusal("1.14.0", ["RepositorySnap (looked in a.b)", "a.c.config_defaults"])
    assert moved is not None
    assert moved.splitlines()[1:3] == [
        "  Dagster moved or removed RepositorySnap (looked in a.b)",
        "  Dagster moved or removed a.c.config_defaults",
    ]


def test_a_name_is_taken_from_the_first_place_that_has_it(monkeypatch: pytest.MonkeyPatch) -> None:
    missing: list[str] = []
    monkeypatch.setattr(door, "_missing", missing)
    places = ("dagster._no_such_module", "dagster._core.instance.ref")
    assert door._find("InstanceRef", *places, attributes=("config_defaults",)) is InstanceRef
    assert missing == []
    assert door._find("InstanceRef", *places, attributes=("moved_away",)) is InstanceRef
    assert missing == ["dagster._core.instance.ref.InstanceRef.moved_away"]
    assert door._find("Gone", *places) is None
    assert missing[1:] == [f"Gone (looked in {', '.join(places)})"]
    assert door._optional("Gone", *places) is None
    assert len(missing) == 2  # an optional name has a public fallback: not a problem
