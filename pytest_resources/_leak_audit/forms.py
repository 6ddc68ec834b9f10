"""The serialized forms of a resource's config (every way Dagster or a user writes it out), and
the hits of needles in them, found once per plain data.

A run audits each live copy after setup and after teardown, and the user's instance, which
usually holds the same config; a test often opens the same resource several times. When every
form of a model is a function of its data alone (no code of the user's takes part in serializing
it, and its data is plain: text, numbers, lists, dicts, models), equal data gives equal forms, and
equal forms searched for equal needles give the same hits. So forms are built once per (data,
key, form) and hits found once per (data, key, forms, needles): a changed field, a value mutated
in place, a new private value, all give another key. The caches hold no user object (forms are
plain data, keys frozen copies of it, hits positions in the needle list) and are dropped when the
test ends (``forget_audited_forms``). They halve the time of an audited ``open`` (bench.run's
resources: 2.0 ms against 3.9 ms without them, 2.8 ms with the forms' cache alone).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import pickle
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dagster
from pydantic import BaseModel

import pytest_resources._leak_audit.values as values
from pytest_resources._dagster import RepositorySnap, wrap_resources_for_execution
from pytest_resources._leak_audit.process_state import forget_previous_runs
from pytest_resources._leak_audit.search import Hit, NeedleIndex, structure_hits, text_hits
from pytest_resources._plain_data import NotPlainData, frozen, remember


@dataclass(frozen=True)
class Form:
    """One way a resource's config gets serialized. ``build`` raising means: not applicable to
    this resource (its data does not dump, its state does not pickle). A ``dagster_only`` form is
    built with Dagster's API: built for a plain resource first, it fails only when that API
    changed, which is the plugin's problem, not the resource's."""

    name: str
    build: Callable[[BaseModel, str], object]
    is_text: bool = False
    dagster_only: bool = False
    # What a form that takes a shortcut through Dagster's code must agree with, on the probe.
    reference: Callable[[BaseModel, str], object] | None = None


def is_dagster_resource(model: BaseModel) -> bool:
    return isinstance(model, dagster.ConfigurableResource | dagster.ConfigurableIOManagerFactory)


def _config_dictionary(model: BaseModel, _key: str) -> object:
    return model._convert_to_config_dictionary()  # type: ignore[attr-defined]


def _config_schema(model: BaseModel, _key: str) -> object:
    """Field names, defaults and descriptions of the class's config schema, as nested dicts."""

    def tree(config_type: Any, depth: int) -> object:
        fields = getattr(config_type, "fields", None)
        if depth > values.MAX_DEPTH:
            return None
        if isinstance(fields, Mapping):
            return {
                name: {
                    "description": field.description,
                    "default_value": field.default_value if field.default_provided else None,
                    "fields": tree(field.config_type, depth + 1),
                }
                for name, field in fields.items()
            }
        inner_type = getattr(config_type, "inner_type", None)
        return None if inner_type is None else tree(inner_type, depth + 1)

    return tree(type(model).to_config_schema().as_field().config_type, 0)  # type: ignore[attr-defined]


def _repository_snapshot(model: BaseModel, key: str) -> object:
    """The configured values as the UI shows them (``ResourceSnap.configured_values``).

    ``RepositorySnap.from_def`` takes them from the resource definition ``Definitions`` wraps
    the resource in, as the JSON of its config schema's default: read here the same way,
    without building the repository around it (which costs a millisecond per config). The
    session's probe checks that the two agree (``_snapshot_of_a_repository``).
    """
    schema = wrap_resources_for_execution({key: model})[key].config_schema
    configured = json.loads(schema.default_value_as_json_str) if schema.default_provided else {}
    return {"configured_values": configured}


def _snapshot_of_a_repository(model: BaseModel, key: str) -> object:
    """The same values, taken from the snapshot of a whole repository as ``dagster dev``
    builds it: JSON text, or an env var reference that shows its name."""
    repository = dagster.Definitions(resources={key: model}).get_repository_def()
    (resource_snap,) = (
        snap for snap in RepositorySnap.from_def(repository).resources or () if snap.name == key
    )
    return {
        "configured_values": {
            name: json.loads(value) if isinstance(value, str) else {"env": value.name}
            for name, value in resource_snap.configured_values.items()
        }
    }


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
    left_out: set[int] = set()
    pending, visited = [model], set()
    while pending:
        current = pending.pop()
        if id(current) not in visited:
            visited.add(id(current))
            left_out.update(
                id(value) for name, value in vars(current).items() if values.is_internal(name)
            )
            pending.extend(nested for _path, nested in values.nested_models(current))
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer)
    pickler.persistent_id = lambda obj: "left out" if id(obj) in left_out else None  # type: ignore[method-assign]
    pickler.dump(state)
    buffer.seek(0)
    unpickler = pickle.Unpickler(buffer)
    unpickler.persistent_load = lambda pid: None  # type: ignore[method-assign]
    return unpickler.load()


SNAPSHOT_FORM = Form(
    "repository snapshot",
    _repository_snapshot,
    dagster_only=True,
    reference=_snapshot_of_a_repository,
)
FORMS: tuple[Form, ...] = (
    Form("model_dump()", lambda model, _key: model.model_dump()),
    Form("model_dump(mode='json')", lambda model, _key: model.model_dump(mode="json")),
    Form("model_dump_json()", lambda model, _key: json.loads(model.model_dump_json())),
    Form("_convert_to_config_dictionary()", _config_dictionary, dagster_only=True),
    Form(
        "run config",
        lambda model, key: {"resources": {key: {"config": _config_dictionary(model, key)}}},
        dagster_only=True,
    ),
    Form("to_config_schema()", _config_schema, dagster_only=True),
    SNAPSHOT_FORM,
    Form("pickle state", _pickled_state),
    Form("repr()", lambda model, _key: repr(model), is_text=True),
    Form("str()", lambda model, _key: str(model), is_text=True),
)

# Forms the installed Dagster cannot build even for a plain resource (an API the plugin uses
# moved): the plugin's error, said once per session (unbuildable_forms), never a silent skip.
_probed_forms: dict[str, str | None] = {}
_MAX_CACHED_AUDITS = 512
_NOT_APPLICABLE = object()
_cached_forms: dict[tuple[object, str, str], object] = {}
_cached_hits: dict[object, tuple[tuple[int, int, str, bool], ...]] = {}
# Per class: its core schema's id, and whether that schema has serialization code. Classes are
# held weakly, so that a test's classes can go with it even before it ends.
_plain_classes: weakref.WeakKeyDictionary[type, tuple[int, bool]] = weakref.WeakKeyDictionary()
# What the user's class could override to take part in serializing it.
_SERIALIZING_ATTRIBUTES = frozenset(
    {
        *("__repr__", "__str__", "__format__", "__repr_args__", "__repr_name__", "__repr_str__"),
        *("__getstate__", "__reduce__", "__reduce_ex__", "__getattr__", "__getattribute__"),
        *("__iter__", "model_dump", "model_dump_json", "_convert_to_config_dictionary"),
        "to_config_schema",
    }
)


def unbuildable_forms() -> list[str]:
    """What this process's audits had to skip because the plugin cannot build a form here."""
    return [message for message in _probed_forms.values() if message is not None]


def forget_audited_forms() -> None:
    """Drop the cached forms and hits, and the sizes after each run: called when a test's
    records are released, so that nothing of the test's resources outlives it here."""
    forget_previous_runs()
    _cached_forms.clear()
    _cached_hits.clear()
    _plain_classes.clear()


def _form_available(form: Form) -> bool:
    if form.dagster_only and form.name not in _probed_forms:

        class PluginProbe(dagster.ConfigurableResource):  # type: ignore[type-arg]
            value: str = "probe"

        try:
            probe = PluginProbe(value="probed")
            built = form.build(probe, "probe")
            if form.reference is not None and form.reference(probe, "probe") != built:
                raise ValueError("it differs from what Dagster's own snapshot holds")
        except Exception as error:
            _probed_forms[form.name] = (
                f"the leak audit cannot build the form {form.name} on dagster "
                f"{dagster.__version__} ({values.describe_error(error)}), so every audit of this "
                "session skipped it. A Dagster API the plugin relies on has changed: please "
                "report it to pytest-resources, or pin dagster to a version it supports."
            )
        else:
            _probed_forms[form.name] = None
    return _probed_forms.get(form.name) is None


def hits_in_forms(
    model: BaseModel,
    key: str | None,
    forms: Sequence[Form],
    needles: NeedleIndex,
    names: Mapping[str, values.Needle],
) -> Iterator[tuple[Form, Hit]]:
    """Each hit of ``needles`` (and of private ``names`` used as keys) in each form of ``model``;
    a name found where its value is found too is one leak, reported by value."""
    data = _plain_data_key(model)
    every_needle = [*needles.needles, *names.values()]
    hits_key = None
    if data is not None:
        # Not for needles that are objects (a client): they are found by identity.
        with contextlib.suppress(Exception):
            hits_key = (
                data,
                key,
                tuple(form.name for form in forms),
                tuple(
                    (n.attribute, frozen(n.value, 0, _frozen_model_or_env_var), n.texts, n.detail)
                    for n in needles.needles
                ),
                tuple((name, needle.attribute) for name, needle in names.items()),
            )
    cached = _cached_hits.get(hits_key) if hits_key is not None else None
    if cached is not None:
        for form_at, needle_at, path, by_name in cached:
            yield forms[form_at], Hit(every_needle[needle_at], path, by_name)
        return
    found = list(_search(model, key or "resource", forms, needles, names, data))
    if hits_key is not None:
        positions = {id(needle): at for at, needle in enumerate(every_needle)}
        form_positions = {id(form): at for at, form in enumerate(forms)}
        compact = tuple(
            (form_positions[id(form)], positions[id(hit.needle)], hit.path, hit.by_name)
            for form, hit in found
        )
        remember(_cached_hits, hits_key, compact, limit=_MAX_CACHED_AUDITS)
    yield from found


def _search(
    model: BaseModel,
    key: str,
    forms: Sequence[Form],
    needles: NeedleIndex,
    names: Mapping[str, values.Needle],
    data: object | None,
) -> Iterator[tuple[Form, Hit]]:
    # Several forms are often equal (model_dump() in both modes, the config dictionary): such a
    # form is walked once, and its hits are reported under each form's name.
    walked: list[tuple[object, str, list[Hit]]] = []
    for form in forms:
        if not _form_available(form):
            continue
        cache_key = None if data is None else (data, key, form.name)
        if cache_key is not None and cache_key in _cached_forms:
            serialized = _cached_forms[cache_key]
        else:
            try:
                serialized = form.build(model, key)
            except Exception:
                serialized = _NOT_APPLICABLE
            if cache_key is not None:
                remember(_cached_forms, cache_key, serialized, limit=_MAX_CACHED_AUDITS)
        if serialized is _NOT_APPLICABLE:
            continue  # its state does not pickle, its data does not dump: nothing to audit
        hits: list[Hit] | None = None
        if form.is_text:
            hits = text_hits(form.name, str(serialized), needles, names)
        else:
            hits = _hits_of_equal_form(walked, serialized, form.name)
        if hits is None:
            hits = structure_hits(form.name, serialized, needles, names)
            walked.append((serialized, form.name, hits))
        found_by_value = {(hit.needle.attribute, hit.path) for hit in hits if not hit.by_name}
        reported: set[tuple[str, str, bool]] = set()
        for hit in hits:
            place = (hit.needle.attribute, hit.path)
            if (hit.by_name and place in found_by_value) or (*place, hit.by_name) in reported:
                continue
            reported.add((*place, hit.by_name))
            yield form, hit


def _hits_of_equal_form(
    walked: list[tuple[object, str, list[Hit]]], serialized: object, root: str
) -> list[Hit] | None:
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


def _serializes_plainly(cls: type) -> bool:
    """Whether every form of ``cls``'s instances is built by pydantic's and Dagster's own code
    from their data: no method of the user's classes and no serializer, computed field or
    custom type in the core schema takes part. Read afresh each time (a test may patch a
    method in); only the core schema's answer is kept, for that schema object."""
    if any(
        not _SERIALIZING_ATTRIBUTES.isdisjoint(vars(klass)) for klass in values.user_classes(cls)
    ):
        return False
    schema = getattr(cls, "__pydantic_core_schema__", None)
    known = _plain_classes.get(cls)
    # By the schema's id: the schema names its class, so holding it would keep the class alive.
    if known is None or known[0] != id(schema):
        # A schema not built yet (a forward reference) cannot tell: assume code.
        known = (id(schema), type(schema) is dict and not _has_serialization_code(schema, 0))
        _plain_classes[cls] = known
    return known[1]


def _has_serialization_code(schema: object, depth: int) -> bool:
    """Whether a core schema names a serializer or a computed field anywhere (validators and
    JSON-schema functions take no part in serializing)."""
    if depth > 64:
        return True
    if isinstance(schema, dict):
        return any(
            (name in ("serialization", "computed_fields") and value)
            or (name != "metadata" and _has_serialization_code(value, depth + 1))
            for name, value in schema.items()
        )
    if isinstance(schema, list | tuple):
        return any(_has_serialization_code(item, depth + 1) for item in schema)
    return False


def _plain_data_key(model: BaseModel) -> object | None:
    """A hashable stand-in for everything the model's forms are built from, equal only for
    data equal in value and type all the way down; None when its forms could depend on more
    (or a hostile ``__eq__`` or ``__hash__`` somewhere refuses)."""
    try:
        return frozen(model, 0, _frozen_model_or_env_var)
    except Exception:
        return None


def _frozen_model_or_env_var(value: object, depth: int) -> object:
    if isinstance(value, BaseModel):
        if not _serializes_plainly(type(value)):
            raise NotPlainData
        extra = value.__pydantic_extra__
        return (
            weakref.ref(type(value)),
            tuple(
                (name, frozen(item, depth + 1, _frozen_model_or_env_var))
                for name, item in vars(value).items()
                if not values.is_internal(name)
            ),
            None if extra is None else frozen(dict(extra), depth + 1, _frozen_model_or_env_var),
            # In its own iteration order: the pickled state walks it by position.
            tuple(value.__pydantic_fields_set__),
        )
    if values.is_env_var(value):  # Dagster's own str and int subclasses on a user's instance
        return (type(value), str.__str__(value) if isinstance(value, str) else int(value))
    raise NotPlainData
