"""A resource's resolved config (``ResolvedConfig``): what caching, converting or restating
privately is no leak, with the spellings a value is the same as."""

from __future__ import annotations

import contextlib
import enum
import math
import os
import pathlib
import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

import pytest_resources._leak_audit.values as values

# The keys Dagster's own forms are built of belong to no one's run state.
_FORM_SCAFFOLDING = frozenset({"resources", "config", "configured_values", "__dict__"})


class ResolvedConfig:
    """A resource's resolved config: what caching, converting or restating privately is no leak.

    It is what Dagster resolved when the run started (the user's instance's public values, with
    each ``EnvVar`` read once, before setup), plus the keys of its mappings, plus what the
    classes declare (field names, defaults, descriptions, the class name). A value equal to one
    of these or to a plain conversion of one (its ``str``/``bytes``/``Path``/``UUID``/number/enum
    form, any ``os.PathLike``, a ``str`` subclass, an object whose text is the value) is config,
    wherever it is kept. Build it with :meth:`of` before setup runs: setup may change the
    environment an ``EnvVar`` reads (scrub a secret, write a token).
    """

    def __init__(self, texts: set[str], prose: list[str]) -> None:
        self._texts = texts
        # Longer config strings and descriptions: a private value found inside one as a whole
        # word is config too (a token parsed out of a configured header, a documented fallback).
        self._prose = prose

    @classmethod
    def of(
        cls, resource: object, *, resource_config: object = None, live_copy: BaseModel | None = None
    ) -> ResolvedConfig:
        """The resolved config of ``resource`` (a resource, or a ``configure_at_launch()``
        partial with its ``resource_config``). ``EnvVar``s are read now, unless ``live_copy`` (the
        copy Dagster resolved for the run) holds their values."""
        config = cls(set(_FORM_SCAFFOLDING), [])
        classes: list[type] = []
        pending: list[tuple[object, object, int]] = [
            (resource, live_copy, 0),
            (resource_config, None, 0),
        ]
        visited: set[int] = set()
        while pending:
            node, resolved, depth = pending.pop()
            if depth > values.MAX_DEPTH or id(node) in visited:
                continue
            if values.is_env_var(node):
                config._texts.add(node.env_var_name)
                node = resolved if values.is_hashable_scalar(resolved) else node.get_value()
            if values.is_hashable_scalar(node) or isinstance(node, os.PathLike):
                config._add_value(node)
                continue
            visited.add(id(node))
            if isinstance(node, BaseModel):
                classes.append(type(node))
                resolved_fields = (
                    dict(values.public_fields(resolved)) if isinstance(resolved, BaseModel) else {}
                )
                pending.extend(
                    (value, resolved_fields.get(name), depth + 1)
                    for name, value in values.public_fields(node)
                )
            elif type(node).__name__ == "PartialResource" and hasattr(node, "resource_cls"):
                classes.append(node.resource_cls)
                pending.append((getattr(node, "data", None), None, depth + 1))
            elif isinstance(node, Mapping):
                pending.extend((item, None, depth + 1) for pair in node.items() for item in pair)
            elif isinstance(node, list | tuple | set | frozenset):
                pending.extend((item, None, depth + 1) for item in node)
        for model_class in dict.fromkeys(classes):
            config._add_declarations(model_class)
        return config

    def _add_value(self, value: object) -> None:
        if isinstance(value, str) and len(value) > values.MIN_TEXT_LENGTH:
            self._prose.append(value)
        self._texts.update(_spellings(value, config=True))

    def _add_declarations(self, model_class: type) -> None:
        """What a class declares is config: its name, field names, defaults and descriptions."""
        self._texts.update({model_class.__name__, model_class.__qualname__})
        fields: Mapping[str, Any] = getattr(model_class, "model_fields", {})
        for name, info in fields.items():
            self._texts.update(text for text in (name, info.alias, info.title) if text)
            if info.description:
                self._prose.append(info.description)
            default = info.default
            if values.is_env_var(default):
                self._texts.add(default.env_var_name)
            elif values.is_hashable_scalar(default) or isinstance(default, os.PathLike):
                self._add_value(default)
            elif isinstance(default, Mapping | list | tuple | set | frozenset):
                items = (
                    [*default.keys(), *default.values()]
                    if isinstance(default, Mapping)
                    else default
                )
                for item in items:
                    if values.is_hashable_scalar(item):
                        self._texts.update(_spellings(item, config=True))

    def identity(self) -> frozenset[str]:
        """Equal for equal resolved config: ``EnvVar``s by the values they read."""
        return frozenset([*self._texts, *self._prose])

    def covers(self, value: object, depth: int = 0) -> bool:
        """Whether ``value`` is config: resolved config or a plain conversion of it."""
        if not values.is_significant(value):
            return True
        if depth > values.MAX_OBJECT_DEPTH:
            return False
        if isinstance(value, Mapping):
            return all(
                self.covers(k, depth + 1) and self.covers(v, depth + 1) for k, v in value.items()
            )
        if isinstance(value, list | tuple | set | frozenset):
            return all(self.covers(item, depth + 1) for item in value)
        spellings = _spellings(value, config=False)
        if any(spelling in self._texts for spelling in spellings) or any(
            len(spelling) >= values.MIN_TEXT_LENGTH and whole_token_at(text, spelling) is not None
            for spelling in spellings
            for text in self._prose
        ):
            return True
        if values.is_hashable_scalar(value) or isinstance(value, os.PathLike):
            return self._covers_as_resolved_path(value)
        # An object that only restates config (a dataclass of config values, an auth helper).
        state = values.pickled_attributes(value)
        return (
            bool(state)
            and all(self.covers(item, depth + 1) for item in state.values())
            and any(values.is_significant(item) for item in state.values())
        )

    def _covers_as_resolved_path(self, value: object) -> bool:
        """``Path(self.root).resolve()``, ``expanduser()``: a configured path made absolute."""
        if not isinstance(value, os.PathLike):
            return False
        try:
            path = os.fsdecode(os.fspath(value))
        except Exception:
            return False
        return os.path.isabs(path) and any(
            os.path.abspath(os.path.expanduser(text)) == path for text in self._texts if text
        )


def whole_token_at(text: str, word: str, continuation: str = "", start: int = 0) -> int | None:
    """Where ``word`` first sits inside ``text`` (from ``start``) with no letter, digit or
    character of ``continuation`` continuing it on either side; None if nowhere."""
    position = text.find(word, start)
    while position != -1:
        end = position + len(word)
        before = text[position - 1] if position else " "
        after = text[end] if end < len(text) else " "
        if not any(c.isalnum() or c in continuation for c in (before, after)):
            return position
        position = text.find(word, position + 1)
    return None


def _spellings(value: object, *, config: bool) -> set[str]:
    """The texts a value is the same as: its own, and those of its plain conversions.

    For a config value (``config=True``) the texts it converts to (``"30000"`` also as a number,
    a UUID string in canonical form, a path in normal form); for a private value the texts it
    came from (bytes decoded, a path's ``os.fspath``, an enum's value and name, a UUID's forms).
    """
    if isinstance(value, enum.Enum):
        return {*_spellings(value.value, config=config), value.name}
    if isinstance(value, bool) or value is None:
        return set()
    if isinstance(value, bytes):
        return {value.decode("utf-8", errors="replace")}
    if isinstance(value, int):
        return {int.__repr__(value)}
    if isinstance(value, float):
        return {float.__repr__(value), *([str(int(value))] if value.is_integer() else [])}
    if isinstance(value, str):
        text = str.__str__(value)
        return {text, text.strip(), *(_conversions_of_text(text) if config else ())}
    if isinstance(value, os.PathLike):
        # A remote path (universal_pathlib's s3://...) may refuse os.fspath; its text still is it.
        texts: set[str] = set()
        for spell in (os.fspath, str):
            with contextlib.suppress(Exception):
                texts |= _spellings(spell(value), config=config)
        return texts
    if isinstance(value, uuid.UUID):
        return {str(value), value.hex}
    try:
        get_secret_value = getattr(value, "get_secret_value", None)
        if callable(get_secret_value):
            return _spellings(get_secret_value(), config=config)
        return {str(value)}
    except Exception:
        return set()


def _conversions_of_text(text: str) -> set[str]:
    stripped = text.strip()
    conversions = {str(pathlib.PurePath(stripped))} if stripped else set()
    with contextlib.suppress(ValueError):
        number = float(stripped)
        if math.isfinite(number):
            conversions.add(float.__repr__(number))
            if number.is_integer():
                conversions.add(str(int(number)))
    with contextlib.suppress(ValueError):
        conversions.add(str(uuid.UUID(stripped)))
    return conversions
