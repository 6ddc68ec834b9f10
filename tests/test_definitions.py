"""``--dagster-definitions``: a whole code location audited, one item per resource key."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from plugin_internals import DefinitionsError, module_path, parse_target

from pytest_resources import ResourceUsageError

# The resources every code location below draws from. No `from __future__ import annotations`:
# with it, pydantic refuses a configure_at_launch() partial as a nested field.
RESOURCES = """
import os

import dagster as dg
from pydantic import PrivateAttr


class Credentials(dg.ConfigurableResource):
    username: str
    _token: str = PrivateAttr(default="")

    def setup_for_execution(self, context):
        self._token = "token-" + self.username

    def teardown_after_execution(self, context):
        self._token = ""


class Warehouse(dg.ConfigurableResource):
    credentials: Credentials
    schema_name: str = "public"
    _session: str = PrivateAttr(default="")

    def setup_for_execution(self, context):
        assert self.credentials._token, "nested credentials were not set up first"
        self._session = self.schema_name + ":" + self.credentials._token


class Api(dg.ConfigurableResource):
    host: str
    port: int = 443

    def setup_for_execution(self, context):
        if self.host == "unreachable":
            raise ConnectionError("cannot reach " + self.host)


class ClosesBadly(dg.ConfigurableResource):
    def teardown_after_execution(self, context):
        raise RuntimeError("close failed")


class Pipeline(dg.ConfigurableResource):
    api: Api


class Store(dg.ConfigurableIOManager):
    prefix: str = "p"

    def setup_for_execution(self, context):
        self._opened = True

    def handle_output(self, context, obj):
        pass

    def load_input(self, context):
        return None
"""


def code_location(pytester: pytest.Pytester, definitions: str, **files: str) -> None:
    """The package my_project: RESOURCES and ``definitions`` (test_xdist.py runs one too)."""
    package = pytester.mkpydir("my_project")
    (package / "resources.py").write_text(RESOURCES)
    (package / "definitions.py").write_text(textwrap.dedent(definitions))
    for name, text in files.items():
        pytester.path.joinpath(name).write_text(textwrap.dedent(text))


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:randomly", "-rfs", *args)


PLAIN = """
    import dagster as dg

    from my_project.resources import Credentials, Store, Warehouse

    defs = dg.Definitions(
        resources={
            "warehouse": Warehouse(credentials=Credentials(username="svc")),
            "io_manager": Store(),
            "greeting": "hello",
        }
    )
"""


def test_each_resource_key_is_an_item_named_after_it(pytester: pytest.Pytester) -> None:
    code_location(pytester, PLAIN)
    result = _run(pytester, "-v", "--dagster-definitions", "my_project.definitions")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "my_project/definitions.py::resource[[]warehouse[]] PASSED*",
            "my_project/definitions.py::resource[[]io_manager[]] PASSED*",
            "my_project/definitions.py::resource[[]greeting[]] PASSED*",
            "*- pytest-resources: code location -*",
            "key*class*checks run*verdict*time",
            "warehouse*Warehouse*lifecycle rules, leak audit*passed*s",
            "io_manager*Store*lifecycle rules, leak audit*passed*s",
            "greeting*str*lifecycle rules, leak audit*passed*s",
        ]
    )


def test_a_named_attribute_among_several_definitions(pytester: pytest.Pytester) -> None:
    code_location(
        pytester,
        """
        import dagster as dg

        from my_project.resources import Api, ClosesBadly

        defs = dg.Definitions(resources={"api": Api(host="example.com")})
        other = dg.Definitions(resources={"broken": ClosesBadly()})
        """,
    )
    result = _run(pytester, "--dagster-definitions=my_project.definitions:defs")
    result.assert_outcomes(passed=1)

    several = _run(pytester, "--dagster-definitions=my_project.definitions")
    assert several.ret == pytest.ExitCode.INTERRUPTED
    several.stdout.fnmatch_lines(
        [
            "*ERROR collecting my_project/definitions.py*",
            "*--dagster-definitions: the module my_project.definitions holds 2 Definitions "
            "(my_project.definitions:defs, my_project.definitions:other); name the one to audit, "
            "e.g. --dagster-definitions=my_project.definitions:defs.",
        ]
    )


def test_a_module_without_definitions_is_a_clear_error(pytester: pytest.Pytester) -> None:
    code_location(pytester, "VALUE = 1\n")
    result = _run(pytester, "--dagster-definitions", "my_project.definitions")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        ["*the module my_project.definitions holds no Definitions (a dg.Definitions at module*"]
    )
    missing = _run(pytester, "--dagster-definitions=my_project.nowhere")
    assert missing.ret == pytest.ExitCode.USAGE_ERROR
    missing.stderr.fnmatch_lines(
        [
            "ERROR: pytest-resources: --dagster-definitions: cannot find the module "
            "'my_project.nowhere'; install the project*"
        ]
    )
    attribute = _run(pytester, "--dagster-definitions=my_project.definitions:defs")
    attribute.stdout.fnmatch_lines(["*the module my_project.definitions has no attribute 'defs'."])


def test_a_path_given_as_the_module_is_explained(pytester: pytest.Pytester) -> None:
    code_location(pytester, PLAIN)
    result = _run(pytester, "--dagster-definitions", "tests/")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*--dagster-definitions takes a module name or module:attribute*got 'tests/'. It looks "
            "like a path*write --dagster-definitions=MODULE*"
        ]
    )


def test_the_module_is_found_without_running_its_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "runs_nothing"
    (package / "inner").mkdir(parents=True)  # inner: a namespace package, no __init__
    (package / "__init__.py").write_text("raise RuntimeError('the package ran')\n")
    (package / "inner" / "defs.py").write_text("")
    monkeypatch.syspath_prepend(tmp_path)
    found = module_path(parse_target("runs_nothing.inner.defs", "--dagster-definitions"), tmp_path)
    assert found == package / "inner" / "defs.py"
    assert "runs_nothing" not in sys.modules
    for missing in ("runs_nothing.nowhere", "runs_nothing.inner.defs.deeper", "nowhere_at_all.x"):
        with pytest.raises(DefinitionsError, match=f"cannot find the module '{missing}'") as error:
            module_path(parse_target(missing, "--dagster-definitions"), tmp_path)
        assert isinstance(error.value, ResourceUsageError)


def test_a_package_that_fails_to_import_is_a_collection_error(pytester: pytest.Pytester) -> None:
    code_location(pytester, PLAIN)
    (pytester.path / "my_project" / "__init__.py").write_text("import not_installed_anywhere\n")
    result = _run(pytester, "--dagster-definitions", "my_project.definitions")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "*ERROR collecting my_project/definitions.py*",
            "E*ModuleNotFoundError: No module named 'not_installed_anywhere'",
        ]
    )


def test_a_decorated_loader_is_loaded(pytester: pytest.Pytester) -> None:
    code_location(
        pytester,
        """
        import dagster as dg

        from my_project.resources import Api

        try:
            definitions = dg.definitions
        except AttributeError:  # dagster before 1.10
            from dagster._utils.test.definitions import lazy_definitions as definitions


        @definitions
        def load():
            return dg.Definitions(resources={"api": Api(host="example.com")})
        """,
    )
    result = _run(pytester, "--dagster-definitions", "my_project.definitions")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["api*Api*passed*"])


def test_pyproject_names_the_module(pytester: pytest.Pytester) -> None:
    code_location(pytester, PLAIN)
    pytester.makepyprojecttoml('[tool.dagster]\nmodule_name = "my_project.definitions"\n')
    result = _run(pytester, "--dagster-definitions")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "pytest-resources: code location my_project.definitions (named by [[]tool.dagster[]] "
            "module_name in */pyproject.toml)"
        ]
    )


def test_dg_project_settings_name_the_module(pytester: pytest.Pytester) -> None:
    code_location(pytester, PLAIN)
    pytester.makepyprojecttoml(
        '[tool.dg]\ndirectory_type = "project"\n\n[tool.dg.project]\nroot_module = "my_project"\n'
    )
    result = _run(pytester, "--dagster-definitions")
    result.assert_outcomes(passed=3)

    pytester.makepyprojecttoml(
        '[tool.dg.project]\nroot_module = "my_project"\n'
        'code_location_target_module = "my_project.location"\n'
    )
    (pytester.path / "my_project" / "location.py").write_text(
        "import dagster as dg\nfrom my_project.resources import Api\n"
        'defs = dg.Definitions(resources={"only": Api(host="h")})\n'
    )
    target = _run(pytester, "--dagster-definitions")
    target.assert_outcomes(passed=1)
    target.stdout.fnmatch_lines(["only*Api*passed*"])


def test_no_module_anywhere_is_a_usage_error(pytester: pytest.Pytester) -> None:
    code_location(pytester, PLAIN)
    pytester.makepyprojecttoml('[project]\nname = "x"\n')
    result = _run(pytester, "--dagster-definitions")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*reads [[]tool.dagster[]] module_name or [[]tool.dg.project[]] root_module from "
            "*pyproject.toml, which has neither; name the module: --dagster-definitions "
            "my_project.definitions, or the ini option dagster_definitions."
        ]
    )


def test_the_ini_option_audits_every_run(pytester: pytest.Pytester) -> None:
    code_location(pytester, PLAIN)
    pytester.makeini(
        """
        [pytest]
        addopts = -p no:cacheprovider
        dagster_definitions = my_project.definitions
        """
    )
    pytester.makepyfile(test_mine="def test_mine():\n    assert True\n")
    result = _run(pytester)
    result.assert_outcomes(passed=4)


ENV = """
    import dagster as dg

    from my_project.resources import Api

    defs = dg.Definitions(
        resources={
            "api": Api(
                host=dg.EnvVar("API_HOST_FOR_TEST"), port=dg.EnvVar.int("API_PORT_FOR_TEST")
            ),
            "plain": Api(host="example.com"),
        }
    )
"""


def test_a_missing_variable_skips_and_names_it(pytester: pytest.Pytester) -> None:
    code_location(pytester, ENV)
    result = _run(pytester, "--dagster-definitions", "my_project.definitions")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "SKIPPED [[]1[]] my_project/resources.py:*: resource 'api' needs the environment "
            "variables API_HOST_FOR_TEST, API_PORT_FOR_TEST: set them, or give them in a .env "
            "file in the rootdir or --dagster-definitions-env FILE",
        ]
    )
    result.stdout.fnmatch_lines(
        ["api*Api*skipped: needs the environment variables API_HOST_FOR_TEST, API_PORT_FOR_TEST*"]
    )


def test_an_env_file_gives_the_variables(pytester: pytest.Pytester) -> None:
    code_location(
        pytester, ENV, **{"ci.env": "API_HOST_FOR_TEST=example.com\nAPI_PORT_FOR_TEST=8443\n"}
    )
    result = _run(
        pytester,
        "--dagster-definitions",
        "my_project.definitions",
        "--dagster-definitions-env",
        "ci.env",
    )
    result.assert_outcomes(passed=2)

    (pytester.path / "ci.env").write_text("API_HOST_FOR_TEST=unreachable\nAPI_PORT_FOR_TEST=1\n")
    unreachable = _run(
        pytester,
        "--dagster-definitions",
        "my_project.definitions",
        "--dagster-definitions-env",
        "ci.env",
    )
    unreachable.assert_outcomes(passed=1, failed=1)
    unreachable.stdout.fnmatch_lines(["*ConnectionError: cannot reach unreachable*"])


def test_a_dotenv_in_the_rootdir_gives_the_variables(pytester: pytest.Pytester) -> None:
    code_location(pytester, ENV, **{".env": "API_HOST_FOR_TEST=example.com\nAPI_PORT_FOR_TEST=1\n"})
    result = _run(pytester, "--dagster-definitions", "my_project.definitions")
    result.assert_outcomes(passed=2)

    (pytester.path / ".env").write_text("API_HOST_FOR_TEST=example.com\n")
    partly = _run(pytester, "--dagster-definitions", "my_project.definitions")
    partly.assert_outcomes(passed=1, skipped=1)
    partly.stdout.fnmatch_lines(
        [
            "*resource 'api' needs the environment variable API_PORT_FOR_TEST: set it (.env does "
            "not give it)"
        ]
    )


def test_partials_get_their_config_from_a_job(pytester: pytest.Pytester) -> None:
    code_location(
        pytester,
        """
        import dagster as dg

        from my_project.resources import Api, Pipeline

        api = Api.configure_at_launch()


        @dg.asset
        def report(pipeline: Pipeline) -> None: ...


        defs = dg.Definitions(
            assets=[report],
            resources={"api": api, "pipeline": Pipeline(api=api)},
            jobs=[
                dg.define_asset_job(
                    "nightly", config={"resources": {"api": {"config": {"host": "HOST"}}}}
                )
            ],
        )
        """,
    )
    result = _run(pytester, "--dagster-definitions", "my_project.definitions")
    result.assert_outcomes(passed=2)

    # The job's config reaches the resource: a host it cannot reach fails both items.
    definitions = pytester.path / "my_project" / "definitions.py"
    definitions.write_text(definitions.read_text().replace("HOST", "unreachable"))
    unreachable = _run(pytester, "--dagster-definitions", "my_project.definitions")
    unreachable.assert_outcomes(failed=2)
    unreachable.stdout.fnmatch_lines(["*ConnectionError: cannot reach unreachable*"])


def test_a_partial_no_job_configures_is_skipped(pytester: pytest.Pytester) -> None:
    code_location(
        pytester,
        """
        import dagster as dg

        from my_project.resources import Api, Pipeline

        api = Api.configure_at_launch()
        defs = dg.Definitions(resources={"api": api, "pipeline": Pipeline(api=api)})
        """,
    )
    result = _run(pytester, "--dagster-definitions", "my_project.definitions")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(
        [
            "*resource 'api' is a configure_at_launch() partial and no job of the Definitions "
            "configures its required field(s) host; give a job config=*"
        ]
    )


def test_nested_resources_and_their_failures(pytester: pytest.Pytester) -> None:
    code_location(
        pytester,
        """
        import dagster as dg

        from my_project.resources import ClosesBadly, Credentials, Warehouse


        class Outer(dg.ConfigurableResource):
            inner: ClosesBadly


        defs = dg.Definitions(
            resources={
                "warehouse": Warehouse(credentials=Credentials(username="svc")),
                "outer": Outer(inner=ClosesBadly()),
            }
        )
        """,
    )
    result = _run(pytester, "--dagster-definitions", "my_project.definitions")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ resource[[]outer[]] _*",
            "LifecycleError: 1 lifecycle rule broken:",
            "resource 'outer.inner' (my_project.resources.ClosesBadly) broke rule 5: teardown "
            "must not raise*",
        ]
    )


def test_an_io_manager_is_checked_like_any_resource(pytester: pytest.Pytester) -> None:
    code_location(
        pytester,
        """
        import dagster as dg
        from pydantic import PrivateAttr


        class LeakyStore(dg.ConfigurableIOManager):
            options: dict = {}
            _token: str = PrivateAttr(default="")

            def setup_for_execution(self, context):
                self._token = "sk-live-abcdef123456"
                self.options["auth"] = self._token  # the live copy's config now shows it

            def handle_output(self, context, obj):
                pass

            def load_input(self, context):
                return None


        defs = dg.Definitions(
            resources={"io_manager": dg.FilesystemIOManager(), "store": LeakyStore()}
        )
        """,
    )
    result = _run(pytester, "--dagster-definitions", "my_project.definitions")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*_ resource[[]store[]] _*", "PrivateStateLeak: *"])
    assert "sk-live-abcdef123456" not in result.stdout.str()


BROKEN = """
    import dagster as dg

    from my_project.resources import Api, ClosesBadly

    defs = dg.Definitions(
        resources={
            "api": Api(host="example.com"),
            "down": Api(host="unreachable"),
            "closes_badly": ClosesBadly(),
        }
    )
"""


def test_a_broken_resource_fails_with_the_normal_report(pytester: pytest.Pytester) -> None:
    code_location(pytester, BROKEN)
    result = _run(pytester, "--tb=short", "--dagster-definitions", "my_project.definitions")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ resource[[]down[]] _*",
            "*my_project/resources.py:*: in setup_for_execution",
            "*ConnectionError: cannot reach unreachable",
            "*_ resource[[]closes_badly[]] _*",
            "LifecycleError: 1 lifecycle rule broken:",
            "*teardown_after_execution raised RuntimeError: close failed",
            "*recorded events in run *, in order:",
            "closes_badly*failed*",
            "FAILED my_project/definitions.py::resource[[]down[]] - *",
            "FAILED my_project/definitions.py::resource[[]closes_badly[]]*",
        ]
    )
    assert "pytest_resources/_definitions/" not in result.stdout.str()


def test_items_are_selected_and_deselected_like_tests(pytester: pytest.Pytester) -> None:
    code_location(pytester, BROKEN)
    by_key = _run(pytester, "--dagster-definitions", "my_project.definitions", "-k", "closes")
    by_key.assert_outcomes(failed=1, deselected=2)
    # A key's class is a keyword too: "api" selects the key api and the key down, both Api.
    by_class = _run(pytester, "--dagster-definitions", "my_project.definitions", "-k", "api")
    by_class.assert_outcomes(passed=1, failed=1, deselected=1)
    deselected = _run(
        pytester,
        "--dagster-definitions",
        "my_project.definitions",
        "--deselect",
        "my_project/definitions.py::resource[down]",
        "-k",
        "not closes_badly",
    )
    deselected.assert_outcomes(passed=1, deselected=2)


def test_an_expected_failure_is_marked_from_a_conftest(pytester: pytest.Pytester) -> None:
    code_location(pytester, BROKEN)
    pytester.makeconftest(
        """
        import pytest

        from pytest_resources import LifecycleError


        def pytest_collection_modifyitems(items):
            for item in items:
                if item.name in ("resource[down]", "resource[closes_badly]"):
                    item.add_marker(pytest.mark.xfail(strict=True))
        """
    )
    result = _run(pytester, "--dagster-definitions", "my_project.definitions")
    result.assert_outcomes(passed=1, xfailed=2)
    result.stdout.fnmatch_lines(["closes_badly*ClosesBadly*xfailed*"])


def test_the_users_own_tests_run_beside(pytester: pytest.Pytester) -> None:
    code_location(pytester, PLAIN)
    pytester.makepyfile(
        test_mine="""
        import pytest

        from my_project.resources import Api


        @pytest.mark.resource(Api, host="example.com")
        def test_mine(resource):
            assert resource.host == "example.com"
        """
    )
    result = _run(pytester, "--dagster-definitions", "my_project.definitions")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["4 tests opened 4 resources in 4 runs*"])


def test_the_audit_option_adds_an_audit_per_class(pytester: pytest.Pytester) -> None:
    code_location(
        pytester,
        """
        import dagster as dg

        from my_project.resources import Api, ClosesBadly, Credentials, Warehouse

        defs = dg.Definitions(
            resources={
                "api": Api(host="example.com"),
                "backup_api": Api(host="backup.example.com"),
                "warehouse": Warehouse(credentials=Credentials(username="svc")),
                "closes_badly": ClosesBadly(),
                "greeting": "hello",
            }
        )
        """,
    )
    result = _run(
        pytester,
        "-v",
        "--dagster-definitions",
        "my_project.definitions",
        "--dagster-definitions-audit",
        "5",
        "-k",
        "audit",
    )
    result.assert_outcomes(passed=2, failed=1, deselected=5)
    result.stdout.fnmatch_lines(
        [
            "my_project/definitions.py::audit[[]Api[]] PASSED*",
            "my_project/definitions.py::audit[[]Warehouse[]] PASSED*",
            "my_project/definitions.py::audit[[]ClosesBadly[]] FAILED*",
            "*teardown_after_execution raised RuntimeError: close failed*",
            "audit[[]Api[]]*Api*5 generated configs x faults, lifecycle rules, leak audit*passed*",
        ]
    )


def test_function_resources_open_with_what_they_require(pytester: pytest.Pytester) -> None:
    code_location(
        pytester,
        """
        import dagster as dg

        from my_project.resources import Api


        @dg.resource(required_resource_keys={"api"})
        def client(context):
            # Dagster hands it the top-level resource it requires, initialized first.
            assert context.resources.api.host == "example.com"
            return "client"


        class Retrying(dg.ConfigurableResource):
            client: dg.ResourceDependency[str]
            retries: int = 3


        defs = dg.Definitions(
            resources={
                "api": Api(host="example.com"),
                "client": client,
                "retrying": Retrying(client="a plain value"),
            }
        )
        """,
    )
    result = _run(
        pytester,
        "--dagster-definitions",
        "my_project.definitions",
        "--dagster-definitions-audit",
        "3",
    )
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(
        ["client*@resource client*passed*", "audit[[]Retrying[]]*Retrying*passed*"]
    )


def test_the_projects_checks_apply(pytester: pytest.Pytester) -> None:
    code_location(
        pytester,
        """
        import dagster as dg

        from my_project.resources import Api

        defs = dg.Definitions(resources={"api": Api(host=dg.EnvVar("API_HOST_FOR_TEST"))})
        """,
        **{".env": "API_HOST_FOR_TEST=a-secret-host.example.com\n"},
    )
    pytester.makeini(
        """
        [pytest]
        addopts = -p no:cacheprovider
        resources_check_secrets = true
        """
    )
    result = _run(pytester, "--dagster-definitions", "my_project.definitions")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "PrivateStateLeak: 1 plaintext secret in serialized config:",
            "*secret config field host (from EnvVar('API_HOST_FOR_TEST'))*",
            "api*Api*lifecycle rules, leak audit, secrets*failed*",
        ]
    )
    assert "a-secret-host.example.com" not in result.stdout.str()


def test_function_resources_take_their_config_from_a_job(pytester: pytest.Pytester) -> None:
    code_location(
        pytester,
        """
        import dagster as dg


        @dg.resource(config_schema={"region": str})
        def bucket(context):
            assert context.resource_config["region"] == "eu-west-1"
            return "bucket"


        @dg.resource(config_schema={"dsn": str})
        def database(context):
            return "database"


        @dg.op(required_resource_keys={"bucket"})
        def upload(context) -> None: ...


        @dg.job(
            config={"resources": {"bucket": {"config": {"region": "eu-west-1"}}}},
            resource_defs={"bucket": bucket},  # dagster 1.8 checks a job's config when defined
        )
        def nightly():
            upload()


        defs = dg.Definitions(
            jobs=[nightly], resources={"bucket": bucket, "database": database}
        )
        """,
    )
    result = _run(pytester, "--dagster-definitions", "my_project.definitions")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "bucket*@resource bucket*passed*",
            "database*@resource database*skipped: needs run config that no job of the*",
            "SKIPPED [[]1[]] my_project/definitions.py:*: resource 'database' needs run config "
            'that no job of the Definitions gives: Missing required config entry "database" at '
            "the root.*",
        ]
    )


def test_the_release_check_applies_when_the_project_asks(pytester: pytest.Pytester) -> None:
    code_location(
        pytester,
        """
        import dagster as dg
        from pydantic import PrivateAttr


        class LogWriter(dg.ConfigurableResource):
            path: str
            _file: object = PrivateAttr(default=None)

            def setup_for_execution(self, context):
                self._file = open(self.path, "w")  # never closed


        defs = dg.Definitions(resources={"log": LogWriter(path="run.log")})
        """,
    )
    pytester.makeini(
        """
        [pytest]
        addopts = -p no:cacheprovider
        resources_release_check = true
        filterwarnings = ignore::ResourceWarning
        """
    )
    result = _run(pytester, "--dagster-definitions", "my_project.definitions")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "LifecycleError: 1 thing left open after teardown:",
            "  opened by the setup of resource 'log':",
            "*- file: */run.log (fd *)",
            "log*LogWriter*lifecycle rules, leak audit, release check*failed*",
        ]
    )


def test_a_nested_partial_under_no_key_fails_with_dagsters_error(
    pytester: pytest.Pytester,
) -> None:
    code_location(
        pytester,
        """
        import dagster as dg

        from my_project.resources import Api, Pipeline

        defs = dg.Definitions(
            resources={
                "pipeline": Pipeline(api=Api.configure_at_launch()),
                "api": Api(host="example.com"),
            }
        )
        """,
    )
    result = _run(pytester, "--dagster-definitions", "my_project.definitions")
    result.assert_outcomes(passed=1, failed=1)
    # Dagster's own error for the unwired partial fails that item; the rest of the code
    # location is still checked.
    result.stdout.fnmatch_lines(["FAILED my_project/definitions.py::resource[[]pipeline[]] - *"])


# Every kind of resource a code location holds, its teardown broken (rule 5) or correct.
TEARDOWNS = """
    import contextlib

    import dagster as dg

    from my_project.resources import ClosesBadly


    @dg.resource
    def generator(context):
        yield "client"
        raise RuntimeError("the generator's close failed")


    @dg.resource
    @contextlib.contextmanager
    def context_manager(context):
        try:
            yield "client"
        finally:
            raise OSError("the context manager's close failed")


    @dg.resource
    @contextlib.contextmanager
    def retries(context):
        for attempt in range(2):
            yield "client"


    @dg.resource(config_schema={"region": str})
    def configurable(context):
        yield context.resource_config["region"]
        raise ValueError("the configured close failed")


    class Store(dg.IOManager):
        def handle_output(self, context, obj):
            pass

        def load_input(self, context):
            return None


    @dg.io_manager
    def store(context):
        yield Store()
        raise ConnectionError("the store's close failed")


    class HoldsAClient(dg.ConfigurableResource):
        client: dg.ResourceDependency[str]


    class YieldsBadly(dg.ConfigurableResource):
        @contextlib.contextmanager
        def yield_for_execution(self, context):
            yield self
            raise KeyError("the override's close failed")


    @dg.resource
    def closes_cleanly(context):
        closed = []
        yield "client"
        closed.append(True)


    @dg.resource
    def catches_its_own(context):
        yield "client"
        try:
            raise RuntimeError("handled")
        except RuntimeError:
            pass


    @dg.resource
    def returns(context):
        return "client"


    defs = dg.Definitions(
        resources={
            "generator": generator,
            "context_manager": context_manager,
            "retries": retries,
            "configured": configurable.configured({"region": "eu-west-1"}),
            "store": store,
            "holder": HoldsAClient(client=context_manager),
            "hooks": ClosesBadly(),
            "override": YieldsBadly(),
            "closes_cleanly": closes_cleanly,
            "catches_its_own": catches_its_own,
            "returns": returns,
            "plain": dg.ResourceDefinition.hardcoded_resource("value"),
            "io_manager": dg.FilesystemIOManager(),
        }
    )
"""


def test_every_kind_of_resource_whose_teardown_raises_fails(pytester: pytest.Pytester) -> None:
    code_location(pytester, TEARDOWNS)
    result = _run(pytester, "--dagster-definitions", "my_project.definitions")
    result.assert_outcomes(passed=5, failed=8)
    rule_5 = "broke rule 5: teardown must not raise (Dagster only logs it and lets the run succeed)"
    result.stdout.fnmatch_lines(
        [
            "*_ resource[[]generator[]] _*",
            f"resource 'generator' (my_project.definitions.generator) {rule_5}",
            "  the code after the yield of generator raised RuntimeError: the generator's close "
            "failed",
            "  hint: catch and handle errors while releasing resources;*",
            '*File "*my_project/definitions.py", line 12, in generator',
            "*_ resource[[]context_manager[]] _*",
            f"resource 'context_manager' (my_project.definitions.context_manager) {rule_5}",
            "  the code after the yield of context_manager raised OSError: the context "
            "manager's close failed",
            "*_ resource[[]retries[]] _*",
            "  the code after the yield of retries raised RuntimeError: generator didn't stop",
            "  hint: a @contextmanager resource must yield exactly once, the yield in try/finally.",
            "*_ resource[[]configured[]] _*",
            f"resource 'configured' (my_project.definitions.configurable) {rule_5}",
            "  the code after the yield of configurable raised ValueError: the configured close "
            "failed",
            "*_ resource[[]store[]] _*",
            f"resource 'store' (my_project.definitions.store) {rule_5}",
            "  the code after the yield of store raised ConnectionError: the store's close failed",
            "*_ resource[[]holder[]] _*",
            f"resource 'holder' (my_project.definitions.HoldsAClient) {rule_5}",
            "  tearing down 'holder', outside its own hooks (a resource nested in it), raised "
            "OSError: the context manager's close failed",
            "*_ resource[[]hooks[]] _*",
            f"resource 'hooks' (my_project.resources.ClosesBadly) {rule_5}",
            "  teardown_after_execution raised RuntimeError: close failed",
            "*_ resource[[]override[]] _*",
            f"resource 'override' (my_project.definitions.YieldsBadly) {rule_5}",
            '  yield_for_execution exit raised KeyError: "the override\'s close failed"',
            "closes_cleanly*@resource closes_cleanly*passed*",
            "catches_its_own*@resource catches_its_own*passed*",
            "returns*@resource returns*passed*",
            "plain*passed*",
            "io_manager*FilesystemIOManager*passed*",
        ]
    )
    # Each once: what a hook recorded is not reported again from Dagster's teardown.
    assert result.stdout.str().count("broke rule 5") == 8
