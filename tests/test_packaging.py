"""Every distribution the package imports is declared: checked over the source against
pyproject.toml, and over a built wheel installed with its declared dependencies alone into an
empty venv, which then runs the examples (`make demo`) from outside the source tree."""

from __future__ import annotations

import ast
import json
import os
import shlex
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Mapping
from email.parser import HeaderParser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "pytest_resources"
# Standard library on a newer supported Python, imported behind a version check on older ones.
STDLIB_OF_NEWER_PYTHONS = frozenset({"tomllib"})


def top_level_imports(sources: Mapping[str, str]) -> dict[str, set[str]]:
    """Top-level module -> the files importing it, for ``{file: source}``: every absolute
    import, also inside functions and under ``TYPE_CHECKING``."""
    found: dict[str, set[str]] = {}
    for filename, source in sources.items():
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                found.setdefault(module.partition(".")[0], set()).add(filename)
    return found


def undeclared_imports(
    imported: Mapping[str, set[str]],
    requirements: Iterable[str],
    distributions_of: Mapping[str, Iterable[str]],
) -> list[str]:
    """One line per imported module that no requirement provides. ``distributions_of`` maps a
    top-level module to the distributions that install it (``packages_distributions()``)."""
    declared = {canonicalize_name(Requirement(text).name) for text in requirements}
    problems = []
    for module, files in sorted(imported.items()):
        if module in sys.stdlib_module_names | STDLIB_OF_NEWER_PYTHONS or module == PACKAGE:
            continue
        providers = sorted({canonicalize_name(d) for d in distributions_of.get(module, ())})
        # Not installed here (tomli on Python 3.11+): declared under its own name, or missing.
        if declared.intersection(providers or [canonicalize_name(module)]):
            continue
        where = f"{module} (imported in {', '.join(sorted(files))})"
        if not providers:
            problems.append(
                f"{where} is not installed, and no dependency is named after it: declare the "
                "distribution that provides it"
            )
        else:
            problems.append(
                f"{where} comes from {' or '.join(providers)}, which the dependencies do not "
                "declare"
            )
    return problems


def package_sources(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): path.read_text(encoding="utf-8")
        for path in sorted((root / PACKAGE).rglob("*.py"))
    }


def declared_dependencies(pyproject_text: str) -> list[str]:
    dependencies: list[str] = tomllib.loads(pyproject_text)["project"]["dependencies"]
    return dependencies


def installed_distributions() -> Mapping[str, list[str]]:
    import importlib.metadata

    return importlib.metadata.packages_distributions()


def test_every_import_of_the_package_is_a_declared_dependency() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    imported = top_level_imports(package_sources(ROOT))
    # Imported only inside a function or on some Python versions: still declared.
    assert {"dotenv", "annotated_types", "pluggy", "tomli"} <= set(imported)
    assert (
        undeclared_imports(imported, declared_dependencies(pyproject), installed_distributions())
        == []
    )


def test_an_import_missing_from_the_dependencies_is_named_with_its_distribution() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    without_dotenv = [
        line for line in declared_dependencies(pyproject) if not line.startswith("python-dotenv")
    ]
    imported = top_level_imports(package_sources(ROOT))
    assert undeclared_imports(imported, without_dotenv, installed_distributions()) == [
        "dotenv (imported in pytest_resources/_definitions/options.py) comes from "
        "python-dotenv, which the dependencies do not declare"
    ]


def test_imports_are_found_wherever_they_are_and_mapped_by_canonical_name() -> None:
    sources = {
        "pkg/a.py": (
            "import os.path\n"
            "from . import b\n"
            "from .b import c\n"
            "def load():\n"
            "    import yaml.loader as loader\n"
            "    return loader\n"
        ),
        "pkg/b.py": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n"
            "    from requests.adapters import HTTPAdapter\n"
            "try:\n"
            "    from dotenv.main import dotenv_values\n"
            "except ImportError:\n"
            "    dotenv_values = None\n"
            "import pytest_resources._errors\n"
            "import not_installed_anywhere\n"
            "import tomli\n"
        ),
    }
    imported = top_level_imports(sources)
    assert imported == {
        "os": {"pkg/a.py"},
        "yaml": {"pkg/a.py"},
        "typing": {"pkg/b.py"},
        "requests": {"pkg/b.py"},
        "dotenv": {"pkg/b.py"},
        "pytest_resources": {"pkg/b.py"},
        "not_installed_anywhere": {"pkg/b.py"},
        "tomli": {"pkg/b.py"},
    }
    distributions = {"yaml": ["PyYAML"], "requests": ["requests"], "dotenv": ["python-dotenv"]}
    # Declared under another spelling of the name, with a marker or a version: all count.
    declared = ["pyyaml>=6", "Requests; python_version >= '3.10'", "tomli; python_version < '3.11'"]
    assert undeclared_imports(imported, declared, distributions) == [
        "dotenv (imported in pkg/b.py) comes from python-dotenv, which the dependencies do not "
        "declare",
        "not_installed_anywhere (imported in pkg/b.py) is not installed, and no dependency is "
        "named after it: declare the distribution that provides it",
    ]


def _run(command: list[str], cwd: Path, env: Mapping[str, str]) -> str:
    completed = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert completed.returncode == 0, (
        f"{shlex.join(command)} exited {completed.returncode}:\n"
        f"{completed.stdout[-6000:]}\n{completed.stderr[-6000:]}"
    )
    return completed.stdout


def demo_commands(makefile: str, python: str) -> list[list[str]]:
    """The commands of the Makefile's ``demo`` target, run with ``python``."""
    lines = makefile.replace("\\\n", " ").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("demo:")) + 1
    commands = []
    for line in lines[start:]:
        if not line.startswith("\t"):
            break
        text = line.replace("$(BIN)/python", python).replace("$(PYTEST_ARGS)", "")
        commands.append(shlex.split(text))
    return commands


def wheel_metadata(wheel: Path) -> tuple[dict[str, str], list[str]]:
    """The wheel's modules ``{file: source}``, and the requirements it installs by default."""
    with zipfile.ZipFile(wheel) as archive:
        sources = {
            name: archive.read(name).decode("utf-8")
            for name in archive.namelist()
            if name.endswith(".py")
        }
        [metadata] = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
        headers = HeaderParser().parsestr(archive.read(metadata).decode("utf-8"))
    requirements = headers.get_all("Requires-Dist") or []
    return sources, [text for text in requirements if "extra ==" not in text]


@pytest.mark.slow(seconds=40)
def test_the_wheel_in_an_empty_venv_runs_the_examples(tmp_path: Path) -> None:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"PYTHONPATH", "PYTHONHOME", "PYTEST_ADDOPTS", "VIRTUAL_ENV"}
    }
    # Built from a copy: setuptools writes build/ and egg-info beside the sources.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source)
    ignore = shutil.ignore_patterns("__pycache__", ".pytest_cache", ".hypothesis")
    shutil.copytree(ROOT / PACKAGE, source / PACKAGE, ignore=ignore)
    dist = tmp_path / "dist"
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist)]
    _run([*pip_wheel, str(source)], tmp_path, env)
    [wheel] = dist.glob("*.whl")

    # Without pip of its own: this process's pip installs into it (--python), which saves
    # seconds, and so does skipping the byte-compilation of every installed module.
    _run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "venv")], tmp_path, env)
    bin_dir = tmp_path / "venv" / ("Scripts" if sys.platform == "win32" else "bin")
    python = str(bin_dir / "python")
    # The wheel's own dependencies, and its test extra for what the examples use beside it.
    pip_install = [sys.executable, "-m", "pip", "--python", python, "install", "--no-compile"]
    _run([*pip_install, "--quiet", f"{wheel}[test]"], tmp_path, env)

    sources, requirements = wheel_metadata(wheel)
    mapping = "import importlib.metadata as m, json; print(json.dumps(m.packages_distributions()))"
    distributions = json.loads(_run([python, "-c", mapping], tmp_path, env))
    assert undeclared_imports(top_level_imports(sources), requirements, distributions) == []

    # The examples and the project's pytest settings, without the package's sources.
    project = tmp_path / "project"
    shutil.copytree(ROOT / "examples", project / "examples", ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", project)
    where = _run([python, "-c", f"import {PACKAGE}; print({PACKAGE}.__file__)"], project, env)
    assert Path(where.strip()).is_relative_to(tmp_path / "venv")
    commands = demo_commands((ROOT / "Makefile").read_text(encoding="utf-8"), python)
    assert len(commands) == 2
    for command in commands:
        output = _run(command, project, env)
        assert " passed" in output.splitlines()[-1], output[-3000:]
