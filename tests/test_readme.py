"""The README is the PyPI page: its first test must run as pasted, in a project of its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_the_first_test_runs_as_pasted(pytester: pytest.Pytester) -> None:
    first_test, audit = _python_blocks()[:2]
    pytester.makepyfile(test_database=first_test + "\n\n" + audit)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*- pytest-resources -*", "3 tests opened * resources in *"])
    # The audit's path is pinned: no file of the resource's is left in the project (beside
    # pytest's ini and caches).
    left = {p.name for p in pytester.path.iterdir()} - {"tox.ini", "__pycache__", ".hypothesis"}
    assert left == {"test_database.py"}


def test_the_readme_says_how_to_install_and_work_on_a_clone() -> None:
    text = README.read_text()
    assert "pip install pytest-dagster-resources" in text
    assert text.index("pip install") < text.index("make demo")
    assert "make test " in text  # CI calls it


def test_code_blocks_fit_without_scrolling() -> None:
    too_wide = [line for block in _python_blocks() for line in block.splitlines() if len(line) > 88]
    assert too_wide == []
