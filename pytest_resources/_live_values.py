"""Rule 10's detector: a live value that is a generator, a coroutine or an unentered context
manager. Ops get ``context.resources.x`` as it is, so a ``create_resource`` written with
``yield`` hands them a generator instead of a client, and a ``yield_for_execution`` that yields
``self.connect()`` (a ``@contextmanager``) instead of entering it hands them a one-shot context
manager. A pure function of a value, judged as soon as the run hands the values out;
:func:`pytest_resources._detectors.find_defects` makes a broken rule of what it finds.
"""

from __future__ import annotations

import contextlib
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pytest_resources._hooks import is_dagsters

# contextlib's context managers that are nothing until entered (ExitStack is usable as it is).
_CONTEXTLIB_ONE_SHOT: tuple[type[Any], ...] = (
    contextlib._GeneratorContextManager,
    contextlib._AsyncGeneratorContextManager,
    contextlib.closing,
    contextlib.nullcontext,
    contextlib.suppress,
    contextlib.redirect_stdout,
    contextlib.redirect_stderr,
    *((contextlib.aclosing,) if hasattr(contextlib, "aclosing") else ()),
    *((contextlib.chdir,) if hasattr(contextlib, "chdir") else ()),
)


@dataclass(frozen=True)
class UnusableLiveValue:
    """The value ops get for a resource key is a generator, coroutine or unentered context
    manager, not the client it was meant to be."""

    key: str
    what: str
    made_by: str | None

    def describe(self) -> str:
        made = f" made by {self.made_by}" if self.made_by else ""
        return (
            f"ops get context.resources.{self.key} as {self.what}{made}, not a usable object; "
            "Dagster hands it out as it is."
        )

    def hint(self) -> str:
        if self.what.startswith("an unentered"):
            return (
                "enter it in yield_for_execution (or a @dg.resource generator) and yield what "
                "it gives: `with self.connect() as connection: yield connection`."
            )
        if self.what.startswith("a coroutine"):
            return (
                "Dagster does not await create_resource, get_object_to_set_on_execution_context"
                " or a @dg.resource function: make it a plain def, or do the async work in an "
                "async yield_for_execution."
            )
        return (
            "get_object_to_set_on_execution_context returns what ops get and is not run as a "
            "generator, and what yield_for_execution (or a @dg.resource generator) yields is "
            "handed out as it is: return or yield the client itself; a generator is consumed "
            "once, by the first op that iterates it."
        )


def unusable_live_value(key: str, value: Any, *, strict: bool = False) -> UnusableLiveValue | None:
    """What is wrong with the value ops get for ``key``, or None.

    By default: generators, async generators, coroutines, and contextlib's context managers
    that do nothing until entered (``@contextmanager`` objects, ``closing``, ``nullcontext``...).
    ``strict=True`` also reports any other object with ``__enter__``/``__aenter__`` that is not a
    Dagster resource; a client that is its own context manager (``requests.Session``, a database
    connection) is usable as it is, which is why that is opt-in.
    """
    # By type(), never by isinstance(), which asks the value for its __class__.
    kind = type(value)
    if issubclass(kind, types.GeneratorType):
        return UnusableLiveValue(key, "a generator", value.__qualname__)
    if issubclass(kind, types.AsyncGeneratorType):
        return UnusableLiveValue(key, "an async generator", value.__qualname__)
    if issubclass(kind, types.CoroutineType):
        return UnusableLiveValue(key, "a coroutine (never awaited)", value.__qualname__)
    if issubclass(kind, _CONTEXTLIB_ONE_SHOT):
        # A @contextmanager object's generator names the function that made it.
        generator = getattr(value, "gen", None)
        return UnusableLiveValue(
            key,
            f"an unentered context manager ({kind.__name__})",
            getattr(generator, "__qualname__", None),
        )
    if (
        strict
        and (hasattr(kind, "__enter__") or hasattr(kind, "__aenter__"))
        and not any(is_dagsters(cls) for cls in kind.__mro__)
    ):
        return UnusableLiveValue(key, f"an unentered context manager ({kind.__qualname__})", None)
    return None


def unusable_live_values(
    handed_out: Mapping[str, Any], *, strict: bool = False
) -> list[UnusableLiveValue]:
    """:func:`unusable_live_value` for every key of a run."""
    return [
        found
        for key, value in handed_out.items()
        if (found := unusable_live_value(key, value, strict=strict)) is not None
    ]
