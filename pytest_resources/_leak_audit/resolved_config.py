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

from pytest_resources._leak_audit.needles import (
    _MAX_DEPTH,
    _MAX_OBJECT_DEPTH,
    MIN_TEXT_LENGTH,
    _env_var_name,
    _env_var_value,
    _is_env_var,
    _is_hashable_scalar,
    _is_significant,
    _pickled_attributes,
    _public_fields,
)


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
        cls,
        resource: object,
        *,
        resource_config: object = None,
        live_copy: BaseModel | None = None,
    ) -> ResolvedConfig:
        """The resolved config of ``resource`` (a resource, or a ``configure_at_launch()``
        partial with its ``resource_config``). ``EnvVar``s are read now, unless ``live_copy`` (the
        copy Dagster resolved for the run) holds their values."""
        texts: set[str] = set()
        prose: list[str] = []
        classes: list[type] = []
        pending: list[tuple[object, object, int]] = [
            (resource, live_copy, 0),
            (resource_config, None, 0),
        ]
        visited: set[int] = set()
        while pending:
            node, resolved, depth = pending.pop()
            if depth > _MAX_DEPTH or id(node) in visited:
                continue
            if _is_env_var(node):
                texts.add(_env_var_name(node))
                node = resolved if _is_hashable_scalar(resolved) else _env_var_value(node)
            if isinstance(node, str) and len(node) > MIN_TEXT_LENGTH:
                prose.append(node)
            if _is_hashable_scalar(node) or isinstance(node, os.PathLike):
                texts.update(_spellings(node, config=True))
                continue
            visited.add(id(node))
            if isinstance(node, BaseModel):
                classes.append(type(node))
                resolved_fields = (
                    dict(_public_fields(resolved)) if isinstance(resolved, BaseModel) else {}
                )
                pending.extend(
                    (value, resolved_fields.get(name), depth + 1)
                    for name, value in _public_fields(node)
                )
            elif type(node).__name__ == "PartialResource" and hasattr(node, "resource_cls"):
                classes.append(node.resource_cls)
                pending.append((getattr(node, "data", None), None, depth + 1))
            elif isinstance(node, Mapping):
                for item_key, item in node.items():
                    pending.append((item_key, None, depth + 1))
                    pending.append((item, None, depth + 1))
            elif isinstance(node, list | tuple | set | frozenset):
                pending.extend((item, None, depth + 1) for item in node)
        for model_class in dict.fromkeys(classes):
            _add_declarations(model_class, texts, prose)
        # The keys Dagster's own forms are built of belong to no one's run state.
        texts.update(_FORM_SCAFFOLDING)
        return cls(texts, prose)

    def covers(self, value: object) -> bool:
        """Whether ``value`` is config: resolved config or a plain conversion of it."""
        return self._covers(value, 0)

    def _covers(self, value: object, depth: int) -> bool:
        if not _is_significant(value):
            return True
        if depth > _MAX_OBJECT_DEPTH:
            return False
        if isinstance(value, Mapping):
            return all(
                self._covers(item_key, depth + 1) and self._covers(item, depth + 1)
                for item_key, item in value.items()
            )
        if isinstance(value, list | tuple | set | frozenset):
            return all(self._covers(item, depth + 1) for item in value)
        spellings = _spellings(value, config=False)
        if any(spelling in self._texts for spelling in spellings):
            return True
        if any(
            len(spelling) >= MIN_TEXT_LENGTH and _contains_word(text, spelling)
            for spelling in spellings
            for text in self._prose
        ):
            return True
        if _is_hashable_scalar(value) or isinstance(value, os.PathLike):
            return self._covers_as_resolved_path(value)
        # An object that only restates config (a dataclass of config values, an auth helper).
        state = _pickled_attributes(value)
        return (
            bool(state)
            and all(self._covers(item, depth + 1) for item in state.values())
            and any(_is_significant(item) for item in state.values())
        )

    def _covers_as_resolved_path(self, value: object) -> bool:
        """``Path(self.root).resolve()``, ``expanduser()``: a configured path made absolute."""
        if not isinstance(value, os.PathLike):
            return False
        try:
            path = os.fsdecode(os.fspath(value))
        except Exception:
            return False
        if not os.path.isabs(path):
            return False
        return any(
            os.path.abspath(os.path.expanduser(text)) == path for text in self._texts if text
        )


_FORM_SCAFFOLDING = frozenset({"resources", "config", "configured_values", "__dict__"})


def _add_declarations(model_class: type, texts: set[str], prose: list[str]) -> None:
    """What a class declares is config: its name, field names, defaults and descriptions."""
    texts.update({model_class.__name__, model_class.__qualname__})
    fields: Mapping[str, Any] = getattr(model_class, "model_fields", {})
    for name, info in fields.items():
        texts.add(name)
        for text in (info.alias, info.title):
            if text:
                texts.add(text)
        if info.description:
            prose.append(info.description)
        default = info.default
        if _is_env_var(default):
            texts.add(_env_var_name(default))
        elif _is_hashable_scalar(default) or isinstance(default, os.PathLike):
            texts.update(_spellings(default, config=True))
            if isinstance(default, str) and len(default) > MIN_TEXT_LENGTH:
                prose.append(default)
        elif isinstance(default, Mapping | list | tuple | set | frozenset):
            items = (
                [*default.keys(), *default.values()] if isinstance(default, Mapping) else default
            )
            for item in items:
                if _is_hashable_scalar(item):
                    texts.update(_spellings(item, config=True))


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
    if isinstance(value, int | float):
        number = value
        texts = {str(int.__repr__(number)) if isinstance(number, int) else float.__repr__(number)}
        if isinstance(number, float) and number.is_integer():
            texts.add(str(int(number)))
        return texts
    if isinstance(value, str):
        text = str.__str__(value)
        texts = {text, text.strip()}
        if config:
            texts.update(_conversions_of_text(text))
        return texts
    if isinstance(value, os.PathLike):
        # A remote path (universal_pathlib's s3://...) may refuse os.fspath; its text still is it.
        texts = set()
        for spell in (os.fspath, str):
            try:
                texts |= _spellings(spell(value), config=config)
            except Exception:
                continue
        return texts
    if isinstance(value, uuid.UUID):
        return {str(value), value.hex}
    get_secret_value = getattr(value, "get_secret_value", None)
    if callable(get_secret_value):
        try:
            return _spellings(get_secret_value(), config=config)
        except Exception:
            return set()
    try:
        return {str(value)}
    except Exception:
        return set()


def _conversions_of_text(text: str) -> set[str]:
    conversions: set[str] = set()
    stripped = text.strip()
    try:
        number = float(stripped)
    except ValueError:
        pass
    else:
        if math.isfinite(number):
            conversions.add(float.__repr__(number))
            if number.is_integer():
                conversions.add(str(int(number)))
    with contextlib.suppress(ValueError):
        conversions.add(str(uuid.UUID(stripped)))
    if stripped:
        conversions.add(str(pathlib.PurePath(stripped)))
    return conversions


def _contains_word(text: str, word: str) -> bool:
    """``word`` inside ``text`` with no letter or digit continuing it on either side."""
    start = text.find(word)
    while start != -1:
        end = start + len(word)
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if not (before.isalnum() or after.isalnum()):
            return True
        start = text.find(word, start + 1)
    return False
