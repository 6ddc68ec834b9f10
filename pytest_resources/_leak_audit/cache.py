"""The same audit, not repeated: a model's forms searched once per plain data, the forms and
hits cached until the test ends (``forget_audited_forms``)."""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Iterator, Mapping, Sequence

from pydantic import BaseModel

from pytest_resources._leak_audit.forms import _Form
from pytest_resources._leak_audit.needles import (
    _is_env_var,
    _is_internal,
    _Needle,
    _PrivateName,
    describe_error,
)
from pytest_resources._leak_audit.search import _Hit, _NeedleIndex, _StructureWalker, _text_hits
from pytest_resources._leak_audit.user_code import _user_classes
from pytest_resources._plain_data import NotPlainData, frozen, remember

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


# Forms the installed Dagster cannot build even for a plain resource (an API the plugin uses
# moved): the plugin's error, said once per session (unbuildable_forms), never a silent skip.
_probed_forms: dict[str, str | None] = {}


def unbuildable_forms() -> list[str]:
    """What this process's audits had to skip because the plugin cannot build a form here."""
    return [message for message in _probed_forms.values() if message is not None]


def _form_available(form: _Form) -> bool:
    if form.probe is None:
        return True
    if form.name not in _probed_forms:
        try:
            form.probe()
        except Exception as error:
            import dagster

            _probed_forms[form.name] = (
                f"the leak audit cannot build the form {form.name} on dagster "
                f"{dagster.__version__} ({describe_error(error)}), so every audit of this "
                "session skipped it. A Dagster API the plugin relies on has changed: please "
                "report it to pytest-resources, or pin dagster to a version it supports."
            )
        else:
            _probed_forms[form.name] = None
    return _probed_forms[form.name] is None


def forget_audited_forms() -> None:
    """Drop the cached forms and hits: called when a test's records are released, so that
    nothing of the test's resources outlives it here."""
    _cached_forms.clear()
    _cached_hits.clear()
    _plain_classes.clear()


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
        remember(
            _cached_hits, hits_key, _compact_hits(found, forms, needles), limit=_MAX_CACHED_AUDITS
        )
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
        if not _form_available(form):
            continue
        serialized = _serialized(model, key or "resource", form, data)
        if serialized is _NOT_APPLICABLE:
            # Not applicable to this resource (its state does not pickle, its data does not
            # dump): nothing in this form can be audited.
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
        remember(_cached_forms, cache_key, serialized, limit=_MAX_CACHED_AUDITS)
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


def _plain_data_key(model: BaseModel) -> object | None:
    """A hashable stand-in for everything the model's forms are built from, equal only for
    data equal in value and type all the way down; None when its forms could depend on more."""
    try:
        return _frozen(model, 0)
    except NotPlainData:
        return None
    except Exception:  # a hostile __eq__ or __hash__ somewhere: no shortcut
        return None


def _frozen(value: object, depth: int) -> object:
    """Plain data frozen into a key, models and Dagster's ``EnvVar`` values included."""
    return frozen(value, depth, _frozen_model_or_env_var)


def _frozen_model_or_env_var(value: object, depth: int) -> object:
    kind = type(value)
    if isinstance(value, BaseModel):
        if not _serializes_plainly(kind):
            raise NotPlainData
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
    raise NotPlainData


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
    except NotPlainData:
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
