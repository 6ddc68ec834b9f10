"""Resource keys: the key a resource gets by default, and what ``open`` and ``check`` accept."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import dagster

from pytest_resources._dagster import ConfigurableResourceFactory, PartialResource
from pytest_resources._errors import ResourceUsageError


def default_key(resource_class: type[Any]) -> str:
    """The resource key for a class: snake_case of its name, without a trailing ``Resource``."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", resource_class.__name__)
    key = words.lower()
    if key.endswith("_resource"):
        key = key[: -len("_resource")]
    return key


def as_named_resources(resources: Any, key: str | None, *, what: str) -> dict[str, Any]:
    """Accept one resource or a mapping of key to resource; anything else is a clear error."""
    if isinstance(resources, Mapping):
        if key is not None:
            raise ResourceUsageError(
                f"{what}: key= names a single resource; a mapping already names its resources "
                f"by its keys ({', '.join(map(repr, resources))})."
            )
        check_keys(resources, what=what)
        return dict(resources)
    if isinstance(resources, type):
        raise ResourceUsageError(
            f"{what} takes a resource instance, got the class {resources.__name__}; "
            f"build it first: {resources.__name__}(field=value, ...)."
        )
    if isinstance(resources, PartialResource):
        raise ResourceUsageError(
            f"{what}: a configure_at_launch() partial needs its config from the run; open a "
            f"built instance instead: {resources.resource_cls.__name__}(field=value, ...)."
        )
    if not isinstance(resources, ConfigurableResourceFactory):
        raise not_a_configurable_resource(
            f"{what} takes a Dagster ConfigurableResource (or a dict of key to resource)",
            resources,
        )
    return {key or default_key(type(resources)): resources}


def not_a_configurable_resource(expected: str, value: object) -> ResourceUsageError:
    """The error for what is not a ConfigurableResource; a function resource is told where it
    is checked."""
    if isinstance(value, dagster.ResourceDefinition):
        return ResourceUsageError(
            f"{expected}, got a function resource (@dg.resource or a ResourceDefinition), whose "
            "lifecycle is its own function: it is checked where Dagster loads it, with pytest "
            "--dagster-definitions."
        )
    return ResourceUsageError(f"{expected}, got {type(value).__qualname__}: {value!r}.")


def check_keys(resources: Mapping[Any, Any], *, what: str) -> None:
    """Resource keys are Python identifiers, as Dagster requires."""
    bad_keys = [k for k in resources if not isinstance(k, str) or not k.isidentifier()]
    if bad_keys:
        raise ResourceUsageError(
            f"{what}: resource keys must be Python identifiers, got {bad_keys!r}."
        )
