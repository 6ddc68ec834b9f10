"""The release check around one initialization or one in-process run, in the test process."""

from __future__ import annotations

import gc
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
    release_check_available,
    take_snapshot,
    unavailable_reason,
    wait_for_release,
)

# While a check lasts, every object that existed before it is frozen (gc.freeze): a garbage
# collection, the check's own once it finds a leftover or one Python starts, then frees only
# what the run created. An unclosed object dropped before the run is freed after the check, and
# its ResourceWarning is not blamed on the run; and the check's collection is cheap. Checks can
# nest: each freezes what exists when it starts, the last to finish unfreezes.
_checks_in_progress = 0


def _freeze_existing_objects() -> None:
    global _checks_in_progress
    gc.freeze()
    _checks_in_progress += 1


def _unfreeze_after_the_last_check() -> None:
    global _checks_in_progress
    _checks_in_progress -= 1
    if _checks_in_progress == 0:
        gc.unfreeze()


class ReleaseWatch:
    """What the process holds before a run opens its resources, to compare after teardown."""

    def __init__(self, allow: AllowList) -> None:
        self.allow = allow
        self.attributor = Attributor()
        self._warnings = collect_resource_warnings(collect_garbage=False)
        self._found_warnings = self._warnings.__enter__()
        self._before = take_snapshot()
        _freeze_existing_objects()

    @classmethod
    def start(cls, allow: AllowList) -> ReleaseWatch:
        """Start watching; where /proc is missing only threads can be compared, and a warning
        says so rather than letting the check pass silently."""
        if not release_check_available():
            warnings.warn(
                ReleaseCheckUnavailable(f"pytest-resources: {unavailable_reason()}"), stacklevel=3
            )
        return cls(allow)

    def finish(self, resource_classes: Mapping[str, type[Any]] | None = None) -> list[Leftover]:
        """What is left open; a warning raised in the setup code of one of ``resource_classes``
        (key to class) is put on that key."""
        try:
            left_open = self.attributor.attribute(wait_for_release(self._before, allow=self.allow))
            self._warnings.__exit__(None, None, None)
        finally:
            _unfreeze_after_the_last_check()
        return [*left_open, *attribute_warnings(self._found_warnings, resource_classes or {})]
