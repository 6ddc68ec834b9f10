"""What pytest's fixture machinery tells about a test that uses the marked resources: which of
its fixtures depend on them, which are being set up, and whether hypothesis will refuse them."""

from __future__ import annotations

from typing import Any

import pytest


def fixtures_using(item: pytest.Item, fixture: str) -> tuple[set[str], list[str]]:
    """The fixtures of ``item`` that depend, directly or not, on ``fixture``; and the others,
    in pytest's order."""
    info = getattr(item, "_fixtureinfo", None)
    definitions: dict[str, Any] = dict(info.name2fixturedefs) if info is not None else {}
    depends: dict[str, bool] = {}

    def uses(name: str, seen: frozenset[str]) -> bool:
        if name == fixture:
            return True
        if name not in depends:
            requested = {arg for d in definitions.get(name, ()) for arg in d.argnames}
            depends[name] = any(uses(arg, seen | {name}) for arg in requested - seen - {name})
        return depends[name]

    names: list[str] = list(getattr(item, "fixturenames", ()))
    using = {name for name in names if name in definitions and uses(name, frozenset())}
    others = [name for name in names if name in definitions and name not in using]
    return using - {fixture, "resource", "resources"}, others


def fixtures_being_set_up(request: pytest.FixtureRequest) -> set[str]:
    """The chain of fixtures whose setup asked for this one (``getfixturevalue`` included)."""
    names = set()
    current: Any = request
    while current is not None:
        names.add(getattr(current, "fixturename", None))
        current = getattr(current, "_parent_request", None)
    return {name for name in names if name}


def refuse_marker_under_given(item: pytest.Item) -> None:
    """Say why hypothesis refuses the ``resource`` fixture in a ``@given`` test, and what to do,
    before its health check fails the test with no word about resources."""
    function: Any = getattr(item, "function", None)
    if not getattr(function, "is_hypothesis_test", False):
        return
    import inspect

    from hypothesis import HealthCheck
    from hypothesis import settings as hypothesis_settings

    requested = sorted({"resource", "resources"} & set(inspect.signature(function).parameters))
    # Where hypothesis' own pytest plugin reads the test's settings from.
    settings: Any = (
        getattr(getattr(item, "obj", None), "_hypothesis_internal_use_settings", None)
        or hypothesis_settings.default
    )
    if not requested or HealthCheck.function_scoped_fixture in settings.suppress_health_check:
        return
    pytest.fail(
        f"@pytest.mark.resource with @given: the marked resource opens once for the whole test, "
        f"so every example hypothesis generates shares one live value in one run, and "
        f"hypothesis' function_scoped_fixture health check refuses the {requested[0]!r} "
        "fixture. To check each example on its own, drop the mark and open a fresh run per "
        "example: `with run_context.run() as run, run.open(MyResource(...)) as live:`. To "
        "share one live resource across the examples on purpose, add "
        "@settings(suppress_health_check=[HealthCheck.function_scoped_fixture]).",
        pytrace=False,
    )
