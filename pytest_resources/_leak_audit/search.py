"""Finding needles in one serialized form: structurally in dicts, lists and objects, as whole
tokens in text."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from pydantic import BaseModel

import pytest_resources._leak_audit.values as values
from pytest_resources._leak_audit.config import whole_token_at
from pytest_resources._leak_audit.report import redact

# Characters that continue a token: a value found next to one of these is part of a longer token
# ("abc123" inside "sk-abc123"), so it does not count as the value itself.
_TOKEN_CONTINUATION = "_-./+@%~"
# The nearest "name=" or "'key':" before a position in a text form: renders where a value sits.
_KEY_BEFORE_VALUE = re.compile(
    r"""(?:(?P<name>[A-Za-z_]\w*)\s*=|(?P<quote>['"])(?P<key>[^'"]{1,80})(?P=quote)\s*:)"""
    r"""\s*[(\[{]?\s*[bru]?['"]?[^'",=:(){}\[\]]{0,40}$"""
)


@dataclass(frozen=True)
class Hit:
    needle: values.Needle
    path: str
    by_name: bool = False


class NeedleIndex:
    """Finds which needles a node of a serialized form matches: scalars by value, other objects
    by identity or by equality (``identity_only`` ones by identity alone)."""

    def __init__(
        self, needles: Iterable[values.Needle], identity_only: Iterable[values.Needle] = ()
    ) -> None:
        self.needles = list(needles)
        self._by_value: dict[object, list[values.Needle]] = {}
        self._by_identity: dict[int, list[values.Needle]] = {}
        self._by_equality: list[values.Needle] = []
        for needle in self.needles:
            if values.is_hashable_scalar(needle.value):
                self._by_value.setdefault(needle.value, []).append(needle)
            else:
                self._by_identity.setdefault(id(needle.value), []).append(needle)
                self._by_equality.append(needle)
        for needle in identity_only:
            self.needles.append(needle)
            self._by_identity.setdefault(id(needle.value), []).append(needle)

    def matches(self, node: object) -> list[values.Needle]:
        if not self.needles:
            return []
        if isinstance(node, str):
            # A value also counts as a whole token inside a longer text ("Bearer <token>").
            # The substring test first: it is cheap, and almost every node fails it.
            exact = self._by_value.get(node, [])
            return exact + [
                needle
                for needle in self.needles
                if any(
                    spelling in node and _token_at(node, spelling) is not None
                    for spelling in needle.texts
                )
                and all(needle is not other for other in exact)
            ]
        if values.is_hashable_scalar(node):
            return self._by_value.get(node, [])
        return [
            *self._by_identity.get(id(node), []),
            *(
                needle
                for needle in self._by_equality
                if needle.value is not node
                and type(needle.value) is type(node)
                and values.safe_equal(needle.value, node)
            ),
        ]


def structure_hits(
    root: str,
    serialized: object,
    needles: NeedleIndex,
    names: Mapping[str, values.Needle],
    *,
    include_private: bool = False,
) -> list[Hit]:
    """Walks dicts, lists, tuples, models and (a few levels deep) objects' pickled state,
    matching keys against private names and nodes against needles. ``include_private`` (a
    whole object graph, after teardown) also enters models' private state."""
    found: list[Hit] = []
    budget = [values.MAX_WALKED_NODES]

    def walk(
        node: object,
        path: str,
        covered: frozenset[str],
        ancestors: set[int],
        depth: int,
        objects: int,
    ) -> None:
        if depth > values.MAX_DEPTH or id(node) in ancestors or budget[0] <= 0:
            return
        budget[0] -= 1
        if node is None or type(node) is bool:
            return  # never a private value (not significant), and nothing inside
        for needle in needles.matches(node):
            # An item of a private container that already matched as a whole adds nothing.
            if not any(needle.attribute.startswith((f"{a}[", f"{a}.")) for a in covered):
                found.append(Hit(needle, path))
                covered = covered | {needle.attribute}
        if values.is_hashable_scalar(node):
            return  # text, a number: nothing inside
        ancestors = ancestors | {id(node)}
        children: Iterable[tuple[str, object]] = ()
        if isinstance(node, BaseModel):
            # Models stay models in the pickled state and in dumps of ``Any`` fields.
            children = [*values.public_fields(node), *(node.__pydantic_extra__ or {}).items()]
            if include_private:
                children.extend(values.private_state(node))
            children = ((f".{name}", child) for name, child in children)
        elif isinstance(node, Mapping):
            children = _keyed_items(node, path)
        elif isinstance(node, list | tuple | set | frozenset):
            children = ((f"[{position}]", child) for position, child in enumerate(node))
        elif objects < values.MAX_OBJECT_DEPTH:
            # An arbitrary object (an auth helper in a dict[str, Any] field): its state as pickle
            # sees it, a few objects deep.
            for name, child in values.pickled_attributes(node).items():
                walk(child, f"{path}.{name}", covered, ancestors, depth + 1, objects + 1)
        for step, child in children:
            walk(child, path + step, covered, ancestors, depth + 1, objects)

    def _keyed_items(node: Mapping[object, object], path: str) -> Iterator[tuple[str, object]]:
        for item_key, child in node.items():
            key_matches = needles.matches(item_key)
            step = f"[<{redact(item_key)}>]" if key_matches else f"[{values.safe_repr(item_key)}]"
            if isinstance(item_key, str) and item_key in names:
                found.append(Hit(names[item_key], path + step, by_name=True))
            found.extend(Hit(needle, path + step) for needle in key_matches)
            yield step, child

    walk(serialized, root, frozenset(), set(), 0, 0)
    return found


def text_hits(
    form: str, text: str, needles: NeedleIndex, names: Mapping[str, values.Needle]
) -> list[Hit]:
    """Needles found as whole tokens in ``text``, and private names used as keys in it."""
    found: list[Hit] = []
    for needle in needles.needles:
        for spelling in needle.texts:
            start = _token_at(text, spelling)
            while start is not None:
                found.append(Hit(needle, _text_location(form, text, start, needles)))
                start = _token_at(text, spelling, start + 1)
    for name, private_name in names.items():
        as_key = re.compile(
            rf"(?<![\w.])(?:{re.escape(name)}\s*=(?!=)|(['\"]){re.escape(name)}\1\s*:)"
        )
        for match in as_key.finditer(text):
            location = _text_location(form, text, match.end(), needles)
            found.append(Hit(private_name, location, by_name=True))
    return found


def _token_at(text: str, spelling: str, start: int = 0) -> int | None:
    return whole_token_at(text, spelling, _TOKEN_CONTINUATION, start)


def _text_location(form: str, text: str, position: int, needles: NeedleIndex) -> str:
    """``repr()[token=…]``: the form and the nearest key before ``position``, value elided."""
    # Keys sit close before their value; a bounded window keeps long texts fast.
    match = _KEY_BEFORE_VALUE.search(text[max(0, position - 200) : position])
    if match is None:
        return f"{form}[char {position}]"
    if match.group("name"):
        return f"{form}[{match.group('name')}=…]"
    item_key = match.group("key")
    shown = f"<{redact(item_key)}>" if needles.matches(item_key) else repr(item_key)
    return f"{form}[{shown}: …]"
