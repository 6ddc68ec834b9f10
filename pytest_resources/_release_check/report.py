"""The failure message: what was left open, by which resource, and how to release it."""

from __future__ import annotations

from collections.abc import Sequence

from pytest_resources._release_check.leftovers import Leftover

_HINTS: dict[str, str] = {
    "file": "close files in teardown_after_execution, or in the finally block of "
    "yield_for_execution (a `with` around the yield does both)",
    "socket": "close sockets and clients (client.close(), session.close()) in "
    "teardown_after_execution, or in the finally block of yield_for_execution",
    "pipe": "close pipes in teardown; pipes of a subprocess close when you wait() for it",
    "other fd": "close what holds it (an event loop: loop.close(); a selector: .close()) in "
    "teardown",
    "thread": "signal threads to stop (an Event) and join() them in teardown_after_execution "
    "or the finally block of yield_for_execution",
    "process": "terminate or kill child processes and wait() for them in teardown; a process "
    "that exited but was never waited for stays a zombie",
    "warning": "the object was never closed: the garbage collector released it, at a moment "
    "nobody chose; close it explicitly in teardown",
}


def format_leftovers(found: Sequence[Leftover]) -> str:
    """What was left open, by which resource, and how to release it."""
    if not found:
        return "Teardown released everything setup acquired: nothing was left open."
    count = len(found)
    lines = [f"{count} thing{'s' if count != 1 else ''} left open after teardown:"]
    keys = list(dict.fromkeys(leftover.opened_by for leftover in found))
    keys.sort(key=lambda key: key is None)
    for key in keys:
        if key is None:
            lines.append(
                "  not opened by any resource's setup (opened while the resources were in use, "
                "in teardown, or by an unclosed object):"
            )
        else:
            lines.append(f"  opened by the setup of resource {key!r}:")
        for leftover in found:
            if leftover.opened_by == key:
                lines.append(f"    - {leftover.kind}: {leftover.description}")
    lines.append("How to release them:")
    for kind in dict.fromkeys(leftover.kind for leftover in found):
        lines.append(f"  - {kind}: {_HINTS[kind]}")
    return "\n".join(lines)
