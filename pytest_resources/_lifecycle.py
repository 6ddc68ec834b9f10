"""What was recorded for one resource key or class, and the once-per-process assertion on it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pytest_resources._errors import LifecycleError, ResourceUsageError
from pytest_resources._hooks import Hook, defines, is_context_manager_resource
from pytest_resources._recording import Event, Recording

# The hooks assert_once_per_process counts, in the order it shows them.
_COUNTED = (Hook.SETUP, Hook.CREATE, Hook.YIELD_ENTER, Hook.YIELD_EXIT, Hook.TEARDOWN)


@dataclass(frozen=True)
class Lifecycle:
    """What was recorded for one resource key or class, in the order it happened."""

    events: tuple[Event, ...]

    def _count(self, hook: Hook) -> int:
        return sum(1 for event in self.events if event.hook == hook)

    @property
    def setup_calls(self) -> int:
        return self._count(Hook.SETUP)

    @property
    def teardown_calls(self) -> int:
        return self._count(Hook.TEARDOWN)

    @property
    def create_resource_calls(self) -> int:
        return self._count(Hook.CREATE)

    @property
    def yield_enters(self) -> int:
        return self._count(Hook.YIELD_ENTER)

    @property
    def yield_exits(self) -> int:
        return self._count(Hook.YIELD_EXIT)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(event.key for event in self.events))

    @property
    def hooks(self) -> tuple[str, ...]:
        """The hooks called, in order, e.g. ``("setup_for_execution", ...)``."""
        return tuple(event.hook for event in self.events)

    def __str__(self) -> str:
        return "\n".join(event.describe() for event in self.events) or "(no events)"

    def assert_once_per_process(self, processes: int | None = None) -> None:
        """Assert that each process of each run set the resource up once and, if Dagster tears
        it down, tore it down once; with ``processes``, that so many processes did.

        Once means each lifecycle step: setup, and for a context-manager resource teardown and
        yield_for_execution's enter and exit. An overridden yield_for_execution that calls no
        setup or teardown of its own is counted by its enter and exit alone."""
        __tracebackhide__ = True
        if not self.events:
            raise LifecycleError(
                "the resource was never set up in any process of the recorded runs."
            )
        groups: dict[tuple[str, str, int], list[Event]] = {}
        for event in self.events:
            groups.setdefault((event.run_id, event.key, event.pid), []).append(event)
        lines = []
        bad = False
        for (run_id, key, pid), events in groups.items():
            counts = Counter(event.hook for event in events)
            expected = _expected_once(events[0].resource_class, counts)
            wrong = [hook for hook in expected if counts[hook] != 1]
            bad = bad or bool(wrong)
            shown = ", ".join(
                f"{hook} {counts[hook]}" for hook in _COUNTED if counts[hook] or hook in expected
            )
            mark = "   <- expected once" if wrong else ""
            lines.append(f"  run {run_id[:8]} pid {pid} {key!r}: {shown}{mark}")
        pids = {pid for _, _, pid in groups}
        if processes is not None and len(pids) != processes:
            bad = True
            lines.append(f"  {len(pids)} processes initialized it; expected {processes}.")
        if bad:
            raise LifecycleError(
                "not set up and torn down exactly once per process:\n" + "\n".join(lines)
            )


def _expected_once(cls: Any, counts: Counter[Hook]) -> list[Hook]:
    """The hooks that must have run exactly once in one process of one run."""
    if not isinstance(cls, type) or not _is_context_manager(cls):
        return [Hook.SETUP]
    expected = [Hook.YIELD_ENTER, Hook.YIELD_EXIT] if counts[Hook.YIELD_ENTER] else []
    # Dagster's own yield_for_execution calls setup and teardown; an override calls those the
    # class defines (rules 1 and 2 say so when it does not).
    custom_yield = defines(cls, Hook.YIELD)
    if not custom_yield or defines(cls, Hook.SETUP):
        expected.append(Hook.SETUP)
    if not custom_yield or defines(cls, Hook.TEARDOWN):
        expected.append(Hook.TEARDOWN)
    return expected


def _is_context_manager(cls: type[Any]) -> bool:
    try:
        return is_context_manager_resource(cls)
    except Exception:  # a stand-in class for one the test process could not import
        return False


def lifecycle_of(recordings: Sequence[Recording], key_or_class: str | type[Any]) -> Lifecycle:
    """What ``recordings`` hold for a resource key or class; a clear error for one never opened."""
    if isinstance(key_or_class, str):
        known = {key for r in recordings for key in r.resources}

        def matches(event: Event) -> bool:
            return event.key == key_or_class
    else:
        known_classes = {res.resource_class for r in recordings for res in r.resources.values()}
        known = {key_or_class.__name__} if key_or_class in known_classes else set()

        def matches(event: Event) -> bool:
            return event.resource_class is key_or_class

    if not known or (isinstance(key_or_class, str) and key_or_class not in known):
        opened = sorted({key for r in recordings for key in r.resources})
        name = key_or_class if isinstance(key_or_class, str) else key_or_class.__name__
        raise ResourceUsageError(
            f"no resource {name!r} was opened in this test; opened: {', '.join(opened) or 'none'}."
        )
    return Lifecycle(tuple(e for r in recordings for e in r.events if matches(e)))
