"""Plain data (text, numbers, lists, dicts) frozen into a hashable cache key, and a bounded
store for such caches: the leak audit's caches and the shared schema work of Dagster's copies
both use them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Data nested deeper than this gets no key: it is not cached.
MAX_DEPTH = 32
_SCALARS = (str, int, bool, bytes, type(None))


class NotPlainData(Exception):
    """Data that cannot stand for itself in a cache key."""


def frozen(
    value: object,
    depth: int = 0,
    freeze_other: Callable[[object, int], object] | None = None,
) -> object:
    """A hashable key equal only for data equal in value and type all the way down (``1`` and
    ``True``, ``0.0`` and ``-0.0``, a list and a tuple give different keys). What is not plain
    is frozen by ``freeze_other`` (called with the value and its depth), else NotPlainData."""
    kind = type(value)
    if kind in _SCALARS:
        return (kind, value)
    if kind is float:
        return (kind, repr(value))  # 0.0 == -0.0, but they are written differently
    if depth > MAX_DEPTH:
        raise NotPlainData
    if kind is dict and isinstance(value, dict):
        return (
            kind,
            tuple(
                (frozen(k, depth + 1, freeze_other), frozen(v, depth + 1, freeze_other))
                for k, v in value.items()
            ),
        )
    if kind in (list, tuple) and isinstance(value, list | tuple):
        return (kind, tuple(frozen(item, depth + 1, freeze_other) for item in value))
    if freeze_other is None:
        raise NotPlainData
    return freeze_other(value, depth)


def remember(cache: dict[Any, Any], key: object, value: object, *, limit: int) -> None:
    """Store ``value`` under ``key``, emptying ``cache`` first once it holds ``limit`` entries:
    a cache that only saves work never grows without bound."""
    if len(cache) >= limit:
        cache.clear()
    cache[key] = value
