"""Audit a resource for private run state that shows up in a serialized form of its config.

A Dagster ``ConfigurableResource`` keeps config in pydantic fields and run state (a token, a
connection, a client) in ``PrivateAttr`` attributes. Config is written out in many places: run
config, the repository snapshot the UI shows, logs that print ``repr()``. Private state must stay
out of all of them. :func:`find_private_leaks` serializes a resource every way Dagster or a user
would and looks for its private attributes' names (as keys) and values (as values) in the result;
:func:`assert_no_private_leaks` turns the findings into a test failure. The opt-in
:func:`find_secret_exposures` looks for secret config values shown in plaintext.

Matching is structural, never a substring search over whole text: dict keys and leaf values of the
structured forms are compared one by one, and the text forms (``repr()``, ``str()``) only count a
value found as a whole token. See docs/leak-audit.md for the rules and the thresholds.

Dagster is imported lazily so that importing this module stays cheap for the plugin.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import functools
import io
import json
import linecache
import math
import os
import pathlib
import pickle
import re
import types
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from pytest_resources._errors import PrivateStateLeak

__all__ = [
    "MIN_NUMBER_MAGNITUDE",
    "MIN_OBJECT_TEXT_LENGTH",
    "MIN_TEXT_LENGTH",
    "Leak",
    "ResolvedConfig",
    "RunStateWatch",
    "SecretExposure",
    "assert_no_private_leaks",
    "find_private_leaks",
    "find_secret_exposures",
    "find_yielded_leaks",
    "format_leak_report",
    "redact",
]

# Values below these sizes are too common to tell private state from a coincidence: a private
# "ready" or 8080 equal to some config value says nothing. Real secrets, ids and URLs are longer.
MIN_TEXT_LENGTH = 6
MIN_NUMBER_MAGNITUDE = 10_000
# An object's str()/repr() is matched in text forms only when this long: short forms are mostly a
# type name ("Client()"); long ones usually carry a memory address or specific contents.
MIN_OBJECT_TEXT_LENGTH = 16

# Bounds that keep the audit fast on resources holding big caches or deep structures.
_MAX_DEPTH = 32
_MAX_NEEDLES_PER_ATTRIBUTE = 1000
_MAX_NESTED_RESOURCE_DEPTH = 5
_MAX_WALKED_NODES = 20_000
# How deep the audit looks inside arbitrary objects (a client, an auth helper), as pickle would.
_MAX_OBJECT_DEPTH = 4

# Characters that continue a token: a value found next to one of these is part of a longer token
# ("abc123" inside "sk-abc123"), so it does not count as the value itself.
_TOKEN_CONTINUATION = frozenset("_-./+@%~")

# The nearest "name=" or "'key':" before a position in a text form: renders where a value sits.
_KEY_BEFORE_VALUE = re.compile(
    r"""(?:(?P<name>[A-Za-z_]\w*)\s*=|(?P<quote>['"])(?P<key>[^'"]{1,80})(?P=quote)\s*:)"""
    r"""\s*[(\[{]?\s*[bru]?['"]?[^'",=:(){}\[\]]{0,40}$"""
)

LIVE_COPY = "live copy"
USER_INSTANCE = "user's instance"
RESOURCE = "resource"
YIELDED_VALUE = "value yielded to ops"
OUTLIVED = "outlived the run"


@dataclass(frozen=True)
class Leak:
    """One place where a private attribute's name or value shows in a serialized form.

    ``audited`` is ``"live copy"`` or ``"user's instance"`` when both were audited, else
    ``"resource"``. ``private_attribute`` names the attribute as reached from the audited object:
    ``_token``, ``inner._token`` for a nested resource's, ``_session['token']`` for an item of a
    private container. ``matched`` is ``"value"`` or ``"name"`` (the name used as a key).
    ``path`` starts with the form: ``model_dump()['headers']['Authorization']``,
    ``repr()[token=…]``. ``redacted_value`` never holds the full value.
    """

    resource_key: str | None
    resource_class: str
    audited: str
    private_attribute: str
    matched: str
    form: str
    path: str
    when: str | None
    redacted_value: str
    # The line of the user's class that stored the value, when its source tells.
    stored_at: str | None = None


@dataclass(frozen=True)
class SecretExposure:
    """One place where a secret config value shows in plaintext (the opt-in secrets check)."""

    resource_key: str | None
    resource_class: str
    audited: str
    config_field: str
    reason: str
    form: str
    path: str
    when: str | None
    redacted_value: str
    hint: str = ""


_REPR_HINT = "Leave secrets out of repr() and str(): declare the field with Field(repr=False)."
_MARKED_SECRET_HINT = (
    "dagster__is_secret only masks a field in the UI: the repository snapshot keeps the "
    "plaintext. Set the field with EnvVar('NAME') so the snapshot holds only the variable's name."
)
_SCHEMA_DEFAULT_HINT = (
    "A default computed at import (EnvVar('NAME').get_value(), os.environ[...]) puts the secret "
    "in the config schema and every snapshot: declare the field without a default and set it "
    "with EnvVar('NAME') where the resource is configured."
)
SCHEMA_DEFAULT = "config schema default"
# Environment variable and field names that hold a secret: a schema default equal to the value
# of such a variable was read from the environment at import.
_SECRET_NAME = re.compile(
    r"token|secret|passw|pwd|api_?key|access_?key|private_?key|credential|auth|cert|session",
    re.IGNORECASE,
)


def find_private_leaks(
    resource: object,
    *,
    key: str | None = None,
    when: str | None = None,
    user_instance: object | None = None,
    audit_user_instance: bool = True,
    resolved_config: ResolvedConfig | None = None,
) -> list[Leak]:
    """Every place where ``resource``'s run state shows in a serialized form of its config.

    ``resource`` is typically the live copy Dagster set up for a run. When the user's own instance
    is given it is audited too (unless ``audit_user_instance=False``: a run never changes it, so
    once per run is enough). Run state is every private value that is not config: what
    ``resolved_config`` covers (by default :meth:`ResolvedConfig.of` the user's instance, its
    ``EnvVar``s as the live copy resolved them) is no leak wherever it is kept. Without either,
    the audit cannot tell config from run state and counts every private value.
    Raises ``TypeError`` for an object that is not a pydantic model.
    """
    model = _require_model(resource, "find_private_leaks")
    config = resolved_config
    if user_instance is None or user_instance is resource:
        audits = [(RESOURCE, model)]
    else:
        user_model = _require_model(user_instance, "find_private_leaks")
        if config is None:
            config = ResolvedConfig.of(user_model, live_copy=model)
        audits = [(LIVE_COPY, model)]
        if audit_user_instance:
            audits.append((USER_INSTANCE, user_model))
    leaks: list[Leak] = []
    for audited, audited_model in audits:
        leaks.extend(_audit_private_state(audited_model, key, when, audited, config))
    return leaks


def find_yielded_leaks(
    live_copy: object,
    yielded: object,
    *,
    key: str | None = None,
    when: str | None = None,
    resource_class: type | None = None,
    resolved_config: ResolvedConfig | None = None,
) -> list[Leak]:
    """The live copy's run state in what ``yield_for_execution`` handed to ops.

    Audited when ``yielded`` is another instance of the resource's class (``resource_class``,
    by default the live copy's), such as a ``model_copy``: ops log and serialize it as the
    resource's config. A client or connection handed to ops is run state by design, not audited.
    """
    model = _require_model(live_copy, "find_yielded_leaks")
    if (
        yielded is model
        or not isinstance(yielded, BaseModel)
        or not isinstance(yielded, resource_class or type(model))
    ):
        return []
    return _audit_private_state(
        yielded, key, when, YIELDED_VALUE, resolved_config, also=_private_needles_and_names(model)
    )


class RunStateWatch:
    """Tells run state that outlives its run: started before the run, fed after setup, asked
    after teardown.

    Run state is what exists only because the run's hooks ran: a private value of the live copy
    that is not config, or a class attribute bound or filled during the run. After teardown none
    of it may stay reachable from the user's instance, from what the class's default factories
    hand every new instance (a shared mutable default), or from the class itself
    (``vars(cls)``); functions and methods are code, not state, and are ignored. Defaults are
    read, never built: a factory is not called (it may open something); the objects it returns
    are found in its closure and the globals it names.
    """

    def __init__(self, user_instance: BaseModel, config: ResolvedConfig) -> None:
        self._user_instance = user_instance
        self._config = config
        self._classes = _user_classes(type(user_instance))
        self._class_state_before = {cls: _class_state(cls) for cls in self._classes}
        roots: list[object] = [user_instance, *_shared_defaults(type(user_instance)).values()]
        roots.extend(
            value for state in self._class_state_before.values() for value, _ in state.values()
        )
        self._existing = _reachable_ids(roots)
        self._run_state: list[_Needle] = []

    def after_setup(self, live_copy: BaseModel) -> None:
        """Learn the run's state from the live copy, while it holds it."""
        needles, _names = _private_needles_and_names(live_copy)
        self._run_state.extend(needle for needle in needles if self._is_run_state(needle.value))

    def _is_run_state(self, value: object) -> bool:
        return id(value) not in self._existing and not self._config.covers(value)

    def after_teardown(self, key: str | None) -> list[Leak]:
        """Run state still reachable after teardown, one leak per place."""
        # A container teardown emptied in place (a pool's list of connections, cleared) is
        # found only as itself: equal to every other empty one, it says nothing by equality.
        needles = _NeedleIndex(
            (needle for needle in self._run_state if _is_significant(needle.value)),
            identity_only=[n for n in self._run_state if not _is_significant(n.value)],
        )
        places: list[tuple[str, object]] = [("user's instance", self._user_instance)]
        places.extend(_shared_defaults(type(self._user_instance)).items())
        leaks: list[Leak] = []
        for cls in self._classes:
            state = _class_state(cls)
            places.append(
                (f"vars({cls.__qualname__})", {name: value for name, (value, _) in state.items()})
            )
            leaks.extend(self._class_changes(key, cls, state))
        if needles:
            for where, root in places:
                walker = _StructureWalker(where, needles, {}, include_private=True)
                leaks.extend(
                    self._leak(key, hit.needle.attribute, hit.needle.value, hit.path)
                    for hit in walker.hits(root)
                )
        # One leak per place: a class attribute found both as changed and by its value once.
        # Inside a place already reported (a client's token inside the client): nothing new.
        by_place: dict[str, Leak] = {}
        for leak in leaks:
            by_place.setdefault(leak.path, leak)
        return [
            leak
            for path, leak in by_place.items()
            if not any(path.startswith((f"{other}.", f"{other}[")) for other in by_place)
        ]

    def _class_changes(
        self, key: str | None, cls: type, state: dict[str, tuple[object, object]]
    ) -> Iterator[Leak]:
        """Class attributes bound, rebound or filled during the run with run state."""
        before = self._class_state_before.get(cls, {})
        for name, (value, _copy) in state.items():
            path = f"vars({cls.__qualname__})[{name!r}]"
            previous = before.get(name)
            if previous is None or previous[0] is not value:
                changes: Iterable[tuple[str, object]] = [("", value)]
            else:
                changes = _new_items(previous[1], value)
            for item_path, item in changes:
                # Values only (a token, an id): an object the run put on the class (a lazily
                # made lock) is reported only when the live copy held it too, found by identity.
                for leaf_path, leaf in _scalar_leaves(item, item_path, 0):
                    if _is_significant(leaf) and self._is_run_state(leaf):
                        attribute = f"{cls.__qualname__}.{name}"
                        yield self._leak(key, attribute, leaf, path + leaf_path)

    def _leak(self, key: str | None, attribute: str, value: object, path: str) -> Leak:
        return Leak(
            stored_at=_storing_line(type(self._user_instance), attribute),
            resource_key=key,
            resource_class=type(self._user_instance).__qualname__,
            audited=OUTLIVED,
            private_attribute=attribute,
            matched="value",
            form=OUTLIVED,
            path=path,
            when="after teardown",
            redacted_value=redact(value),
        )


_LIBRARY_PACKAGES = frozenset({"dagster", "pydantic", "builtins", "typing", "abc"})


def _storing_line(resource_class: type, attribute: str, fields: Iterable[str] = ()) -> str | None:
    """The line of the user's class that stored ``attribute``'s value where it was found: one
    that names both it and a field it landed in (``self.headers[...] = self._token``), else the
    one that assigns it (``self._session = ...``, ``self._session['token'] = ...``), if the
    class's source shows one."""
    name = re.split(r"[\[(]", attribute, maxsplit=1)[0].rsplit(".", 1)[-1]
    if not name.isidentifier():
        return None
    lines = [line for klass in _user_classes(resource_class) for line in _source_lines(klass)]
    field_mentions = [re.compile(rf"""(?:\.|['"]){re.escape(field)}\b""") for field in fields]
    for filename, lineno, line in lines:
        if re.search(rf"\b{re.escape(name)}\b", line) and any(
            mention.search(line) for mention in field_mentions
        ):
            return f"{_shown_path(filename)}:{lineno}"
    for filename, lineno, line in lines:
        if _assigns(name).search(line):
            return f"{_shown_path(filename)}:{lineno}"
    return None


@functools.lru_cache(maxsize=256)
def _assigns(name: str) -> re.Pattern[str]:
    quoted = rf"""['"]{re.escape(name)}['"]"""
    return re.compile(
        rf"\.{re.escape(name)}\s*(?:\[[^\]]*\]\s*)*=(?!=)|setattr\([^,]+,\s*{quoted}\s*,"
    )


@functools.lru_cache(maxsize=256)
def _source_lines(klass: type) -> tuple[tuple[str, int, str], ...]:
    """The source lines of ``klass``'s own functions (hooks and helpers), read from the lines
    their code objects span: cheap, unlike finding a class's source, which parses its module."""
    found: list[tuple[str, int, str]] = []
    for member in vars(klass).values():
        function = getattr(member, "__func__", getattr(member, "fget", member))
        # A decorated hook (@contextmanager) keeps the user's function as __wrapped__.
        for _ in range(_MAX_NESTED_RESOURCE_DEPTH):
            function = getattr(function, "__wrapped__", function)
        code = getattr(function, "__code__", None)
        if not isinstance(code, types.CodeType):
            continue
        lines = linecache.getlines(code.co_filename)
        numbers = [line for _start, _end, line in code.co_lines() if line is not None]
        last = max(numbers, default=code.co_firstlineno)
        found.extend(
            (code.co_filename, number, lines[number - 1])
            for number in range(code.co_firstlineno, min(last, len(lines)) + 1)
        )
    return tuple(found)


def _shown_path(filename: str) -> str:
    try:
        shown = os.path.relpath(filename)
    except ValueError:  # another drive on Windows
        return filename
    return filename if shown.startswith("..") else shown


def _user_classes(cls: type) -> list[type]:
    """The user's classes in ``cls``'s MRO: not Dagster's, pydantic's or the standard library's."""
    return [
        klass for klass in cls.__mro__ if klass.__module__.split(".", 1)[0] not in _LIBRARY_PACKAGES
    ]


def _class_state(cls: type) -> dict[str, tuple[object, object]]:
    """A class's data attributes, each with a shallow copy of its content when a container."""
    state: dict[str, tuple[object, object]] = {}
    for name, value in list(vars(cls).items()):
        if name.startswith("__") or _is_internal(name) or callable(value):
            continue
        if isinstance(value, staticmethod | classmethod | property | functools.cached_property):
            continue
        state[name] = (value, _shallow_copy(value))
    return state


def _shallow_copy(value: object) -> object:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, list | tuple | set | frozenset):
        return list(value)
    return None


def _new_items(before: object, after: object) -> Iterator[tuple[str, object]]:
    """Items added to (or replaced in) a class-level container since ``before`` was copied."""
    if isinstance(before, dict) and isinstance(after, Mapping):
        for item_key, item in list(after.items()):
            if item_key not in before or before[item_key] is not item:
                yield f"[{_safe_repr(item_key)}]", item
    elif isinstance(before, list) and isinstance(after, list | tuple | set | frozenset):
        existing = {id(item) for item in before}
        for position, item in enumerate(list(after)):
            if id(item) not in existing:
                yield f"[{position}]", item


def _scalar_leaves(value: object, path: str, depth: int) -> Iterator[tuple[str, object]]:
    if _is_hashable_scalar(value):
        yield path, value
    elif depth < _MAX_OBJECT_DEPTH and isinstance(value, Mapping):
        for item_key, item in list(value.items()):
            yield from _scalar_leaves(item, f"{path}[{_safe_repr(item_key)}]", depth + 1)
    elif depth < _MAX_OBJECT_DEPTH and isinstance(value, list | tuple | set | frozenset):
        for position, item in enumerate(list(value)):
            yield from _scalar_leaves(item, f"{path}[{position}]", depth + 1)


def _shared_defaults(cls: type) -> dict[str, object]:
    """What the default factories of ``cls``'s fields and private attributes can hand every new
    instance, found without calling them: their closure cells and the globals their code names.
    (A plain default is copied into each instance by pydantic, so it is never shared.)"""
    defaults: dict[str, object] = {}
    declared: dict[str, Any] = {
        **getattr(cls, "model_fields", {}),
        **getattr(cls, "__private_attributes__", {}),
    }
    for name, declaration in declared.items():
        factory = getattr(declaration, "default_factory", None)
        code = getattr(factory, "__code__", None)
        if not isinstance(code, types.CodeType) or _is_internal(name):
            continue
        referenced = [cell.cell_contents for cell in getattr(factory, "__closure__", None) or ()]
        global_names = getattr(factory, "__globals__", {})
        referenced.extend(global_names[n] for n in code.co_names if n in global_names)
        shared = [value for value in referenced if not isinstance(value, _CODE_AND_TYPES)]
        label = f"the default of {cls.__qualname__}.{name}"
        for position, value in enumerate(shared):
            defaults[label if len(shared) == 1 else f"{label} ({position + 1})"] = value
    return defaults


def _reachable_ids(roots: Iterable[object]) -> set[int]:
    """Ids of what ``roots`` reach (models' private state and objects' state included), bounded."""
    seen: set[int] = set()
    pending: list[tuple[object, int]] = [(root, 0) for root in roots]
    while pending and len(seen) < _MAX_WALKED_NODES:
        node, depth = pending.pop()
        if id(node) in seen or depth > _MAX_DEPTH:
            continue
        seen.add(id(node))
        if _is_hashable_scalar(node) or node is None:
            continue
        if isinstance(node, BaseModel):
            children: Iterable[object] = [
                value for _, value in (*_public_fields(node), *_private_state(node))
            ]
        elif isinstance(node, Mapping):
            children = [*node.keys(), *node.values()]
        elif isinstance(node, list | tuple | set | frozenset):
            children = node
        elif depth < _MAX_OBJECT_DEPTH:
            children = _pickled_attributes(node).values()
        else:
            children = ()
        pending.extend((child, depth + 1) for child in children)
    return seen


def find_secret_exposures(
    resource: object,
    *,
    key: str | None = None,
    when: str | None = None,
    user_instance: object | None = None,
) -> list[SecretExposure]:
    """Secret config values shown in plaintext in ``repr()``, ``str()`` or the repository snapshot.

    A field is secret when marked ``json_schema_extra={"dagster__is_secret": True}`` or set from an
    ``EnvVar`` on the user's instance (only known when ``user_instance`` is given). ``repr()`` and
    ``str()`` of both objects are checked; the snapshot is built from the user's instance (or from
    ``resource`` without one), because that is the object Dagster builds the UI's snapshot from.
    """
    model = _require_model(resource, "find_secret_exposures")
    user_model = (
        None if user_instance is None else _require_model(user_instance, "find_secret_exposures")
    )
    exposures = list(_secrets_in_schema_defaults(user_model or model, key, when))
    secrets = list(_secret_fields(model, user_model, prefix=""))
    if not secrets:
        return exposures
    needles = _NeedleIndex(
        needle
        for config_field, reason, plaintext in secrets
        for needle in _needles_for(config_field, reason, plaintext)
    )
    audits = (
        [(RESOURCE, model, True)]
        if user_model is None
        else [(LIVE_COPY, model, False), (USER_INSTANCE, user_model, True)]
    )
    for audited, audited_model, shows_in_snapshot in audits:
        forms = [form for form in _FORMS if form.is_text]
        if shows_in_snapshot and _is_dagster_resource(audited_model):
            forms.append(_SNAPSHOT_FORM)
        for form, hit in _hits_in_forms(audited_model, key, forms, needles, names={}):
            exposures.append(
                SecretExposure(
                    resource_key=key,
                    resource_class=type(audited_model).__qualname__,
                    audited=audited,
                    config_field=hit.needle.attribute,
                    reason=hit.needle.detail,
                    form=form.name,
                    path=hit.path,
                    when=when,
                    redacted_value=redact(hit.needle.value),
                    hint=_REPR_HINT if form.is_text else _MARKED_SECRET_HINT,
                )
            )
    return exposures


def _secrets_in_schema_defaults(
    model: BaseModel, key: str | None, when: str | None
) -> Iterator[SecretExposure]:
    """Field defaults that are the value of a secret-looking environment variable: a secret read
    at import and baked into the config schema (which every snapshot carries)."""
    secret_variables: dict[str, list[str]] = {}
    for name, value in os.environ.items():
        if len(value.strip()) >= MIN_TEXT_LENGTH:
            secret_variables.setdefault(value, []).append(name)
    pending: list[tuple[str, type[BaseModel], int]] = [("", type(model), 0)]
    seen: set[type[BaseModel]] = set()
    while pending:
        prefix, model_class, depth = pending.pop()
        if model_class in seen or depth > _MAX_NESTED_RESOURCE_DEPTH:
            continue
        seen.add(model_class)
        for name, info in model_class.model_fields.items():
            default = info.default
            if isinstance(default, str) and not _is_env_var(default):
                variables = secret_variables.get(str.__str__(default), [])
                looks_secret = _SECRET_NAME.search(name) or _is_marked_secret(model_class, name)
                named_secret = [
                    var for var in variables if looks_secret or _SECRET_NAME.search(var)
                ]
                if named_secret:
                    yield SecretExposure(
                        resource_key=key,
                        resource_class=model_class.__qualname__,
                        audited="the class",
                        config_field=f"{prefix}{name}",
                        reason=f"its default is the value of ${named_secret[0]}",
                        form=SCHEMA_DEFAULT,
                        path=f"{SCHEMA_DEFAULT}['{prefix}{name}']",
                        when=when,
                        redacted_value=redact(default),
                        hint=_SCHEMA_DEFAULT_HINT,
                    )
            annotation = info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                pending.append((f"{prefix}{name}.", annotation, depth + 1))


def assert_no_private_leaks(
    obj: object,
    *,
    key: str | None = None,
    when: str | None = None,
    user_instance: object | None = None,
    check_secrets: bool = False,
) -> None:
    """Fail with :class:`PrivateStateLeak` listing every leak of ``obj``'s private state.

    ``obj`` is a resource (or any pydantic model), typically the live copy a run set up; pass the
    user's instance as ``user_instance`` to have it audited too and its config values excused.
    ``check_secrets=True`` also fails on secret config shown in plaintext (see
    :func:`find_secret_exposures`). Raises ``TypeError`` for an object that is not a pydantic model.
    """
    __tracebackhide__ = True
    problems: list[Leak | SecretExposure] = [
        *find_private_leaks(obj, key=key, when=when, user_instance=user_instance)
    ]
    if check_secrets:
        problems.extend(find_secret_exposures(obj, key=key, when=when, user_instance=user_instance))
    if problems:
        raise PrivateStateLeak(format_leak_report(problems))


def format_leak_report(problems: Sequence[Leak | SecretExposure]) -> str:
    """A short failure message: one entry per leak (per resource, audited object and attribute),
    listing the moments it was seen and the forms it appeared in, values redacted."""
    entries: dict[tuple[str, str], tuple[list[str], dict[str, list[str]]]] = {}
    for problem in problems:
        whens, places = entries.setdefault(
            (_resource_heading(problem), _finding_heading(problem)), ([], {})
        )
        if problem.when is not None and problem.when not in whens:
            whens.append(problem.when)
        form, place = _split_path(problem)
        forms = places.setdefault(place, [])
        if form not in forms:
            forms.append(form)
    kinds = [isinstance(problem, Leak) for problem in problems]
    leak_count = sum(1 for heading in entries if not heading[1].startswith("secret config field"))
    exposure_count = len(entries) - leak_count
    summary = [
        f"{count} {noun}{'s' if count != 1 else ''}"
        for count, noun in (
            (leak_count, "private-state leak"),
            (exposure_count, "plaintext secret"),
        )
        if count
    ]
    lines = [f"{' and '.join(summary)} in serialized config:"]
    previous_resource = None
    for (resource_heading, finding_heading), (whens, places) in entries.items():
        heading = resource_heading
        if whens:
            heading += f", seen {' and '.join(whens)}"
        if heading != previous_resource:
            lines += ["", f"{heading}:"]
            previous_resource = heading
        lines.append(f"  {finding_heading}")
        lines.extend(
            f"    {', '.join(forms)}{': ' + place if place else ''}"
            for place, forms in places.items()
        )
    hints = [
        hint
        for hint in dict.fromkeys(
            problem.hint if isinstance(problem, SecretExposure) else _leak_hint(problem)
            for problem in problems
        )
        if hint
    ]
    if any(kinds) or hints:
        lines.append("")
        lines.extend(hints)
    return "\n".join(lines)


def _split_path(problem: Leak | SecretExposure) -> tuple[str, str]:
    """(form, where in it): ``model_dump()['a']`` -> ``("model_dump()", "['a']")``."""
    if problem.path.startswith(problem.form) and problem.form != OUTLIVED:
        return problem.form, problem.path[len(problem.form) :]
    return problem.path, ""


def _leak_hint(leak: Leak) -> str:
    if leak.audited == OUTLIVED:
        return (
            "Keep run state on the live copy only: not on the class, not in a shared default "
            "(PrivateAttr(default_factory=...) must build a new object), and release it in "
            "teardown."
        )
    if leak.audited == YIELDED_VALUE:
        return (
            "Yield a client or the resource itself, not a copy of the resource with run state "
            "in its config fields."
        )
    return (
        "Keep run state in PrivateAttr attributes only: do not copy it into config fields, "
        "computed fields, __repr__ or a model_serializer."
    )


def redact(value: object) -> str:
    """A value shown without giving it away: ``'sk…' (40 chars)`` for text, the type otherwise."""
    if isinstance(value, enum.Enum):
        return f"{type(value).__qualname__}.{value.name}"
    if isinstance(value, bytes):
        return f"{bytes(value[:2])!r}… ({len(value)} bytes)"
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        text = str.__str__(value) if isinstance(value, str) else repr(value)
        return f"'{text[:2]}…' ({len(text)} chars)"
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        return f"{type(value).__name__} of {len(value)} items"
    return f"{type(value).__module__}.{type(value).__qualname__} object"


# --- what a resource holds ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Needle:
    """A value to look for, with the attribute (or config field) it belongs to."""

    attribute: str
    value: object
    texts: tuple[str, ...]
    detail: str = ""


@dataclass(frozen=True)
class _PrivateName:
    attribute: str
    value: object


def _require_model(obj: object, caller: str) -> BaseModel:
    if not isinstance(obj, BaseModel):
        raise TypeError(
            f"{caller}() audits pydantic models (a Dagster ConfigurableResource, an IO manager "
            f"class, a Config); got {type(obj).__module__}.{type(obj).__qualname__}. A resource "
            "whose create_resource() returns another object keeps its private state on the "
            "resource itself: audit the resource."
        )
    return obj


def _is_internal(name: str) -> bool:
    """Dagster's own bookkeeping (``_state__internal__``...) is not the user's private state."""
    return name.endswith("__internal__")


def _private_state(model: BaseModel) -> Iterator[tuple[str, object]]:
    private_values = model.__pydantic_private__ or {}
    for name in type(model).__private_attributes__:
        if not _is_internal(name) and name in private_values:
            yield name, private_values[name]


def _public_fields(model: BaseModel) -> Iterator[tuple[str, object]]:
    for name in type(model).model_fields:
        if name in model.__dict__:
            yield name, model.__dict__[name]


def _nested_models(model: BaseModel) -> Iterator[tuple[str, BaseModel]]:
    """Models held in public fields (nested resources), directly or as items of a container."""
    for name, value in _public_fields(model):
        if isinstance(value, BaseModel):
            yield name, value
        elif isinstance(value, list | tuple):
            for position, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield f"{name}[{position}]", item
        elif isinstance(value, Mapping):
            for item_key, item in value.items():
                if isinstance(item, BaseModel):
                    yield f"{name}[{item_key!r}]", item


def _private_needles_and_names(
    model: BaseModel,
) -> tuple[list[_Needle], dict[str, _PrivateName]]:
    """The private values of ``model`` and of the resources nested in it, and their names."""
    needles: list[_Needle] = []
    names: dict[str, _PrivateName] = {}
    pending: list[tuple[str, BaseModel, int]] = [("", model, 0)]
    visited: set[int] = set()
    while pending:
        prefix, current, depth = pending.pop(0)
        if id(current) in visited or depth > _MAX_NESTED_RESOURCE_DEPTH:
            continue
        visited.add(id(current))
        for name, value in _private_state(current):
            attribute = f"{prefix}{name}"
            names.setdefault(name, _PrivateName(attribute, value))
            needles.extend(_needles_for(attribute, "", value))
        pending.extend(
            (f"{prefix}{field_path}.", nested, depth + 1)
            for field_path, nested in _nested_models(current)
        )
    return needles, names


def _needles_for(attribute: str, detail: str, value: object) -> list[_Needle]:
    """``value`` and, for a container, its significant items, each labelled by where it sits.

    An object's own attributes are not looked for separately: a thread's name or a client's
    default headers would be found by coincidence. The object itself is, by identity, by
    equality and by its text.
    """
    found: list[_Needle] = []
    visited: set[int] = set()

    def visit(label: str, item: object, depth: int) -> None:
        if len(found) >= _MAX_NEEDLES_PER_ATTRIBUTE or depth > _MAX_DEPTH:
            return
        if not _is_significant(item) or id(item) in visited:
            return
        visited.add(id(item))
        found.append(_Needle(label, item, _texts_of(item), detail))
        if isinstance(item, Mapping):
            for item_key, child in item.items():
                visit(f"{label}[{_safe_repr(item_key)}]", child, depth + 1)
        elif isinstance(item, list | tuple):
            for position, child in enumerate(item):
                visit(f"{label}[{position}]", child, depth + 1)

    visit(attribute, value, 0)
    return found


def _is_significant(value: object) -> bool:
    """Whether ``value`` is specific enough that finding it elsewhere is no coincidence."""
    if value is None or isinstance(value, (bool, BaseModel, *_CODE_AND_TYPES)):
        # A model's content is its own public config (a private reference to a nested resource);
        # classes, modules and functions are code, not state.
        return False
    if isinstance(value, enum.Enum):
        return _is_significant(value.value)
    if isinstance(value, int | float):
        return math.isfinite(value) and abs(value) >= MIN_NUMBER_MAGNITUDE
    if isinstance(value, str | bytes):
        return len(value.strip()) >= MIN_TEXT_LENGTH
    if isinstance(value, Mapping):
        return any(_is_significant(item) for item in value.values())
    if isinstance(value, list | tuple | set | frozenset):
        return any(_is_significant(item) for item in value)
    return True


_CODE_AND_TYPES = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    functools.partial,
)


def _texts_of(value: object) -> tuple[str, ...]:
    """How ``value`` would be spelled inside ``repr()`` or ``str()`` text."""
    if isinstance(value, enum.Enum):
        return _texts_of(value.value)
    if isinstance(value, str):
        plain = str.__str__(value)
        escaped = repr(plain)[1:-1]
        return (plain,) if escaped == plain else (plain, escaped)
    if isinstance(value, bytes):
        escaped = repr(value)[2:-1]
        return (escaped,)
    if isinstance(value, int | float):
        return (repr(value),) if type(value) in (int, float) else ()
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        # Containers are found through their items.
        return ()
    texts = []
    for spell in (str, repr):
        try:
            text = spell(value)
        except Exception:
            continue
        if len(text) >= MIN_OBJECT_TEXT_LENGTH:
            texts.append(text)
    return tuple(dict.fromkeys(texts))


def _safe_repr(value: object) -> str:
    try:
        return repr(value)
    except Exception:
        return f"<{type(value).__qualname__}>"


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


def _is_hashable_scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bytes | enum.Enum) and not isinstance(value, bool)


def _safe_equal(left: object, right: object) -> bool:
    try:
        return bool(left == right)
    except Exception:
        return False


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


def _pickled_attributes(obj: object) -> dict[str, object]:
    """An arbitrary object's state as pickle sees it: ``__getstate__``, else ``__dict__`` and
    ``__slots__``. Empty for what has none, or whose state cannot be read without risk."""
    if isinstance(obj, type | types.ModuleType | types.FunctionType | types.BuiltinFunctionType):
        return {}
    state: object = None
    getstate = getattr(type(obj), "__getstate__", None)
    if getstate is not None and getstate is not getattr(object, "__getstate__", None):
        try:
            state = getstate(obj)
        except Exception:
            return {}
    else:
        state = getattr(obj, "__dict__", None)
        slots = {
            name: getattr(obj, name)
            for klass in type(obj).__mro__
            for name in _slot_names(klass)
            if name not in ("__dict__", "__weakref__") and hasattr(obj, name)
        }
        if slots:
            state = {**(state if isinstance(state, Mapping) else {}), **slots}
    if isinstance(state, tuple) and len(state) == 2:  # (dict, slots) from object.__getstate__
        state = {**(state[0] or {}), **(state[1] or {})}
    if isinstance(state, Mapping):
        return {str(name): value for name, value in state.items() if not _is_internal(str(name))}
    return {} if state is None else {"__getstate__()": state}


def _slot_names(klass: type) -> tuple[str, ...]:
    slots = vars(klass).get("__slots__", ())
    return (slots,) if isinstance(slots, str) else tuple(slots)


def _is_env_var(value: object) -> bool:
    from dagster._config.field_utils import EnvVar, IntEnvVar

    return isinstance(value, EnvVar | IntEnvVar)


def _env_var_value(env_var: Any) -> object:
    """The value an ``EnvVar`` resolves to in a run (its plaintext, never its name)."""
    return env_var.get_value()


def _env_var_name(env_var: Any) -> str:
    name: str = env_var.env_var_name
    return name


# --- the serialized forms ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Form:
    """One way a resource's config gets serialized. ``build`` raising means: not applicable."""

    name: str
    build: Callable[[BaseModel, str], object]
    is_text: bool = False
    dagster_only: bool = False


def _is_dagster_resource(model: BaseModel) -> bool:
    from dagster import ConfigurableIOManagerFactory, ConfigurableResource

    return isinstance(model, ConfigurableResource | ConfigurableIOManagerFactory)


def _model_dump_json(model: BaseModel, _key: str) -> object:
    return json.loads(model.model_dump_json())


def _config_dictionary(model: BaseModel, _key: str) -> object:
    return model._convert_to_config_dictionary()  # type: ignore[attr-defined]


def _run_config(model: BaseModel, key: str) -> object:
    return {"resources": {key: {"config": _config_dictionary(model, key)}}}


def _config_schema(model: BaseModel, _key: str) -> object:
    return _config_schema_of_class(type(model))


@functools.lru_cache(maxsize=256)
def _config_schema_of_class(cls: type[BaseModel]) -> object:
    """Field names, defaults and descriptions of the class's config schema, as nested dicts.

    A property of the class alone, so it is built once per class: a run audits each resource
    after setup and after teardown.
    """
    schema = cls.to_config_schema()  # type: ignore[attr-defined]
    return _config_type_tree(schema.as_field().config_type, depth=0)


def _config_type_tree(config_type: Any, depth: int) -> object:
    if depth > _MAX_DEPTH:
        return None
    fields = getattr(config_type, "fields", None)
    if isinstance(fields, Mapping):
        return {
            name: {
                "description": field.description,
                "default_value": field.default_value if field.default_provided else None,
                "fields": _config_type_tree(field.config_type, depth + 1),
            }
            for name, field in fields.items()
        }
    inner_type = getattr(config_type, "inner_type", None)
    return None if inner_type is None else _config_type_tree(inner_type, depth + 1)


def _repository_snapshot(model: BaseModel, key: str) -> object:
    """The resource's configured values as the UI shows them (``ResourceSnap.configured_values``).

    Building a repository costs about a millisecond and depends only on the class, the key and
    the config, so snapshots are cached by those; a config that does not dump to JSON is not.
    """
    try:
        identity = (type(model), key, model.model_dump_json())
    except Exception:
        return _build_repository_snapshot(model, key)
    if identity not in _snapshots:
        if len(_snapshots) >= _MAX_CACHED_SNAPSHOTS:
            _snapshots.clear()
        _snapshots[identity] = _build_repository_snapshot(model, key)
    return _snapshots[identity]


_MAX_CACHED_SNAPSHOTS = 256
_snapshots: dict[tuple[type[BaseModel], str, str], object] = {}


def _build_repository_snapshot(model: BaseModel, key: str) -> object:
    """Built the way ``dagster dev`` builds it, from ``Definitions(resources={key: model})``. The
    import is private Dagster API (present in 1.8 through 1.13): if it moves, the form is skipped.
    """
    from dagster import Definitions
    from dagster._core.remote_representation.external_data import RepositorySnap

    repository = Definitions(resources={key: model}).get_repository_def()
    snapshot = RepositorySnap.from_def(repository)
    (resource_snap,) = (snap for snap in snapshot.resources or () if snap.name == key)
    return {
        "configured_values": {
            name: _parse_configured_value(value)
            for name, value in resource_snap.configured_values.items()
        }
    }


def _parse_configured_value(value: object) -> object:
    """Configured values are JSON text, or an env var reference that shows only its name."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return {"env": getattr(value, "name", None)}


def _pickled_state(model: BaseModel, _key: str) -> object:
    """What pickling carries besides private attributes, round-tripped through pickle.

    Pydantic pickles ``__pydantic_private__`` by design, so private values travelling there are
    expected and not reported (the walk reads only public fields of the models it meets); a
    private value that lands anywhere else in the pickled state (a public field, also one excluded
    from ``model_dump()``, or a custom ``__getstate__``'s extra keys) is. Dagster's
    ``__internal__`` state, which holds a logger that does not pickle, is left out.
    """
    state = model.__getstate__()
    if isinstance(state, Mapping):
        state = {name: value for name, value in state.items() if name != "__pydantic_private__"}
    buffer = io.BytesIO()
    _PicklerLeavingOut(buffer, _dagster_internal_state_ids(model)).dump(state)
    buffer.seek(0)
    return _UnpicklerOfLeftOut(buffer).load()


def _dagster_internal_state_ids(model: BaseModel) -> set[int]:
    pending = [model]
    visited: set[int] = set()
    left_out: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in visited:
            continue
        visited.add(id(current))
        left_out.update(id(value) for name, value in vars(current).items() if _is_internal(name))
        pending.extend(nested for _path, nested in _nested_models(current))
    return left_out


class _PicklerLeavingOut(pickle.Pickler):
    """Pickles everything except the objects whose ids it was given (stored as references)."""

    def __init__(self, file: io.BytesIO, left_out: set[int]) -> None:
        super().__init__(file)
        self._left_out = left_out

    def persistent_id(self, obj: object) -> str | None:
        return "left out" if id(obj) in self._left_out else None


class _UnpicklerOfLeftOut(pickle.Unpickler):
    def persistent_load(self, pid: object) -> None:
        return None


_SNAPSHOT_FORM = _Form("repository snapshot", _repository_snapshot, dagster_only=True)

_FORMS: tuple[_Form, ...] = (
    _Form("model_dump()", lambda model, _key: model.model_dump()),
    _Form("model_dump(mode='json')", lambda model, _key: model.model_dump(mode="json")),
    _Form("model_dump_json()", _model_dump_json),
    _Form("_convert_to_config_dictionary()", _config_dictionary, dagster_only=True),
    _Form("run config", _run_config, dagster_only=True),
    _Form("to_config_schema()", _config_schema, dagster_only=True),
    _SNAPSHOT_FORM,
    _Form("pickle state", _pickled_state),
    _Form("repr()", lambda model, _key: repr(model), is_text=True),
    _Form("str()", lambda model, _key: str(model), is_text=True),
)


# --- finding needles in forms ------------------------------------------------------------------


@dataclass(frozen=True)
class _Hit:
    needle: _Needle
    path: str
    by_name: bool = False


def _audit_private_state(
    model: BaseModel,
    key: str | None,
    when: str | None,
    audited: str,
    config: ResolvedConfig | None,
    also: tuple[list[_Needle], dict[str, _PrivateName]] | None = None,
) -> list[Leak]:
    all_needles, names = _private_needles_and_names(model)
    if also is not None:
        all_needles = [*also[0], *all_needles]
        names = {**also[1], **names}
    needles = _NeedleIndex(
        needle
        for needle in all_needles
        # The resource's key is the run's own naming: a private copy of it is no leak.
        if (config is None or not config.covers(needle.value))
        and not (isinstance(needle.value, str) and needle.value == key)
    )
    if not needles and not names:
        return []
    forms = [form for form in _FORMS if _is_dagster_resource(model) or not form.dagster_only]
    hits = list(_hits_in_forms(model, key, forms, needles, names))
    # The fields each private value landed in: the line that copied it there is the one to show.
    landed: dict[str, set[str]] = {}
    for form, hit in hits:
        field_name = _FIRST_KEY.match(hit.path[len(form.name) :])
        if field_name and field_name.group(1) in type(model).model_fields:
            landed.setdefault(hit.needle.attribute, set()).add(field_name.group(1))
    return [
        Leak(
            resource_key=key,
            resource_class=type(model).__qualname__,
            audited=audited,
            private_attribute=hit.needle.attribute,
            matched="name" if hit.by_name else "value",
            form=form.name,
            path=hit.path,
            when=when,
            redacted_value=redact(hit.needle.value),
            stored_at=_storing_line(
                type(model), hit.needle.attribute, landed.get(hit.needle.attribute, set())
            ),
        )
        for form, hit in hits
    ]


_FIRST_KEY = re.compile(r"""(?:\['__dict__'\])?\[['"]?([A-Za-z_]\w*)['"]?[\]=]""")


def _hits_in_forms(
    model: BaseModel,
    key: str | None,
    forms: Sequence[_Form],
    needles: _NeedleIndex,
    names: Mapping[str, _PrivateName],
) -> Iterator[tuple[_Form, _Hit]]:
    data = _plain_data_key(model)
    hits_key = None if data is None else _hits_key(data, key, forms, needles, names)
    cached = _cached_hits.get(hits_key) if hits_key is not None else None
    if cached is not None:
        yield from _rebuilt_hits(cached, forms, needles, names)
        return
    found = list(_hits_in_serialized_forms(model, key, forms, needles, names, data))
    if hits_key is not None:
        _remember(_cached_hits, hits_key, _compact_hits(found, forms, needles))
    yield from found


def _hits_in_serialized_forms(
    model: BaseModel,
    key: str | None,
    forms: Sequence[_Form],
    needles: _NeedleIndex,
    names: Mapping[str, _PrivateName],
    data: object | None,
) -> Iterator[tuple[_Form, _Hit]]:
    # Several forms are often equal (model_dump() in both modes, the config dictionary): such a
    # form is walked once, and its hits are reported under each form's name.
    walked: list[tuple[object, str, list[_Hit]]] = []
    for form in forms:
        serialized = _serialized(model, key or "resource", form, data)
        if serialized is _NOT_APPLICABLE:
            # Not applicable to this resource (a live socket does not pickle, a private Dagster
            # import moved): nothing in this form can be audited.
            continue
        hits: list[_Hit]
        if form.is_text:
            hits = _text_hits(form.name, str(serialized), needles, names)
        else:
            equal_form_hits = _hits_of_equal_form(walked, serialized, form.name)
            if equal_form_hits is None:
                hits = _StructureWalker(form.name, needles, names).hits(serialized)
                walked.append((serialized, form.name, hits))
            else:
                hits = equal_form_hits
        # A name found where its value is found too is one leak, reported by value.
        found_by_value = {(hit.needle.attribute, hit.path) for hit in hits if not hit.by_name}
        reported: set[tuple[str, str, bool]] = set()
        for hit in hits:
            place = (hit.needle.attribute, hit.path)
            if (hit.by_name and place in found_by_value) or (*place, hit.by_name) in reported:
                continue
            reported.add((*place, hit.by_name))
            yield form, hit


# --- the same audit, not repeated --------------------------------------------------------------

# A run audits each live copy after setup and after teardown, and the user's instance, which
# usually holds the same config; a test often opens the same resource several times. When every
# serialized form of a model is a function of its data alone (no code of the user's takes part
# in serializing it, and its data is plain: text, numbers, lists, dicts, models), equal data gives
# equal forms, and equal forms searched for equal private values and names give the same hits.
# So the forms are built once per (class, key, data), and the hits found once per (forms, private
# values, private names); a changed field, a value mutated in place, a new private value, all
# give another key and a new search. The caches hold no user object: forms are plain data, the
# keys frozen copies of it, and hits are stored as positions in the needle list and rebuilt from
# the current needles. They are dropped when the test ends (forget_audited_forms).
_MAX_CACHED_AUDITS = 512
_NOT_APPLICABLE = object()
_cached_forms: dict[tuple[object, str, str], object] = {}
_cached_hits: dict[object, tuple[tuple[int, int | str, str, bool], ...]] = {}
# Per class: its core schema, and whether that schema has serialization code. Classes are held
# weakly here and in the keys, so that a test's classes can go with it even before it ends.
_plain_classes: weakref.WeakKeyDictionary[type, tuple[int, bool]] = weakref.WeakKeyDictionary()

# What the user's class could override to take part in serializing it.
_SERIALIZING_ATTRIBUTES = frozenset(
    {
        "__repr__",
        "__str__",
        "__format__",
        "__repr_args__",
        "__repr_name__",
        "__repr_str__",
        "__getstate__",
        "__reduce__",
        "__reduce_ex__",
        "__getattr__",
        "__getattribute__",
        "__iter__",
        "model_dump",
        "model_dump_json",
        "_convert_to_config_dictionary",
        "to_config_schema",
    }
)


def forget_audited_forms() -> None:
    """Drop the cached forms and hits: called when a test's records are released, so that
    nothing of the test's resources outlives it here."""
    _cached_forms.clear()
    _cached_hits.clear()
    _plain_classes.clear()


def _remember(cache: dict[Any, Any], key: object, value: object) -> None:
    if len(cache) >= _MAX_CACHED_AUDITS:
        cache.clear()
    cache[key] = value


def _serialized(model: BaseModel, key: str, form: _Form, data: object | None) -> object:
    """``form`` of ``model``, built once per data when the model's data is plain."""
    cache_key = None if data is None else (data, key, form.name)
    if cache_key is not None and cache_key in _cached_forms:
        return _cached_forms[cache_key]
    try:
        serialized = form.build(model, key)
    except Exception:
        serialized = _NOT_APPLICABLE
    if cache_key is not None:
        _remember(_cached_forms, cache_key, serialized)
    return serialized


def _serializes_plainly(cls: type) -> bool:
    """Whether every form of ``cls``'s instances is built by pydantic's and Dagster's own code
    from their data: no method of the user's classes and no serializer, computed field or
    custom type in the core schema takes part. Read afresh each time (a test may patch a
    method in); only the core schema's answer is kept, for that schema object."""
    if any(not _SERIALIZING_ATTRIBUTES.isdisjoint(vars(klass)) for klass in _user_classes(cls)):
        return False
    schema = getattr(cls, "__pydantic_core_schema__", None)
    known = _plain_classes.get(cls)
    # By the schema's id: the schema names its class, so holding it would keep the class alive.
    if known is None or known[0] != id(schema):
        known = (id(schema), not _has_serialization_code(schema, 0))
        _plain_classes[cls] = known
    return known[1]


def _has_serialization_code(schema: object, depth: int) -> bool:
    """Whether a core schema names a serializer or a computed field anywhere (validators and
    JSON-schema functions take no part in serializing)."""
    if depth == 0 and type(schema) is not dict:
        return True  # not built yet (a forward reference): cannot tell, so assume code
    if depth > 64:
        return True
    if isinstance(schema, dict):
        for name, value in schema.items():
            if name in ("serialization", "computed_fields") and value:
                return True
            if name != "metadata" and _has_serialization_code(value, depth + 1):
                return True
    elif isinstance(schema, list | tuple):
        return any(_has_serialization_code(item, depth + 1) for item in schema)
    return False


class _NotPlain(Exception):
    """Data that cannot stand for itself in a cache key."""


_PLAIN_SCALARS = (str, int, bool, bytes, type(None))


def _plain_data_key(model: BaseModel) -> object | None:
    """A hashable stand-in for everything the model's forms are built from, equal only for
    data equal in value and type all the way down; None when its forms could depend on more."""
    try:
        return _frozen(model, 0)
    except _NotPlain:
        return None
    except Exception:  # a hostile __eq__ or __hash__ somewhere: no shortcut
        return None


def _frozen(value: object, depth: int) -> object:
    kind = type(value)
    if kind in _PLAIN_SCALARS:
        return (kind, value)
    if kind is float:
        return (kind, repr(value))  # 0.0 == -0.0, but they are written differently
    if depth > _MAX_DEPTH:
        raise _NotPlain
    if kind is dict and isinstance(value, dict):
        return (
            kind,
            tuple((_frozen(k, depth + 1), _frozen(v, depth + 1)) for k, v in value.items()),
        )
    if kind in (list, tuple) and isinstance(value, list | tuple):
        return (kind, tuple(_frozen(item, depth + 1) for item in value))
    if isinstance(value, BaseModel):
        if not _serializes_plainly(kind):
            raise _NotPlain
        state = tuple(
            (name, _frozen(item, depth + 1))
            for name, item in vars(value).items()
            if not _is_internal(name)
        )
        extra = value.__pydantic_extra__
        return (
            weakref.ref(kind),
            state,
            None if extra is None else _frozen(dict(extra), depth + 1),
            # In its own iteration order: the pickled state walks it by position.
            tuple(value.__pydantic_fields_set__),
        )
    if _is_env_var(value):  # Dagster's own str and int subclasses on a user's instance
        return (kind, str.__str__(value) if isinstance(value, str) else int(value))  # type: ignore[call-overload]
    raise _NotPlain


def _hits_key(
    data: object,
    key: str | None,
    forms: Sequence[_Form],
    needles: _NeedleIndex,
    names: Mapping[str, _PrivateName],
) -> object | None:
    try:
        frozen_needles = tuple(
            (needle.attribute, _frozen(needle.value, 0), needle.texts, needle.detail)
            for needle in needles.needles
        )
    except _NotPlain:
        return None  # an object (a client) is found by identity: search again
    except Exception:
        return None
    return (
        data,
        key,
        tuple(form.name for form in forms),
        frozen_needles,
        tuple((name, private_name.attribute) for name, private_name in names.items()),
    )


def _compact_hits(
    found: list[tuple[_Form, _Hit]], forms: Sequence[_Form], needles: _NeedleIndex
) -> tuple[tuple[int, int | str, str, bool], ...]:
    """Hits as (form position, needle position or private name, path, by name): no values."""
    form_positions = {id(form): position for position, form in enumerate(forms)}
    needle_positions = {id(needle): position for position, needle in enumerate(needles.needles)}
    compact: list[tuple[int, int | str, str, bool]] = []
    for form, hit in found:
        if hit.by_name:
            which: int | str = hit.needle.attribute
        else:
            which = needle_positions[id(hit.needle)]
        compact.append((form_positions[id(form)], which, hit.path, hit.by_name))
    return tuple(compact)


def _rebuilt_hits(
    compact: tuple[tuple[int, int | str, str, bool], ...],
    forms: Sequence[_Form],
    needles: _NeedleIndex,
    names: Mapping[str, _PrivateName],
) -> Iterator[tuple[_Form, _Hit]]:
    by_attribute = {private_name.attribute: private_name for private_name in names.values()}
    for form_position, which, path, by_name in compact:
        if by_name:
            private_name = by_attribute[str(which)]
            needle = _Needle(private_name.attribute, private_name.value, ())
        else:
            needle = needles.needles[int(which)]
        yield forms[form_position], _Hit(needle, path, by_name)


def _hits_of_equal_form(
    walked: list[tuple[object, str, list[_Hit]]], serialized: object, root: str
) -> list[_Hit] | None:
    for previous, previous_root, hits in walked:
        try:
            equal = type(previous) is type(serialized) and bool(previous == serialized)
        except Exception:
            equal = False
        if equal:
            return [
                dataclasses.replace(hit, path=root + hit.path[len(previous_root) :]) for hit in hits
            ]
    return None


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


def _secret_fields(
    resource: BaseModel, user_instance: BaseModel | None, prefix: str
) -> Iterator[tuple[str, str, object]]:
    """(field path, why it is secret, its plaintext) for each secret field, nested ones included."""
    user_fields = dict(_public_fields(user_instance)) if user_instance is not None else {}
    for name, value in _public_fields(resource):
        user_value = user_fields.get(name)
        if _is_env_var(user_value):
            reason = f"from EnvVar({_env_var_name(user_value)!r})"
        elif _is_marked_secret(type(resource), name):
            reason = "marked dagster__is_secret"
        else:
            continue
        plaintext = _env_var_value(value) if _is_env_var(value) else value
        if _is_significant(plaintext):
            yield f"{prefix}{name}", reason, plaintext
    user_nested = dict(_nested_models(user_instance)) if user_instance is not None else {}
    for field_path, nested in _nested_models(resource):
        yield from _secret_fields(nested, user_nested.get(field_path), f"{prefix}{field_path}.")


def _is_marked_secret(model_class: type[BaseModel], name: str) -> bool:
    extra = model_class.model_fields[name].json_schema_extra
    return isinstance(extra, Mapping) and extra.get("dagster__is_secret") is True


# --- report headings ---------------------------------------------------------------------------


def _resource_heading(problem: Leak | SecretExposure) -> str:
    key = "resource" if problem.resource_key is None else f"resource {problem.resource_key!r}"
    return f"{key} ({problem.resource_class}), {problem.audited}"


def _finding_heading(problem: Leak | SecretExposure) -> str:
    if isinstance(problem, Leak):
        stored = f", stored at {problem.stored_at}" if problem.stored_at else ""
        if problem.audited == OUTLIVED:
            return (
                f"run state {problem.private_attribute} = {problem.redacted_value}{stored}, "
                "still in:"
            )
        where = "its name appears as a key in" if problem.matched == "name" else "found in"
        return (
            f"private attribute {problem.private_attribute} = {problem.redacted_value}{stored}, "
            f"{where}:"
        )
    return (
        f"secret config field {problem.config_field} ({problem.reason}) = "
        f"{problem.redacted_value}, in plaintext in:"
    )
