"""Imports between the package's modules flow one way: no cycle, counting every import (inside
functions and under TYPE_CHECKING too), so that each module can be read above what it uses."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pytest_resources"


def module_files(package: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module of ``package``."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imported_modules(name: str, path: Path, modules: set[str]) -> set[str]:
    """The modules of ``modules`` that module ``name`` imports anywhere in its source."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from package import module`` imports the module; otherwise a name of ``base``.
            candidates = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for candidate in candidates:
            while candidate and candidate not in modules:
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name:
                found.add(candidate)
    return found


def import_graph(package: Path) -> dict[str, set[str]]:
    files = module_files(package)
    names = set(files)
    return {name: imported_modules(name, path, names) for name, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the modules along it (the first repeated at the end), or None."""
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        for imported in sorted(graph[module]):
            cycle = visit(imported, [*path, module])
            if cycle:
                return cycle
        done.add(module)
        return None

    for module in sorted(graph):
        cycle = visit(module, [])
        if cycle:
            return cycle
    return None


def test_no_import_cycle_between_the_package_modules() -> None:
    graph = import_graph(PACKAGE)
    assert len(graph) > 20  # every module was found
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or ())


@pytest.mark.parametrize(
    "facade",
    ["pytest_resources.plugin", "pytest_resources._context"],
)
def test_nothing_below_the_facade_imports_it(facade: str) -> None:
    graph = import_graph(PACKAGE)
    users = sorted(
        name
        for name, imported in graph.items()
        if facade in imported and name not in ("pytest_resources", "pytest_resources.plugin")
    )
    assert users == []


def test_the_cycle_finder_sees_imports_inside_functions(tmp_path: Path) -> None:
    """The check itself can fail: a cycle closed by an import inside a function is found."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.b import g\n\ndef f():\n    return g()\n")
    (package / "b.py").write_text("def g():\n    from . import a\n    return a\n")
    (package / "c.py").write_text("import pkg.a\n")
    graph = import_graph(package)
    # ``from . import a`` runs the package's __init__ too.
    assert graph == {
        "pkg": set(),
        "pkg.a": {"pkg.b"},
        "pkg.b": {"pkg", "pkg.a"},
        "pkg.c": {"pkg.a"},
    }
    assert find_cycle(graph) == ["pkg.a", "pkg.b", "pkg.a"]
    (package / "b.py").write_text("def g():\n    return 1\n")
    assert find_cycle(import_graph(package)) is None


# --- the one door to Dagster's internals ---------------------------------------------------------

DOOR = "pytest_resources._dagster"


def private_dagster_uses(source: str) -> list[str]:
    """Each place ``source`` imports or names a private module or attribute of Dagster:
    ``dagster._x`` imported, reached through the ``dagster`` module (or its alias), or given as
    a module path in a string. Dunders (``dagster.__version__``) are public."""
    tree = ast.parse(source)
    aliases = {"dagster"} | {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name == "dagster"
    }

    def is_private(name: str) -> bool:
        return name.startswith("_") and not name.startswith("__")

    found = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            module = node.module or ""
            names = [module] + [f"{module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            names = [f"dagster.{node.attr}"] if node.value.id in aliases else []
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names = [node.value] if node.value.startswith("dagster._") else []
        else:
            continue
        found.extend(
            f"{line}: {name}"
            for name in names
            if name.partition(".")[0] == "dagster" and is_private(name.partition(".")[2])
        )
    return sorted(set(found))


def test_only_the_door_touches_dagsters_internals() -> None:
    offenders = {
        name: uses
        for name, path in module_files(PACKAGE).items()
        if name != DOOR and (uses := private_dagster_uses(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}, f"import Dagster's private names from {DOOR} only: {offenders}"
    assert private_dagster_uses((PACKAGE / "_dagster.py").read_text(encoding="utf-8"))


def test_the_door_check_sees_every_way_to_reach_a_private_name() -> None:
    """The check itself can fail: each form of a private name is found, public ones are not."""
    broken = (
        "import dagster as dg\n"
        "import dagster._check\n"
        "from dagster._core.execution import resources_init\n"
        "from dagster import _check\n"
        "def f():\n"
        "    from dagster._config import process_config\n"
        "    return dg._core, importlib.import_module('dagster._core.instance')\n"
    )
    assert private_dagster_uses(broken) == [
        "2: dagster._check",
        "3: dagster._core.execution",
        "3: dagster._core.execution.resources_init",
        "4: dagster._check",
        "6: dagster._config",
        "6: dagster._config.process_config",
        "7: dagster._core",
        "7: dagster._core.instance",
    ]
    correct = (
        "import dagster as dg\n"
        "from dagster import EnvVar\n"
        "from pytest_resources._dagster import InstanceRef\n"
        "print(dg.__version__, dg.EnvVar, other._core, 'dagster.EnvVar')\n"
    )
    assert private_dagster_uses(correct) == []
