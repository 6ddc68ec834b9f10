"""Reports the plugin rewrites because it knows their cause better than the traceback does: a
resource mark pytest took for a decorator, and an ``EnvVar`` that is not set. The exception itself
is left as it is (a test may expect it); only what pytest prints changes."""

from __future__ import annotations

import re
import types
from pathlib import Path
from typing import Any

import dagster
import pytest

# Frames of the machinery between the user's line and the error.
_NOT_THE_USERS = {"_pytest", "pluggy", "pytest", "dagster", "dagster_shared", "pytest_resources"}
_UNSET_VARIABLE = re.compile(r'environment variable "(?P<name>[^"]+)" which is not set')
_CONFIG_PATH = re.compile(r"at path (\S+)")


def explained_collection_error(
    excinfo: pytest.ExceptionInfo[BaseException], collected: Path
) -> str | None:
    """For ``@pytest.mark.resource(X)`` with a lone class or function resource ``X``: pytest
    marked ``X`` and Python then called ``X(test_function)``."""
    found = _marked_alone(excinfo)
    if found is None:
        return None
    name, value = found
    frames = _users_frames(excinfo)
    where = f"{frames[-1].path}:{_decorator_line(frames[-1], name)}" if frames else str(collected)
    if not isinstance(value, type):
        return (
            f"{where}: pytest.mark.resource({name}) marks no test: {name} is a function resource "
            f"(@dg.resource), and pytest takes a mark called with one function and nothing else "
            f"as decorating that function, so Python then calls {name}(test_function). The "
            f"marker and run_context.open() take ConfigurableResource instances; a function "
            f"resource is checked where Dagster loads it: pytest --dagster-definitions."
        )
    return (
        f"{where}: pytest.mark.resource({name}) with only a class makes no mark: pytest "
        f"takes a mark called with one class and nothing else as decorating that "
        f"class, so it marks {name} itself (and above a test, calls "
        f"{name}(test_function)). Write pytest.mark.resource.with_args({name}) or pass "
        f"an instance: pytest.mark.resource({name}())."
    )


def explained_unset_variable(excinfo: pytest.ExceptionInfo[BaseException]) -> str | None:
    """For Dagster's config error about an ``EnvVar`` whose variable is not set: which resource
    and field read it, and how to set it, in one message instead of Dagster's stack."""
    error: BaseException | None = excinfo.value
    while error is not None and not isinstance(error, dagster.DagsterInvalidConfigError):
        error = error.__cause__
    unset = unset_variables(error) if error is not None else []
    if not unset:
        return None
    frames = _users_frames(excinfo)
    where = f"{frames[-1].path}:{frames[-1].lineno + 1}: " if frames else ""
    lines = [
        f"{where}DagsterInvalidConfigError: "
        + ("an environment variable is" if len(unset) == 1 else "environment variables are")
        + " not set:"
    ]
    for path, name in unset:
        lines.append(f"  {_reader(path)} reads EnvVar({name!r}), which is not set.")
    names = ", ".join(dict.fromkeys(name for _, name in unset))
    lines.append(
        f"  Set {names} where the test runs (the CI job's environment, or monkeypatch.setenv in "
        "a fixture that runs before the resource opens), or give the field a value for the test."
    )
    return "\n".join(lines)


def unset_variables(error: BaseException) -> list[tuple[str, str]]:
    """``(config path, variable)`` for each ``EnvVar`` whose variable is not set, read from
    Dagster's config error; the path is "" where the message gives none."""
    found = []
    # One "Error N:" paragraph per config error, each with its path and its message.
    for paragraph in re.split(r"\n\s*Error \d+:", str(error)):
        variable = _UNSET_VARIABLE.search(paragraph)
        if variable:
            path = _CONFIG_PATH.search(paragraph)
            found.append((path[1] if path else "", variable["name"]))
    return found


def _reader(path: str) -> str:
    """``root:creds:config:key`` -> "resource `creds`, field `key`,"."""
    parts = path.split(":")
    if len(parts) >= 4 and parts[0] == "root" and parts[2] == "config":
        return f"resource `{parts[1]}`, field `{'.'.join(parts[3:])}`,"
    return f"the config at {path}" if path else "a field"


def _users_frames(excinfo: pytest.ExceptionInfo[BaseException]) -> list[Any]:
    return [
        entry
        for entry in excinfo.traceback
        if str(entry.frame.f_globals.get("__name__", "")).partition(".")[0] not in _NOT_THE_USERS
        and entry.frame.f_globals.get("__name__") != "contextlib"
    ]


def _marked_alone(excinfo: pytest.ExceptionInfo[BaseException]) -> tuple[str, object] | None:
    """The resource class or function resource in the frames of the failure that carries a
    resource mark of its own, with its name."""
    for entry in reversed(excinfo.traceback):
        namespace = {**entry.frame.f_globals, **entry.frame.f_locals}
        for name, value in namespace.items():
            # Python 3.10 takes list[int] for a type, and issubclass() then raises.
            is_class = (
                isinstance(value, type)
                and not isinstance(value, types.GenericAlias)
                and issubclass(
                    value, (dagster.ConfigurableResource, dagster.ConfigurableIOManagerFactory)
                )
            )
            if not (is_class or isinstance(value, dagster.ResourceDefinition)):
                continue
            own = value.__dict__ if is_class else getattr(value, "__dict__", {})
            if any(getattr(mark, "name", None) == "resource" for mark in own.get("pytestmark", ())):
                function = getattr(value, "resource_fn", None)
                shown = value.__qualname__ if is_class else getattr(function, "__name__", name)
                return shown, value
    return None


def _decorator_line(entry: Any, name: str) -> int:
    """The line of ``@pytest.mark.resource(name)`` above the failing line (Python 3.10 reports
    the decorated ``def``, 3.11+ the decorator), 1-based."""
    source = entry.frame.code.fullsource
    lines = source.lines if source is not None else []
    for index in range(entry.lineno, max(entry.lineno - 20, -1), -1):
        if index < len(lines) and f"resource({name})" in lines[index].replace(" ", ""):
            return index + 1
    return int(entry.lineno) + 1
