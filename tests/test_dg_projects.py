"""``--dagster-definitions`` on a project laid out as today's ``create-dagster project`` lays it
out: src layout, ``[tool.dg.project]``, ``definitions.py`` over ``load_from_defs_folder``,
resources in ``defs/`` modules with their own ``@dg.definitions``, and a component."""

from __future__ import annotations

import importlib.util
import inspect
import textwrap

import pytest

HAS_COMPONENTS = importlib.util.find_spec("dagster.components") is not None


def _builds_todays_scaffold() -> bool:
    """Whether this Dagster runs what today's create-dagster writes: its definitions.py calls
    load_from_defs_folder(path_within_project=...), and a context loader needs ComponentTree
    (dagster 1.10 has components, but neither)."""
    if not HAS_COMPONENTS:
        return False
    import dagster as dg

    loader = getattr(dg, "load_from_defs_folder", None)
    return (
        loader is not None
        and "path_within_project" in inspect.signature(loader).parameters
        and hasattr(dg, "ComponentTree")
    )


needs_components = pytest.mark.skipif(
    not _builds_todays_scaffold(),
    reason="this dagster cannot run today's create-dagster scaffold",
)

# What `create-dagster project my-project --no-uv-sync` (create-dagster 1.13.29) writes, but its
# README.md, .gitignore and .dg/telemetry.yaml; the files verbatim.
SCAFFOLD = {
    "pyproject.toml": """\
        [project]
        name = "my_project"
        requires-python = ">=3.10,<3.15"
        version = "0.1.0"
        dependencies = [
            "dagster==1.13.29",
        ]

        [dependency-groups]
        dev = [
            "dagster-dg-cli",
            "dagster-webserver",
        ]

        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"

        [tool.hatch.build.targets.wheel]
        force-include = { "pyproject.toml" = "pyproject.toml" }

        [tool.dg]
        directory_type = "project"

        [tool.dg.project]
        root_module = "my_project"
        registry_modules = [
            "my_project.components.*",
        ]
        """,
    "src/my_project/__init__.py": "",
    "src/my_project/definitions.py": """\
        from pathlib import Path

        from dagster import definitions, load_from_defs_folder


        @definitions
        def defs():
            return load_from_defs_folder(path_within_project=Path(__file__).parent)
        """,
    "src/my_project/defs/__init__.py": "",
    "tests/__init__.py": "",
}

# What users add. resources.py is `dg scaffold defs dagster.resources resources.py`'s template
# filled in; the component is a registry module's class instantiated by a defs.yaml.
USER_FILES = {
    "src/my_project/defs/resources.py": """\
        import dagster as dg
        from pydantic import PrivateAttr


        class Api(dg.ConfigurableResource):
            host: str
            _session: str = PrivateAttr(default="")

            def setup_for_execution(self, context) -> None:
                self._session = "session-" + self.host

            def teardown_after_execution(self, context) -> None:
                self._session = ""


        @dg.definitions
        def resources() -> dg.Definitions:
            return dg.Definitions(resources={"api": Api(host="example.com")})
        """,
    "src/my_project/defs/contextual.py": """\
        from pathlib import Path

        import dagster as dg


        class Credentials(dg.ConfigurableResource):
            username: str


        @dg.definitions
        def contextual(context: dg.ComponentLoadContext) -> dg.Definitions:
            assert context.path == Path(__file__), context.path  # this module's own context
            key = context.defs_module_name.replace(".", "_") + "_" + context.path.stem
            return dg.Definitions(resources={key: Credentials(username="svc")})
        """,
    "src/my_project/components/__init__.py": "",
    "src/my_project/components/warehouse.py": """\
        import dagster as dg


        class Warehouse(dg.ConfigurableResource):
            schema_name: str


        class WarehouseComponent(dg.Component, dg.Model, dg.Resolvable):
            schema_name: str

            def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
                warehouse = Warehouse(schema_name=self.schema_name)
                return dg.Definitions(resources={"warehouse": warehouse})
        """,
    "src/my_project/defs/warehouse/defs.yaml": """\
        type: my_project.components.warehouse.WarehouseComponent

        attributes:
          schema_name: analytics
        """,
}

# The broken twin: the Api of defs/resources.py overrides yield_for_execution and never tears down.
FORGETS_TEARDOWN = """\
    from contextlib import contextmanager

    import dagster as dg
    from pydantic import PrivateAttr


    class Api(dg.ConfigurableResource):
        host: str
        _session: str = PrivateAttr(default="")

        def setup_for_execution(self, context) -> None:
            self._session = "session-" + self.host

        def teardown_after_execution(self, context) -> None:
            self._session = ""

        @contextmanager
        def yield_for_execution(self, context):
            self.setup_for_execution(context)
            yield self


    @dg.definitions
    def resources() -> dg.Definitions:
        return dg.Definitions(resources={"api": Api(host="example.com")})
    """


def dg_project(pytester: pytest.Pytester, replaced: dict[str, str | None] | None = None) -> None:
    """The scaffold and the user's files, with ``replaced``'s paths rewritten (None: left out)."""
    files: dict[str, str | None] = {**SCAFFOLD, **USER_FILES, **(replaced or {})}
    for path, text in files.items():
        if text is None:
            continue
        target = pytester.path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:randomly", "-rfs", *args)


@needs_components
def test_a_scaffolded_project_is_audited_with_one_flag(pytester: pytest.Pytester) -> None:
    dg_project(pytester)
    result = _run(pytester, "--dagster-definitions")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "pytest-resources: code location my_project.definitions (named by "
            "[[]tool.dg.project[]] root_module in */pyproject.toml)",
            "src/my_project/definitions.py ... *",
        ]
    )
    result.stdout.fnmatch_lines_random(
        [
            "api*Api*lifecycle rules, leak audit*passed*",
            "my_project_defs_contextual*Credentials*passed*",
            "warehouse*Warehouse*passed*",
        ]
    )
    assert "warning" not in result.stdout.str()


@needs_components
def test_a_module_of_the_project_named_explicitly_still_loads(pytester: pytest.Pytester) -> None:
    dg_project(pytester)
    named = _run(pytester, "--dagster-definitions", "my_project.definitions:defs")
    named.assert_outcomes(passed=3)
    resources_only = _run(pytester, "--dagster-definitions", "my_project.defs.resources")
    resources_only.assert_outcomes(passed=1)
    resources_only.stdout.fnmatch_lines(["api*Api*passed*"])


@needs_components
def test_a_component_load_context_loader_is_called_as_its_defs_folder_calls_it(
    pytester: pytest.Pytester,
) -> None:
    dg_project(pytester)
    result = _run(pytester, "--dagster-definitions", "my_project.defs.contextual:contextual")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["my_project_defs_contextual*Credentials*passed*"])
    assert "warning" not in result.stdout.str()


@needs_components
def test_a_resource_in_defs_with_a_lifecycle_bug_is_reported(pytester: pytest.Pytester) -> None:
    dg_project(pytester, {"src/my_project/defs/resources.py": FORGETS_TEARDOWN})
    result = _run(pytester, "--tb=short", "--dagster-definitions")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ resource[[]api[]] _*",
            "LifecycleError: 1 lifecycle rule broken:",
            "resource 'api' (my_project.defs.resources.Api) broke rule 2*",
            "  teardown_after_execution was called 0 times in this run; expected once*",
            "*api*setup_for_execution*returned*at src/my_project/defs/resources.py:19",
            "FAILED src/my_project/definitions.py::resource[[]api[]] - *",
        ]
    )


@needs_components
def test_a_context_loader_outside_the_defs_folder_names_the_fix(
    pytester: pytest.Pytester,
) -> None:
    dg_project(
        pytester, {"src/my_project/elsewhere.py": USER_FILES["src/my_project/defs/contextual.py"]}
    )
    result = _run(pytester, "--dagster-definitions", "my_project.elsewhere")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "*ERROR collecting src/my_project/elsewhere.py*",
            "--dagster-definitions: my_project.elsewhere:contextual is a @dg.definitions loader "
            "that takes a ComponentLoadContext, which Dagster gives only to the modules of the "
            "defs folder */src/my_project/defs; move it there, or point at the project's "
            "definitions module.",
        ]
    )
    assert "Traceback" not in result.stdout.str()


@needs_components
def test_a_context_loader_outside_any_dg_project_names_the_fix(
    pytester: pytest.Pytester,
) -> None:
    dg_project(pytester, {"pyproject.toml": '[project]\nname = "my_project"\n'})
    pytester.syspathinsert(pytester.path / "src")
    result = _run(pytester, "--dagster-definitions", "my_project.defs.contextual")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "--dagster-definitions: my_project.defs.contextual:contextual is a @dg.definitions "
            "loader that takes a ComponentLoadContext, which Dagster gives only to the modules "
            "of a dg project's defs folder, and the pyproject.toml of pytest's rootdir sets no "
            '[[]tool.dg.project[]] root_module; set it (root_module = "my_project"), as '
            "create-dagster does."
        ]
    )


def test_no_pyproject_is_a_usage_error_naming_the_fix(pytester: pytest.Pytester) -> None:
    dg_project(pytester, {"pyproject.toml": None})
    result = _run(pytester, "--dagster-definitions")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: pytest-resources: --dagster-definitions without a module looks in "
            "*/pyproject.toml, which does not exist; name the module: --dagster-definitions "
            "my_project.definitions, or the ini option dagster_definitions."
        ]
    )


def test_a_pyproject_without_dg_settings_is_a_usage_error_naming_the_fix(
    pytester: pytest.Pytester,
) -> None:
    scaffold_without_dg = SCAFFOLD["pyproject.toml"].split("[tool.dg]")[0]
    dg_project(pytester, {"pyproject.toml": scaffold_without_dg})
    result = _run(pytester, "--dagster-definitions")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*reads [[]tool.dagster[]] module_name or [[]tool.dg.project[]] root_module from "
            "*pyproject.toml, which has neither; name the module: --dagster-definitions "
            "my_project.definitions, or the ini option dagster_definitions."
        ]
    )


def test_a_root_module_found_nowhere_says_where_it_was_looked_for(
    pytester: pytest.Pytester,
) -> None:
    dg_project(pytester)
    (pytester.path / "src").rename(pytester.path / "sources")
    result = _run(pytester, "--dagster-definitions")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: pytest-resources: [[]tool.dg.project[]] root_module in */pyproject.toml: "
            "cannot find the module 'my_project.definitions'; install the project (pip install "
            "-e .) or put it in */test_a_root_module_found_nowhere_says_where_it_was_looked_for0."
        ]
    )


@pytest.mark.skipif(HAS_COMPONENTS, reason="dagster with components")
def test_a_dagster_without_components_is_one_clear_error(pytester: pytest.Pytester) -> None:
    dg_project(pytester)
    result = _run(pytester, "--dagster-definitions")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "*ERROR collecting src/my_project/definitions.py*",
            "[[]tool.dg.project[]] root_module in */pyproject.toml: my_project.definitions is a "
            "dg project's, which loads through dagster.components, and dagster * has none "
            "(cannot import name 'definitions' from 'dagster'*); upgrade dagster, or name a "
            "module that builds a dg.Definitions without components: --dagster-definitions "
            "MODULE.",
        ]
    )
    assert "Traceback" not in result.stdout.str()
