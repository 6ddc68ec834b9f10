"""Loading the plugin imports neither dagster nor hypothesis: pytest loads it in every run."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_importing_the_package_and_plugin_stays_light() -> None:
    code = (
        "import sys, pytest_resources, pytest_resources.plugin\n"
        # The header imports the release check's package when the ini option switches it on.
        "import pytest_resources._release_check\n"
        "heavy = sorted(m for m in ('dagster', 'hypothesis', 'pydantic') if m in sys.modules)\n"
        "print(heavy)\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "[]"


@pytest.mark.slow(seconds=5)
def test_a_run_that_never_uses_dagster_never_imports_it(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
import sys


def pytest_sessionfinish(session):
    print("dagster imported:", "dagster" in sys.modules)
"""
    )
    pytester.makepyfile("def test_plain():\n    assert True\n")
    # A subprocess: this test process has long imported dagster.
    result = pytester.runpytest_subprocess("-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*dagster imported: False*"])
    result.stdout.fnmatch_lines(["plugins:*dagster-resources*"])


def test_every_public_name_resolves_from_the_package() -> None:
    import pytest_resources

    for name in pytest_resources.__all__:
        assert getattr(pytest_resources, name) is not None, name


@pytest.mark.parametrize(
    "name",
    [
        "ConfigFailure",
        "InjectedFault",
        "LifecycleError",
        "PrivateStateLeak",
        "ResourceUsageError",
        "ReleaseCheckUnavailable",
    ],
)
def test_exceptions_show_their_public_path(name: str) -> None:
    import pickle

    import pytest_resources

    exception_class = getattr(pytest_resources, name)
    assert f"{exception_class.__module__}.{exception_class.__qualname__}" == (
        f"pytest_resources.{name}"
    )
    # xdist sends failures from its workers pickled: the public path must load.
    assert type(pickle.loads(pickle.dumps(exception_class("x")))) is exception_class


def test_examples_import_only_public_names() -> None:
    from pathlib import Path

    examples = Path(__file__).resolve().parents[1] / "examples"
    private = [
        f"{path.name}: {line.strip()}"
        for path in sorted(examples.glob("*.py"))
        for line in path.read_text().splitlines()
        if "pytest_resources._" in line
    ]
    assert private == []


@pytest.mark.slow(seconds=5)
def test_a_code_location_is_loaded_only_when_asked_for(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
import sys


def pytest_sessionfinish(session):
    print("dagster imported:", "dagster" in sys.modules)
"""
    )
    # A project that names its code location: without --dagster-definitions (or its ini
    # option) nothing of the code location loads (its other options alone are a usage error).
    pytester.makepyprojecttoml('[tool.dagster]\nmodule_name = "my_project.definitions"\n')
    pytester.makepyfile("def test_plain():\n    assert True\n")
    result = pytester.runpytest_subprocess("-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*dagster imported: False*"])
