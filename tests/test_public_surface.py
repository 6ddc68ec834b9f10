"""The public surface is one list (``pytest_resources._PUBLIC``), no name means two things (a
fixture and an export), and every object a public function, method, property or fixture gives
is of a public type: one that a public module exports, which for this package means one of its
exports. Checked over the annotations of everything reachable from the exports and the
fixtures, and over the objects real calls return."""

from __future__ import annotations

import ast
import dataclasses
import functools
import importlib
import inspect
import sys
import textwrap
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from pydantic import PrivateAttr

import pytest_resources
import pytest_resources.plugin

ROOT = Path(__file__).resolve().parents[1]


# --- what is public ------------------------------------------------------------------------------


def exported_by_a_public_module(cls: type[Any]) -> bool:
    """Whether ``cls`` is public: its module path and name have no ``_`` part, or a public
    module on that path exports it under its name (``dagster.InitResourceContext``)."""
    if cls.__name__.startswith("_"):
        return False
    if cls.__module__ == "builtins":
        return True
    parts = cls.__module__.split(".")
    for length in range(len(parts), 0, -1):
        prefix = parts[:length]
        if any(part.startswith("_") for part in prefix):
            continue
        module = sys.modules.get(".".join(prefix))
        if length == len(parts):
            return True
        if module is not None and getattr(module, cls.__name__, None) is cls:
            return True
    return False


@functools.cache
def _type_checking_names(module_name: str) -> dict[str, Any]:
    """The names a module imports under ``if TYPE_CHECKING:``, for its string annotations."""
    module = sys.modules[module_name]
    names: dict[str, Any] = {}
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if not (isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")):
            continue
        for statement in node.body:
            if isinstance(statement, ast.ImportFrom):
                package = module_name if hasattr(module, "__path__") else module.__package__
                source = importlib.import_module(
                    "." * statement.level + (statement.module or ""), package
                )
                for alias in statement.names:
                    names[alias.asname or alias.name] = getattr(source, alias.name)
    return names


def type_hints(obj: Any) -> dict[str, Any]:
    module = getattr(inspect.unwrap(obj), "__module__", None) or ""
    namespace = {**vars(sys.modules[module]), **_type_checking_names(module)}
    return typing.get_type_hints(obj, globalns=namespace)


def classes_in(hint: Any) -> Iterator[type[Any]]:
    """The classes a type hint names: ``dict[str, Run] | None`` names dict, str and Run."""
    if isinstance(hint, list):  # Callable's parameters
        for item in hint:
            yield from classes_in(item)
        return
    if isinstance(hint, typing.TypeVar):
        if hint.__bound__ is not None:
            yield from classes_in(hint.__bound__)
        return
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return
    if origin is not None:
        if isinstance(origin, type) and origin is not types.UnionType:
            yield origin
        for argument in typing.get_args(hint):
            yield from classes_in(argument)
    elif isinstance(hint, type):
        yield hint


def fixture_functions(module: types.ModuleType) -> dict[str, Callable[..., Any]]:
    """The public fixtures a plugin module defines (decorated ``@pytest.fixture``)."""
    found = {}
    for node in ast.parse(inspect.getsource(module)).body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            decorators = [ast.unparse(decorator) for decorator in node.decorator_list]
            if any(text.startswith("pytest.fixture") for text in decorators):
                found[node.name] = inspect.unwrap(getattr(module, node.name))
    return found


def public_members(cls: type[Any]) -> dict[str, Any]:
    """The members ``cls`` defines for its users: its own and its bases' from the same package
    (not those of ``tuple``, ``Enum`` or ``Exception``), annotated attributes, and what its
    ``with`` gives."""
    package = cls.__module__.partition(".")[0]
    members: dict[str, Any] = {}
    for owner in reversed(cls.__mro__):
        if owner.__module__.partition(".")[0] != package:
            continue
        for name, value in vars(owner).items():
            if not name.startswith("_") or name == "__enter__":
                members[name] = value
        for name in vars(owner).get("__annotations__", {}):
            if not name.startswith("_"):
                members.setdefault(name, dataclasses.MISSING)
    return members


def given_types(where: str, member: Any, annotations: Mapping[str, Any]) -> list[Any]:
    """What a member gives: a function's, property's or cached property's return annotation,
    or an attribute's annotation."""
    if isinstance(member, property) and member.fget is not None:
        return [type_hints(member.fget).get("return", Any)]
    if isinstance(member, functools.cached_property):
        return [type_hints(member.func).get("return", Any)]
    if isinstance(member, (staticmethod, classmethod)):
        member = member.__func__
    if inspect.isfunction(member):
        return [type_hints(member).get("return", Any)]
    name = where.rpartition(".")[2]
    return [annotations[name]] if name in annotations else []


def surface_problems(
    package: types.ModuleType, fixtures: Mapping[str, Callable[..., Any]]
) -> list[str]:
    """Every public name that means two things, and every type the surface gives that is
    private, with where it is given."""
    exports = list(package.__all__)
    problems = [
        f"{name!r} is both a fixture and an export of {package.__name__}: rename one"
        for name in sorted(set(fixtures) & set(exports))
    ]
    pending: list[tuple[str, Any]] = [(name, getattr(package, name)) for name in exports]
    pending += [(f"fixture {name}", function) for name, function in fixtures.items()]
    seen: set[int] = set()
    while pending:
        where, obj = pending.pop(0)
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, type):
            if not obj.__module__.startswith(package.__name__):
                continue
            annotations = type_hints(obj)
            hints = [
                (f"{where}.{name}", hint)
                for name, member in public_members(obj).items()
                for hint in given_types(f"{where}.{name}", member, annotations)
            ]
        elif callable(obj):
            hints = [(f"{where}()", type_hints(obj).get("return", Any))]
        else:
            hints = [(where, type(obj))]
        for given_at, hint in hints:
            for cls in classes_in(hint):
                if not exported_by_a_public_module(cls):
                    problems.append(
                        f"{given_at} gives {cls.__module__}.{cls.__qualname__}, which no public "
                        f"module exports: export it from {package.__name__} (documented), or "
                        "give a public type"
                    )
                else:
                    pending.append((cls.__qualname__, cls))
    return problems


# --- the package itself --------------------------------------------------------------------------


def test_every_type_the_surface_gives_is_public() -> None:
    fixtures = fixture_functions(pytest_resources.plugin)
    assert set(fixtures) == {"resource", "resources", "run_context"}
    assert surface_problems(pytest_resources, fixtures) == []


def test_the_exports_are_one_list_and_type_checkers_see_the_same() -> None:
    public = pytest_resources._PUBLIC
    assert pytest_resources.__all__ == sorted(public)
    for name, module in public.items():
        assert getattr(importlib.import_module(module), name) is getattr(pytest_resources, name)
    assert _type_checking_names("pytest_resources") == {
        name: getattr(pytest_resources, name) for name in public
    }


def test_the_docs_list_exactly_the_exports() -> None:
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    table = index.split("## What `pytest_resources` exports", 1)[1].split("\n\n")[2]
    listed = {
        name.strip("` ") for row in table.splitlines()[2:] for name in row.split("|")[1].split(",")
    }
    assert listed == set(pytest_resources.__all__)


def test_every_export_says_what_it_is() -> None:
    undocumented = [
        name
        for name in pytest_resources.__all__
        if not inspect.getdoc(getattr(pytest_resources, name))
        or inspect.getdoc(getattr(pytest_resources, name)) == inspect.getdoc(Exception)
    ]
    assert undocumented == []


class Tidy(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Keeps a token in private state for the run."""

    name: str = "tidy"
    _token: str | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._token = "tok-" + "x" * 24

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self._token = None


class Leaky(Tidy):
    """Shows its token in ``repr()``."""

    def __repr__(self) -> str:
        return f"Leaky(token={self._token})"


@dg.asset
def uses_leaky(leaky: Leaky) -> int:
    return 1


def _objects_given_by_calls(run_context: pytest_resources.RunContext) -> dict[str, object]:
    from pytest_resources import Fault, faults, find_private_leaks, resource_instances

    opened = run_context.open(Tidy())
    with opened:
        pass
    scope = run_context.run()
    with scope as run:
        pass
    lifecycle = run_context.check(Tidy(name="checked"), fault=Fault("body"))
    [event, *_] = lifecycle.events
    with run_context.open(Leaky(), key="leaky", check=False) as live:
        [leak, *_] = find_private_leaks(live)
    result = run_context.materialize([uses_leaky], resources={"leaky": Leaky()}, check=False)
    return {
        "run_context": run_context,
        "run_context.open()": opened,
        "run_context.run()": scope,
        "with run_context.run()": run,
        "run_context.check()": lifecycle,
        "run_context.lifecycle()": run_context.lifecycle(Tidy),
        "Lifecycle.events[0]": event,
        "Event.hook": event.hook,
        "Event.location": event.location,
        "find_private_leaks()[0]": leak,
        "run_context.materialize()": result,
        "RunResult.error": result.error,
        "run_context.audit()": run_context.audit(Tidy, max_examples=2),
        "faults()": faults(),
        "resource_instances()": resource_instances(Tidy),
    }


def test_what_real_calls_return_is_of_exported_types(run_context: Any) -> None:
    objects = _objects_given_by_calls(run_context)
    # The package's own types exactly; another library's may be a private subclass of a public
    # type (hypothesis' strategies are all SearchStrategy).
    private = {
        where: f"{type(obj).__module__}.{type(obj).__qualname__}"
        for where, obj in objects.items()
        if not (
            exported_by_a_public_module(type(obj))
            if type(obj).__module__.startswith("pytest_resources")
            else any(exported_by_a_public_module(cls) for cls in type(obj).__mro__[:-1])
        )
    }
    assert private == {}
    # Attributes set on an instance are declared on its class, where the walk above sees them.
    undeclared = {
        where: sorted(
            name
            for name in vars(obj)
            if not name.startswith("_") and name not in public_members(type(obj))
        )
        for where, obj in objects.items()
        if type(obj).__module__.startswith("pytest_resources") and hasattr(obj, "__dict__")
    }
    assert {where: names for where, names in undeclared.items() if names} == {}


# --- the check itself, on packages made for it ---------------------------------------------------

_DEMO = {
    "__init__.py": """
        from demo_surface._impl import Thing, make_thing, resources, things, maybe_thing

        __all__ = ["Thing", "make_thing", "maybe_thing", "resources", "things"]
    """,
    "_impl.py": """
        from __future__ import annotations

        import functools
        from collections.abc import Callable, Iterator
        from typing import TYPE_CHECKING, Any, Literal, TypeVar

        import dagster as dg

        if TYPE_CHECKING:
            from demo_surface._hidden import Hidden

        T = TypeVar("T", bound="Thing")


        class _Handle:
            pass


        class Thing:
            '''Public, though defined in a private module: the package exports it.'''

            size: int
            handle: _Handle

            def open(self) -> _Handle:
                return _Handle()

            @property
            def context(self) -> dg.InitResourceContext:
                return dg.build_init_resource_context()

            @functools.cached_property
            def hidden(self) -> Hidden:
                raise NotImplementedError

            def copy(self: T) -> T:
                return self

            def mode(self) -> Literal["a", "b"]:
                return "a"

            def callback(self) -> Callable[[int], Thing]:
                return lambda _: self

            def __enter__(self) -> _Handle:
                return _Handle()

            def _private(self) -> _Handle:
                return _Handle()


        def make_thing() -> Iterator[Thing]:
            yield Thing()


        def maybe_thing() -> Thing | dict[str, Thing] | None:
            return None


        def things() -> list[_Handle]:
            return []


        def resources() -> Any:
            return None
    """,
    "_hidden.py": """
        class Hidden:
            pass
    """,
    "plugin.py": """
        from collections.abc import Iterator
        from typing import Any

        import pytest

        from demo_surface._impl import Thing, _Handle


        @pytest.fixture
        def resources() -> dict[str, Any]:
            return {}


        @pytest.fixture
        def thing() -> Iterator[Thing]:
            yield Thing()


        @pytest.fixture
        def handle() -> Iterator[_Handle]:
            yield _Handle()


        @pytest.fixture
        def _internal() -> _Handle:
            return _Handle()
    """,
}


@pytest.fixture
def demo_surface(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[types.ModuleType]:
    package = tmp_path / "demo_surface"
    package.mkdir()
    for name, source in _DEMO.items():
        (package / name).write_text(textwrap.dedent(source), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield importlib.import_module("demo_surface")
    for name in [name for name in sys.modules if name.partition(".")[0] == "demo_surface"]:
        del sys.modules[name]


def test_a_private_type_given_anywhere_and_a_name_meaning_two_things_are_named(
    demo_surface: types.ModuleType,
) -> None:
    fixtures = fixture_functions(importlib.import_module("demo_surface.plugin"))
    assert set(fixtures) == {"resources", "thing", "handle"}
    fix = "which no public module exports: export it from demo_surface (documented), or give a "
    assert sorted(surface_problems(demo_surface, fixtures)) == [
        "'resources' is both a fixture and an export of demo_surface: rename one",
        f"Thing.__enter__ gives demo_surface._impl._Handle, {fix}public type",
        f"Thing.handle gives demo_surface._impl._Handle, {fix}public type",
        f"Thing.hidden gives demo_surface._hidden.Hidden, {fix}public type",
        f"Thing.open gives demo_surface._impl._Handle, {fix}public type",
        f"fixture handle() gives demo_surface._impl._Handle, {fix}public type",
        f"things() gives demo_surface._impl._Handle, {fix}public type",
    ]


def test_a_type_a_public_module_exports_is_public() -> None:
    from dagster._core.execution.context.init import InitResourceContext
    from hypothesis.strategies import SearchStrategy

    assert exported_by_a_public_module(InitResourceContext)  # dagster.InitResourceContext
    assert exported_by_a_public_module(SearchStrategy)  # hypothesis.strategies.SearchStrategy
    assert exported_by_a_public_module(Path)
    assert exported_by_a_public_module(pytest_resources.Run)
    assert not exported_by_a_public_module(pytest_resources._session.TestRuns)
    assert not exported_by_a_public_module(functools._lru_cache_wrapper)
