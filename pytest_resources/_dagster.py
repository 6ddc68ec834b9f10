"""The one door to Dagster's internals: every private name of Dagster the plugin uses.

Dagster moves its private names between minor releases, so no other module of the package
imports ``dagster._`` (``tests/test_layers.py`` checks it). Each name below says what the plugin
uses it for and which public API would replace it; ``tests/test_dagster_contract.py`` states,
one test per name, what the plugin relies on, so a release that changes one fails that test.
A name Dagster moved is looked up at each place it is known to have lived, newest first.

Importing this module checks the installed Dagster once: older than :data:`OLDEST_SUPPORTED`,
or a name at none of its places, raises :class:`UnsupportedDagster` naming all of it. The
plugin imports this module at the first use of one of its features (``plugin.py``) and shows
that message alone; a run that uses none of them never imports it.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re
from typing import TYPE_CHECKING, Any

import dagster

from pytest_resources._errors import UnsupportedDagster

OLDEST_SUPPORTED = (1, 8)
# The minors the suite runs on (tox.ini, docs/reference/supported-versions.md).
TESTED_MINORS = ("1.8", "1.10", "1.12", "1.13")

# Each name at none of its places, as the error lists it.
_missing: list[str] = []


def _find(name: str, *places: str, attributes: tuple[str, ...] = ()) -> Any:
    """``name`` from the first module of ``places`` that has it, with each of ``attributes``
    (what the plugin reads or wraps on it); ``name=""`` is the module itself."""
    for place in places:
        try:
            module = importlib.import_module(place)
        except ImportError:
            continue
        found = getattr(module, name, None) if name else module
        if found is not None:
            _missing.extend(
                f"{place}.{name + '.' if name else ''}{attribute}"
                for attribute in attributes
                if not hasattr(found, attribute)
            )
            return found
    _missing.append(f"{name or places[0]} (looked in {', '.join(places)})")
    return None


def _optional(name: str, *places: str) -> Any:
    """``name`` where a public fallback exists: None, not an error, when it is gone."""
    missing = len(_missing)
    found = _find(name, *places)
    del _missing[missing:]
    return found


if TYPE_CHECKING:
    from dagster._config import process_config as process_config
    from dagster._config.pythonic_config.resource import (
        ConfigurableResourceFactory as ConfigurableResourceFactory,
    )
    from dagster._config.pythonic_config.resource import PartialResource as PartialResource
    from dagster._core.definitions.definition_config_schema import (
        DefinitionConfigSchema as DefinitionConfigSchema,
    )
    from dagster._core.definitions.scoped_resources_builder import (
        ScopedResourcesBuilder as ScopedResourcesBuilder,
    )
    from dagster._core.execution import resources_init as resources_init
    from dagster._core.execution.api import create_execution_plan as create_execution_plan
    from dagster._core.execution.build_resources import (
        wrap_resources_for_execution as wrap_resources_for_execution,
    )
    from dagster._core.instance.ref import InstanceRef as InstanceRef
    from dagster._core.remote_representation.external_data import RepositorySnap as RepositorySnap
else:
    # The base of every Pythonic resource and IO manager factory. Used for isinstance checks,
    # for Dagster's default hooks (whether a class overrides one), and for the two copy methods
    # the plugin wraps to follow the copies Dagster sets up (_wrappers.py), whose module holds
    # the schema work shared between copies (_hooks.py). Public replacement: none for the copy
    # methods and hooks; for isinstance, (dagster.ConfigurableResource,
    # dagster.ConfigurableIOManagerFactory) are its two subclasses.
    ConfigurableResourceFactory = _find(
        "ConfigurableResourceFactory",
        "dagster._config.pythonic_config.resource",
        "dagster._config.pythonic_config",
        attributes=(
            "_with_updated_values",
            "_resolve_and_update_nested_resources",
            "_is_cm_resource_cls",
            "_convert_to_config_dictionary",
        ),
    )
    # Its module's schema work, which each copy's __init__ repeats, shared between the copies
    # of one initialization (_hooks.py wraps both). Public replacement: none.
    _find(
        "",
        getattr(ConfigurableResourceFactory, "__module__", "dagster._config.pythonic_config"),
        attributes=("infer_schema_from_config_class", "_curry_config_schema"),
    )
    # What configure_at_launch() returns: a resource whose config comes from the run. Public
    # replacement: none (it is the type of `SomeResource.configure_at_launch()`).
    PartialResource = _find(
        "PartialResource",
        "dagster._config.pythonic_config.resource",
        "dagster._config.pythonic_config",
    )
    # Resource values (instances, partials, plain values) as the ResourceDefinitions Dagster
    # runs: a job's resources replaced for materialize, a code location's dependencies between
    # keys, the configured values the repository snapshot takes from a resource's definition
    # (_leak_audit/forms.py, without building a repository per config). Public replacement:
    # Definitions(resources=...).get_repository_def().get_top_level_resources() wraps them the
    # same way, but refuses a partial set whose dependencies are elsewhere (a job's own
    # resources) and adds a default io_manager.
    wrap_resources_for_execution = _find(
        "wrap_resources_for_execution", "dagster._core.execution.build_resources"
    )
    # Dagster's initialization of a run's resources: single_resource_event_generator is wrapped
    # to see the teardowns Dagster swallows (_wrappers.py); the other two tell which resources
    # a step process initializes (_multiprocess/_facts.py). Public replacement: none (Dagster
    # records no successful teardown, dagster issue 2843).
    resources_init = _find(
        "",
        "dagster._core.execution.resources_init",
        attributes=(
            "single_resource_event_generator",
            "get_required_resource_keys_for_step",
            "resolve_resource_dependencies",
        ),
    )
    # A job's execution plan, to find each step of a multiprocess run (_multiprocess/_facts.py).
    # Public replacement: none (dagster.execute_job builds one inside).
    create_execution_plan = _find("create_execution_plan", "dagster._core.execution.api")
    # config_defaults: what Dagster asks of the custom instance class a dagster.yaml names
    # (_multiprocess/step_process.py). Public replacement: none.
    InstanceRef = _find(
        "InstanceRef", "dagster._core.instance.ref", attributes=("config_defaults",)
    )
    # The repository snapshot the UI shows, whose configured values the leak audit searches: its
    # shortcut is checked against it once a session (_leak_audit/forms.py). Public replacement:
    # none.
    RepositorySnap = _find(
        "RepositorySnap",
        "dagster._core.remote_representation.external_data",
        attributes=("from_def",),
    )
    # The empty resources of run_context.init_context's InitResourceContext (_context.py).
    # Public replacement: dagster.build_init_resource_context builds one, but binds no run.
    ScopedResourcesBuilder = _find(
        "ScopedResourcesBuilder", "dagster._core.definitions.scoped_resources_builder"
    )
    # Dagster's verdict on a drawn config, as a run gives it (_strategies/acceptance.py).
    # Public replacement: dagster.validate_run_config over a one-op job, 10 times slower, the
    # strategies' fallback when this is gone.
    process_config = _optional("process_config", "dagster._config", "dagster._config.validate")

# What EnvVar.int() returns; dagster does not export the class. Public: this very expression.
IntEnvVar: type[Any] = type(dagster.EnvVar.int("_"))


def _plugin_version() -> str:
    try:
        return importlib.metadata.version("pytest-dagster-resources")
    except importlib.metadata.PackageNotFoundError:
        return "(not installed)"


def _minor(version: str) -> tuple[int, int] | None:
    """``(1, 8)`` of ``"1.8.13"``; None for a development build (``"1!0+dev"``)."""
    match = re.fullmatch(r"(\d+)\.(\d+)\..*", version)
    return (int(match[1]), int(match[2])) if match else None


def refusal(version: str, missing: list[str]) -> str | None:
    """Why the plugin cannot work with dagster ``version`` missing ``missing``; None if it can."""
    minor = _minor(version)
    oldest = ".".join(map(str, OLDEST_SUPPORTED))
    too_old = minor is not None and minor < OLDEST_SUPPORTED
    if not too_old and not missing:
        return None
    lines = [f"pytest-dagster-resources {_plugin_version()} cannot work with dagster {version}:"]
    if too_old:
        lines.append(f"  dagster {version} is older than {oldest}, the oldest it supports")
    lines.extend(f"  Dagster moved or removed {name}" for name in missing)
    lines.append(
        f"Supported: dagster >= {oldest}, tested on {', '.join(TESTED_MINORS)}. "
        + (
            f"Fix: pip install 'dagster>={oldest}'."
            if too_old
            else f"Fix: pin dagster to {TESTED_MINORS[-1]} (pip install 'dagster=="
            f"{TESTED_MINORS[-1]}.*'), or upgrade pytest-dagster-resources; please report it."
        )
    )
    return "\n".join(lines)


_refused = refusal(dagster.__version__, _missing)
if _refused is not None:
    raise UnsupportedDagster(_refused)
