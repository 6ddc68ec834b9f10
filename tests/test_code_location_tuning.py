"""A code location's audit tuned from the ini file or a conftest hook, rule 6 in its items, and
its options' misuse: each with a correct and a broken twin."""

from __future__ import annotations

import textwrap

import pytest
from plugin_internals import SessionTotals

# A resource whose valid config is narrower than its types: its setup takes one database path,
# and DuckDB-style, refuses read_only for an in-memory database.
DEFINITIONS = """
import dagster as dg
from pydantic import Field


class Duck(dg.ConfigurableResource):
    database_path: str
    read_only: bool = False
    threads: int = Field(default=1, gt=0)

    def setup_for_execution(self, context):
        if self.database_path != ":memory:":
            raise ValueError("cannot open " + repr(self.database_path))
        if self.read_only:
            raise ValueError("an in-memory database cannot be read-only")


class Api(dg.ConfigurableResource):
    host: str = "example.com"


defs = dg.Definitions(
    resources={"duck": Duck(database_path=":memory:"), "api": Api()}
)
"""


def _location(pytester: pytest.Pytester, definitions: str = DEFINITIONS, **files: str) -> None:
    package = pytester.mkpydir("my_project")
    (package / "definitions.py").write_text(textwrap.dedent(definitions))
    for name, text in files.items():
        pytester.path.joinpath(name).write_text(textwrap.dedent(text))


def _audit(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest(
        "-p",
        "no:randomly",
        "--dagster-definitions=my_project.definitions",
        "--dagster-definitions-audit=5",
        "-k",
        "audit",
        *args,
    )


PINNED = """
    [pytest]
    dagster_definitions_audit_fields =
        Duck.database_path = ":memory:"
        Duck.read_only = False
"""


PINNED_IN_PYPROJECT = """
    [tool.pytest.ini_options]
    dagster_definitions_audit_fields = [
        "Duck.database_path = ':memory:'",
        "Duck.read_only = False",
    ]
"""


@pytest.mark.parametrize(
    ("name", "text"), [("pytest.ini", PINNED), ("pyproject.toml", PINNED_IN_PYPROJECT)]
)
def test_the_ini_table_pins_fields_of_an_audit(
    pytester: pytest.Pytester, name: str, text: str
) -> None:
    _location(pytester, **{name: text})
    result = _audit(pytester)
    result.assert_outcomes(passed=2, deselected=2)
    result.stdout.fnmatch_lines(["audit[[]Duck[]]*5 generated configs x faults*passed*"])


def test_an_untuned_audit_fails_and_names_the_ways_to_pin(pytester: pytest.Pytester) -> None:
    _location(pytester)
    result = _audit(pytester, "--tb=short")
    result.assert_outcomes(passed=1, failed=1, deselected=2)
    result.stdout.fnmatch_lines(
        [
            "*ConfigFailure: Duck's own code raised ValueError: cannot open*",
            "*pytest-resources: to pin a field for this item, add a line 'Duck.FIELD = VALUE' to "
            "the ini option dagster_definitions_audit_fields, or return {'FIELD': value or "
            "strategy} from a conftest.py hook pytest_resources_audit_fields(resource_class, "
            "key, config)",
        ]
    )


HOOK = """
    import hypothesis.strategies as st


    def pytest_resources_audit_fields(resource_class, key, config):
        if resource_class.__name__ == "Duck":
            assert key == "duck"
            return {"database_path": st.just(":memory:"), "read_only": {READ_ONLY}}
        return None
"""


@pytest.mark.parametrize(("read_only", "failed"), [("False", 0), ("st.booleans()", 1)])
def test_a_conftest_hook_gives_values_and_strategies(
    pytester: pytest.Pytester, read_only: str, failed: int
) -> None:
    _location(pytester, **{"conftest.py": HOOK.replace("{READ_ONLY}", read_only)})
    result = _audit(pytester)
    result.assert_outcomes(passed=2 - failed, failed=failed, deselected=2)
    if failed:
        result.stdout.fnmatch_lines(["*an in-memory database cannot be read-only*"])


def test_the_hook_wins_over_the_ini_table(pytester: pytest.Pytester) -> None:
    ini = PINNED.replace("Duck.read_only = False", "Duck.read_only = True")
    hook = HOOK.replace("{READ_ONLY}", "False")
    _location(pytester, **{"pytest.ini": ini, "conftest.py": hook})
    _audit(pytester).assert_outcomes(passed=2, deselected=2)
    # The broken twin: without the hook, the ini table's read_only = True is what runs.
    pytester.path.joinpath("conftest.py").unlink()
    _audit(pytester).assert_outcomes(passed=1, failed=1, deselected=2)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            'Duk.database_path = ":memory:"',
            "*the ini option dagster_definitions_audit_fields names 'Duk', which the code "
            "location does not audit; write the name shown in its item audit[[]NAME[]]: Duck, Api",
        ),
        (
            'Duck.path = ":memory:"',
            "*the ini option dagster_definitions_audit_fields, for Duck, pins 'path', which is no "
            "field of Duck; pin one of its fields, valid names: 'database_path', 'read_only', "
            "'threads'",
        ),
        (
            "Duck.threads = 0",
            "*the ini option dagster_definitions_audit_fields, for Duck, pins threads = 0, which "
            "Duck rejects: Input should be greater than 0; pin a value it accepts",
        ),
        (
            "Duck.database_path = memory",
            "ERROR: pytest-resources: the ini option dagster_definitions_audit_fields: the value "
            "of 'Duck.database_path = memory' is not a Python literal; quote text*",
        ),
        (
            "Duck database_path",
            "ERROR: pytest-resources: the ini option dagster_definitions_audit_fields: 'Duck "
            "database_path' is not 'CLASS.field = value'*",
        ),
    ],
)
def test_a_bad_ini_line_is_a_clear_error(
    pytester: pytest.Pytester, line: str, message: str
) -> None:
    _location(
        pytester, **{"pytest.ini": f"[pytest]\ndagster_definitions_audit_fields =\n    {line}\n"}
    )
    result = _audit(pytester)
    assert result.ret in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.USAGE_ERROR)
    result.assert_outcomes(**({"errors": 1} if result.ret == pytest.ExitCode.INTERRUPTED else {}))
    (result.stdout if result.ret == pytest.ExitCode.INTERRUPTED else result.stderr).fnmatch_lines(
        [message]
    )
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        (
            "['database_path']",
            "*pytest_resources_audit_fields(resource_class=Duck, ...) returned list; return a "
            "dict of field names to values or hypothesis strategies, or None*",
        ),
        (
            "{'databse_path': ':memory:'}",
            "*a pytest_resources_audit_fields hook, for Duck, pins 'databse_path', which is no "
            "field of Duck*",
        ),
    ],
)
def test_a_bad_hook_result_is_a_clear_error(
    pytester: pytest.Pytester, returned: str, message: str
) -> None:
    hook = f"""
        def pytest_resources_audit_fields(resource_class, key, config):
            return {returned} if resource_class.__name__ == "Duck" else None
    """
    _location(pytester, **{"conftest.py": hook})
    result = _audit(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([message])
    assert "Traceback" not in result.stdout.str()


def test_the_ini_table_waits_for_an_audit(pytester: pytest.Pytester) -> None:
    """Without --dagster-definitions-audit the table is not checked: a project keeps it in its
    ini file and audits only now and then."""
    _location(
        pytester, **{"pytest.ini": "[pytest]\ndagster_definitions_audit_fields =\n    X.y = 1\n"}
    )
    result = pytester.runpytest("-p", "no:randomly", "--dagster-definitions=my_project.definitions")
    result.assert_outcomes(passed=2)


# -- rule 6 ---------------------------------------------------------------------------------------

SHARED = """
import dagster as dg


class Pool(dg.ConfigurableResource):
    size: int = 1

    def setup_for_execution(self, context):
        pass


class Reader(dg.ConfigurableResource):
    pool: Pool


class Writer(dg.ConfigurableResource):
    pool: Pool


{WIRING}
"""


@pytest.mark.parametrize(
    ("wiring", "failing"),
    [
        (
            "pool = Pool()\nresources = {'reader': Reader(pool=pool), 'pool': pool}",
            ["reader", "pool"],
        ),
        (
            "pool = Pool()\nresources = {'reader': Reader(pool=pool), 'writer': Writer(pool=pool)}",
            ["reader", "writer"],
        ),
        # The correct twins: one shared partial, or an instance each.
        (
            "pool = Pool.configure_at_launch()\n"
            "resources = {'reader': Reader(pool=pool), 'pool': pool}",
            [],
        ),
        ("resources = {'reader': Reader(pool=Pool()), 'pool': Pool()}", []),
    ],
)
def test_an_instance_reachable_twice_breaks_rule_6_in_its_items(
    pytester: pytest.Pytester, wiring: str, failing: list[str]
) -> None:
    definitions = SHARED.replace(
        "{WIRING}", wiring + "\ndefs = dg.Definitions(resources=resources)"
    )
    _location(pytester, definitions)
    result = pytester.runpytest("-p", "no:randomly", "--dagster-definitions=my_project.definitions")
    result.assert_outcomes(passed=2 - len(failing), failed=len(failing))
    if failing:
        result.stdout.fnmatch_lines(
            [
                f"*_ resource[[]{failing[0]}[]] _*",
                "*broke rule 6: one resource instance is initialized once per run",
                "*the same Pool instance is reachable as*so Dagster sets it up twice*",
                f"*_ resource[[]{failing[1]}[]] _*",
                "*broke rule 6*",
            ]
        )


def test_a_shared_instance_without_hooks_opens_alone(pytester: pytest.Pytester) -> None:
    """Sharing a configuration-only instance breaks no rule, so an item does not take in the
    other keys that hold it (nor what they need: here a variable that is not set)."""
    definitions = """
        import dagster as dg


        class Settings(dg.ConfigurableResource):
            region: str = "eu"


        class Reader(dg.ConfigurableResource):
            settings: Settings


        class Api(dg.ConfigurableResource):
            settings: Settings
            token: str


        settings = Settings()
        defs = dg.Definitions(
            resources={
                "reader": Reader(settings=settings),
                "api": Api(settings=settings, token=dg.EnvVar("TUNING_UNSET_TOKEN")),
            }
        )
    """
    _location(pytester, definitions)
    result = pytester.runpytest(
        "-p", "no:randomly", "-rs", "--dagster-definitions=my_project.definitions"
    )
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*resource 'api' needs the environment variable*"])


# -- options without a code location --------------------------------------------------------------


@pytest.mark.parametrize(
    "option", ["--dagster-definitions-audit=5", "--dagster-definitions-env=demo.env"]
)
def test_a_code_location_option_alone_is_a_usage_error(
    pytester: pytest.Pytester, option: str
) -> None:
    _location(pytester, **{"demo.env": "TOKEN=x\n", "pytest.ini": PINNED})
    pytester.makepyfile("def test_plain():\n    pass\n")
    result = pytester.runpytest("-p", "no:randomly", option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    name = option.partition("=")[0]
    result.stderr.fnmatch_lines(
        [
            f"ERROR: pytest-resources: {name} applies to a code location, and none is named: add "
            "--dagster-definitions[[]=MODULE[]] (or the ini option dagster_definitions)"
        ]
    )
    # The correct twin: with the code location named, the option applies.
    result = pytester.runpytest(
        "-p", "no:randomly", option, "--dagster-definitions=my_project.definitions"
    )
    assert result.ret == pytest.ExitCode.OK


# -- plurals --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("examples", "shown"), [(1, "1 generated config"), (2, "2 generated configs")]
)
def test_the_summary_counts_configs_in_the_right_number(examples: int, shown: str) -> None:
    totals = SessionTotals(tests=1, runs=1, resources=1, audited_examples=examples)
    assert f", {shown} audited under injected faults" in totals.summary()


def test_the_table_says_one_generated_config(pytester: pytest.Pytester) -> None:
    _location(pytester, **{"pytest.ini": PINNED})
    result = _audit(pytester, "--dagster-definitions-audit=1")
    result.assert_outcomes(passed=2, deselected=2)
    result.stdout.fnmatch_lines(
        [
            "audit[[]Duck[]]*Duck*1 generated config x faults, lifecycle rules*passed*",
            "*, 2 generated configs audited under injected faults*",
        ]
    )
