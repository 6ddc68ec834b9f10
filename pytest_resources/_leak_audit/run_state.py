"""Run state that outlives its run (``RunStateWatch``): what the user's instance, the class
and shared defaults still reach after teardown."""

from __future__ import annotations

import functools
import types
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from pydantic import BaseModel

import pytest_resources._leak_audit.values as values
from pytest_resources._leak_audit.config import ResolvedConfig
from pytest_resources._leak_audit.process_state import (
    grown_since_previous_run,
    line_growing,
    process_state,
)
from pytest_resources._leak_audit.report import GREW, OUTLIVED, Leak, redact
from pytest_resources._leak_audit.search import NeedleIndex, structure_hits


class RunStateWatch:
    """Tells run state that outlives its run: started before the run, fed after setup, asked
    after teardown.

    Run state is what exists only because the run's hooks ran: a private value of the live copy
    that is not config, or a class attribute bound or filled during the run. After teardown none
    of it may stay reachable from the user's instance, from what the class's default factories
    hand every new instance (a shared mutable default), or from the class itself
    (``vars(cls)``); functions and methods are code, not state, and are ignored. Defaults are
    read, never built: a factory is not called (it may open something); the objects it returns
    are found in its closure and the globals it names.
    """

    def __init__(
        self,
        user_instance: BaseModel,
        config: ResolvedConfig,
        shared: frozenset[str] = frozenset(),
        run_id: str = "",
    ) -> None:
        self._user_instance = user_instance
        self._run = f"run {run_id[:8]}" if run_id else "the run"
        self._shared = shared
        self._config = config
        self._classes = values.user_classes(type(user_instance))
        self._class_state_before = {cls: _class_state(cls) for cls in self._classes}
        roots: list[object] = [user_instance, *_shared_defaults(type(user_instance)).values()]
        roots.extend(v for state in self._class_state_before.values() for v, _ in state.values())
        self._existing = _reachable_ids(roots)
        self._run_state: list[values.Needle] = []
        self._process_before = process_state(self._modules_classes())

    def _modules_classes(self) -> list[type]:
        nested = [type(model) for _, model in values.nested_models(self._user_instance)]
        return [*self._classes, *(k for cls in nested for k in values.user_classes(cls))]

    def after_setup(self, live_copy: BaseModel) -> None:
        """Learn the run's state from the live copy, while it holds it."""
        needles, _names, _skipped = values.private_needles(live_copy)
        # What a private attribute declared shared across runs reaches is the process's, not
        # the run's (a pool's connections).
        shared = [value for name, value in values.private_state(live_copy) if name in self._shared]
        self._existing |= _reachable_ids(shared)
        self._run_state.extend(needle for needle in needles if self._is_run_state(needle.value))

    def _is_run_state(self, value: object) -> bool:
        return id(value) not in self._existing and not self._config.covers(value)

    def after_teardown(self, key: str | None) -> list[Leak]:
        """Run state still reachable after teardown, one leak per place."""
        # A container teardown emptied in place (a pool's list of connections, cleared) is
        # found only as itself: equal to every other empty one, it says nothing by equality.
        needles = NeedleIndex(
            (needle for needle in self._run_state if values.is_significant(needle.value)),
            identity_only=[n for n in self._run_state if not values.is_significant(n.value)],
        )
        places: list[tuple[str, object]] = [("user's instance", self._user_instance)]
        places.extend(_shared_defaults(type(self._user_instance)).items())
        leaks: list[Leak] = []
        for cls in self._classes:
            state = _class_state(cls)
            places.append((f"vars({cls.__qualname__})", {n: v for n, (v, _) in state.items()}))
            leaks.extend(self._class_changes(key, cls, state))
        if needles.needles:
            for where, root in places:
                leaks.extend(
                    self._leak(key, hit.needle.attribute, hit.needle.value, hit.path)
                    for hit in structure_hits(where, root, needles, {}, include_private=True)
                )
        leaks.extend(self._grown(key))
        # One leak per place: a class attribute found both as changed and by its value once.
        # Inside a place already reported (a client's token inside the client): nothing new.
        by_place: dict[str, Leak] = {}
        for leak in leaks:
            by_place.setdefault(leak.path, leak)
        return [
            leak
            for path, leak in by_place.items()
            if not any(path.startswith((f"{other}.", f"{other}[")) for other in by_place)
        ]

    def _class_changes(
        self, key: str | None, cls: type, state: dict[str, tuple[object, object]]
    ) -> Iterator[Leak]:
        """Class attributes bound, rebound or filled during the run with run state."""
        before = self._class_state_before.get(cls, {})
        for name, (value, _copy) in state.items():
            previous = before.get(name)
            changes: Iterable[tuple[str, object]] = (
                [("", value)]
                if previous is None or previous[0] is not value
                else _new_items(previous[1], value)
            )
            for item_path, item in changes:
                # Values only (a token, an id): an object the run put on the class (a lazily
                # made lock) is reported only when the live copy held it too, found by identity.
                for leaf_path, leaf in _scalar_leaves(item, item_path, 0):
                    if values.is_significant(leaf) and self._is_run_state(leaf):
                        path = f"vars({cls.__qualname__})[{name!r}]{leaf_path}"
                        yield self._leak(key, f"{cls.__qualname__}.{name}", leaf, path)

    def _grown(self, key: str | None) -> Iterator[Leak]:
        """What this run's setup added to outside the class, past the previous run's size.
        Asked of a top-level resource only, for its nested resources' modules too: a logger is
        the whole process's, and one growth is one finding."""
        if key is not None and "." in key:
            return
        classes = self._modules_classes()
        resource_class = type(self._user_instance)
        identity = (resource_class.__module__, resource_class.__qualname__, self._config.identity())
        after = process_state(classes)
        for what, previous, size in grown_since_previous_run(
            identity, self._run, self._process_before, after, self._is_run_state
        ):
            line = line_growing(classes, what)
            yield Leak(
                resource_key=key,
                resource_class=resource_class.__qualname__,
                audited=OUTLIVED,
                private_attribute=what,
                matched=GREW,
                form=OUTLIVED,
                path=f"{what}: {previous}, {size} after {self._run}"
                + (f", added to at {line}" if line else ""),
                when=f"after teardown of {self._run}",
                redacted_value=f"{size} items",
            )

    def _leak(self, key: str | None, attribute: str, value: object, path: str) -> Leak:
        return Leak(
            stored_at=values.storing_line(type(self._user_instance), attribute),
            resource_key=key,
            resource_class=type(self._user_instance).__qualname__,
            audited=OUTLIVED,
            private_attribute=attribute,
            matched="value",
            form=OUTLIVED,
            path=path,
            when=f"after teardown of {self._run}",
            redacted_value=redact(value),
        )


def shared_across_runs(cls: type) -> frozenset[str]:
    """The private attributes ``cls`` declares shared across runs on purpose, such as a pool
    every run borrows from: ``__shared_across_runs__ = ("_pool",)``. A name that is not one of
    its private attributes (a typo) is a ``TypeError``."""
    __tracebackhide__ = True
    declared = getattr(cls, "__shared_across_runs__", ())
    names = (declared,) if isinstance(declared, str) else declared
    private = sorted(
        name for name in getattr(cls, "__private_attributes__", {}) if not values.is_internal(name)
    )
    unknown = (
        [repr(name) for name in names if name not in private]
        if isinstance(names, list | tuple | set | frozenset)
        else [repr(names)]
    )
    if unknown:
        raise TypeError(
            f"{cls.__qualname__}.__shared_across_runs__ names {', '.join(unknown)}, not a private "
            f"attribute of {cls.__qualname__}; give a tuple of its private attributes: "
            f"{', '.join(private) or 'it has none'}."
        )
    return frozenset(names)


def _class_state(cls: type) -> dict[str, tuple[object, object]]:
    """A class's data attributes, each with a shallow copy of its content when a container."""
    state: dict[str, tuple[object, object]] = {}
    for name, value in list(vars(cls).items()):
        if name.startswith("__") or values.is_internal(name) or callable(value):
            continue
        if isinstance(value, staticmethod | classmethod | property | functools.cached_property):
            continue
        copy: object = None
        if isinstance(value, Mapping):
            copy = dict(value)
        elif isinstance(value, list | tuple | set | frozenset):
            copy = list(value)
        state[name] = (value, copy)
    return state


def _new_items(before: object, after: object) -> Iterator[tuple[str, object]]:
    """Items added to (or replaced in) a class-level container since ``before`` was copied."""
    if isinstance(before, dict) and isinstance(after, Mapping):
        for item_key, item in list(after.items()):
            if item_key not in before or before[item_key] is not item:
                yield f"[{values.safe_repr(item_key)}]", item
    elif isinstance(before, list) and isinstance(after, list | tuple | set | frozenset):
        existing = {id(item) for item in before}
        for position, item in enumerate(list(after)):
            if id(item) not in existing:
                yield f"[{position}]", item


def _scalar_leaves(value: object, path: str, depth: int) -> Iterator[tuple[str, object]]:
    if values.is_hashable_scalar(value):
        yield path, value
    elif depth < values.MAX_OBJECT_DEPTH and isinstance(
        value, Mapping | list | tuple | set | frozenset
    ):
        items = list(value.items()) if isinstance(value, Mapping) else enumerate(list(value))
        for step, item in items:
            shown = values.safe_repr(step) if isinstance(value, Mapping) else step
            yield from _scalar_leaves(item, f"{path}[{shown}]", depth + 1)


def _shared_defaults(cls: type) -> dict[str, object]:
    """What the default factories of ``cls``'s fields and private attributes can hand every new
    instance, found without calling them: their closure cells and the globals their code names.
    (A plain default is copied into each instance by pydantic, so it is never shared.)"""
    defaults: dict[str, object] = {}
    declared: dict[str, Any] = {
        **getattr(cls, "model_fields", {}),
        **getattr(cls, "__private_attributes__", {}),
    }
    for name, declaration in declared.items():
        factory = getattr(declaration, "default_factory", None)
        code = getattr(factory, "__code__", None)
        if not isinstance(code, types.CodeType) or values.is_internal(name):
            continue
        referenced = [cell.cell_contents for cell in getattr(factory, "__closure__", None) or ()]
        global_names = getattr(factory, "__globals__", {})
        referenced.extend(global_names[n] for n in code.co_names if n in global_names)
        shared = [value for value in referenced if not isinstance(value, values.CODE_AND_TYPES)]
        label = f"the default of {cls.__qualname__}.{name}"
        for position, value in enumerate(shared):
            defaults[label if len(shared) == 1 else f"{label} ({position + 1})"] = value
    return defaults


def _reachable_ids(roots: Iterable[object]) -> set[int]:
    """Ids of what ``roots`` reach (models' private state and objects' state included), bounded."""
    seen: set[int] = set()
    pending: list[tuple[object, int]] = [(root, 0) for root in roots]
    while pending and len(seen) < values.MAX_WALKED_NODES:
        node, depth = pending.pop()
        if id(node) in seen or depth > values.MAX_DEPTH:
            continue
        seen.add(id(node))
        children: Iterable[object] = ()
        if isinstance(node, BaseModel):
            children = [
                value for _, value in (*values.public_fields(node), *values.private_state(node))
            ]
        elif isinstance(node, Mapping):
            children = [*node.keys(), *node.values()]
        elif isinstance(node, list | tuple | set | frozenset):
            children = node
        elif (
            depth < values.MAX_OBJECT_DEPTH
            and not values.is_hashable_scalar(node)
            and node is not None
        ):
            children = values.pickled_attributes(node).values()
        pending.extend((child, depth + 1) for child in children)
    return seen
