"""What each annotation Dagster accepts is drawn from: a registry of field kinds, as in
``hypothesis.extra.django``'s field lookup. Adding a kind is one ``@field_kind(cls)`` function.

Classes are looked up exactly first (``bool`` is not drawn as an ``int``, an ``int`` subclass
Dagster would reject is not drawn at all), then by family (``subclasses=True``: any ``Enum``).
Typing forms (``Optional``, ``list[X]``, ``dict[K, V]``, ``Literal``, ``Annotated``, ``Any``)
are taken apart by :func:`infer`, which looks up the classes inside them. Nested config
classes are a kind registered in ``plan``, which draws them with a plan of their own.
"""

import enum
import types
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import dagster as dg
import hypothesis.strategies as st

import pytest_resources._strategies.scalars as scalars
from pytest_resources._strategies.constraints import NO_CONSTRAINTS, Constraints
from pytest_resources._strategies.routes import Site

# A field kind: the strategy for values of a class, given the field's constraints and where the
# field sits (for its error messages).
FieldKind = Callable[[type, Constraints, Site], st.SearchStrategy[Any]]

_EXACT: dict[type, FieldKind] = {}
# Matched with issubclass, in the order registered.
_FAMILIES: list[tuple[type, FieldKind]] = []

# Dagster rejects None as a list member or map value of an untyped container, so the values that
# stand in for ``Any`` never contain None. They stay small: Dagster validates every leaf.
UNTYPED_MAX_SIZE = 5
JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=UNTYPED_MAX_SIZE,
)


def field_kind(*classes: type, subclasses: bool = False) -> Callable[[FieldKind], FieldKind]:
    """Register the decorated function as the strategy for fields annotated with ``classes``
    (and, with ``subclasses=True``, any subclass of them)."""

    def register(kind: FieldKind) -> FieldKind:
        for cls in classes:
            if subclasses:
                _FAMILIES.append((cls, kind))
            else:
                _EXACT[cls] = kind
        return kind

    return register


def kind_of(annotation: type) -> FieldKind | None:
    """The registered field kind for a class, or None."""
    exact = _EXACT.get(annotation)
    if exact is not None:
        return exact
    return next((kind for cls, kind in _FAMILIES if issubclass(annotation, cls)), None)


def infer(annotation: Any, constraints: Constraints, site: Site) -> st.SearchStrategy[Any]:
    """The strategy for an annotation (as pydantic gives it, with the field's constraints)."""
    origin = get_origin(annotation)
    arguments = get_args(annotation)
    if origin is Annotated:
        return infer(arguments[0], constraints.adding(arguments[1:]), site)
    if annotation is Any:
        return JSON_VALUES
    # Dagster rewrites a bare ResourceDependency[T] (see plan.infer_field), not Optional[...] of
    # one.
    if origin is dg.ResourceDependency:
        raise site.cannot_infer("is a ResourceDependency[...]")
    if origin in (Union, types.UnionType):
        present = [member for member in arguments if member is not type(None)]
        # Dagster takes no other union (discriminated ones are handled by plan.infer_field).
        if len(present) == 1:
            # None first, so that optional values shrink to None.
            return st.none() | infer(present[0], constraints, site.inside("st.none() | {}"))
    if origin is Literal:
        return st.sampled_from(arguments)
    if origin is list:
        items = infer(arguments[0], NO_CONSTRAINTS, site.inside("st.lists({})"))
        lists = scalars.lengths_first(
            constraints,
            st.lists(items, **constraints.sizes()),
            lambda length: st.lists(items, min_size=length, max_size=length),
        )
        return constraints.apply_predicates(lists)
    if origin in (dict, Mapping):
        keys = infer(arguments[0], NO_CONSTRAINTS, site)
        values = infer(arguments[1], NO_CONSTRAINTS, site.inside("st.dictionaries(st.text(), {})"))
        dictionaries = scalars.lengths_first(
            constraints,
            st.dictionaries(keys, values, **constraints.sizes()),
            lambda length: st.dictionaries(keys, values, min_size=length, max_size=length),
        )
        return constraints.apply_predicates(dictionaries)
    # Python 3.10 takes a parameterized generic (tuple[int, int]) for a type: it is no class.
    is_class = isinstance(annotation, type) and origin is None
    kind = kind_of(annotation) if is_class else None
    if kind is None:
        raise site.cannot_infer(f"has the annotation {annotation!r}, which has no strategy")
    return constraints.apply_predicates(kind(annotation, constraints, site))


@field_kind(bool)
def _booleans(annotation: type, constraints: Constraints, site: Site) -> st.SearchStrategy[bool]:
    return st.booleans()


@field_kind(int)
def _integers(annotation: type, constraints: Constraints, site: Site) -> st.SearchStrategy[int]:
    return scalars.integers(constraints)


@field_kind(float)
def _floats(annotation: type, constraints: Constraints, site: Site) -> st.SearchStrategy[float]:
    return scalars.floats(constraints)


@field_kind(str)
def _text(annotation: type, constraints: Constraints, site: Site) -> st.SearchStrategy[str]:
    return scalars.text(constraints, site)


@field_kind(list)
def _untyped_lists(
    annotation: type, constraints: Constraints, site: Site
) -> st.SearchStrategy[list[Any]]:
    return st.lists(JSON_VALUES, **constraints.sizes(UNTYPED_MAX_SIZE))


@field_kind(dict)
def _untyped_dicts(
    annotation: type, constraints: Constraints, site: Site
) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.text(), JSON_VALUES, **constraints.sizes(UNTYPED_MAX_SIZE))


@field_kind(enum.Enum, subclasses=True)
def _members(annotation: type, constraints: Constraints, site: Site) -> st.SearchStrategy[Any]:
    return st.sampled_from(annotation)


@field_kind(dg.ResourceDefinition, subclasses=True)
def _resource_definitions(
    annotation: type, constraints: Constraints, site: Site
) -> st.SearchStrategy[Any]:
    raise site.cannot_infer(
        f"is annotated with {annotation.__name__}, a resource definition, not config"
    )
