"""What a resource's setup leaves in the process outside its class, run after run: the global
containers of its classes' modules, and every logger's handlers.

A setup that is idempotent across runs may fill a cache once, or add a logging handler on first
use; one that is not adds to them in every run. So a container counts only when this run added
an item that is run state to it (a token, a handler: not config, not a short marker such as
"setup" that a test records), and so did the previous run of the same class with the same config:
a cache keyed by config grows for a new config, never for the same one again, and a run whose
setup never ran (a fault injected before it) or failed before the cache adds nothing.
"""

from __future__ import annotations

import collections
import logging
import re
import sys
from collections.abc import Callable, Iterator

import pytest_resources._leak_audit.values as values

# For the last run of each resource class and config: the run, and what it added run state to,
# with the sizes after it. Dropped when the test ends (with the audits' caches,
# forms.forget_audited_forms): sizes and names only, no user object.
_CONTAINERS = (dict, list, set, collections.deque)
_last_run_growth: dict[tuple[str, str, frozenset[str]], tuple[str, dict[str, int]]] = {}


def process_state(classes: list[type]) -> dict[str, list[object]]:
    """The items now of ``global module.NAME``, each built-in container the classes' modules
    hold (a dict's keys and values), and of ``logger 'name'``, each logger's handlers."""
    found: dict[str, list[object]] = {}
    for module_name in dict.fromkeys(cls.__module__ for cls in classes):
        module = sys.modules.get(module_name)
        for name, value in list(vars(module).items()) if module is not None else ():
            if not isinstance(value, _CONTAINERS) or name.startswith("__"):
                continue
            if len(value) > values.MAX_WALKED_NODES:
                continue  # too big to list each run; a cache that size is no per-run token list
            if isinstance(value, dict):
                found[f"global {module_name}.{name}"] = [*value.keys(), *value.values()]
            else:
                found[f"global {module_name}.{name}"] = list(value)
    for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
        if isinstance(logger, logging.Logger) and logger.handlers:
            found[f"logger {logger.name!r}"] = list(logger.handlers)
    return found


def grown_since_previous_run(
    identity: tuple[str, str, frozenset[str]],
    run: str,
    before: dict[str, list[object]],
    after: dict[str, list[object]],
    is_run_state: Callable[[object], bool],
) -> Iterator[tuple[str, str, int]]:
    """(what, its size after the previous run, as "1 after run 1a2b3c4d", and after this one)
    for each that both this run and the previous run of the same identity added run state to,
    past the previous run's size (a fixture may empty it between runs); then remembers what this
    run added to."""
    grew: dict[str, int] = {}
    for what, items in after.items():
        existing = {id(item) for item in before.get(what, ())}
        if len(items) > len(before.get(what, ())) and any(
            id(item) not in existing and (what.startswith("logger ") or is_run_state(item))
            for item in items
        ):
            grew[what] = len(items)
    previous_run, previous = _last_run_growth.get(identity, ("", {}))
    _last_run_growth[identity] = (run, grew)
    for what, size in grew.items():
        if size > previous.get(what, size):
            yield what, f"{previous[what]} after {previous_run}", size


def forget_previous_runs() -> None:
    _last_run_growth.clear()


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
