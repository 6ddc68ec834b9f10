"""The ``@pytest.mark.resource`` marker and the ``resource`` / ``resources`` fixtures."""

from __future__ import annotations

import pytest

RESOURCES = """
import dagster as dg
import pytest
from pydantic import PrivateAttr


class MyClientResource(dg.ConfigurableResource):
    username: str
    password: str
    _api_token: str = PrivateAttr(default="")

    def setup_for_execution(self, context):
        self._api_token = "token-for-" + self.username

    def teardown_after_execution(self, context):
        self._api_token = ""

    def get_all_users(self):
        assert self._api_token, "not set up"
        return [self.username]


class Configless(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        pass
"""


def test_class_with_config(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
@pytest.mark.resource(MyClientResource, username="alice", password="pw")
def test_users(resource, run_context):
    assert resource.get_all_users() == ["alice"]
    assert run_context.lifecycle("my_client").setup_calls == 1
"""
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_instance_form_for_a_resource_without_config(pytester: pytest.Pytester) -> None:
    """A mark called with one class and nothing else decorates the class (pytest's rule): the
    instance spelling, or ``with_args``, is how a resource without required config is marked."""
    pytester.makepyfile(
        RESOURCES
        + """
@pytest.mark.resource(Configless())
def test_instance(resource):
    assert type(resource).__name__ == "Configless"


@pytest.mark.resource.with_args(Configless)
def test_with_args(resource):
    assert type(resource).__name__ == "Configless"


@pytest.mark.resource(Configless(), key="other")
def test_key_option(resources):
    assert list(resources) == ["other"]
"""
    )
    pytester.runpytest().assert_outcomes(passed=3)


def test_teardown_runs_after_the_test_body(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
@pytest.mark.resource(MyClientResource, username="a", password="b")
def test_body_fails(resource):
    raise ValueError("the step failed")


def test_after(run_context):
    with run_context.open(Configless()):
        pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*ValueError: the step failed"])


def test_module_and_class_level_marks(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
pytestmark = pytest.mark.resource(MyClientResource, username="mod", password="pw")


@pytest.mark.resource(Configless())
class TestGroup:
    def test_both(self, resources):
        assert sorted(resources) == ["configless", "my_client"]
        assert resources["my_client"].get_all_users() == ["mod"]


def test_module_only(resource):
    assert resource.get_all_users() == ["mod"]
"""
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_marked_resources_open_without_requesting_a_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
@pytest.mark.resource(Configless())
def test_no_fixture(run_context):
    assert run_context.lifecycle(Configless).setup_calls == 1
"""
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_strict_markers_clean(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
@pytest.mark.resource(Configless())
def test_marked():
    pass
"""
    )
    result = pytester.runpytest("--strict-markers", "--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.resource(resource, /, **config_or_options)*"])
    pytester.runpytest("--strict-markers").assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("mark", "message"),
    [
        (
            "@pytest.mark.resource(dict, a=1)",
            "@pytest.mark.resource dict is not a Dagster ConfigurableResource class.",
        ),
        (
            "@pytest.mark.resource('client')",
            "@pytest.mark.resource expects a Dagster ConfigurableResource class or instance, "
            "got str: 'client'.",
        ),
        (
            "@pytest.mark.resource(Configless(), kee='x')",
            "@pytest.mark.resource unknown option kee for a resource instance; the options are: "
            "key, leak_audit, release_check. Config goes into the constructor: "
            "Configless(field=value).",
        ),
        (
            "@pytest.mark.resource(MyClientResource, username='a')",
            "@pytest.mark.resource invalid config for MyClientResource: 1 validation error for "
            "MyClientResource",
        ),
        (
            "@pytest.mark.resource(MyClientResource, usernmae='a', password='b')",
            "@pytest.mark.resource MyClientResource has no config field 'usernmae'; its fields "
            "are: password, username.",
        ),
        (
            "@pytest.mark.resource(Configless, key='other')",
            "@pytest.mark.resource Configless has no config field 'key'; its fields are: none. "
            "Plugin options go with an instance: @pytest.mark.resource(Configless(...), key=...).",
        ),
        (
            "@pytest.mark.resource(Configless(), Configless())",
            "@pytest.mark.resource takes one positional argument, a resource class or instance; "
            "got 2: *",
        ),
        (
            "@pytest.mark.resource(Configless())\n@pytest.mark.resource(Configless())",
            "@pytest.mark.resource: two resources use the key 'configless'; give one of them "
            "another key: @pytest.mark.resource(Configless(...), key='other').",
        ),
    ],
    ids=[
        "not-a-resource-class",
        "not-a-resource",
        "unknown-option",
        "invalid-config",
        "config-typo",
        "option-on-a-class",
        "two-positionals",
        "duplicate-key",
    ],
)
def test_marker_misuse_is_a_clear_error(pytester: pytest.Pytester, mark: str, message: str) -> None:
    pytester.makepyfile(RESOURCES + f"\n{mark}\ndef test_marked(resource):\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([message])
    # A usage error, not a traceback from inside the plugin.
    result.stdout.no_fnmatch_line("*pytest_resources/_marker.py*")


def test_invalid_config_names_the_field(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
@pytest.mark.resource(MyClientResource, username="a")
def test_marked(resource):
    pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["password", "  Input should be a valid string*"])


def test_resource_fixture_needs_exactly_one_mark(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
def test_none(resource):
    pass


@pytest.mark.resource(Configless())
@pytest.mark.resource(MyClientResource, username="a", password="b")
def test_two(resource):
    pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "the resource fixture hands out resources marked on the test, its class or module "
            "with @pytest.mark.resource(MyResource, field=value); this test has none.",
            "the resource fixture needs exactly one marked resource, this test has 2 "
            "(configless, my_client); use the resources fixture: resources['configless'].",
        ]
    )


def test_default_keys() -> None:
    from plugin_internals import default_key

    names = ["MyClientResource", "S3Resource", "FilesystemIOManager", "DbtCliResource", "Resource"]
    classes = [type(name, (), {}) for name in names]
    assert [default_key(cls) for cls in classes] == [
        "my_client",
        "s3",
        "filesystem_io_manager",
        "dbt_cli",
        "resource",
    ]
