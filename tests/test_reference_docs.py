"""The reference tables say what the code does: each member's signature as the real one, and
every public member listed."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from pytest_resources import Run, RunContext

DOCS = Path(__file__).resolve().parents[1] / "docs" / "reference"
# Public in name only: the plugin's own calls, not the user's.
_PLUGIN_ONLY = {"begin_test", "end_test", "close", "warm_up", "recordings"}


def _table_rows(page: str, heading: str) -> dict[str, str]:
    """The first column of the member table under ``heading``: name to what the docs spell."""
    text = (DOCS / page).read_text()
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([^`]+)` \|", section, flags=re.M)
    return {re.match(r"\w+", row)[0]: row for row in rows}  # type: ignore[index]


def _spelled(cls: type, name: str) -> str:
    member = inspect.getattr_static(cls, name)
    if not callable(member) or isinstance(member, property):
        return name
    signature = inspect.signature(getattr(cls, name))
    parameters = [
        parameter.replace(annotation=inspect.Parameter.empty)
        for parameter in list(signature.parameters.values())[1:]
    ]
    bare = signature.replace(parameters=parameters, return_annotation=inspect.Signature.empty)
    return f"{name}{bare}"


@pytest.mark.parametrize(
    ("cls", "page", "heading"),
    [(RunContext, "fixtures.md", "## `run_context`"), (Run, "run-and-lifecycle.md", "## `Run`")],
)
def test_each_member_table_matches_the_real_signatures(cls: type, page: str, heading: str) -> None:
    rows = _table_rows(page, heading)
    public = {name for name in dir(cls) if not name.startswith("_") and name not in _PLUGIN_ONLY}
    assert sorted(public - set(rows)) == [], f"members of {cls.__name__} missing from {page}"
    for name, spelled in rows.items():
        if name in public:
            assert spelled == _spelled(cls, name), f"{page}: {cls.__name__}.{name}"
