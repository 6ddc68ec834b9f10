"""What a resource holds: its private values as needles to look for, its public fields and nested
resources, the thresholds that make a value significant, and the line of the user's class that
stored a value."""

from __future__ import annotations

import enum
import functools
import linecache
import math
import os
import re
import types
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from dagster import EnvVar
from pydantic import BaseModel

from pytest_resources._dagster import IntEnvVar

# Values below these sizes are too common to tell private state from a coincidence: a private
# "ready" or 8080 equal to some config value says nothing. Real secrets, ids and URLs are longer.
MIN_TEXT_LENGTH = 6
MIN_NUMBER_MAGNITUDE = 10_000
# An object's str()/repr() is matched in text forms only when this long: short forms are mostly a
# type name ("Client()"); long ones usually carry a memory address or specific contents.
MIN_OBJECT_TEXT_LENGTH = 16
# Bounds that keep the audit fast on resources holding big caches or deep structures; objects
# (a client, an auth helper) are looked inside a few levels deep, as pickle would.
MAX_DEPTH = 32
MAX_OBJECT_DEPTH = 4
MAX_WALKED_NODES = 20_000
_MAX_NEEDLES_PER_ATTRIBUTE = 1000
MAX_NESTED_RESOURCE_DEPTH = 5
_LIBRARY_PACKAGES = frozenset({"dagster", "pydantic", "builtins", "typing", "abc"})
CODE_AND_TYPES = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    functools.partial,
)


@dataclass(frozen=True)
class Needle:
    """A value to look for, with the attribute (or config field) it belongs to and how it is
    spelled in text. A private name looked for as a key is a needle without texts."""

    attribute: str
    value: object
    texts: tuple[str, ...] = ()
    detail: str = ""


def require_model(obj: object, caller: str) -> BaseModel:
    if not isinstance(obj, BaseModel):
        raise TypeError(
            f"{caller}() audits pydantic models (a Dagster ConfigurableResource, an IO manager "
            f"class, a Config); got {type(obj).__module__}.{type(obj).__qualname__}. A resource "
            "whose create_resource() returns another object keeps its private state on the "
            "resource itself: audit the resource."
        )
    return obj


def is_internal(name: str) -> bool:
    """Dagster's own bookkeeping (``_state__internal__``...) is not the user's private state."""
    return name.endswith("__internal__")


def is_env_var(value: object) -> TypeGuard[Any]:
    return isinstance(value, EnvVar | IntEnvVar)


def is_hashable_scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bytes | enum.Enum) and not isinstance(value, bool)


def private_state(model: BaseModel) -> Iterator[tuple[str, object]]:
    private_values = model.__pydantic_private__ or {}
    for name in type(model).__private_attributes__:
        if not is_internal(name) and name in private_values:
            yield name, private_values[name]


def public_fields(model: BaseModel) -> Iterator[tuple[str, object]]:
    for name in type(model).model_fields:
        if name in model.__dict__:
            yield name, model.__dict__[name]


def nested_models(model: BaseModel) -> Iterator[tuple[str, BaseModel]]:
    """Models held in public fields (nested resources), directly or as items of a container."""
    for name, value in public_fields(model):
        if isinstance(value, BaseModel):
            yield name, value
        elif isinstance(value, list | tuple | Mapping):
            items = value.items() if isinstance(value, Mapping) else enumerate(value)
            for item_key, item in items:
                if isinstance(item, BaseModel):
                    yield f"{name}[{item_key!r}]", item


def private_needles(
    model: BaseModel,
) -> tuple[list[Needle], dict[str, Needle], list[tuple[str, str]]]:
    """The private values of ``model`` and of the resources nested in it, their names (as
    needles without texts), and the attributes whose values could not be read (with why)."""
    needles: list[Needle] = []
    names: dict[str, Needle] = {}
    skipped: list[tuple[str, str]] = []
    pending: list[tuple[str, BaseModel, int]] = [("", model, 0)]
    visited: set[int] = set()
    while pending:
        prefix, current, depth = pending.pop(0)
        if id(current) in visited or depth > MAX_NESTED_RESOURCE_DEPTH:
            continue
        visited.add(id(current))
        for name, value in private_state(current):
            names.setdefault(name, Needle(f"{prefix}{name}", value))
            try:
                needles.extend(needles_for(f"{prefix}{name}", "", value))
            except Exception as error:
                # A value that fights inspection (a dead weakref.proxy, a proxy whose every
                # attribute raises, a dict another thread resizes) is the user's business, not a
                # failure of their resource: skip it and say so.
                skipped.append((f"{prefix}{name}", describe_error(error)))
        pending.extend(
            (f"{prefix}{path}.", nested, depth + 1) for path, nested in nested_models(current)
        )
    return needles, names, skipped


def describe_error(error: BaseException) -> str:
    """``ReferenceError: weakly-referenced object no longer exists``, shortened; never raises."""
    try:
        message = str(error)
    except Exception:
        message = ""
    message = message.splitlines()[0][:120] if message else ""
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def needles_for(attribute: str, detail: str, value: object) -> list[Needle]:
    """``value`` and, for a container, its significant items, each labelled by where it sits.

    An object's own attributes are not looked for separately: a thread's name or a client's
    default headers would be found by coincidence. The object itself is, by identity, by
    equality and by its text.
    """
    found: list[Needle] = []
    visited: set[int] = set()

    def visit(label: str, item: object, depth: int) -> None:
        if len(found) >= _MAX_NEEDLES_PER_ATTRIBUTE or depth > MAX_DEPTH:
            return
        if not is_significant(item) or id(item) in visited:
            return
        visited.add(id(item))
        found.append(Needle(label, item, _texts_of(item), detail))
        if issubclass(type(item), Mapping):
            for item_key, child in _snapshot_items(item):
                visit(f"{label}[{safe_repr(item_key)}]", child, depth + 1)
        elif issubclass(type(item), list | tuple):
            for position, child in enumerate(tuple(item)):  # type: ignore[arg-type]
                visit(f"{label}[{position}]", child, depth + 1)

    visit(attribute, value, 0)
    return found


def is_significant(value: object, seen: set[int] | None = None, depth: int = 0) -> bool:
    """Whether ``value`` is specific enough that finding it elsewhere is no coincidence."""
    # type(), never isinstance(): isinstance asks the object for its __class__, which a lazy
    # proxy or a dead weakref.proxy answers with an exception.
    kind = type(value)
    if value is None or issubclass(kind, (bool, BaseModel, *CODE_AND_TYPES)):
        # A model's content is its own public config (a private reference to a nested resource);
        # classes, modules and functions are code, not state.
        return False
    if issubclass(kind, enum.Enum):
        return is_significant(value.value, seen, depth)  # type: ignore[attr-defined]
    if issubclass(kind, int | float):
        return math.isfinite(value) and abs(value) >= MIN_NUMBER_MAGNITUDE  # type: ignore[arg-type]
    if issubclass(kind, str | bytes):
        return len(value.strip()) >= MIN_TEXT_LENGTH  # type: ignore[attr-defined]
    if not issubclass(kind, Mapping | list | tuple | set | frozenset):
        return True
    seen = set() if seen is None else seen
    if id(value) in seen or depth >= MAX_DEPTH:
        # A container met again (one that holds itself) or too deep to tell adds nothing new.
        return False
    seen.add(id(value))
    # tuple() of a built-in container runs no Python code: a thread changing it cannot break this.
    items = (
        [item for _, item in _snapshot_items(value)]
        if issubclass(kind, Mapping)
        else tuple(set.copy(value) if issubclass(kind, set) else value)  # type: ignore[arg-type]
    )
    return any(is_significant(item, seen, depth + 1) for item in items)


def _snapshot_items(mapping: Any) -> tuple[tuple[object, object], ...]:
    """A mapping's items at one moment: ``dict.copy`` of a dict copies its table at once, where
    iterating it lets another thread resize it meanwhile (Python 3.10 switches there)."""
    if issubclass(type(mapping), dict):
        return tuple(dict.items(dict.copy(mapping)))
    return tuple(mapping.items())


def _texts_of(value: object) -> tuple[str, ...]:
    """How ``value`` would be spelled inside ``repr()`` or ``str()`` text."""
    if isinstance(value, enum.Enum):
        return _texts_of(value.value)
    if isinstance(value, str):
        plain = str.__str__(value)
        escaped = repr(plain)[1:-1]
        return (plain,) if escaped == plain else (plain, escaped)
    if isinstance(value, bytes):
        return (repr(value)[2:-1],)
    if isinstance(value, int | float):
        return (repr(value),) if type(value) in (int, float) else ()
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        return ()  # containers are found through their items
    texts = []
    for spell in (str, repr):
        try:
            text = spell(value)
        except Exception:
            continue
        if len(text) >= MIN_OBJECT_TEXT_LENGTH:
            texts.append(text)
    return tuple(dict.fromkeys(texts))


def safe_repr(value: object) -> str:
    try:
        return repr(value)
    except Exception:
        return f"<{type(value).__qualname__}>"


def safe_equal(left: object, right: object) -> bool:
    try:
        return bool(left == right)
    except Exception:
        return False


def pickled_attributes(obj: object) -> dict[str, object]:
    """An arbitrary object's state as pickle sees it: ``__getstate__``, else ``__dict__`` and
    ``__slots__``. Empty for what has none, or whose state cannot be read without risk."""
    if isinstance(obj, type | types.ModuleType | types.FunctionType | types.BuiltinFunctionType):
        return {}
    state: object = None
    getstate = getattr(type(obj), "__getstate__", None)
    if getstate is not None and getstate is not getattr(object, "__getstate__", None):
        try:
            state = getstate(obj)
        except Exception:
            return {}
    else:
        state = getattr(obj, "__dict__", None)
        slots = {
            name: getattr(obj, name)
            for klass in type(obj).__mro__
            for name in _slot_names(klass)
            if name not in ("__dict__", "__weakref__") and hasattr(obj, name)
        }
        if slots:
            state = {**(state if isinstance(state, Mapping) else {}), **slots}
    if isinstance(state, tuple) and len(state) == 2:  # (dict, slots) from object.__getstate__
        state = {**(state[0] or {}), **(state[1] or {})}
    if isinstance(state, Mapping):
        return {str(name): value for name, value in state.items() if not is_internal(str(name))}
    return {} if state is None else {"__getstate__()": state}


def _slot_names(klass: type) -> tuple[str, ...]:
    slots = vars(klass).get("__slots__", ())
    return (slots,) if isinstance(slots, str) else tuple(slots)


def user_classes(cls: type) -> list[type]:
    """The user's classes in ``cls``'s MRO: not Dagster's, pydantic's or the standard library's."""
    return [k for k in cls.__mro__ if k.__module__.split(".", 1)[0] not in _LIBRARY_PACKAGES]


def storing_line(resource_class: type, attribute: str, fields: Iterable[str] = ()) -> str | None:
    """The line of the user's class that stored ``attribute``'s value where it was found: one
    that names both it and a field it landed in (``self.headers[...] = self._token``), else the
    one that assigns it (``self._session = ...``, ``self._session['token'] = ...``), if the
    class's source shows one."""
    name = re.split(r"[\[(]", attribute, maxsplit=1)[0].rsplit(".", 1)[-1]
    if not name.isidentifier():
        return None
    lines = [line for klass in user_classes(resource_class) for line in source_lines(klass)]
    mentions = [re.compile(rf"""(?:\.|['"]){re.escape(field)}\b""") for field in fields]
    quoted = rf"""['"]{re.escape(name)}['"]"""
    assigns = re.compile(
        rf"\.{re.escape(name)}\s*(?:\[[^\]]*\]\s*)*=(?!=)|setattr\([^,]+,\s*{quoted}\s*,"
    )
    for found in (
        lambda line: (
            re.search(rf"\b{re.escape(name)}\b", line)
            and any(mention.search(line) for mention in mentions)
        ),
        assigns.search,
    ):
        for filename, lineno, line in lines:
            if found(line):
                return source_location(filename, lineno)
    return None


def source_location(filename: str, lineno: int) -> str:
    try:
        shown = os.path.relpath(filename)
    except ValueError:  # another drive on Windows
        shown = filename
    return f"{filename if shown.startswith('..') else shown}:{lineno}"


def source_lines(klass: type) -> Iterator[tuple[str, int, str]]:
    """The source lines of ``klass``'s own functions (hooks and helpers), read from the lines
    their code objects span: cheap, unlike finding a class's source, which parses its module."""
    for member in vars(klass).values():
        function = getattr(member, "__func__", getattr(member, "fget", member))
        # A decorated hook (@contextmanager) keeps the user's function as __wrapped__.
        for _ in range(MAX_NESTED_RESOURCE_DEPTH):
            function = getattr(function, "__wrapped__", function)
        code = getattr(function, "__code__", None)
        if not isinstance(code, types.CodeType):
            continue
        lines = linecache.getlines(code.co_filename)
        numbers = [line for _start, _end, line in code.co_lines() if line is not None]
        last = min(max(numbers, default=code.co_firstlineno), len(lines))
        for number in range(code.co_firstlineno, last + 1):
            yield code.co_filename, number, lines[number - 1]
