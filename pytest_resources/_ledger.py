"""What one test recorded and found, and what of it the test's report already shows.

Each problem found (one initialization's :class:`Problems`) has one :class:`Entry` with a
status. The end of the test (``plugin.py``) fails it for every entry not yet reported, so a test
that swallows the error a run raised still fails; an entry already shown by the error that fails
the test is not reported twice.
"""

from __future__ import annotations

import contextlib
import enum
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol

from pytest_resources._errors import LifecycleError, PrivateStateLeak
from pytest_resources._problems import Problems
from pytest_resources._recording import Recording


class Status(enum.Enum):
    """How far the test has shown one entry's problems."""

    # Found, and not raised in an error of their own (maybe a note on one: ``Entry.carrier``).
    PENDING = "pending"
    # Raised as their own LifecycleError or PrivateStateLeak, which the test may have caught.
    RAISED = "raised"
    # Shown in the test's report: nothing left to do.
    REPORTED = "reported"


@dataclass(eq=False)
class Entry:
    """One initialization's problems, in one run, and how far they have been shown."""

    problems: Problems
    run_id: str
    status: Status = Status.PENDING
    # The error in flight that carries the problems as a note (Python 3.11+); it may never
    # surface.
    carrier: BaseException | None = None

    def shown_by(self, error: BaseException) -> bool:
        """Whether ``error``, failing the test, already shows these problems."""
        if self.status is Status.RAISED and isinstance(error, (LifecycleError, PrivateStateLeak)):
            return True
        return self.carrier is error


class OpenInitialization(Protocol):
    """An initialization the test entered and has not exited yet."""

    def forget(self) -> None: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> Any: ...


@dataclass
class Ledger:
    """Everything one test recorded, what it broke, and how far that has been shown."""

    recordings: list[Recording] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    # What run_context.audit checked (AuditSummary), for the session's totals.
    audits: list[Any] = field(default_factory=list)
    # Whether a run of this test watched what its resources released (the release check); the
    # live copies of such runs that may hold something unclosed, to finalize when the test ends
    # (Session.end_test); and whether a checked run's copies could not be seen (materialize).
    release_checked: bool = False
    release_checked_copies: list[weakref.ref[Any]] = field(default_factory=list)
    copies_unseen: bool = False
    # What the leak audit of this test's runs could not inspect (NotInspected), for its report.
    not_inspected: list[Any] = field(default_factory=list)
    # Initializations entered and not yet exited, oldest first.
    open_initializations: list[OpenInitialization] = field(default_factory=list)

    def recordings_of(self, run_id: str) -> list[Recording]:
        return [recording for recording in self.recordings if recording.run_id == run_id]

    def add(self, problems: Problems, run_id: str) -> None:
        """Enter what one initialization of run ``run_id`` broke, if anything."""
        if problems:
            self.entries.append(Entry(problems, run_id))

    def _entries_of(self, problems: Iterable[Problems]) -> Iterator[Entry]:
        shown = list(problems)
        return (entry for entry in self.entries if any(entry.problems is p for p in shown))

    def mark_raised(self, *raised: Problems) -> None:
        """Enter problems as raised in their own error (``Problems.error``)."""
        for entry in self._entries_of(raised):
            if entry.status is not Status.REPORTED:
                entry.status = Status.RAISED

    def noted(self, problems: Problems, error: BaseException) -> None:
        """Add ``problems`` as a note to ``error``, an error in flight: never the headline."""
        if not problems or not hasattr(error, "add_note"):
            return
        error.add_note(problems.report())
        for entry in self._entries_of([problems]):
            entry.carrier = error

    def unreported(self, run_id: str | None = None) -> list[Problems]:
        """What the test's report has not shown yet (of one run, with ``run_id``)."""
        return [
            entry.problems
            for entry in self.entries
            if entry.status is not Status.REPORTED and run_id in (None, entry.run_id)
        ]

    def mark_shown_by(self, error: BaseException) -> None:
        """Mark reported what ``error``, failing the test, already shows."""
        for entry in self.entries:
            if entry.status is not Status.REPORTED and entry.shown_by(error):
                entry.status = Status.REPORTED

    def mark_reported(self, problems: Iterable[Problems]) -> None:
        for entry in self._entries_of(problems):
            entry.status = Status.REPORTED

    def close_forgotten(self) -> None:
        """Exit, newest first, what the test entered and never exited: teardown always runs,
        and the test fails for it."""
        while self.open_initializations:
            opened = self.open_initializations[-1]
            opened.forget()
            with contextlib.suppress(Exception):
                opened.__exit__(None, None, None)
            if opened in self.open_initializations:  # its exit failed before it could finish
                self.open_initializations.remove(opened)

    def watch_finalization(self, live_copies: Iterable[Any]) -> None:
        for live_copy in live_copies:
            with contextlib.suppress(TypeError):  # a value that takes no weak reference
                self.release_checked_copies.append(weakref.ref(live_copy))

    def release(self) -> None:
        """Drop the test's records and live values when it ends (see Recording.release)."""
        for recording in self.recordings:
            recording.release()
        self.recordings.clear()
        self.entries.clear()
        self.not_inspected.clear()
        self.open_initializations.clear()
