"""Objects that were never closed but got collected: ``ResourceWarning``s and exceptions
ignored in ``__del__``, caught while a run lasts."""

from __future__ import annotations

import contextlib
import gc
import os
import re
import sys
import warnings
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from pytest_resources._release_check.leftovers import Leftover
from pytest_resources._release_check.state import ProcessState


@contextlib.contextmanager
def collect_resource_warnings(
    *,
    collect_garbage: bool = True,
    existed_before: Callable[[warnings.WarningMessage], bool] = lambda record: False,
) -> Iterator[list[Leftover]]:
    """Collect ``ResourceWarning``s and exceptions ignored in ``__del__`` raised inside.

    Yields a list that is filled on exit, after a ``gc.collect()`` so that objects only a
    reference cycle kept alive are finalized (and warn) inside. That collection costs what a full
    collection costs in the process (about 0.1 s once Dagster is imported):
    ``collect_garbage=False`` skips it, and then only what reference counting frees is seen.
    A ``ResourceWarning`` for which ``existed_before`` is true is dropped: what it warns of was
    open before, not this run's. Other warnings recorded meanwhile are emitted again on exit, so
    they reach pytest's own warning capture. ``warnings`` state is process-wide: warnings from
    other threads are caught too.
    """
    # Imported here: _hooks imports dagster, and this package loads with the plugin's header.
    from pytest_resources._hooks import Location

    found: list[Leftover] = []
    unraisable: list[str] = []
    previous_hook = sys.unraisablehook

    def hook(args: Any) -> None:  # sys.UnraisableHookArgs; only strings are kept
        message = args.err_msg or "Exception ignored in"
        where = f": {args.object!r}" if args.object is not None else ""
        error = args.exc_type.__name__ if args.exc_type is not None else "error"
        unraisable.append(f"{message}{where}: {error}: {args.exc_value}")

    with warnings.catch_warnings(record=True) as recorded:
        warnings.simplefilter("always", ResourceWarning)
        sys.unraisablehook = hook
        try:
            yield found
        finally:
            try:
                if collect_garbage:
                    gc.collect()
            finally:
                sys.unraisablehook = previous_hook
    for record in recorded:
        if issubclass(record.category, ResourceWarning) and not existed_before(record):
            where = f" (at {Location(record.filename, record.lineno)})" if record.filename else ""
            location = (record.filename, record.lineno) if record.filename else None
            found.append(
                Leftover("warning", f"ResourceWarning: {record.message}{where}", location=location)
            )
    found.extend(Leftover("warning", text) for text in unraisable)
    for record in recorded:
        if not issubclass(record.category, ResourceWarning):
            warnings.warn_explicit(
                record.message,
                record.category,
                record.filename,
                record.lineno,
                source=record.source,
            )


_FD_IN_MESSAGE = re.compile(r"\bfd=(\d+)")


def warned_of(record: warnings.WarningMessage, before: ProcessState) -> bool:
    """Whether an unclosed-object warning names what was already open in ``before``: a file by
    its path (``unclosed file <... name='/tmp/x.log'>``) or a socket by its descriptor
    (``fd=7``). A run's own leak is missed only if it reopened that path, or got that number
    after the older holder closed it."""
    name = getattr(record.source, "name", None)
    if isinstance(name, str):
        # A file deleted while open (its temporary directory removed) reads "PATH (deleted)".
        path = os.path.realpath(name)
        if path in before.fds.values() or f"{path} (deleted)" in before.fds.values():
            return True
    match = _FD_IN_MESSAGE.search(str(record.message))
    return match is not None and int(match.group(1)) in before.fds


def finalize_dropped(copies: list[weakref.ref[Any]], *, unseen: bool = False) -> None:
    """Finalize a release-checked test's dropped live copies now, in their own test.

    Records hold reference cycles (Dagster caches a resource definition on the live copy), so
    what a broken resource left unclosed would otherwise be finalized, and warn, in whichever
    later test the garbage collector runs; its own release check reported it already. Only the
    copies of runs that left a descriptor or a process behind (allowed or not) are given. A
    full collection costs 0.1-0.2 s once Dagster is imported: the young generations go first,
    and the full one only for a copy still alive after them (or when copies were ``unseen``:
    a checked run of a materialized job, whose copies the plugin does not follow)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        for generation in (1, 2):
            if not unseen and all(ref() is None for ref in copies):
                return
            gc.collect(generation)
