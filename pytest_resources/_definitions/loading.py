"""Finding and loading a code location's ``Definitions`` as ``dagster dev`` and ``dg dev`` do: the
module a command-line option, the ini file or pyproject.toml names (a dg project's too, in its
``src`` layout), a module attribute, the one ``Definitions`` in the module, or a
``@dg.definitions`` loader (one that takes a ``ComponentLoadContext`` built as its defs folder
builds it)."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import pkgutil
import re
import sys
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType
from typing import Any

import dagster

from pytest_resources._errors import ResourceUsageError

_MODULE_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_ATTRIBUTE = re.compile(r"^[A-Za-z_]\w*$")


class DefinitionsError(ResourceUsageError):
    """The code location could not be found or loaded; the message says what to change."""


@dataclass(frozen=True)
class Target:
    """Where the Definitions are: a module, optionally an attribute, and who named them."""

    module: str
    attribute: str | None
    named_by: str
    # A dg project's: the directory its root module is in (src/ or the project root), put on
    # sys.path when the project is not installed.
    dg_source_root: Path | None = None

    def __str__(self) -> str:
        return f"{self.module}:{self.attribute}" if self.attribute else self.module


def parse_target(text: str, named_by: str, dg_source_root: Path | None = None) -> Target:
    module, _, attribute = text.strip().partition(":")
    if not _MODULE_NAME.match(module) or (attribute and not _ATTRIBUTE.match(attribute)):
        hint = ""
        if "/" in text or text.endswith(".py"):
            hint = (
                " It looks like a path: pytest may have taken a test path as the option's value; "
                "write --dagster-definitions=MODULE, or put the option after the test paths."
            )
        raise DefinitionsError(
            f"{named_by} takes a module name or module:attribute (my_project.definitions or "
            f"my_project.definitions:defs), got {text!r}.{hint}"
        )
    return Target(module, attribute or None, named_by, dg_source_root)


def _pyproject_tools(path: Path) -> dict[str, Any]:
    """The [tool] table of a pyproject.toml."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - a declared dependency before Python 3.11
        import tomli as tomllib
    try:
        tool = tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {})
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise DefinitionsError(f"cannot read {path}: {error}") from None
    return tool if isinstance(tool, dict) else {}


def _dg_source_root(rootpath: Path, project: Any) -> Path | None:
    """Where a dg project's modules are, as dg finds them: in src/ when there is one
    (create-dagster's layout), else beside pyproject.toml; None when [tool.dg.project] names no
    root module."""
    if not isinstance(project, dict) or not isinstance(project.get("root_module"), str):
        return None
    return rootpath / "src" if (rootpath / "src").exists() else rootpath


def dg_source_root(rootpath: Path) -> Path | None:
    """The source directory of the dg project at ``rootpath``, if it is one: an explicitly
    named module of the project is found there too."""
    path = rootpath / "pyproject.toml"
    if not path.is_file():
        return None
    return _dg_source_root(rootpath, _pyproject_tools(path).get("dg", {}).get("project"))


def target_from_pyproject(rootpath: Path) -> Target:
    """The module ``dagster dev`` (or ``dg dev``) would load from the project's pyproject.toml."""
    path = rootpath / "pyproject.toml"
    how_to_name = (
        "name the module: --dagster-definitions my_project.definitions, or the ini option "
        "dagster_definitions"
    )
    if not path.is_file():
        raise DefinitionsError(
            f"--dagster-definitions without a module looks in {path}, which does not exist; "
            f"{how_to_name}."
        )
    tool = _pyproject_tools(path)
    dagster_block = tool.get("dagster", {})
    if isinstance(dagster_block.get("module_name"), str):
        return parse_target(dagster_block["module_name"], f"[tool.dagster] module_name in {path}")
    modules = [
        entry.get("name")
        for entry in dagster_block.get("modules", [])
        if isinstance(entry, dict) and entry.get("type") == "module"
    ]
    if len(modules) == 1 and isinstance(modules[0], str):
        return parse_target(modules[0], f"[tool.dagster] modules in {path}")
    if len(modules) > 1:
        raise DefinitionsError(
            f"[tool.dagster] modules in {path} lists {len(modules)} code locations "
            f"({', '.join(map(str, modules))}); {how_to_name}."
        )
    project = tool.get("dg", {}).get("project", {})
    source_root = _dg_source_root(rootpath, project)
    if source_root is not None:
        if isinstance(project.get("code_location_target_module"), str):
            return parse_target(
                project["code_location_target_module"],
                f"[tool.dg.project] code_location_target_module in {path}",
                source_root,
            )
        return parse_target(
            f"{project['root_module']}.definitions",
            f"[tool.dg.project] root_module in {path}",
            source_root,
        )
    raise DefinitionsError(
        f"--dagster-definitions without a module reads [tool.dagster] module_name or "
        f"[tool.dg.project] root_module from {path}, which has neither; {how_to_name}."
    )


def module_path(target: Target, working_directory: Path) -> Path:
    """The file of the target's module, found without running it. Like ``dagster dev -m``,
    the working directory (a dg project's source directory) goes on ``sys.path`` when the module
    is not importable otherwise."""
    directory = target.dg_source_root or working_directory
    origin = _module_origin(target.module)
    if origin is None and str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
        importlib.invalidate_caches()
        origin = _module_origin(target.module)
    if origin is None:
        where = (
            f"put it in {directory}"
            if target.dg_source_root
            else "run pytest from the directory that holds it"
        )
        raise DefinitionsError(
            f"{target.named_by}: cannot find the module {target.module!r}; install the project "
            f"(pip install -e .) or {where}."
        )
    return Path(origin)


def _module_origin(name: str) -> str | None:
    """The file of a module, found as the import system finds it but running no package's
    ``__init__``: the top-level name through every finder on ``sys.meta_path`` (an editable
    install's too), each submodule in its parent's search locations (:func:`_find_in`)."""
    parts = name.split(".")
    try:
        spec = importlib.util.find_spec(parts[0])  # a top-level name: a search, nothing runs
    except ValueError:  # imported, without a __spec__ (__main__)
        return None
    for depth in range(1, len(parts)):
        imported = sys.modules.get(".".join(parts[:depth]))
        # An imported package may have extended its __path__ (pkgutil.extend_path).
        locations = getattr(imported, "__path__", None) or (
            spec.submodule_search_locations if spec is not None else None
        )
        if locations is None:
            return None  # the parent is missing, or not a package
        spec = _find_in(".".join(parts[: depth + 1]), locations)
    if spec is None or not spec.origin or not os.path.exists(spec.origin):
        return None
    return spec.origin


def _find_in(name: str, locations: Iterable[str]) -> ModuleSpec | None:
    """``importlib.machinery.PathFinder.find_spec(name, locations)``, through the same path entry
    finders (``sys.path_hooks``), but for a namespace package without the ``_NamespacePath``
    PathFinder wraps its portions in, which looks up the parent package in ``sys.modules``."""
    portions: list[str] = []
    for location in locations:
        finder = pkgutil.get_importer(location)
        spec = finder.find_spec(name) if finder is not None else None
        if spec is None:
            continue
        if spec.loader is not None:
            return spec  # a module or a regular package: the first location that has it wins
        portions.extend(spec.submodule_search_locations or ())
    if not portions:
        return None
    namespace = ModuleSpec(name, None, is_package=True)
    namespace.submodule_search_locations = portions
    return namespace


def load_definitions(target: Target) -> dagster.Definitions:
    """The Definitions a target names: an attribute, or the one found in the module."""
    try:
        module = importlib.import_module(target.module)
    except ImportError as error:
        if target.dg_source_root is None or _has_components() or not _from_dagster(error):
            raise
        raise DefinitionsError(
            f"{target.named_by}: {target.module} is a dg project's, which loads through "
            f"dagster.components, and dagster {dagster.__version__} has none ({error}); upgrade "
            "dagster, or name a module that builds a dg.Definitions without components: "
            "--dagster-definitions MODULE."
        ) from None
    if target.attribute is not None:
        if not hasattr(module, target.attribute):
            raise DefinitionsError(
                f"{target.named_by}: the module {target.module} has no attribute "
                f"{target.attribute!r}."
            )
        return _as_definitions(getattr(module, target.attribute), target, target.attribute)
    found = _definitions_in(module)
    if not found:
        raise DefinitionsError(
            f"{target.named_by}: the module {target.module} holds no Definitions (a "
            f"dg.Definitions at module level, or a function decorated with @dg.definitions); "
            f"point at the module that does, or name the object: {target.module}:ATTRIBUTE."
        )
    if len(found) > 1:
        names = ", ".join(f"{target.module}:{name}" for name in found)
        raise DefinitionsError(
            f"{target.named_by}: the module {target.module} holds {len(found)} Definitions "
            f"({names}); name the one to audit, e.g. --dagster-definitions={names.split(', ')[0]}."
        )
    ((name, value),) = found.items()
    return _as_definitions(value, target, name)


def _has_components() -> bool:
    return importlib.util.find_spec("dagster.components") is not None


def _from_dagster(error: ImportError) -> bool:
    return (error.name or "").partition(".")[0] == "dagster"


def _is_lazy_definitions(value: Any) -> bool:
    # @dg.definitions (dagster >= 1.10) and the older @lazy_definitions both make a
    # LazyDefinitions object, in a module that moved between releases.
    return type(value).__name__ == "LazyDefinitions" and callable(value)


def _definitions_in(module: ModuleType) -> dict[str, Any]:
    """Module-level Definitions and lazy loaders, by attribute name, each object once; lazy
    loaders win, as in Dagster's own discovery."""
    lazy: dict[str, Any] = {}
    eager: dict[str, Any] = {}
    seen: set[int] = set()
    for name, value in vars(module).items():
        if id(value) in seen:
            continue
        if _is_lazy_definitions(value):
            lazy[name] = value
        elif isinstance(value, dagster.Definitions):
            eager[name] = value
        else:
            continue
        seen.add(id(value))
    return lazy or eager


def _as_definitions(value: Any, target: Target, name: str) -> dagster.Definitions:
    where = f"{target.module}:{name}"
    if _is_lazy_definitions(value):
        if getattr(value, "has_context_arg", False):
            return _built_as_in_defs_folder(target, where)
        value = value()
    elif inspect.isfunction(value):
        if inspect.signature(value).parameters:
            raise DefinitionsError(
                f"{target.named_by}: {where} is a function that takes arguments; name a "
                "Definitions or a loader that takes none."
            )
        value = value()
    if not isinstance(value, dagster.Definitions):
        raise DefinitionsError(
            f"{target.named_by}: {where} is a {type(value).__name__}, not a dg.Definitions."
        )
    return value


def _built_as_in_defs_folder(target: Target, where: str) -> dagster.Definitions:
    """A loader that takes a ``ComponentLoadContext``, loaded as ``dg dev`` loads it: Dagster's
    component tree of the project builds the loader's module, which calls it (and any other
    definitions of the module) with that module's context."""
    component_tree = getattr(dagster, "ComponentTree", None)
    takes_context = f"{target.named_by}: {where} is a @dg.definitions loader that takes a "
    if component_tree is None:
        raise DefinitionsError(
            f"{takes_context}ComponentLoadContext, which dagster {dagster.__version__} cannot "
            "build (it has no dagster.ComponentTree); upgrade dagster."
        )
    if target.dg_source_root is None:
        raise DefinitionsError(
            f"{takes_context}ComponentLoadContext, which Dagster gives only to the modules of "
            "a dg project's defs folder, and the pyproject.toml of pytest's rootdir sets no "
            '[tool.dg.project] root_module; set it (root_module = "my_project"), as '
            "create-dagster does."
        )
    module_file = Path(sys.modules[target.module].__file__ or "")
    tree = component_tree.for_project(module_file)
    if not module_file.is_relative_to(tree.defs_module_path):
        raise DefinitionsError(
            f"{takes_context}ComponentLoadContext, which Dagster gives only to the modules of "
            f"the defs folder {tree.defs_module_path}; move it there, or point at the project's "
            "definitions module."
        )
    with warnings.catch_warnings():
        # As dg dev's entry point, load_from_defs_folder, builds it: Dagster's own deprecation
        # and preview warnings silenced.
        for category in ("BetaWarning", "PreviewWarning", "SupersessionWarning"):
            warnings.simplefilter("ignore", getattr(dagster, category, DeprecationWarning))
        warnings.simplefilter("ignore", DeprecationWarning)
        defs: dagster.Definitions = tree.build_defs(module_file)
    return defs
