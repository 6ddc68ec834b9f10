"""What a resource holds: its private values as needles to look for, its public fields and
nested resources, and the thresholds that make a value significant."""

from __future__ import annotations

import enum
import functools
import math
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

# Values below these sizes are too common to tell private state from a coincidence: a private
# "ready" or 8080 equal to some config value says nothing. Real secrets, ids and URLs are longer.
MIN_TEXT_LENGTH = 6
MIN_NUMBER_MAGNITUDE = 10_000
# An object's str()/repr() is matched in text forms only when this long: short forms are mostly a
# type name ("Client()"); long ones usually carry a memory address or specific contents.
MIN_OBJECT_TEXT_LENGTH = 16

# Bounds that keep the audit fast on resources holding big caches or deep structures.
_MAX_DEPTH = 32
_MAX_NEEDLES_PER_ATTRIBUTE = 1000
_MAX_NESTED_RESOURCE_DEPTH = 5
_MAX_WALKED_NODES = 20_000
# How deep the audit looks inside arbitrary objects (a client, an auth helper), as pickle would.
_MAX_OBJECT_DEPTH = 4


@dataclass(frozen=True)
class _Needle:
    """A value to look for, with the attribute (or config field) it belongs to."""

    attribute: str
    value: object
    texts: tuple[str, ...]
    detail: str = ""


@dataclass(frozen=True)
class _PrivateName:
    attribute: str
    value: object


def _require_model(obj: object, caller: str) -> BaseModel:
    if not isinstance(obj, BaseModel):
        raise TypeError(
            f"{caller}() audits pydantic models (a Dagster ConfigurableResource, an IO manager "
            f"class, a Config); got {type(obj).__module__}.{type(obj).__qualname__}. A resource "
            "whose create_resource() returns another object keeps its private state on the "
            "resource itself: audit the resource."
        )
    return obj


def _is_internal(name: str) -> bool:
    """Dagster's own bookkeeping (``_state__internal__``...) is not the user's private state."""
    return name.endswith("__internal__")


def _private_state(model: BaseModel) -> Iterator[tuple[str, object]]:
    private_values = model.__pydantic_private__ or {}
    for name in type(model).__private_attributes__:
        if not _is_internal(name) and name in private_values:
            yield name, private_values[name]


def _public_fields(model: BaseModel) -> Iterator[tuple[str, object]]:
    for name in type(model).model_fields:
        if name in model.__dict__:
            yield name, model.__dict__[name]


def _nested_models(model: BaseModel) -> Iterator[tuple[str, BaseModel]]:
    """Models held in public fields (nested resources), directly or as items of a container."""
    for name, value in _public_fields(model):
        if isinstance(value, BaseModel):
            yield name, value
        elif isinstance(value, list | tuple):
            for position, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield f"{name}[{position}]", item
        elif isinstance(value, Mapping):
            for item_key, item in value.items():
                if isinstance(item, BaseModel):
                    yield f"{name}[{item_key!r}]", item


def _private_needles_and_names(
    model: BaseModel,
) -> tuple[list[_Needle], dict[str, _PrivateName], list[tuple[str, str]]]:
    """The private values of ``model`` and of the resources nested in it, their names, and the
    attributes whose values could not be inspected (each with why)."""
    needles: list[_Needle] = []
    names: dict[str, _PrivateName] = {}
    skipped: list[tuple[str, str]] = []
    pending: list[tuple[str, BaseModel, int]] = [("", model, 0)]
    visited: set[int] = set()
    while pending:
        prefix, current, depth = pending.pop(0)
        if id(current) in visited or depth > _MAX_NESTED_RESOURCE_DEPTH:
            continue
        visited.add(id(current))
        for name, value in _private_state(current):
            attribute = f"{prefix}{name}"
            names.setdefault(name, _PrivateName(attribute, value))
            try:
                needles.extend(_needles_for(attribute, "", value))
            except Exception as error:
                # A value that fights inspection (a dead weakref.proxy, a proxy whose every
                # attribute raises, a dict another thread resizes) is the user's business, not a
                # failure of their resource: skip it and say so.
                skipped.append((attribute, describe_error(error)))
        pending.extend(
            (f"{prefix}{field_path}.", nested, depth + 1)
            for field_path, nested in _nested_models(current)
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


def _needles_for(attribute: str, detail: str, value: object) -> list[_Needle]:
    """``value`` and, for a container, its significant items, each labelled by where it sits.

    An object's own attributes are not looked for separately: a thread's name or a client's
    default headers would be found by coincidence. The object itself is, by identity, by
    equality and by its text.
    """
    found: list[_Needle] = []
    visited: set[int] = set()

    def visit(label: str, item: object, depth: int) -> None:
        if len(found) >= _MAX_NEEDLES_PER_ATTRIBUTE or depth > _MAX_DEPTH:
            return
        if not _is_significant(item) or id(item) in visited:
            return
        visited.add(id(item))
        found.append(_Needle(label, item, _texts_of(item), detail))
        if issubclass(type(item), Mapping):
            for item_key, child in _snapshot_items(item):
                visit(f"{label}[{_safe_repr(item_key)}]", child, depth + 1)
        elif issubclass(type(item), list | tuple):
            for position, child in enumerate(_snapshot(item)):
                visit(f"{label}[{position}]", child, depth + 1)

    visit(attribute, value, 0)
    return found


def _is_significant(value: object) -> bool:
    """Whether ``value`` is specific enough that finding it elsewhere is no coincidence."""
    return _significant(value, set(), 0)


def _significant(value: object, seen: set[int], depth: int) -> bool:
    # type(), never isinstance(): isinstance asks the object for its __class__, which a lazy
    # proxy or a dead weakref.proxy answers with an exception.
    kind = type(value)
    if value is None or issubclass(kind, (bool, BaseModel, *_CODE_AND_TYPES)):
        # A model's content is its own public config (a private reference to a nested resource);
        # classes, modules and functions are code, not state.
        return False
    if issubclass(kind, enum.Enum):
        return _significant(value.value, seen, depth)  # type: ignore[attr-defined]
    if issubclass(kind, int | float):
        return math.isfinite(value) and abs(value) >= MIN_NUMBER_MAGNITUDE  # type: ignore[arg-type]
    if issubclass(kind, str | bytes):
        return len(value.strip()) >= MIN_TEXT_LENGTH  # type: ignore[attr-defined]
    container = issubclass(kind, Mapping | list | tuple | set | frozenset)
    if not container:
        return True
    if id(value) in seen or depth >= _MAX_DEPTH:
        # A container met again (one that holds itself) or too deep to tell adds nothing new.
        return False
    seen.add(id(value))
    items = (
        [item for _, item in _snapshot_items(value)]
        if issubclass(kind, Mapping)
        else _snapshot(value)
    )
    return any(_significant(item, seen, depth + 1) for item in items)


def _snapshot(items: Any) -> tuple[object, ...]:
    """The items of a list, tuple or set at one moment: ``tuple()`` of a built-in container runs
    no Python code, so a thread that changes it meanwhile cannot break the walk."""
    return tuple(items)


def _snapshot_items(mapping: Any) -> tuple[tuple[object, object], ...]:
    """A mapping's items at one moment (see :func:`_snapshot`)."""
    return tuple(dict.items(mapping) if issubclass(type(mapping), dict) else mapping.items())


_CODE_AND_TYPES = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    functools.partial,
)


def _texts_of(value: object) -> tuple[str, ...]:
    """How ``value`` would be spelled inside ``repr()`` or ``str()`` text."""
    if isinstance(value, enum.Enum):
        return _texts_of(value.value)
    if isinstance(value, str):
        plain = str.__str__(value)
        escaped = repr(plain)[1:-1]
        return (plain,) if escaped == plain else (plain, escaped)
    if isinstance(value, bytes):
        escaped = repr(value)[2:-1]
        return (escaped,)
    if isinstance(value, int | float):
        return (repr(value),) if type(value) in (int, float) else ()
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        # Containers are found through their items.
        return ()
    texts = []
    for spell in (str, repr):
        try:
            text = spell(value)
        except Exception:
            continue
        if len(text) >= MIN_OBJECT_TEXT_LENGTH:
            texts.append(text)
    return tuple(dict.fromkeys(texts))


def _safe_repr(value: object) -> str:
    try:
        return repr(value)
    except Exception:
        return f"<{type(value).__qualname__}>"


def _is_hashable_scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bytes | enum.Enum) and not isinstance(value, bool)


def _safe_equal(left: object, right: object) -> bool:
    try:
        return bool(left == right)
    except Exception:
        return False


def _pickled_attributes(obj: object) -> dict[str, object]:
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
        return {str(name): value for name, value in state.items() if not _is_internal(str(name))}
    return {} if state is None else {"__getstate__()": state}


def _slot_names(klass: type) -> tuple[str, ...]:
    slots = vars(klass).get("__slots__", ())
    return (slots,) if isinstance(slots, str) else tuple(slots)


def _is_env_var(value: object) -> bool:
    from dagster._config.field_utils import EnvVar, IntEnvVar

    return isinstance(value, EnvVar | IntEnvVar)


def _env_var_value(env_var: Any) -> object:
    """The value an ``EnvVar`` resolves to in a run (its plaintext, never its name)."""
    return env_var.get_value()


def _env_var_name(env_var: Any) -> str:
    name: str = env_var.env_var_name
    return name
