"""Finding needles in one serialized form: structurally in dicts, lists and objects, as whole
tokens in text."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from pydantic import BaseModel

from pytest_resources._leak_audit.needles import (
    _MAX_DEPTH,
    _MAX_OBJECT_DEPTH,
    _MAX_WALKED_NODES,
    _is_hashable_scalar,
    _Needle,
    _pickled_attributes,
    _private_state,
    _PrivateName,
    _public_fields,
    _safe_equal,
    _safe_repr,
)
from pytest_resources._leak_audit.report import redact

# Characters that continue a token: a value found next to one of these is part of a longer token
# ("abc123" inside "sk-abc123"), so it does not count as the value itself.
_TOKEN_CONTINUATION = frozenset("_-./+@%~")

# The nearest "name=" or "'key':" before a position in a text form: renders where a value sits.
_KEY_BEFORE_VALUE = re.compile(
    r"""(?:(?P<name>[A-Za-z_]\w*)\s*=|(?P<quote>['"])(?P<key>[^'"]{1,80})(?P=quote)\s*:)"""
    r"""\s*[(\[{]?\s*[bru]?['"]?[^'",=:(){}\[\]]{0,40}$"""
)


class _NeedleIndex:
    """Finds which needles a node of a serialized form matches."""

    def __init__(self, needles: Iterable[_Needle], identity_only: Iterable[_Needle] = ()) -> None:
        self.needles = list(needles)
        self._by_value: dict[object, list[_Needle]] = {}
        self._by_identity: dict[int, list[_Needle]] = {}
        self._by_equality: list[_Needle] = []
        for needle in self.needles:
            if _is_hashable_scalar(needle.value):
                self._by_value.setdefault(needle.value, []).append(needle)
            else:
                self._by_identity.setdefault(id(needle.value), []).append(needle)
                self._by_equality.append(needle)
        for needle in identity_only:
            self.needles.append(needle)
            self._by_identity.setdefault(id(needle.value), []).append(needle)

    def __bool__(self) -> bool:
        return bool(self.needles)

    def matches(self, node: object) -> list[_Needle]:
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
                    spelling in node and _contains_token(node, spelling)
                    for spelling in needle.texts
                )
                and all(needle is not other for other in exact)
            ]
        if _is_hashable_scalar(node):
            return self._by_value.get(node, [])
        found = list(self._by_identity.get(id(node), []))
        found.extend(
            needle
            for needle in self._by_equality
            if needle.value is not node
            and type(needle.value) is type(node)
            and _safe_equal(needle.value, node)
        )
        return found


@dataclass(frozen=True)
class _Hit:
    needle: _Needle
    path: str
    by_name: bool = False


class _StructureWalker:
    """Walks dicts, lists and tuples, matching keys against names and leaves against values."""

    def __init__(
        self,
        root: str,
        needles: _NeedleIndex,
        names: Mapping[str, _PrivateName],
        *,
        include_private: bool = False,
    ) -> None:
        self._root = root
        self._needles = needles
        self._names = names
        # Walking a whole object graph (after teardown) also enters models' private state.
        self._include_private = include_private
        self._budget = _MAX_WALKED_NODES

    def hits(self, serialized: object) -> list[_Hit]:
        found: list[_Hit] = []
        self._walk(serialized, self._root, frozenset(), set(), 0, found)
        return found

    def _walk(
        self,
        node: object,
        path: str,
        covered: frozenset[str],
        ancestors: set[int],
        depth: int,
        found: list[_Hit],
        objects: int = 0,
    ) -> None:
        if depth > _MAX_DEPTH or id(node) in ancestors or self._budget <= 0:
            return
        self._budget -= 1
        if node is None or type(node) is bool:
            return  # never a private value (not significant), and nothing inside
        for needle in self._needles.matches(node):
            # An item of a private container that already matched as a whole adds nothing.
            if not any(
                needle.attribute.startswith((f"{attribute}[", f"{attribute}."))
                for attribute in covered
            ):
                found.append(_Hit(needle, path))
                covered = covered | {needle.attribute}
        if _is_hashable_scalar(node):
            return  # text, a number: nothing inside
        ancestors = ancestors | {id(node)}
        if isinstance(node, BaseModel):
            # Models stay models in the pickled state and in dumps of ``Any`` fields.
            children = [*_public_fields(node), *(node.__pydantic_extra__ or {}).items()]
            if self._include_private:
                children.extend(_private_state(node))
            for name, child in children:
                self._walk(child, f"{path}.{name}", covered, ancestors, depth + 1, found, objects)
        elif isinstance(node, Mapping):
            for item_key, child in node.items():
                key_matches = self._needles.matches(item_key)
                shown_key = f"<{redact(item_key)}>" if key_matches else _safe_repr(item_key)
                child_path = f"{path}[{shown_key}]"
                self._match_key(item_key, key_matches, child_path, found)
                self._walk(child, child_path, covered, ancestors, depth + 1, found, objects)
        elif isinstance(node, list | tuple | set | frozenset):
            for position, child in enumerate(node):
                self._walk(
                    child, f"{path}[{position}]", covered, ancestors, depth + 1, found, objects
                )
        elif objects < _MAX_OBJECT_DEPTH and not _is_hashable_scalar(node):
            # An arbitrary object (an auth helper in a dict[str, Any] field): its state as pickle
            # sees it, a few objects deep.
            for name, child in _pickled_attributes(node).items():
                self._walk(
                    child, f"{path}.{name}", covered, ancestors, depth + 1, found, objects + 1
                )

    def _match_key(
        self, item_key: object, key_matches: list[_Needle], path: str, found: list[_Hit]
    ) -> None:
        if isinstance(item_key, str) and item_key in self._names:
            name = self._names[item_key]
            found.append(_Hit(_Needle(name.attribute, name.value, ()), path, by_name=True))
        found.extend(_Hit(needle, path) for needle in key_matches)


def _text_hits(
    form: str, text: str, needles: _NeedleIndex, names: Mapping[str, _PrivateName]
) -> list[_Hit]:
    """Needles found as whole tokens in ``text``, and private names used as keys in it."""
    found: list[_Hit] = []
    for needle in needles.needles:
        for spelling in needle.texts:
            for start in _whole_token_positions(text, spelling):
                found.append(_Hit(needle, _text_location(form, text, start, needles)))
    for name, private_name in names.items():
        as_key = re.compile(
            rf"(?<![\w.])(?:{re.escape(name)}\s*=(?!=)|(['\"]){re.escape(name)}\1\s*:)"
        )
        for match in as_key.finditer(text):
            found.append(
                _Hit(
                    _Needle(private_name.attribute, private_name.value, ()),
                    _text_location(form, text, match.end(), needles),
                    by_name=True,
                )
            )
    return found


def _contains_token(text: str, spelling: str) -> bool:
    return next(_whole_token_positions(text, spelling), None) is not None


def _whole_token_positions(text: str, spelling: str) -> Iterator[int]:
    start = text.find(spelling)
    while start != -1:
        end = start + len(spelling)
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if not (_continues_token(before) or _continues_token(after)):
            yield start
        start = text.find(spelling, start + 1)


def _continues_token(character: str) -> bool:
    return character.isalnum() or character in _TOKEN_CONTINUATION


def _text_location(form: str, text: str, position: int, needles: _NeedleIndex) -> str:
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
