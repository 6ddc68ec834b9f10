"""What travels from the test process to the step processes: the run's definitions by module
and name, and the test's resources pickled as their class and public fields."""

from __future__ import annotations

import base64
import importlib.machinery
import io
import os
import pickle
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import dagster

from pytest_resources._dagster import ConfigurableResourceFactory, PartialResource
from pytest_resources._errors import ResourceUsageError
from pytest_resources._hooks import describe_exception
from pytest_resources._multiprocess.jobs import import_reference, rebuild_partial, rebuild_resource


class _ResourcePickler(pickle.Pickler):
    """Pickles the test's resources as their class and public fields, as Dagster copies them."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, ConfigurableResourceFactory):
            values = dict(obj._get_non_default_public_field_values())
            return (rebuild_resource, (type(obj), values))
        if isinstance(obj, PartialResource):
            return (rebuild_partial, (obj.resource_cls, dict(obj.data)))
        if isinstance(obj, dagster.ResourceDefinition) and not isinstance(obj, type):
            module, name = _module_level_name(obj, _function_modules(obj.resource_fn))
            if module is None:
                raise pickle.PicklingError(
                    "a resource definition that is not a ConfigurableResource travels by its "
                    "module-level name, and none was found"
                )
            return (import_reference, (module, name))
        return NotImplemented


def dump_resources(resources: Mapping[str, Any]) -> str:
    """The test's resources as base64 text for ``reconstructable_kwargs``; clear errors for
    what cannot travel to a step process."""
    for key, value in resources.items():
        buffer = io.BytesIO()
        try:
            _ResourcePickler(buffer).dump(value)
        except Exception as error:
            cls = type(value)
            raise ResourceUsageError(
                f"run_context.materialize(executor='multiprocess'): resource {key!r} "
                f"({cls.__module__}.{cls.__qualname__}) cannot be handed to the step processes "
                f"({describe_exception(error)}). A step process rebuilds each resource from "
                "its class and config: define the class at module level (not inside a test "
                "function), keep config values picklable, or run with executor='in_process'."
            ) from None
    buffer = io.BytesIO()
    _ResourcePickler(buffer).dump(dict(resources))
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _function_modules(function: Any) -> list[str]:
    inner = getattr(function, "decorated_fn", function)
    module = getattr(inner, "__module__", None)
    return [module] if isinstance(module, str) else []


def _defining_function(obj: Any) -> Any:
    """The user's function behind an asset or a job's first op, for its module and qualname."""
    for path in ("op", "node_def", "graph.node_defs"):
        try:
            value: Any = obj
            for attribute in path.split("."):
                value = getattr(value, attribute)
            if path == "graph.node_defs":
                value = next(iter(value))
            function = value.compute_fn
        except Exception:
            continue
        return getattr(function, "decorated_fn", function)
    return None


def _module_level_name(obj: Any, modules: Sequence[str]) -> tuple[str | None, str]:
    for module_name in dict.fromkeys(modules):
        module = sys.modules.get(module_name)
        if module is None:
            continue
        for name, value in list(vars(module).items()):
            if value is obj:
                return module_name, name
    return None, ""


def _describe(obj: Any) -> str:
    if isinstance(obj, dagster.AssetsDefinition):
        keys = ", ".join(key.to_user_string() for key in obj.keys)
        return f"asset {keys}"
    if isinstance(obj, dagster.Definitions):
        return "Definitions"
    name = getattr(obj, "name", None)
    return f"job {name!r}" if name else type(obj).__name__


def reference(obj: Any, caller_module: str | None) -> list[str]:
    """``[module, name]`` by which a step process imports ``obj`` again, or a clear error."""
    function = _defining_function(obj)
    modules = _function_modules(function) if function is not None else []
    if caller_module:
        modules.append(caller_module)
    module_name, name = _module_level_name(obj, modules)
    what = _describe(obj)
    where = ""
    if function is not None and getattr(function, "__code__", None) is not None:
        code = function.__code__
        where = f" ({os.path.relpath(code.co_filename)}:{code.co_firstlineno})"
    if module_name is None:
        qualname = getattr(function, "__qualname__", "") if function is not None else ""
        if "<locals>" in qualname:
            outer = qualname.split(".<locals>", 1)[0]
            cause = f"is defined inside {outer}(){where}"
        elif getattr(function, "__name__", "") == "<lambda>":
            cause = f"is built from a lambda{where}"
        else:
            cause = f"is not a module-level name of any module the run can import{where}"
        raise ResourceUsageError(
            f"run_context.materialize(executor='multiprocess'): {what} {cause}. Each step "
            "process imports the run's definitions again by module and name, so move it to "
            "module level (in the test module or a module it imports), or run it with "
            "executor='in_process'."
        )
    _check_importable(module_name, what)
    return [module_name, name]


def _check_importable(module_name: str, what: str) -> None:
    module = sys.modules[module_name]
    if module_name == "__main__":
        raise ResourceUsageError(
            f"run_context.materialize(executor='multiprocess'): {what} is defined in __main__, "
            "which a step process cannot import; move it to a module."
        )
    filename = getattr(module, "__file__", None)
    parts = module_name.split(".")
    spec = importlib.machinery.PathFinder.find_spec(parts[0], sys.path)
    found = spec.origin if spec is not None else None
    if found and len(parts) > 1:
        base = os.path.dirname(found)
        candidates = [
            os.path.join(base, *parts[1:]) + ".py",
            os.path.join(base, *parts[1:], "__init__.py"),
        ]
        found = next((c for c in candidates if os.path.exists(c)), None)
    if not filename or not found or os.path.realpath(found) != os.path.realpath(filename):
        raise ResourceUsageError(
            f"run_context.materialize(executor='multiprocess'): {what} lives in module "
            f"{module_name!r} ({filename}), which a step process cannot import under that name "
            "from sys.path (pytest's --import-mode=importlib, or a module loaded from a file "
            "path, does this). Put the definitions in an importable module, or run with "
            "the default --import-mode=prepend."
        )
