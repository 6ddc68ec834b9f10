"""The registry of field kinds behind the strategies, called directly: which kind an annotation
gets, and adding a kind with one registration. End-to-end behaviour is in test_strategies.py."""

import enum
from typing import Annotated, Any

import annotated_types as at
import dagster as dg
import hypothesis.strategies as st
import pytest
from hypothesis import given, settings
from hypothesis.errors import InvalidArgument
from plugin_internals import (
    NO_CONSTRAINTS,
    Constraints,
    Route,
    Site,
    field_kinds,
    nested_instances,
)


class Owner(dg.Config):
    value: int = 0


SITE = Site(Route("resource_configs"), Owner, "value")


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Port(int):
    """An int subclass: Dagster has no config type for it, so it gets no kind."""


class Celsius(float):
    """A kind a test registers."""


def draw_all(strategy: st.SearchStrategy[Any]) -> list[Any]:
    found: list[Any] = []

    @settings(max_examples=30, database=None)
    @given(strategy)
    def collect(value: Any) -> None:
        found.append(value)

    collect()
    return found


def test_classes_are_looked_up_exactly_then_by_family() -> None:
    assert all(
        type(value) is bool for value in draw_all(field_kinds.infer(bool, NO_CONSTRAINTS, SITE))
    )
    # An IntEnum is an int too: its family, Enum, wins over the exact int kind.
    assert {type(value) for value in draw_all(field_kinds.infer(Level, NO_CONSTRAINTS, SITE))} == {
        Level
    }
    assert field_kinds.kind_of(Port) is None
    with pytest.raises(InvalidArgument, match=r"^field 'value' of Owner has the annotation .*Port"):
        field_kinds.infer(Port, NO_CONSTRAINTS, SITE)


def test_nested_config_classes_are_a_kind_the_plan_registers() -> None:
    class Inner(dg.Config):
        name: str

    kind = field_kinds.kind_of(Inner)
    assert kind is not None
    drawn = draw_all(field_kinds.infer(Inner, NO_CONSTRAINTS, SITE))
    assert {type(value) for value in drawn} == {Inner}
    fixed = draw_all(nested_instances(Inner, {"name": "fixed"}, SITE))
    assert {value.name for value in fixed} == {"fixed"}


def test_a_resource_definition_is_no_config() -> None:
    with pytest.raises(InvalidArgument, match="a resource definition, not config; pass a value"):
        field_kinds.infer(dg.ResourceDefinition, NO_CONSTRAINTS, SITE)


def test_a_kind_is_one_registration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(field_kinds, "_EXACT", dict(field_kinds._EXACT))
    assert field_kinds.kind_of(Celsius) is None

    @field_kinds.field_kind(Celsius)
    def _celsius(annotation: type, constraints: Constraints, site: Site) -> st.SearchStrategy[Any]:
        low = constraints.ge if constraints.ge is not None else -273.15
        return st.floats(low, 100.0).map(Celsius)

    # The registration serves every form that holds the class, with its constraints.
    strategy = field_kinds.infer(list[Annotated[Celsius, at.Ge(0)]], NO_CONSTRAINTS, SITE)
    values = [value for drawn in draw_all(strategy) for value in drawn]
    assert {type(value) for value in values} == {Celsius}
    assert all(0 <= value <= 100 for value in values)


def test_an_unknown_form_names_the_field_and_the_fix() -> None:
    inside = SITE.inside("st.lists({})")
    with pytest.raises(InvalidArgument) as error:
        field_kinds.infer(list[tuple[int, int]], NO_CONSTRAINTS, inside)
    assert str(error.value) == (
        "field 'value' of Owner has the annotation tuple[int, int], which has no strategy; pass a "
        "value: resource_configs(Owner, value=<a value or strategy>)"
    )
