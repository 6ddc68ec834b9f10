"""Whose setup opened what: snapshots around each resource's setup, and the setup lines a
warning was raised on."""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import textwrap
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from pytest_resources._errors import ResourceUsageError
from pytest_resources._release_check.leftovers import Leftover
from pytest_resources._release_check.snapshot import take_snapshot
from pytest_resources._release_check.state import ProcessState


class Attributor:
    """Pins each leftover on the resource whose setup opened it.

    Call :meth:`before_setup` right before a resource's setup (``setup_for_execution``, or
    entering ``yield_for_execution``) and :meth:`after_setup` right after it, also when it
    raised (in a ``finally``). What appeared in between was opened by that setup. Setups may
    nest: what an inner setup opened belongs to the inner key.
    """

    def __init__(self, snapshot: Callable[[], ProcessState] = take_snapshot) -> None:
        self._snapshot = snapshot
        self._open: dict[str, list[tuple[ProcessState, int]]] = {}
        self._deltas: list[tuple[str, frozenset[str]]] = []

    def before_setup(self, key: str) -> None:
        self._open.setdefault(key, []).append((self._snapshot(), len(self._deltas)))

    def after_setup(self, key: str) -> None:
        pending = self._open.get(key)
        if not pending:
            raise ResourceUsageError(
                f"Attributor.after_setup({key!r}) without a matching before_setup({key!r}): "
                f"call before_setup({key!r}) right before the setup it closes"
            )
        before, first_inner = pending.pop()
        opened = self._snapshot().items.keys() - before.items.keys()
        for _inner_key, inner in self._deltas[first_inner:]:
            opened -= inner
        self._deltas.append((key, frozenset(opened)))

    @property
    def opened(self) -> dict[str, frozenset[str]]:
        """Identities of what each key's setup(s) opened."""
        by_key: dict[str, frozenset[str]] = {}
        for key, delta in self._deltas:
            by_key[key] = by_key.get(key, frozenset()) | delta
        return by_key

    def attribute(self, found: Sequence[Leftover]) -> list[Leftover]:
        """``found`` with ``opened_by`` set where a setup opened the item; the latest wins."""
        attributed: list[Leftover] = []
        for leftover in found:
            key = next(
                (key for key, delta in reversed(self._deltas) if leftover.identity in delta),
                None,
            )
            if key is not None and leftover.opened_by is None:
                leftover = dataclasses.replace(leftover, opened_by=key)
            attributed.append(leftover)
        return attributed


# --- whose setup raised a warning -------------------------------------------------------------

# The hooks that set a resource up, in the resource's own class: a warning raised on one of their
# lines (up to the first yield of yield_for_execution, after which it tears down) is theirs.
_SETUP_HOOKS = (
    "setup_for_execution",
    "create_resource",
    "yield_for_execution",
    "get_object_to_set_on_execution_context",
)


def _is_dagsters(cls: type[Any]) -> bool:
    top = cls.__module__.split(".", 1)[0]
    return top == "dagster" or top.startswith("dagster_")


def _own_setup_code(resource_class: type[Any]) -> Iterator[types.CodeType]:
    """The code of the setup hooks ``resource_class`` defines itself (not Dagster's defaults)."""
    for hook in _SETUP_HOOKS:
        owner = next((cls for cls in resource_class.__mro__ if hook in vars(cls)), None)
        if owner is None or _is_dagsters(owner):
            continue
        try:
            function = inspect.unwrap(vars(owner)[hook])
        except ValueError:  # a __wrapped__ chain that loops
            continue
        code = getattr(function, "__code__", None)
        if isinstance(code, types.CodeType):
            yield code


@functools.lru_cache(maxsize=256)
def setup_lines(code: types.CodeType) -> tuple[str, int, int] | None:
    """(file, first line, last line) of a setup hook's setup part: the whole function, or for a
    generator up to its first ``yield``; None when its source cannot be read."""
    lines = [line for _start, _end, line in code.co_lines() if line is not None]
    if not lines:
        return None
    first, last = code.co_firstlineno, max(lines)
    if code.co_flags & (inspect.CO_GENERATOR | inspect.CO_ASYNC_GENERATOR):
        try:
            source = textwrap.dedent("".join(inspect.getsourcelines(code)[0]))
            tree = ast.parse(source)
        except (OSError, SyntaxError, TypeError):
            return None
        yields = [node.lineno for node in _own_nodes(tree.body[0]) if isinstance(node, _YIELDS)]
        if yields:
            last = first + min(yields) - 1
    return code.co_filename, first, last


_YIELDS = (ast.Yield, ast.YieldFrom)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def _own_nodes(function: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function's body, without those of functions and classes inside it."""
    pending = list(ast.iter_child_nodes(function))
    while pending:
        node = pending.pop()
        yield node
        if not isinstance(node, _SCOPES):
            pending.extend(ast.iter_child_nodes(node))


def attribute_warnings(
    found: Sequence[Leftover], resource_classes: Mapping[str, type[Any]]
) -> list[Leftover]:
    """``found`` with ``opened_by`` set on each warning raised on a line of a resource's setup
    code (``resource_classes``: key to class); the first key of a class shared by several wins."""
    regions = [
        (key, region)
        for key, resource_class in resource_classes.items()
        for code in _own_setup_code(resource_class)
        if (region := setup_lines(code)) is not None
    ]
    attributed = []
    for leftover in found:
        if leftover.opened_by is None and leftover.location is not None:
            filename, lineno = leftover.location
            key = next(
                (
                    key
                    for key, (file, first, last) in regions
                    if file == filename and first <= lineno <= last
                ),
                None,
            )
            if key is not None:
                leftover = dataclasses.replace(leftover, opened_by=key)
        attributed.append(leftover)
    return attributed
