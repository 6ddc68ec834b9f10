"""The cache key both the leak audit and the shared schema work use: equal only for plain data
equal in value and type all the way down."""

from __future__ import annotations

import pytest
from plugin_internals import NotPlainData, frozen, remember


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (0.0, -0.0),
        (1, True),
        (1, 1.0),
        ("1", b"1"),
        ([1, 2], (1, 2)),
        ({"a": [0.0]}, {"a": [-0.0]}),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}),
        (None, "None"),
    ],
)
def test_data_equal_in_python_but_not_in_type_or_spelling_gets_another_key(
    left: object, right: object
) -> None:
    assert frozen(left) != frozen(right)


def test_equal_data_gets_an_equal_hashable_key() -> None:
    data = {"host": "db", "ports": [5432, 5433], "ratio": 2.5, "tags": ("a",), "key": b"k"}
    copy = {"host": "db", "ports": [5432, 5433], "ratio": 2.5, "tags": ("a",), "key": b"k"}
    assert frozen(data) == frozen(copy)
    assert hash(frozen(data)) == hash(frozen(copy))


class Text(str):
    pass


@pytest.mark.parametrize("value", [object(), Text("a str subclass"), {1, 2}, [[{"a": object()}]]])
def test_what_is_not_plain_gets_no_key(value: object) -> None:
    with pytest.raises(NotPlainData):
        frozen(value)


def test_data_nested_too_deep_gets_no_key() -> None:
    deep: object = "leaf"
    for _ in range(40):
        deep = [deep]
    with pytest.raises(NotPlainData):
        frozen(deep)


def test_what_is_not_plain_is_frozen_by_the_caller_when_it_can() -> None:
    seen: list[tuple[object, int]] = []

    def freeze_set(value: object, depth: int) -> object:
        seen.append((value, depth))
        if isinstance(value, frozenset):
            return (frozenset, value)
        raise NotPlainData

    assert frozen({"ids": frozenset({1})}, 0, freeze_set) == frozen(
        {"ids": frozenset({1})}, 0, freeze_set
    )
    assert seen == [(frozenset({1}), 1), (frozenset({1}), 1)]
    with pytest.raises(NotPlainData):
        frozen([object()], 0, freeze_set)


def test_a_cache_empties_once_it_holds_its_limit() -> None:
    cache: dict[object, object] = {}
    for number in range(3):
        remember(cache, number, str(number), limit=3)
    assert cache == {0: "0", 1: "1", 2: "2"}
    remember(cache, 3, "3", limit=3)
    assert cache == {3: "3"}
