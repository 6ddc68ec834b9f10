"""Detectors for defects no lifecycle rule can see, because Dagster never calls the code at fault.

- A misspelled lifecycle hook (``teardown_for_execution``): Dagster calls hooks by name, so a
  method whose name is one typo away from a hook is never called, and what it releases stays open.
- A live value that is a generator, a coroutine or an unentered context manager: ops get
  ``context.resources.x`` as it is, so a ``create_resource`` written with ``yield`` hands them a
  generator instead of a client, and a ``yield_for_execution`` that yields ``self.connect()``
  (a ``@contextmanager``) instead of entering it hands them a one-shot context manager.

Both run by default in the form that cannot flag correct code; ``strict=True`` widens them to
what is probably, not certainly, a defect (docs/defect-kinds.md says which is which and why).
The detectors are pure functions of a class or a value; :func:`find_defects` turns what they
find in one initialization into broken rules (9 and 10) for the run's report.
"""

from __future__ import annotations

import contextlib
import inspect
import types
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_resources._recording import (
    HOOKS,
    Event,
    Location,
    Recording,
)
from pytest_resources._rules import Rule, Violation

# Parameter names a hook's context goes by when it is not annotated.
_CONTEXT_NAMES = frozenset({"context", "ctx", "init_context", "_context", "_ctx", "_init_context"})


def edit_distance(first: str, second: str, limit: int) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) between two names; any distance
    above ``limit`` is returned as ``limit + 1``, which keeps the comparison cheap.

    Written here because the standard library counts no edits: ``difflib``'s similarity ratio
    depends on the names' lengths, so no threshold of it means "three typos"."""
    if abs(len(first) - len(second)) > limit:
        return limit + 1
    previous_previous: list[int] = []
    previous = list(range(len(second) + 1))
    for i, a in enumerate(first, start=1):
        current = [i] + [0] * len(second)
        for j, b in enumerate(second, start=1):
            current[j] = min(
                previous[j] + 1,
                current[j - 1] + 1,
                previous[j - 1] + (a != b),
            )
            if i > 1 and j > 1 and a == second[j - 2] and first[i - 2] == b:
                current[j] = min(current[j], previous_previous[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous_previous, previous = previous, current
    return min(previous[-1], limit + 1)


def allowed_distance(hook: str) -> int:
    """How far a name may be from ``hook`` and still be taken for it: 3 edits for the long
    ``*_execution`` hooks (``teardown_for_execution`` is 3 from ``teardown_after_execution``),
    2 for ``create_resource``; short helper names (``setup``, ``teardown``) are far beyond."""
    return 3 if len(hook) >= 19 else 2


@dataclass(frozen=True)
class MisspelledHook:
    """A method named almost like a lifecycle hook, which Dagster will never call."""

    resource_class: type[Any]
    name: str
    hook: str
    filename: str
    lineno: int

    def describe(self) -> str:
        where = Location(self.filename, self.lineno)
        return (
            f"{self.resource_class.__name__}.{self.name} (at {where}) is "
            f"named almost like the lifecycle hook {self.hook}, which Dagster calls by name: "
            f"Dagster never calls {self.name}."
        )

    def hint(self) -> str:
        return (
            f"rename it to {self.hook}; if it is a helper of your own, give it a name that is not "
            "one typo away from a hook (or a leading underscore)."
        )


def _is_dagsters(cls: type[Any]) -> bool:
    """Dagster's own classes and its integration libraries' (``dagster_aws``, ...)."""
    top = cls.__module__.split(".", 1)[0]
    return top == "dagster" or top.startswith("dagster_")


def _names_used(code: types.CodeType) -> Iterator[str]:
    """Every attribute and global name a function's code (and code nested in it) refers to."""
    yield from code.co_names
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from _names_used(constant)


def _function_of(attribute: Any) -> types.FunctionType | None:
    if isinstance(attribute, (staticmethod, classmethod)):
        attribute = attribute.__func__
    try:
        function = inspect.unwrap(attribute) if callable(attribute) else None
    except ValueError:  # a __wrapped__ chain that loops
        return None
    return function if isinstance(function, types.FunctionType) else None


def _takes_a_context(function: types.FunctionType) -> bool:
    """Whether the function takes exactly one argument after ``self``, and that argument is a
    resource context: annotated ``InitResourceContext``, or named like one and annotated with
    nothing more telling than ``Any``."""
    try:
        parameters = list(inspect.signature(function).parameters.values())[1:]
    except (TypeError, ValueError):
        return False
    required = [
        p
        for p in parameters
        if p.default is inspect.Parameter.empty
        and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if len(required) != 1 or len(parameters) != 1:
        return False
    (parameter,) = required
    annotation = parameter.annotation
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    if annotation is inspect.Parameter.empty or annotation is Any or text in ("Any", "object"):
        return parameter.name in _CONTEXT_NAMES
    return "InitResourceContext" in str(text)


# Per class and strictness: a class does not change between the opens of a session, and the
# search costs about a millisecond, as much as opening the resource. Each finding is kept without
# its class, so that the class stays collectable.
_found_per_class: weakref.WeakKeyDictionary[
    type[Any], dict[bool, list[tuple[str, str, str, int]]]
] = weakref.WeakKeyDictionary()


def misspelled_hooks(resource_class: type[Any], *, strict: bool = False) -> list[MisspelledHook]:
    """:func:`find_misspelled_hooks`, remembered per class."""
    per_strictness = _found_per_class.setdefault(resource_class, {})
    if strict not in per_strictness:
        per_strictness[strict] = [
            (found.name, found.hook, found.filename, found.lineno)
            for found in find_misspelled_hooks(resource_class, strict=strict)
        ]
    return [MisspelledHook(resource_class, *found) for found in per_strictness[strict]]


def find_misspelled_hooks(
    resource_class: type[Any], *, strict: bool = False
) -> list[MisspelledHook]:
    """Methods of ``resource_class`` (and its own bases) named within a typo or three of a
    lifecycle hook, that Dagster never calls.

    By default a name counts only when it is public, no Dagster class defines it, no method of
    the class refers to it (a helper the class calls is not a hook), and it takes just a resource
    context, as every hook does. ``strict=True`` drops the last three conditions.
    """
    dagster_names: set[str] = set()
    own_classes = []
    for cls in resource_class.__mro__:
        if _is_dagsters(cls) or cls.__module__.split(".", 1)[0] in ("pydantic", "builtins"):
            dagster_names.update(vars(cls))
        else:
            own_classes.append(cls)
    functions: dict[str, types.FunctionType] = {}
    for cls in reversed(own_classes):
        for name, attribute in vars(cls).items():
            function = _function_of(attribute)
            if function is not None:
                functions[name] = function
    used: set[str] = set()
    if not strict:
        for function in functions.values():
            used.update(_names_used(function.__code__))
    found = []
    for name, function in functions.items():
        if name in HOOKS or name.startswith("__"):
            continue
        if not strict and (
            name.startswith("_")
            or name in dagster_names
            or name in used
            or not _takes_a_context(function)
        ):
            continue
        distances = {hook: edit_distance(name, hook, allowed_distance(hook)) for hook in HOOKS}
        hook = min(distances, key=distances.__getitem__)
        if distances[hook] <= allowed_distance(hook):
            code = function.__code__
            found.append(
                MisspelledHook(resource_class, name, hook, code.co_filename, code.co_firstlineno)
            )
    return found


# --- the live value ---------------------------------------------------------------------------

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
                "enter it in yield_for_execution and yield what it gives: "
                "`with self.connect() as connection: yield connection`."
            )
        if self.what.startswith("a coroutine"):
            return (
                "Dagster does not await create_resource or get_object_to_set_on_execution_context:"
                " make it a plain def, or do the async work in an async yield_for_execution."
            )
        return (
            "get_object_to_set_on_execution_context returns what ops get and is not run as a "
            "generator, and what yield_for_execution yields is handed out as it is: return or "
            "yield the client itself; a generator is consumed once, by the first op that "
            "iterates it."
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
        and not any(_is_dagsters(cls) for cls in kind.__mro__)
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


# --- as broken rules, for a run's report ------------------------------------------------------


def find_defects(
    recording: Recording, unusable: Sequence[UnusableLiveValue] = (), *, strict: bool = False
) -> list[Violation]:
    """The misspelled hooks of every class a recording initialized (once per class), and the
    ``unusable`` values it handed out (:func:`unusable_live_values`), as broken rules."""
    found: list[Violation] = []
    seen: set[type[Any]] = set()

    def events_of(key: str) -> tuple[Event, ...]:
        return tuple(event for event in recording.events if event.key == key)

    for key, registered in recording.resources.items():
        cls = registered.resource_class
        if cls in seen:
            continue
        seen.add(cls)
        for hook in misspelled_hooks(cls, strict=strict):
            found.append(
                Violation(
                    Rule.MISSPELLED_HOOK,
                    key,
                    cls,
                    hook.describe(),
                    hook.hint(),
                    events_of(key),
                    recording.run_id,
                )
            )
    for value in unusable:
        handing_out = recording.resources.get(value.key)
        if handing_out is None:
            continue  # a plain value or function resource: not the resource's own doing
        found.append(
            Violation(
                Rule.LIVE_VALUE,
                value.key,
                handing_out.resource_class,
                value.describe(),
                value.hint(),
                events_of(value.key),
                recording.run_id,
            )
        )
    return found
