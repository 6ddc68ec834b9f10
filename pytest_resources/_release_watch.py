"""The release check around one initialization or one in-process run, in the test process."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from pytest_resources._errors import ReleaseCheckUnavailable
from pytest_resources._release_check import (
    AllowList,
    Attributor,
    Leftover,
    attribute_warnings,
    collect_resource_warnings,
    holds_anything_new,
    release_check_available,
    settle,
    take_snapshot,
    unavailable_reason,
    warned_of,
)


class ReleaseWatch:
    """What the process holds before a run opens its resources, to compare after teardown."""

    def __init__(self, allow: AllowList) -> None:
        self.allow = allow
        self.attributor = Attributor()
        # An unclosed object dropped before the run can be freed, and warn, during the check
        # (its own garbage collection, once it finds a leftover): what it held was open in the
        # snapshot before the run, so its warning is not the run's. The interpreter's own state
        # (gc, warnings filters) is left as the user's code set it.
        self._warnings = collect_resource_warnings(
            collect_garbage=False, existed_before=lambda record: warned_of(record, self._before)
        )
        self._found_warnings = self._warnings.__enter__()
        self._before = take_snapshot()

    @classmethod
    def start(cls, allow: AllowList) -> ReleaseWatch:
        """Start watching; where descriptors cannot be listed (Linux without /proc, another
        system without psutil, Windows) a warning says what is compared instead, rather than
        letting the check pass silently."""
        if not release_check_available():
            warnings.warn(
                ReleaseCheckUnavailable(f"pytest-resources: {unavailable_reason()}"), stacklevel=3
            )
        return cls(allow)

    def finish(self, resource_classes: Mapping[str, type[Any]] | None = None) -> list[Leftover]:
        """What is left open; a warning raised in the setup code of one of ``resource_classes``
        (key to class) is put on that key."""
        found, after = settle(self._before, allow=self.allow)
        left_open = self.attributor.attribute(found)
        self._warnings.__exit__(None, None, None)
        # Whether the run's live copies may hold something whose finalization warns.
        self.holds_anything_new = holds_anything_new(self._before, after)
        return [*left_open, *attribute_warnings(self._found_warnings, resource_classes or {})]
