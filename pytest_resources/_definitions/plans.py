"""What each item of a code location opens: a resource key as the code location wires it
(its nested resources, the top-level resources it depends on, the run config a job gives a
``configure_at_launch()`` partial), and each resource class to audit with generated configs."""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster

from pytest_resources._dagster import (
    ConfigurableResourceFactory,
    PartialResource,
    wrap_resources_for_execution,
)

from pytest_resources._hooks import holds_run_state

# EnvVar.int() returns a class that dagster does not export.
_INT_ENV_VAR = type(dagster.EnvVar.int("_"))


@dataclass(frozen=True)
class ResourcePlan:
    """How one resource key is opened, as its code location wires it."""

    key: str
    class_name: str
    # The key and every top-level resource it depends on (configure_at_launch partials,
    # required_resource_keys), as the Definitions give them.
    resources: dict[str, Any]
    resource_config: dict[str, Any] = field(default_factory=dict)
    # configure_at_launch() partials with required fields no job configures, and those fields.
    unconfigured: dict[str, tuple[str, ...]] = field(default_factory=dict)
    source: tuple[Path, int] | None = None

    def env_vars(self) -> list[str]:
        """The variables that EnvVar fields and ``{"env": ...}`` config read, in order."""
        names: dict[str, None] = {}
        for value in (*self.resources.values(), self.resource_config):
            names.update(dict.fromkeys(_env_var_names(value)))
        return list(names)


def _env_var_names(value: Any) -> Iterator[str]:
    if isinstance(value, dagster.EnvVar):
        yield value.env_var_name
    elif isinstance(value, _INT_ENV_VAR):
        yield value.name
    elif isinstance(value, Mapping):
        if set(value) == {"env"} and isinstance(value["env"], str):
            yield value["env"]
        else:
            for item in value.values():
                yield from _env_var_names(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _env_var_names(item)
    elif isinstance(value, PartialResource):
        yield from _env_var_names(value.data)
    elif isinstance(value, (ConfigurableResourceFactory, dagster.Config)):
        try:
            config = value._convert_to_config_dictionary()
        except Exception:  # Dagster's own error, raised again when the resource opens, says more
            return
        yield from _env_var_names(config)


def _class_of(value: Any) -> type[Any] | None:
    if isinstance(value, PartialResource):
        return value.resource_cls
    if isinstance(value, ConfigurableResourceFactory):
        return type(value)
    return None


def _describe_class(value: Any) -> str:
    resource_class = _class_of(value)
    if resource_class is not None:
        return resource_class.__qualname__
    if isinstance(value, dagster.ResourceDefinition):
        function = getattr(value, "resource_fn", None)
        name = getattr(function, "__name__", None)
        return f"@resource {name}" if name else type(value).__name__
    return type(value).__name__


def _job_resource_configs(defs: dagster.Definitions) -> dict[str, Any]:
    """Each resource key's config from the first job of the Definitions that gives one."""
    found: dict[str, Any] = {}
    for job in defs.jobs or ():
        # define_asset_job keeps its config as given; a JobDefinition keeps it privately (its
        # public run_config fails while the Definitions have not bound its resources yet).
        config: Any = getattr(job, "config", None)
        if config is None:
            config = getattr(job, "_original_config_argument", None)
        if isinstance(config, dagster.RunConfig):
            config = config.to_config_dict()  # type: ignore[no-untyped-call]
        if not isinstance(config, Mapping):
            continue
        resources = config.get("resources")
        if not isinstance(resources, Mapping):
            continue
        for key, entry in resources.items():
            if isinstance(entry, Mapping) and "config" in entry:
                found.setdefault(key, entry["config"])
    return found


def _missing_fields(partial: PartialResource[Any], config: Mapping[str, Any]) -> tuple[str, ...]:
    given = {*partial.data, *config}
    fields = partial.resource_cls.model_fields
    return tuple(
        info.alias or name
        for name, info in fields.items()
        if info.is_required() and name not in given and (info.alias or name) not in given
    )


def _dependencies(key: str, wrapped: Mapping[str, dagster.ResourceDefinition]) -> list[str]:
    """The key and the top-level keys it needs, transitively, in the order found."""
    order = [key]
    for current in order:
        definition = wrapped.get(current)
        if definition is None:
            continue
        try:
            needed_keys = definition.get_required_resource_keys(wrapped)
        except Exception:  # e.g. a nested partial under no key: Dagster says so when it opens
            continue
        for needed in sorted(needed_keys):
            if needed not in order:
                order.append(needed)
    return order


def _instances(value: Any) -> set[int]:
    """The ids of the resource instances with run state a top-level value holds: itself and
    every resource nested in it, at any depth. A partial is left out (Dagster builds it afresh
    for its key), and so is a class without hooks, whose sharing breaks no rule."""
    found: set[int] = set()
    seen: set[int] = set()
    pending = [value]
    while pending:
        current = pending.pop()
        if not isinstance(current, ConfigurableResourceFactory) or id(current) in seen:
            continue
        seen.add(id(current))
        if holds_run_state(type(current)):
            found.add(id(current))
        pending.extend(current.nested_resources.values())
    return found


def _sharing(given: Mapping[str, Any]) -> dict[str, list[str]]:
    """For each key, the other keys that hold one of its instances: opened together, the run
    sets that instance up once per key, which rule 6 reports."""
    instances = {key: _instances(value) for key, value in given.items()}
    return {
        key: [other for other in given if other != key and held & instances[other]]
        for key, held in instances.items()
    }


def _audit_overrides(value: Any) -> dict[str, Any]:
    """What the generator cannot draw for a class, taken from the code location: the values of
    its ``ResourceDependency`` fields (Dagster rewrites their annotation to ``Annotated[Any,
    'resource_dependency']``). Nested resource fields are drawn as instances of their class."""
    if not isinstance(value, ConfigurableResourceFactory):
        return {}
    overrides = {}
    for name in type(value).model_fields:
        held = getattr(value, name, None)
        if isinstance(held, (ConfigurableResourceFactory, PartialResource)):
            continue
        if "resource_dependency" in repr(type(value).model_fields[name].metadata):
            overrides[name] = held
    return overrides


def _source_line(value: Any) -> tuple[Path, int] | None:
    """Where a resource's class (or a function resource's function) is defined."""
    source = _class_of(value) or getattr(value, "resource_fn", None) or value
    if not (inspect.isclass(source) or inspect.isfunction(source)):
        return None
    try:
        path = inspect.getsourcefile(source)
        lineno = inspect.getsourcelines(source)[1]
    except (OSError, TypeError):
        return None
    return (Path(path), lineno) if path else None


@dataclass(frozen=True)
class AuditPlan:
    """One resource class of the code location, audited with generated configs."""

    resource_class: type[Any]
    # The first key that holds it; what the generator cannot draw comes from its instance.
    key: str
    overrides: dict[str, Any]

    @property
    def name(self) -> str:
        return self.resource_class.__qualname__

    @property
    def source(self) -> tuple[Path, int] | None:
        return _source_line(self.resource_class)


def plan_audits(defs: dagster.Definitions) -> list[AuditPlan]:
    plans: dict[type[Any], AuditPlan] = {}
    for key, value in (defs.resources or {}).items():
        resource_class = _class_of(value)
        if resource_class is not None and resource_class not in plans:
            plans[resource_class] = AuditPlan(resource_class, key, _audit_overrides(value))
    return list(plans.values())


def plan_resources(defs: dagster.Definitions) -> list[ResourcePlan]:
    given = dict(defs.resources or {})
    wrapped = wrap_resources_for_execution(given)
    job_configs = _job_resource_configs(defs)
    sharing = _sharing(given)
    plans = []
    for key, value in given.items():
        keys = _dependencies(key, wrapped)
        for other in sharing[key]:
            keys.extend(name for name in _dependencies(other, wrapped) if name not in keys)
        resources = {name: given[name] for name in keys if name in given}
        resource_config = {}
        unconfigured = {}
        for name, resource in resources.items():
            # What takes its config from the run: a partial, or a function resource.
            if not isinstance(resource, (PartialResource, dagster.ResourceDefinition)):
                continue
            config = job_configs.get(name, {})
            if name in job_configs:
                resource_config[name] = config
            missing = (
                _missing_fields(resource, config) if isinstance(resource, PartialResource) else ()
            )
            if missing:
                unconfigured[name] = missing
        plans.append(
            ResourcePlan(
                key=key,
                class_name=_describe_class(value),
                resources=resources,
                resource_config=resource_config,
                unconfigured=unconfigured,
                source=_source_line(value),
            )
        )
    return plans
