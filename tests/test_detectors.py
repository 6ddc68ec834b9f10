"""The detectors of defects Dagster never calls: misspelled hooks (rule 9), unusable live values
(rule 10), and whose setup raised a ResourceWarning. Pure logic first, then through pytest."""

from __future__ import annotations

import contextlib
import types
import typing
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Annotated, Any, Optional, Union

import dagster as dg
import pytest
import typing_extensions
from dagster import InitResourceContext as ResourceContext
from plugin_internals import (
    Leftover,
    annotation_kind,
    attribute_warnings,
    edit_distance,
    find_defects,
    misspelled_hooks,
    setup_lines,
    unusable_live_value,
    unusable_live_values,
)
from resources_for_tests import HookLookAlikes, MisspelledEveryWay

if TYPE_CHECKING:  # named in annotations only, as under a type checker: never importable here
    from dagster import InitResourceContext

# --- edit distance ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "distance"),
    [
        ("create_resource", "create_resource", 0),
        ("create_resources", "create_resource", 1),
        ("setup_for_executon", "setup_for_execution", 1),
        ("setup_for_exceution", "setup_for_execution", 1),  # two letters swapped
        ("teardown_for_execution", "teardown_after_execution", 3),
        ("setup", "setup_for_execution", 4),  # past the limit of 3: reported as limit + 1
        ("", "abc", 3),
    ],
)
def test_edit_distance(first: str, second: str, distance: int) -> None:
    assert edit_distance(first, second, 3) == distance
    assert edit_distance(second, first, 3) == distance


# --- misspelled hooks: broken ones, each found --------------------------------------------------


class TeardownForExecution(dg.ConfigurableResource):
    def teardown_for_execution(self, context: dg.InitResourceContext) -> None:
        pass


class SetupForExecuton(dg.ConfigurableResource):
    def setup_for_executon(self, context):  # type: ignore[no-untyped-def]
        pass


class YieldForExection(dg.ConfigurableResource):
    @contextlib.contextmanager
    def yield_for_exection(self, ctx: Any) -> Iterator[Any]:
        yield self


class CreateResources(dg.ConfigurableResource):
    def create_resources(self, _context: Any) -> Any:
        return self


class TearDownAfterExecution(dg.ConfigurableIOManager):
    def tear_down_after_execution(self, context: dg.InitResourceContext) -> None:
        pass

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        pass

    def load_input(self, context: dg.InputContext) -> Any:
        return None


class MixinWithTypo:
    def teardown_after_executon(self, context: dg.InitResourceContext) -> None:
        pass


class InheritsTypo(MixinWithTypo, dg.ConfigurableResource):
    pass


@pytest.mark.parametrize(
    ("resource_class", "name", "hook"),
    [
        (TeardownForExecution, "teardown_for_execution", "teardown_after_execution"),
        (SetupForExecuton, "setup_for_executon", "setup_for_execution"),
        (YieldForExection, "yield_for_exection", "yield_for_execution"),
        (CreateResources, "create_resources", "create_resource"),
        (TearDownAfterExecution, "tear_down_after_execution", "teardown_after_execution"),
        (InheritsTypo, "teardown_after_executon", "teardown_after_execution"),
    ],
)
def test_a_misspelled_hook_is_found(resource_class: type[Any], name: str, hook: str) -> None:
    (found,) = misspelled_hooks(resource_class)
    assert (found.name, found.hook, found.resource_class) == (name, hook, resource_class)
    assert found.filename == __file__
    assert f"Dagster never calls {name}." in found.describe()
    assert found.hint().startswith(f"rename it to {hook};")


# --- misspelled hooks: the context written every way, the name misspelled every way ---------


class MisspelledEveryWayAsText(dg.ConfigurableResource):
    """MisspelledEveryWay with its annotations as strings (this module has `from __future__
    import annotations`), also names no code can resolve (InitResourceContext is imported for
    type checkers only) and an alias resolved through the module."""

    def teardown_for_execution(
        self,
        context: Optional[dg.InitResourceContext] = None,  # noqa: UP045
    ) -> None:
        pass

    def setup_for_executon(self, context: InitResourceContext | None) -> None:
        pass

    def yield_for_executon(
        self,
        context: typing.Union[None, ResourceContext],  # noqa: RUF036, UP007
    ) -> Any:
        pass

    def tear_down_after_execution(self, context: Annotated[InitResourceContext, "run"]) -> None:
        pass

    def teardownAfterExecution(
        self,
        context: typing_extensions.Annotated[typing_extensions.Optional[ResourceContext], 1],  # noqa: UP045
    ) -> None:
        pass

    def SetupForExecution(self, context: "dg.InitResourceContext") -> None:  # noqa: UP037
        pass

    def setup_for_executions(
        self,
        context: Optional["ResourceContext"],  # noqa: UP037, UP045
    ) -> None:
        pass

    def teardown_after_executions(self, ctx: Any, /) -> None:
        pass

    def yield_for_executions(self, *args: Any) -> Any:
        pass

    def Teardown_After_Execution(self, context: Any = None, *, force: bool = False) -> None:
        pass


EVERY_WAY = {
    "teardown_for_execution": "teardown_after_execution",
    "setup_for_executon": "setup_for_execution",
    "yield_for_executon": "yield_for_execution",
    "tear_down_after_execution": "teardown_after_execution",
    "teardownAfterExecution": "teardown_after_execution",
    "SetupForExecution": "setup_for_execution",
    "setup_for_executions": "setup_for_execution",
    "teardown_after_executions": "teardown_after_execution",
    "yield_for_executions": "yield_for_execution",
    "Teardown_After_Execution": "teardown_after_execution",
}


@pytest.mark.parametrize("resource_class", [MisspelledEveryWay, MisspelledEveryWayAsText])
def test_every_way_of_writing_the_context_and_the_name_is_found(resource_class: type[Any]) -> None:
    found = misspelled_hooks(resource_class)
    assert {hook.name: str(hook.hook) for hook in found} == EVERY_WAY


@pytest.mark.parametrize(
    ("annotation", "kind"),
    [
        (Optional[dg.InitResourceContext], "a resource context"),  # noqa: UP045
        (dg.InitResourceContext | None, "a resource context"),
        (Union[None, dg.InitResourceContext], "a resource context"),  # noqa: UP007
        (Union[dg.InitResourceContext, dg.AssetExecutionContext], "a resource context"),  # noqa: UP007
        (Annotated[Optional[dg.InitResourceContext], "run"], "a resource context"),  # noqa: UP045
        (typing_extensions.Annotated[dg.InitResourceContext, 1], "a resource context"),
        ("Optional[ResourceContext]", "a resource context"),  # the alias, from this module
        ("Optional['dg.InitResourceContext']", "a resource context"),
        ("typing.Union[None, 'InitResourceContext']", "a resource context"),
        (Optional["ResourceContext"], "a resource context"),  # a ForwardRef
        (Any, "anything"),
        (typing_extensions.Any, "anything"),
        ("Optional[Any]", "anything"),
        (object, "anything"),
        (None, "None"),
        ("None", "None"),
        (Optional[dg.AssetExecutionContext], "something else"),  # noqa: UP045
        ("dg.OpExecutionContext | None", "something else"),
        ("list[InitResourceContext]", "something else"),
        ("Union[Any, int]", "something else"),
        ("not python (", "something else"),
        ("Loops", "something else"),  # a string naming a string: never parsed again
    ],
)
def test_annotation_kinds(annotation: Any, kind: str) -> None:
    assert annotation_kind(annotation, {**globals(), "Loops": "Loops"}) == kind


# --- misspelled hooks: correct twins, never reported --------------------------------------------


class Helpers(dg.ConfigurableResource):
    """Helpers named like hooks, but short, private, or without a resource context."""

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self.setup()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.teardown()

    def setup(self) -> None:
        pass

    def teardown(self) -> None:
        pass

    def _setup_client(self, context: dg.InitResourceContext) -> None:
        pass

    def _teardown_for_execution(self, context: dg.InitResourceContext) -> None:
        pass

    def _setup_for_execution(self, context: dg.InitResourceContext) -> None:
        pass

    def create_client(self, context: dg.InitResourceContext) -> None:
        pass

    def create_resources(self, names: list[str]) -> list[str]:  # an op-facing method
        return names

    def create_resourse(self, context: dg.AssetExecutionContext) -> None:  # an op's context
        pass

    def setup_for_executions(self, context: dg.InitResourceContext, retries: int) -> None:
        pass


class CallsItsOwnHelper(dg.ConfigurableResource):
    """``teardown_for_execution`` is this class' own helper: its override calls it."""

    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[Any]:
        try:
            yield self
        finally:
            self.teardown_for_execution(context)

    def teardown_for_execution(self, context: dg.InitResourceContext) -> None:
        pass


def _integration_base() -> type[Any]:
    """A base class from a Dagster integration library (dagster_*), whose names are Dagster's."""

    def create_resources(self: Any, context: dg.InitResourceContext) -> None:
        pass

    return types.new_class(
        "IntegrationBase",
        (dg.ConfigurableResource,),
        exec_body=lambda ns: ns.update(
            __module__="dagster_fake_integration", create_resources=create_resources
        ),
    )


class ExtendsAnIntegration(_integration_base()):  # type: ignore[misc]
    def create_resources(self, context: dg.InitResourceContext) -> None:
        pass


class RedefinesDagsterMethods(dg.ConfigurableIOManagerFactory):
    """Exact hook names and Dagster's own methods (``get_resource_context``, ...)."""

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        pass

    def create_io_manager(self, context: dg.InitResourceContext) -> Any:
        return None

    def get_resource_context(self) -> Any:
        return None


@pytest.mark.parametrize(
    "resource_class",
    [Helpers, CallsItsOwnHelper, ExtendsAnIntegration, RedefinesDagsterMethods, HookLookAlikes],
)
def test_correct_classes_have_no_misspelled_hook(resource_class: type[Any]) -> None:
    assert misspelled_hooks(resource_class) == []


def test_strict_also_reports_private_and_called_look_alikes() -> None:
    assert {found.name for found in misspelled_hooks(Helpers, strict=True)} == {
        "_setup_for_execution",
        "_teardown_for_execution",
        "create_resources",
        "create_resourse",
        "setup_for_executions",
    }
    assert [found.name for found in misspelled_hooks(CallsItsOwnHelper, strict=True)] == [
        "teardown_for_execution"
    ]
    # Each of these is kept out by one condition of the default form (docs/defect-kinds.md).
    assert {found.name for found in misspelled_hooks(HookLookAlikes, strict=True)} == {
        "teardown_for_execution",  # the mixin's own code calls it
        "teardown_after_executions",  # its base calls it, through getattr
        "create_resources",  # a classmethod
        "yield_for_executions",  # a staticmethod
        "setup_for_executon",  # takes an op's context
        "yield_for_executon",  # needs a keyword argument too
        "create_resourse",  # takes names
        "teardown_after_executon",  # takes an op's context, or None
    }


def test_hostile_class_attributes_do_not_crash() -> None:
    class Loops:
        def __call__(self) -> None:
            pass

    looping = Loops()
    looping.__wrapped__ = looping  # type: ignore[attr-defined]

    class Hostile:  # a mixin: pydantic would refuse the attributes
        setup_for_executon = looping  # inspect.unwrap raises ValueError on the loop
        teardown_for_execution = property(lambda self: 1)

    assert misspelled_hooks(Hostile) == []


# --- unusable live values -------------------------------------------------------------------


def _numbers() -> Iterator[int]:
    yield 1


async def _async_numbers() -> AsyncIterator[int]:
    yield 1


async def _coroutine() -> int:
    return 1


@contextlib.contextmanager
def _connect() -> Iterator[int]:
    yield 1


@contextlib.asynccontextmanager
async def _async_connect() -> AsyncIterator[int]:
    yield 1


class Session:
    """A client that is its own context manager, usable without entering it."""

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass

    def get(self) -> int:
        return 1


def test_generators_coroutines_and_unentered_context_managers_are_unusable() -> None:
    coroutine = _coroutine()
    try:
        cases: dict[str, Any] = {
            "a generator": _numbers(),
            "an async generator": _async_numbers(),
            "a coroutine (never awaited)": coroutine,
            "an unentered context manager (_GeneratorContextManager)": _connect(),
            "an unentered context manager (_AsyncGeneratorContextManager)": _async_connect(),
            "an unentered context manager (closing)": contextlib.closing(Session()),
            "an unentered context manager (nullcontext)": contextlib.nullcontext(Session()),
        }
        for what, value in cases.items():
            found = unusable_live_value("db", value)
            assert found is not None, value
            assert found.what == what
    finally:
        coroutine.close()
    found = unusable_live_value("db", _connect())
    assert found is not None
    assert found.describe() == (
        "ops get context.resources.db as an unentered context manager "
        "(_GeneratorContextManager) made by _connect, not a usable object; Dagster hands it out "
        "as it is."
    )
    assert "with self.connect() as connection: yield connection" in found.hint()


class Hostile:
    def __getattr__(self, name: str) -> Any:
        raise RuntimeError("no attributes here")

    @property  # type: ignore[misc]
    def __class__(self) -> type[Any]:  # isinstance() would ask for it, and get this
        raise RuntimeError("no class either")

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("no comparisons either")


@pytest.mark.parametrize(
    "value",
    [
        1,
        None,
        Session(),
        contextlib.ExitStack(),
        dg.ResourceParam,
        [_connect],
    ],
    ids=["int", "None", "session", "exit-stack", "class", "list"],
)
def test_usable_live_values_pass(value: Any) -> None:
    assert unusable_live_value("db", value) is None


def test_strict_reports_any_unentered_context_manager_but_not_a_resource() -> None:
    found = unusable_live_value("db", Session(), strict=True)
    assert found is not None
    assert found.what == "an unentered context manager (Session)"
    assert unusable_live_value("db", OpensInSetup(), strict=True) is None


def test_a_hostile_live_value_does_not_crash() -> None:
    assert unusable_live_value("db", Hostile()) is None
    assert unusable_live_value("db", Hostile(), strict=True) is None


# --- ResourceWarnings by their location ---------------------------------------------------------


class OpensInSetup(dg.ConfigurableResource):
    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._opened = True  # line +1 of the def


class OpensAroundYield(dg.ConfigurableResource):
    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[Any]:
        opened = True  # def + 1: setup
        yield opened  # def + 2: setup ends here
        opened = False  # def + 3: teardown


def _def_line(function: Any) -> int:
    code = getattr(function, "__wrapped__", function).__code__
    return int(code.co_firstlineno) + (1 if hasattr(function, "__wrapped__") else 0)


def _warning_at(line: int) -> Leftover:
    return Leftover("warning", "ResourceWarning: unclosed file", location=(__file__, line))


def test_a_warning_raised_in_setup_code_is_put_on_its_resource() -> None:
    setup_def = _def_line(OpensInSetup.setup_for_execution)
    yield_def = _def_line(OpensAroundYield.yield_for_execution)
    classes = {"opens": OpensInSetup, "around": OpensAroundYield}
    found = attribute_warnings(
        [
            _warning_at(setup_def + 1),
            _warning_at(yield_def + 1),
            _warning_at(yield_def + 2),
            _warning_at(yield_def + 3),  # after the yield: teardown, not setup
            Leftover("warning", "Exception ignored in: ..."),  # no location
        ],
        classes,
    )
    assert [leftover.opened_by for leftover in found] == ["opens", "around", "around", None, None]


def test_a_warning_elsewhere_or_in_dagsters_defaults_stays_unattributed() -> None:
    class DefaultsOnly(dg.ConfigurableResource):
        pass

    line = _def_line(OpensInSetup.setup_for_execution) + 1
    (found,) = attribute_warnings([_warning_at(line)], {"plain": DefaultsOnly})
    assert found.opened_by is None
    (elsewhere,) = attribute_warnings(
        [Leftover("warning", "w", location=("/elsewhere.py", line))], {"opens": OpensInSetup}
    )
    assert elsewhere.opened_by is None


def test_setup_lines_of_a_generator_without_source_is_none() -> None:
    namespace: dict[str, Any] = {}
    exec("def gen():\n    yield 1\n", namespace)  # no file to read the source from
    assert setup_lines(namespace["gen"].__code__) is None
    exec("def plain():\n    return 1\n", namespace)  # a plain function needs no source
    assert setup_lines(namespace["plain"].__code__) == ("<string>", 1, 2)


# --- through pytest: each broken resource fails, its correct twin passes -----------------------

RESOURCES = """
import contextlib

import dagster as dg
import pytest


class ForgetsToClose(dg.ConfigurableResource):
    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._connected = True

    def teardown_for_execution(self, context: dg.InitResourceContext) -> None:
        self._connected = False


class Closes(dg.ConfigurableResource):
    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._connected = True

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self._connected = False


class YieldsAClientGenerator(dg.ConfigurableResource, dg.IAttachDifferentObjectToOpContext):
    def get_object_to_set_on_execution_context(self):
        yield {"client": True}


class ReturnsAClient(dg.ConfigurableResource, dg.IAttachDifferentObjectToOpContext):
    def get_object_to_set_on_execution_context(self):
        return {"client": True}


class CreatesWithYield(dg.ConfigurableResource):
    # Dagster runs a generator create_resource like a resource function: setup, yield, teardown.
    def create_resource(self, context):
        yield {"client": True}


class Connection:
    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        pass

    def query(self):
        return 1


class YieldsUnentered(dg.ConfigurableResource):
    @contextlib.contextmanager
    def connect(self):
        yield Connection()

    @contextlib.contextmanager
    def yield_for_execution(self, context):
        yield self.connect()


class YieldsEntered(dg.ConfigurableResource):
    @contextlib.contextmanager
    def connect(self):
        yield Connection()

    @contextlib.contextmanager
    def yield_for_execution(self, context):
        with self.connect() as connection:
            yield connection


class YieldsAClientThatIsItsOwnContextManager(dg.ConfigurableResource):
    @contextlib.contextmanager
    def yield_for_execution(self, context):
        yield Connection()
"""


def test_rules_9_and_10_fail_broken_resources_and_pass_their_twins(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        RESOURCES
        + """

def test_misspelled_teardown(run_context):
    with run_context.open(ForgetsToClose()):
        pass


def test_teardown(run_context):
    with run_context.open(Closes()):
        pass
    assert run_context.lifecycle(Closes).teardown_calls == 1


@pytest.mark.resource(YieldsAClientGenerator())
def test_generator_value(resource):
    pass


@pytest.mark.resource(ReturnsAClient())
def test_client_value(resource):
    assert resource == {"client": True}


@pytest.mark.resource(CreatesWithYield())
def test_create_resource_with_yield(resource):
    assert resource == {"client": True}


def test_unentered(run_context):
    with run_context.open(YieldsUnentered()):
        pass


def test_entered(run_context):
    with run_context.open(YieldsEntered()) as connection:
        assert connection.query() == 1


@pytest.mark.resource(YieldsAClientThatIsItsOwnContextManager())
def test_own_context_manager(resource):
    assert resource.query() == 1
"""
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=5, failed=3)
    result.stdout.fnmatch_lines(
        [
            "*_ test_misspelled_teardown _*",
            "E*LifecycleError: 1 lifecycle rule broken:",
            "E*resource 'forgets_to_close' (test_rules_9_and_10_fail_broken_resources_and_pass_"
            "their_twins.ForgetsToClose) broke rule 9: lifecycle hooks are named as Dagster "
            "names them",
            "E*ForgetsToClose.teardown_for_execution (at test_rules_9_and_10_*.py:11) is named "
            "almost like the lifecycle hook teardown_after_execution, which Dagster calls by "
            "name: Dagster never calls teardown_for_execution.",
            "E*hint: rename it to teardown_after_execution;*",
            "*_ test_generator_value _*",
            "*broke rule 10: ops get a usable live value, not a generator or an unentered "
            "context manager",
            "*ops get context.resources.yields_a_client_generator as a generator made by "
            "YieldsAClientGenerator.get_object_to_set_on_execution_context, not a usable object;*",
            "*_ test_unentered _*",
            "E*ops get context.resources.yields_unentered as an unentered context manager "
            "(_GeneratorContextManager) made by YieldsUnentered.connect, not a usable object;*",
            "E*hint: enter it in yield_for_execution (or a @dg.resource generator) and yield "
            "what it gives:*",
        ]
    )
    # Reported once each: the checkpoint at the end of the test does not repeat them.
    assert result.stdout.str().count("broke rule 9") == 1
    assert result.stdout.str().count("broke rule 10") == 2


def test_a_failing_test_keeps_its_own_failure_as_the_headline(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """

def test_fails(run_context):
    with run_context.open(ForgetsToClose()):
        raise KeyError("the test's own failure")
"""
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(['E*KeyError: "the test\'s own failure"'])
    assert result.stdout.str().count("broke rule 9") == 1


def test_strict_detectors_are_opt_in(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """

class CallsItsOwnHelper(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        self._setup_for_execution(context)

    def _setup_for_execution(self, context):
        pass


def test_own_context_manager(run_context):
    with run_context.open(YieldsAClientThatIsItsOwnContextManager()):
        pass


def test_private_look_alike(run_context):
    with run_context.open(CallsItsOwnHelper()):
        pass
"""
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)
    result = pytester.runpytest("-p", "no:randomly", "-o", "resources_strict_detectors=true")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*ops get context.resources.yields_a_client_that_is_its_own_context_manager as an "
            "unentered context manager (Connection), not a usable object;*",
            "*CallsItsOwnHelper._setup_for_execution (at *) is named almost like the lifecycle "
            "hook setup_for_execution*",
        ]
    )


def test_a_misspelled_hook_fails_a_real_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """

@dg.asset
def uses_it(resource: ForgetsToClose):
    pass


@dg.asset
def uses_the_twin(resource: Closes):
    pass


def test_run(run_context):
    run_context.materialize([uses_it], resources={"resource": ForgetsToClose()})


def test_twin_run(run_context):
    run_context.materialize([uses_the_twin], resources={"resource": Closes()})
"""
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["E*resource 'resource' (*.ForgetsToClose) broke rule 9:*"])


def test_a_hook_misspelled_with_an_optional_context_fails_its_test(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
from typing import Optional

import dagster as dg
from resources_for_tests import HookLookAlikes, MisspelledEveryWay


class NeverCloses(dg.ConfigurableResource):
    def teardown_for_execution(self, context: Optional[dg.InitResourceContext] = None) -> None:
        pass


class Closes(dg.ConfigurableResource):
    def teardown_after_execution(self, context: Optional[dg.InitResourceContext] = None) -> None:
        pass


def test_never_closes(run_context):
    with run_context.open(NeverCloses()):
        pass


def test_misspelled_every_way(run_context):
    with run_context.open(MisspelledEveryWay()):
        pass


def test_closes(run_context):
    with run_context.open(Closes()):
        pass


def test_look_alikes(run_context):
    with run_context.open(HookLookAlikes()):
        pass
"""
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ test_never_closes _*",
            "E*LifecycleError: 1 lifecycle rule broken:",
            "E*resource 'never_closes' (test_a_hook_misspelled_with_an_optional_context_fails_its"
            "_test.NeverCloses) broke rule 9: lifecycle hooks are named as Dagster names them",
            "E*NeverCloses.teardown_for_execution (at test_a_hook_misspelled_*.py:8) is named "
            "almost like the lifecycle hook teardown_after_execution, which Dagster calls by "
            "name: Dagster never calls teardown_for_execution.",
            "*_ test_misspelled_every_way _*",
            "E*LifecycleError: 10 lifecycle rules broken:",
        ]
    )
    assert result.stdout.str().count("broke rule 9") == 11


# --- as broken rules ---------------------------------------------------------------------------


class UsesTypoedConnection(dg.ConfigurableResource):
    connection: TeardownForExecution
    other: TeardownForExecution


def test_find_defects_reports_a_class_once_and_values_of_registered_resources_only() -> None:
    from plugin_internals import Recording

    recording = Recording("run-1")
    shared = TeardownForExecution()
    recording.register(
        {"outer": UsesTypoedConnection(connection=shared, other=TeardownForExecution())}
    )
    unusable = unusable_live_values({"outer": _connect(), "plain": _numbers()})
    found = find_defects(recording, unusable)
    # The misspelled class is nested twice (outer.connection, outer.other): reported once, under
    # the first key; the plain value is nobody's resource, so only outer's value is reported.
    assert [(v.rule, v.key) for v in found] == [(9, "outer.connection"), (10, "outer")]
    assert found[0].resource_class is TeardownForExecution
    assert found[1].resource_class is UsesTypoedConnection


def test_remembering_a_class_keeps_it_collectable() -> None:
    import gc
    import weakref

    class Transient(dg.ConfigurableResource):
        def teardown_for_execution(self, context: dg.InitResourceContext) -> None:
            pass

    assert [found.name for found in misspelled_hooks(Transient)] == ["teardown_for_execution"]
    assert [found.name for found in misspelled_hooks(Transient)] == ["teardown_for_execution"]
    gone = weakref.ref(Transient)
    del Transient
    gc.collect()
    assert gone() is None
