"""The ``@pytest.mark.resource`` marker: its two spellings, checked against a real signature."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import dagster
import pydantic

from pytest_resources._dagster import ConfigurableResourceFactory
from pytest_resources._errors import ResourceUsageError
from pytest_resources._keys import default_key, not_a_configurable_resource


@dataclass(frozen=True, kw_only=True)
class ResourceMarkOptions:
    """Options of the instance spelling; a typo is a TypeError naming the option."""

    key: str | None = None
    leak_audit: bool = True
    release_check: bool = False


def _resource(resource: Any, /, **config_or_options: Any) -> tuple[Any, dict[str, Any]]:
    """The marker's signature: calling this with a mark's arguments checks their shape."""
    return resource, config_or_options


def _check_config_names(cls: type[Any], keywords: dict[str, Any]) -> None:
    """Dagster resources ignore unknown keyword arguments: a typo would silently fall back to
    the field's default, and a plugin option given here would be lost."""
    fields = cls.model_fields
    known = {name for name in fields} | {f.alias for f in fields.values() if f.alias}
    unknown = sorted(set(keywords) - known)
    if not unknown:
        return
    options = {option.name for option in dataclasses.fields(ResourceMarkOptions)}
    hint = (
        f" Plugin options go with an instance: @pytest.mark.resource({cls.__qualname__}(...), "
        f"{unknown[0]}=...)."
        if options & set(unknown)
        else ""
    )
    raise ResourceUsageError(
        f"{cls.__qualname__} has no config field {', '.join(map(repr, unknown))}; its fields "
        f"are: {', '.join(sorted(known)) or 'none'}.{hint}"
    )


def _one_resource(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ResourceMarkOptions]:
    try:
        target, keywords = _resource(*args, **kwargs)
    except TypeError:
        raise ResourceUsageError(
            "takes one positional argument, a resource class or instance; got "
            f"{len(args)}: {', '.join(map(repr, args)) or 'none'}."
        ) from None
    if isinstance(target, type):
        if not issubclass(target, ConfigurableResourceFactory):
            raise ResourceUsageError(
                f"{target.__qualname__} is not a Dagster ConfigurableResource class."
            )
        _check_config_names(target, keywords)
        try:
            instance = target(**keywords)
        except (pydantic.ValidationError, dagster.DagsterError) as error:
            raise ResourceUsageError(f"invalid config for {target.__qualname__}: {error}") from None
        return instance, ResourceMarkOptions()
    if isinstance(target, ConfigurableResourceFactory):
        try:
            options = ResourceMarkOptions(**keywords)
        except TypeError:
            known = [option.name for option in dataclasses.fields(ResourceMarkOptions)]
            unknown = ", ".join(sorted(set(keywords) - set(known)))
            raise ResourceUsageError(
                f"unknown option {unknown} for a resource instance; the options are: "
                f"{', '.join(known)}. Config goes into the constructor: "
                f"{type(target).__qualname__}(field=value)."
            ) from None
        return target, options
    raise not_a_configurable_resource(
        "expects a Dagster ConfigurableResource class or instance", target
    )


@dataclass(frozen=True)
class MarkedResources:
    """What the ``resource`` marks of one test ask for."""

    named: dict[str, Any]
    unaudited: frozenset[str]  # keys whose leak audit is off
    release_check: bool  # any mark asked for the release check of the run


def resources_from_marks(marks: Iterable[Any]) -> MarkedResources:
    """Every ``resource`` mark of a test, outermost level (module) first."""
    named: dict[str, Any] = {}
    unaudited: set[str] = set()
    release_check = False
    for mark in reversed(list(marks)):
        try:
            instance, options = _one_resource(mark.args, dict(mark.kwargs))
        except ResourceUsageError as error:
            raise ResourceUsageError(f"@pytest.mark.resource {error}") from None
        key = options.key or default_key(type(instance))
        if key in named:
            raise ResourceUsageError(
                f"@pytest.mark.resource: two resources use the key {key!r}; give one of them "
                f"another key: @pytest.mark.resource({type(instance).__qualname__}(...), "
                "key='other')."
            )
        named[key] = instance
        if not options.leak_audit:
            unaudited.add(key)
        release_check = release_check or options.release_check
    return MarkedResources(named, frozenset(unaudited), release_check)
