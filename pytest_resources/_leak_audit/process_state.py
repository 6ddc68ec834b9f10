"""What a resource's setup leaves in the process outside its class, run after run: the sizes of
the global containers of its classes' modules, and how many handlers each logger has.

A setup that is idempotent across runs may fill a cache once, or add a logging handler on first
use; one that is not adds to them in every run. So a size counts only when it grew during this
run and ended larger than after the previous run of the same class with the same config (a
cache keyed by config grows for a new config, never for the same one again).
"""

from __future__ import annotations

import collections
import logging
import re
import sys
from collections.abc import Iterator

import pytest_resources._leak_audit.values as values

# The sizes after the last run of each resource class and config, dropped when the test ends
# (with the audits' caches, forms.forget_audited_forms): sizes and names only, no user object.
_sizes_after_run: dict[tuple[str, str], dict[str, int]] = {}


def process_sizes(classes: list[type]) -> dict[str, int]:
    """``global module.NAME`` for each built-in container the classes' modules hold, and
    ``logger 'name'`` for each logger with handlers: their sizes now."""
    sizes: dict[str, int] = {}
    for module_name in dict.fromkeys(cls.__module__ for cls in classes):
        module = sys.modules.get(module_name)
        for name, value in list(vars(module).items()) if module is not None else ():
            if not name.startswith("__") and isinstance(
                value, dict | list | set | collections.deque
            ):
                sizes[f"global {module_name}.{name}"] = len(value)
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for logger in loggers:
        if isinstance(logger, logging.Logger) and logger.handlers:
            sizes[f"logger {logger.name!r}"] = len(logger.handlers)
    return sizes


def grown_since_previous_run(
    identity: tuple[str, str], before: dict[str, int], after: dict[str, int]
) -> Iterator[tuple[str, int, int]]:
    """(what, its size after the previous run, after this one) for each that this run grew
    past the previous run's size; then remembers this run's sizes."""
    previous = _sizes_after_run.get(identity)
    _sizes_after_run[identity] = after
    for name, size in after.items():
        if previous is not None and size > previous.get(name, 0) and size > before.get(name, 0):
            yield name, previous.get(name, 0), size


def forget_previous_runs() -> None:
    _sizes_after_run.clear()


def line_growing(classes: list[type], what: str) -> str | None:
    """The first line of the user's classes that adds to ``what``: ``addHandler`` for a logger,
    else one naming the global."""
    name = "addHandler" if what.startswith("logger ") else what.rsplit(".", 1)[-1]
    pattern = re.compile(rf"\b{re.escape(name)}\b")
    for cls in classes:
        for filename, lineno, line in values.source_lines(cls):
            if pattern.search(line) and not line.lstrip().startswith("#"):
                return values.source_location(filename, lineno)
    return None
