"""The user's own classes (not Dagster's or pydantic's), and the line of their source that
stored a value where the audit found it."""

from __future__ import annotations

import functools
import linecache
import os
import re
import types
from collections.abc import Iterable

from pytest_resources._leak_audit.needles import _MAX_NESTED_RESOURCE_DEPTH

_LIBRARY_PACKAGES = frozenset({"dagster", "pydantic", "builtins", "typing", "abc"})


def _storing_line(resource_class: type, attribute: str, fields: Iterable[str] = ()) -> str | None:
    """The line of the user's class that stored ``attribute``'s value where it was found: one
    that names both it and a field it landed in (``self.headers[...] = self._token``), else the
    one that assigns it (``self._session = ...``, ``self._session['token'] = ...``), if the
    class's source shows one."""
    name = re.split(r"[\[(]", attribute, maxsplit=1)[0].rsplit(".", 1)[-1]
    if not name.isidentifier():
        return None
    lines = [line for klass in _user_classes(resource_class) for line in _source_lines(klass)]
    field_mentions = [re.compile(rf"""(?:\.|['"]){re.escape(field)}\b""") for field in fields]
    for filename, lineno, line in lines:
        if re.search(rf"\b{re.escape(name)}\b", line) and any(
            mention.search(line) for mention in field_mentions
        ):
            return f"{_shown_path(filename)}:{lineno}"
    for filename, lineno, line in lines:
        if _assigns(name).search(line):
            return f"{_shown_path(filename)}:{lineno}"
    return None


@functools.lru_cache(maxsize=256)
def _assigns(name: str) -> re.Pattern[str]:
    quoted = rf"""['"]{re.escape(name)}['"]"""
    return re.compile(
        rf"\.{re.escape(name)}\s*(?:\[[^\]]*\]\s*)*=(?!=)|setattr\([^,]+,\s*{quoted}\s*,"
    )


@functools.lru_cache(maxsize=256)
def _source_lines(klass: type) -> tuple[tuple[str, int, str], ...]:
    """The source lines of ``klass``'s own functions (hooks and helpers), read from the lines
    their code objects span: cheap, unlike finding a class's source, which parses its module."""
    found: list[tuple[str, int, str]] = []
    for member in vars(klass).values():
        function = getattr(member, "__func__", getattr(member, "fget", member))
        # A decorated hook (@contextmanager) keeps the user's function as __wrapped__.
        for _ in range(_MAX_NESTED_RESOURCE_DEPTH):
            function = getattr(function, "__wrapped__", function)
        code = getattr(function, "__code__", None)
        if not isinstance(code, types.CodeType):
            continue
        lines = linecache.getlines(code.co_filename)
        numbers = [line for _start, _end, line in code.co_lines() if line is not None]
        last = max(numbers, default=code.co_firstlineno)
        found.extend(
            (code.co_filename, number, lines[number - 1])
            for number in range(code.co_firstlineno, min(last, len(lines)) + 1)
        )
    return tuple(found)


def _shown_path(filename: str) -> str:
    try:
        shown = os.path.relpath(filename)
    except ValueError:  # another drive on Windows
        return filename
    return filename if shown.startswith("..") else shown


def _user_classes(cls: type) -> list[type]:
    """The user's classes in ``cls``'s MRO: not Dagster's, pydantic's or the standard library's."""
    return [
        klass for klass in cls.__mro__ if klass.__module__.split(".", 1)[0] not in _LIBRARY_PACKAGES
    ]
