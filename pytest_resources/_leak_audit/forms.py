"""The serialized forms of a resource's config: every way Dagster or a user writes it out
(dumps, run config, config schema, repository snapshot, pickled state, repr and str)."""

from __future__ import annotations

import functools
import io
import json
import pickle
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from pytest_resources._leak_audit.needles import _MAX_DEPTH, _is_internal, _nested_models


@dataclass(frozen=True)
class _Form:
    """One way a resource's config gets serialized. ``build`` raising means: not applicable to
    this resource (its data does not dump, its state does not pickle). ``probe`` builds the form
    of a plain resource: it fails only when the Dagster API the form is built with changed, which
    is the plugin's problem, not the resource's."""

    name: str
    build: Callable[[BaseModel, str], object]
    is_text: bool = False
    dagster_only: bool = False
    probe: Callable[[], object] | None = None


def _probe_resource() -> BaseModel:
    from dagster import ConfigurableResource

    class PluginProbe(ConfigurableResource):  # type: ignore[type-arg]
        value: str = "probe"

    return PluginProbe()


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


def _probe(build: Callable[[BaseModel, str], object]) -> Callable[[], object]:
    return lambda: build(_probe_resource(), "probe")


_SNAPSHOT_FORM = _Form(
    "repository snapshot",
    _repository_snapshot,
    dagster_only=True,
    probe=_probe(_build_repository_snapshot),
)

_FORMS: tuple[_Form, ...] = (
    _Form("model_dump()", lambda model, _key: model.model_dump()),
    _Form("model_dump(mode='json')", lambda model, _key: model.model_dump(mode="json")),
    _Form("model_dump_json()", _model_dump_json),
    _Form(
        "_convert_to_config_dictionary()",
        _config_dictionary,
        dagster_only=True,
        probe=_probe(_config_dictionary),
    ),
    _Form("run config", _run_config, dagster_only=True, probe=_probe(_run_config)),
    _Form(
        "to_config_schema()",
        _config_schema,
        dagster_only=True,
        probe=_probe(lambda model, _key: _config_schema_of_class.__wrapped__(type(model))),
    ),
    _SNAPSHOT_FORM,
    _Form("pickle state", _pickled_state),
    _Form("repr()", lambda model, _key: repr(model), is_text=True),
    _Form("str()", lambda model, _key: str(model), is_text=True),
)
