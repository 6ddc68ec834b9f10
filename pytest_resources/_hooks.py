"""The lifecycle hooks as Dagster calls them on a resource's copy: their names, the class that
defines one, the line of the user's code that led to a call and how an exception it raised is
shown; and Dagster's schema work, shared between the copies of one initialization.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import importlib.util
import os
import sys
import traceback
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any, Literal

import _pytest  # pytest and pluggy frames are never the user's code
import dagster
import pluggy
import pytest

from pytest_resources._dagster import ConfigurableResourceFactory
from pytest_resources._plain_data import NotPlainData, frozen, remember


class Hook(str, enum.Enum):
    """A lifecycle call: a hook Dagster calls on a resource's copy, as it is named there, and
    the two halves of the context manager ``yield_for_execution`` returns, as they are recorded.
    Equal to its name as a string, so ``event.hook == "setup_for_execution"`` holds."""

    SETUP = "setup_for_execution"
    TEARDOWN = "teardown_after_execution"
    CREATE = "create_resource"
    YIELD = "yield_for_execution"
    YIELD_ENTER = "yield_for_execution enter"
    YIELD_EXIT = "yield_for_execution exit"

    def __str__(self) -> str:  # the name, also in f-strings on every Python version
        return self.value


# The methods Dagster calls on a resource's copy, wrapped while a recording is active.
HOOKS = (Hook.SETUP, Hook.TEARDOWN, Hook.CREATE, Hook.YIELD)

Outcome = Literal["returned", "raised"]


def exception_message(exception: BaseException) -> str:
    """``str(exception)``, or a stand-in when its ``__str__`` raises: a report is always
    produced, whatever a user's exception does."""
    try:
        return str(exception)
    except Exception:
        return f"<unprintable {type(exception).__name__}>"


def describe_exception(exception: BaseException) -> str:
    """``Type: message``, as Python shows an exception."""
    message = exception_message(exception)
    return f"{type(exception).__name__}: {message}" if message else type(exception).__name__


@dataclass(frozen=True, slots=True)
class Location:
    """Where in the user's code a hook was called from."""

    filename: str
    lineno: int

    def __str__(self) -> str:
        try:
            shown = os.path.relpath(self.filename)
        except ValueError:  # another drive on Windows
            shown = self.filename
        if shown.startswith(".."):
            shown = self.filename
        return f"{shown}:{self.lineno}"


# --- where the user's code called from -------------------------------------------------------

_PACKAGE_DIRECTORY = os.path.dirname(__file__) + os.sep
# Where the plugin opens resources itself (a marker, a code location's item): no user line is
# on the stack then.
_OPENED_BY_THE_PLUGIN = tuple(
    os.path.join(_PACKAGE_DIRECTORY, name)
    for name in ("plugin.py", os.path.join("_definitions", "items.py"))
)

_SKIPPED_DIRECTORIES = tuple(
    os.path.dirname(module_file) + os.sep
    for module_file in (
        dagster.__file__,
        __file__,
        contextlib.__file__,  # the stdlib directory: contextlib, asyncio, threading
        _pytest.__file__,
        pytest.__file__,
        pluggy.__file__,
        # hypothesis calls the body of an audit or a @given test: the user's line is further up.
        getattr(importlib.util.find_spec("hypothesis"), "origin", None),
    )
    if module_file
)


# One Location per user line, shared by every event it leads to (a test records thousands).
_shared_location = functools.lru_cache(maxsize=256)(Location)


def caller_location(frame: FrameType | None) -> Location | None:
    """The innermost frame of user code that led to this hook call.

    None when the resources were opened by the plugin itself (a marker): then no user line is
    on the stack, and the recording's fallback location (the test) stands in.
    """
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(_PACKAGE_DIRECTORY):
            if filename in _OPENED_BY_THE_PLUGIN:
                return None
        elif not filename.startswith(_SKIPPED_DIRECTORIES) and not filename.startswith("<"):
            return _shared_location(filename, frame.f_lineno)
        frame = frame.f_back
    return None


def format_user_traceback(exception: BaseException) -> list[str]:
    """The exception with only the user's frames: Dagster's and ours say nothing to a user.

    Each sub-exception of an exception group is shown, indented under the group; an exception
    whose ``__str__`` raises is shown by its type."""
    # Raised in a step process: its frames were formatted there (pytest_resources._multiprocess).
    remote: tuple[str, ...] | None = getattr(exception, "__pytest_resources_traceback__", None)
    if remote:
        return list(remote)
    frames = [
        frame
        for frame in traceback.extract_tb(exception.__traceback__)
        if not frame.filename.startswith((*_SKIPPED_DIRECTORIES, _PACKAGE_DIRECTORY))
    ]
    lines = traceback.format_list(frames)
    lines.append(describe_exception(exception) + "\n")
    for number, sub_exception in enumerate(getattr(exception, "exceptions", None) or (), 1):
        if not isinstance(sub_exception, BaseException):
            continue
        lines.append(f"  +-- sub-exception {number}:\n")
        lines.extend(
            "  |   " + line
            for chunk in format_user_traceback(sub_exception)
            for line in chunk.splitlines(keepends=True)
        )
    return lines


# --- Dagster's schema work, once per class and config while recording --------------------------

# Every copy Dagster makes (three per resource initialized) runs ConfigurableResourceFactory's
# __init__, which infers the class's config schema again and applies the config values to it
# again (a validation). Both depend only on the class and the values, so while a recording is
# active each is computed once and the copies share the result: about a third of Dagster's own
# time per initialization. The results are those Dagster computes; nothing else changes.
# Classes are held weakly (a schema does not refer to its class), and a schema is inferred again
# when what it is inferred from changes (the class's fields, model_config or docstring).
_MAX_SHARED_SCHEMAS = 512
# class -> {fields to omit: (what it was inferred from, the schema)}
_inferred_schemas: weakref.WeakKeyDictionary[type[Any], dict[frozenset[str], tuple[Any, Any]]] = (
    weakref.WeakKeyDictionary()
)
# (id of an inferred schema, the config values frozen) -> (that schema, the curried schema).
_curried_schemas: dict[tuple[int, object], tuple[Any, Any]] = {}


def _schema_inputs(cls: type[Any]) -> tuple[int, int, str | None]:
    """What Dagster infers a class's schema from: its fields and config (by identity: pydantic
    replaces them when the class is rebuilt) and its docstring."""
    own = vars(cls)
    fields = own.get("__pydantic_fields__", own.get("model_fields"))
    return (id(fields), id(own.get("model_config")), cls.__doc__)


def share_schema_work_between_copies(active: Sequence[object]) -> None:
    """While ``active`` is not empty, copies share Dagster's schema work (see above)."""
    resource_module: Any = sys.modules[ConfigurableResourceFactory.__module__]
    infer = resource_module.infer_schema_from_config_class
    curry = resource_module._curry_config_schema
    if getattr(infer, "_pytest_resources", False):
        return

    def infer_schema_from_config_class(*args: Any, **kwargs: Any) -> Any:
        # Only the call a copy's __init__ makes: the class, and the nested resources to omit.
        if not active or len(args) != 1 or not set(kwargs) <= {"fields_to_omit"}:
            return infer(*args, **kwargs)
        cls, omitted = args[0], frozenset(kwargs.get("fields_to_omit") or ())
        try:
            by_omitted = _inferred_schemas.setdefault(cls, {})
        except TypeError:  # not weakly referable: nothing to share
            return infer(*args, **kwargs)
        inputs = _schema_inputs(cls)
        known = by_omitted.get(omitted)
        if known is None or known[0] != inputs:
            known = (inputs, infer(*args, **kwargs))
            by_omitted[omitted] = known
        return known[1]

    def _curry_config_schema(schema_field: Any, data: Any) -> Any:
        if not active:
            return curry(schema_field, data)
        try:
            key = (id(schema_field), frozen(data))
        except NotPlainData:
            return curry(schema_field, data)
        entry = _curried_schemas.get(key)
        if entry is None or entry[0] is not schema_field:
            entry = (schema_field, curry(schema_field, data))
            remember(_curried_schemas, key, entry, limit=_MAX_SHARED_SCHEMAS)
        return entry[1]

    infer_schema_from_config_class._pytest_resources = True  # type: ignore[attr-defined]
    resource_module.infer_schema_from_config_class = infer_schema_from_config_class
    resource_module._curry_config_schema = _curry_config_schema


def defining_class(cls: type[Any], hook: Hook) -> type[Any]:
    return next(klass for klass in cls.__mro__ if hook in vars(klass))


def defines(cls: type[Any], hook: Hook) -> bool:
    """Whether ``cls`` overrides Dagster's default ``hook``."""
    return defining_class(cls, hook) is not defining_class(ConfigurableResourceFactory, hook)


def holds_run_state(cls: type[Any]) -> bool:
    """Whether ``cls`` has lifecycle hooks of its own, so that each initialization builds state
    (a client, a connection) that a second one would duplicate."""
    return any(defines(cls, hook) for hook in (Hook.SETUP, Hook.TEARDOWN, Hook.YIELD))


def is_context_manager_resource(cls: type[Any]) -> bool:
    return bool(cls._is_cm_resource_cls())


def is_dagsters(cls: type[Any]) -> bool:
    """Dagster's own classes and its integration libraries' (``dagster_aws``, ...)."""
    top = cls.__module__.split(".", 1)[0]
    return top == "dagster" or top.startswith("dagster_")
