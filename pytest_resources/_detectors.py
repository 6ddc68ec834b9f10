"""Detectors for defects no lifecycle rule can see, because Dagster never calls the code at fault.

- A misspelled lifecycle hook (``teardown_for_execution``): Dagster calls hooks by name, so a
  method whose name is one typo away from a hook is never called, and what it releases stays open.
- A live value that is a generator, a coroutine or an unentered context manager
  (:mod:`pytest_resources._live_values`).

Both run by default in the form that cannot flag correct code; ``strict=True`` widens them to
what is probably, not certainly, a defect (docs/defect-kinds.md says which is which and why).
The detectors are pure functions of a class or a value; :func:`find_defects` turns what they
find in one initialization into broken rules (9 and 10) for the run's report.
"""

from __future__ import annotations

import ast
import inspect
import types
import typing
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_resources._hooks import HOOKS, Location, is_dagsters
from pytest_resources._live_values import UnusableLiveValue
from pytest_resources._recording import Event, Recording
from pytest_resources._rules import Rule, Violation

# Parameter names a hook's context goes by when it is not annotated.
_CONTEXT_NAMES = frozenset({"context", "ctx", "init_context", "_context", "_ctx", "_init_context"})
# What an annotation says a parameter takes (:func:`annotation_kind`).
_CONTEXT, _ANYTHING, _NONE, _OTHER = "a resource context", "anything", "None", "something else"


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


def hook_distance(name: str, hook: str) -> int:
    """:func:`edit_distance` between a name and a hook, case and underscores aside:
    ``teardownAfterExecution`` and ``tear_down_after_execution`` are 0 from
    ``teardown_after_execution``."""
    return edit_distance(_squeezed(name), _squeezed(hook), allowed_distance(hook))


def _squeezed(name: str) -> str:
    return name.replace("_", "").lower()


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


def _names_used(code: types.CodeType) -> Iterator[str]:
    """Every attribute and global name a function's code (and code nested in it) refers to,
    and its strings (``getattr(self, "close_for_execution")``)."""
    yield from code.co_names
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from _names_used(constant)
        elif isinstance(constant, str):
            yield constant


def _function_of(attribute: Any) -> types.FunctionType | None:
    if isinstance(attribute, (staticmethod, classmethod)):
        attribute = attribute.__func__
    try:
        function = inspect.unwrap(attribute) if callable(attribute) else None
    except ValueError:  # a __wrapped__ chain that loops
        return None
    return function if isinstance(function, types.FunctionType) else None


def _takes_a_context(function: types.FunctionType) -> bool:
    """Whether Dagster could call the method as a hook, with a resource context after ``self``
    and nothing else, and the parameter that receives it is meant for one: annotated with a
    resource context in any spelling (:func:`annotation_kind`), or named like one (``*args``
    too) and annotated with nothing more telling than ``Any``."""
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return False
    if parameters and parameters[0].kind is not inspect.Parameter.VAR_POSITIONAL:
        parameters = parameters[1:]  # self; a leading *args receives self and the context
    positional = (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        inspect.Parameter.VAR_POSITIONAL,
    )
    receiver = next((p for p in parameters if p.kind in positional), None)
    if receiver is None or any(
        p.default is inspect.Parameter.empty
        and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        for p in parameters
        if p is not receiver
    ):
        return False
    kind = annotation_kind(receiver.annotation, function.__globals__)
    if kind != _ANYTHING:
        return kind == _CONTEXT
    return receiver.name in _CONTEXT_NAMES or (
        receiver.kind is inspect.Parameter.VAR_POSITIONAL and receiver.name == "args"
    )


def annotation_kind(annotation: Any, namespace: Mapping[str, Any]) -> str:
    """What an annotation says a parameter takes: a resource context (``InitResourceContext``
    or a subclass), anything (no annotation, ``Any``, ``object``), ``None``, or something else.

    ``Optional[...]``, ``Union[...]``, ``X | None`` and ``Annotated[...]`` (from ``typing`` or
    ``typing_extensions``) are taken apart, and a union takes a context when a member does.
    Strings (forward references, ``from __future__ import annotations``) are parsed, never
    evaluated; a name in them is looked up in ``namespace`` (the function's module), so an alias
    of the class counts too."""
    if annotation is inspect.Parameter.empty or annotation is object or _is_any(annotation):
        return _ANYTHING
    if annotation is None or annotation is type(None):
        return _NONE
    if isinstance(annotation, str):
        return _text_kind(annotation, namespace)
    if isinstance(annotation, typing.ForwardRef):
        return _text_kind(annotation.__forward_arg__, namespace)
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return annotation_kind(typing.get_args(annotation)[0], namespace)
    if origin is typing.Union or origin is types.UnionType:
        return _union_kind(annotation_kind(arg, namespace) for arg in typing.get_args(annotation))
    if isinstance(annotation, type) and any(
        _is_context_name(cls.__name__) for cls in annotation.__mro__
    ):
        return _CONTEXT
    return _OTHER


def _is_any(annotation: Any) -> bool:
    # typing_extensions has its own Any on Python 3.10.
    return annotation is Any or repr(annotation) == "typing_extensions.Any"


def _is_context_name(name: str) -> bool:
    return name.endswith("InitResourceContext")


def _union_kind(kinds: Iterable[str]) -> str:
    members = {kind for kind in kinds if kind != _NONE}
    if _CONTEXT in members:
        return _CONTEXT
    if not members:
        return _NONE
    return _ANYTHING if members == {_ANYTHING} else _OTHER


def _text_kind(text: str, namespace: Mapping[str, Any]) -> str:
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return _OTHER
    return _node_kind(node, namespace)


def _node_kind(node: ast.expr, namespace: Mapping[str, Any]) -> str:
    """:func:`annotation_kind` of a parsed annotation."""
    if isinstance(node, ast.Constant):
        if node.value is None:
            return _NONE
        return _text_kind(node.value, namespace) if isinstance(node.value, str) else _OTHER
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union_kind(_node_kind(side, namespace) for side in (node.left, node.right))
    if isinstance(node, ast.Subscript):
        form = _last_name(node.value)
        arguments = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if form == "Annotated":
            return _node_kind(arguments[0], namespace)
        if form in ("Optional", "Union"):
            kinds = [_node_kind(argument, namespace) for argument in arguments]
            return _union_kind(kinds)
        return _OTHER
    name = _last_name(node)
    if name is None:
        return _OTHER
    if _is_context_name(name):
        return _CONTEXT
    if name in ("Any", "object"):
        return _ANYTHING
    value = _looked_up(node, namespace)
    # A string found there is not parsed again: `Context = "Context"` would never end.
    if value is None or isinstance(value, str):
        return _OTHER
    return annotation_kind(value, namespace)


def _last_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else None


def _looked_up(node: ast.expr, namespace: Mapping[str, Any]) -> Any:
    """What a name (``Context``, ``dg.Context``) is in the module, without running any code:
    dictionary look-ups in the namespace and in modules only."""
    if isinstance(node, ast.Name):
        return namespace.get(node.id)
    if isinstance(node, ast.Attribute):
        owner = _looked_up(node.value, namespace)
        if isinstance(owner, types.ModuleType):
            return vars(owner).get(node.attr)
    return None


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

    Names are compared with case and underscores aside (:func:`hook_distance`). By default a
    name counts only when it is public, no Dagster class defines it, no method of the class
    refers to it (a helper the class calls is not a hook), it is a plain method (Dagster calls
    hooks on the instance, never a classmethod or staticmethod), and it takes just a resource
    context, as every hook does. ``strict=True`` drops the last four conditions.
    """
    dagster_names: set[str] = set()
    own_classes = []
    for cls in resource_class.__mro__:
        if is_dagsters(cls) or cls.__module__.split(".", 1)[0] in ("pydantic", "builtins"):
            dagster_names.update(vars(cls))
        else:
            own_classes.append(cls)
    functions: dict[str, types.FunctionType] = {}
    for cls in reversed(own_classes):
        for name, attribute in vars(cls).items():
            function = _function_of(attribute)
            if not strict and isinstance(attribute, (staticmethod, classmethod)):
                function = None
            if function is None:
                functions.pop(name, None)  # what the class resolves the name to is no method
            else:
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
        distances = {hook: hook_distance(name, hook) for hook in HOOKS}
        hook = min(distances, key=distances.__getitem__)
        if distances[hook] <= allowed_distance(hook):
            code = function.__code__
            found.append(
                MisspelledHook(resource_class, name, hook, code.co_filename, code.co_firstlineno)
            )
    return found


# --- as broken rules, for a run's report ------------------------------------------------------


def find_defects(
    recording: Recording, unusable: Sequence[UnusableLiveValue] = (), *, strict: bool = False
) -> list[Violation]:
    """The misspelled hooks of every class a recording initialized (once per class), and the
    ``unusable`` values its resources (classes and function resources, not plain values) handed
    out (:func:`unusable_live_values`), as broken rules."""
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
        made_by = (
            handing_out.resource_class
            if handing_out is not None
            else recording.function_resources.get(value.key)
        )
        if made_by is None:
            continue  # a plain value: nobody's resource
        found.append(
            Violation(
                Rule.LIVE_VALUE,
                value.key,
                made_by,
                value.describe(),
                value.hint(),
                events_of(value.key),
                recording.run_id,
            )
        )
    return found
