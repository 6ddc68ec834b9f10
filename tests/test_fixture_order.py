"""Marked resources open after the test's other fixtures and close before them, so what those
fixtures set up (HTTP mocks, patches, environment, working directory) is in place for the
resource's setup and teardown."""

from __future__ import annotations

import pytest

# A resource whose setup and teardown reach the outside world: an HTTP API, a backend module
# a test patches, an environment variable, the working directory. Each refuses to run unless the
# test's fixtures replaced the real thing, and writes what it saw to ORDER.
RESOURCES = """
import os
from pathlib import Path

import dagster as dg
import pytest
import requests
from pydantic import PrivateAttr

import backend

ORDER = []
API = "https://api.example.invalid"


class ApiClient(dg.ConfigurableResource):
    token: str
    _session_id: str = PrivateAttr(default="")

    def setup_for_execution(self, context):
        ORDER.append("client setup")
        reply = requests.post(f"{API}/login", json={"token": self.token}, timeout=1)
        self._session_id = reply.json()["session"]

    def teardown_after_execution(self, context):
        ORDER.append("client teardown")
        requests.post(f"{API}/logout", json={"session": self._session_id}, timeout=1)

    def users(self):
        return requests.get(f"{API}/users", timeout=1).json()


class Backend(dg.ConfigurableResource):
    _connection: object = PrivateAttr(default=None)

    def setup_for_execution(self, context):
        self._connection = backend.connect()

    def teardown_after_execution(self, context):
        backend.disconnect(self._connection)


class Scratch(dg.ConfigurableResource):
    name: str

    def setup_for_execution(self, context):
        Path(self.name).write_text("scratch")

    def teardown_after_execution(self, context):
        Path(self.name).unlink()
"""

BACKEND = """
def connect():
    raise RuntimeError("the real backend was reached: the test's patch was not active")


def disconnect(connection):
    raise RuntimeError("the real backend was reached: the test's patch was not active")
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(backend=BACKEND, resources_under_test=RESOURCES)
    pytester.syspathinsert()
    return pytester


def test_function_scoped_http_mock_is_active_in_setup_and_teardown(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        """
import pytest
import responses

from resources_under_test import API, ORDER, ApiClient


@pytest.fixture
def api():
    with responses.RequestsMock() as mock:
        ORDER.append("mock started")
        mock.post(f"{API}/login", json={"session": "s-1"})
        mock.post(f"{API}/logout", json={})
        mock.get(f"{API}/users", json=["alice"])
        yield mock
        ORDER.append("mock stopping")


@pytest.mark.resource(ApiClient, token="t")
def test_users(resource, api):  # asks for the resource before the mock
    assert resource.users() == ["alice"]


def test_order():
    assert ORDER == [
        "mock started", "client setup", "client teardown", "mock stopping",
    ]
"""
    )
    project.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_pytest_mock_patch_autouse_and_higher_scopes(project: pytest.Pytester) -> None:
    project.makeconftest(
        """
import pytest


@pytest.fixture(autouse=True)
def connect(mocker):
    return mocker.patch("backend.connect", return_value="fake connection")
"""
    )
    project.makepyfile(
        """
import pytest

from resources_under_test import Backend


@pytest.fixture(scope="module")
def module_patch():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("backend.disconnect", lambda connection: None)
        yield


@pytest.fixture(scope="class")
def class_scoped(module_patch):
    yield


@pytest.mark.resource(Backend())
@pytest.mark.usefixtures("class_scoped")
class TestBackend:
    def test_connected(self, resource, connect):
        assert resource._connection == "fake connection"
        connect.assert_called_once_with()

    def test_without_fixture(self, connect, run_context):
        assert run_context.lifecycle(Backend).setup_calls == 1
"""
    )
    project.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_monkeypatch_setenv_feeds_an_env_var_field(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
import dagster as dg
import pytest
import responses

from resources_under_test import API, ApiClient


@pytest.fixture
def token(monkeypatch):
    monkeypatch.setenv("API_TOKEN", "from-the-fixture")


@pytest.fixture
def api():
    with responses.RequestsMock() as mock:
        login = mock.post(f"{API}/login", json={"session": "s-1"})
        mock.post(f"{API}/logout", json={})
        yield login


@pytest.mark.resource(ApiClient(token=dg.EnvVar("API_TOKEN")))
def test_token(resource, token, api):
    assert resource.token == "from-the-fixture"
    assert api.calls[0].request.body == b'{"token": "from-the-fixture"}'
"""
    )
    project.runpytest("-p", "no:randomly").assert_outcomes(passed=1)


def test_working_directory_fixture_holds_the_files(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
import os
from pathlib import Path

import pytest

from resources_under_test import Scratch


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    # The resource's teardown ran while the working directory was still tmp_path.
    assert not (tmp_path / "scratch.txt").exists()


@pytest.mark.resource(Scratch, name="scratch.txt")
def test_scratch(resource, in_tmp):
    assert (in_tmp / "scratch.txt").read_text() == "scratch"
"""
    )
    project.runpytest("-p", "no:randomly").assert_outcomes(passed=1)
    assert not (project.path / "scratch.txt").exists()


def test_fixture_that_uses_the_resource_gets_it_live(project: pytest.Pytester) -> None:
    """A fixture that requests ``resource`` (also through ``getfixturevalue``) gets the live
    value, and may use it in its teardown: the run closes after that teardown."""
    project.makepyfile(
        """
import pytest
import responses

from resources_under_test import API, ORDER, ApiClient


@pytest.fixture
def api():
    with responses.RequestsMock() as mock:
        mock.post(f"{API}/login", json={"session": "s-1"})
        mock.post(f"{API}/logout", json={})
        mock.get(f"{API}/users", json=["alice"])
        yield mock
        ORDER.append("mock stopping")


@pytest.fixture
def users(resource, api):
    ORDER.append("users fixture")
    yield resource.users()
    ORDER.append("users fixture teardown: " + ", ".join(resource.users()))


@pytest.fixture
def dynamic(request):
    client = request.getfixturevalue("resources")["api_client"]
    yield client.users()
    ORDER.append("dynamic teardown: " + ", ".join(client.users()))


@pytest.mark.resource(ApiClient, token="t")
def test_static(users):
    assert users == ["alice"]


@pytest.mark.resource(ApiClient, token="t")
def test_dynamic(dynamic, api):
    assert dynamic == ["alice"]


def test_order():
    assert ORDER == [
        "client setup", "users fixture",
        "users fixture teardown: alice", "client teardown", "mock stopping",
        "client setup", "dynamic teardown: alice", "client teardown", "mock stopping",
    ]
"""
    )
    project.runpytest("-p", "no:randomly").assert_outcomes(passed=3)


def test_a_rule_broken_with_a_fixture_using_the_resource_still_fails(
    project: pytest.Pytester,
) -> None:
    """When the run closes at teardown, a broken rule fails the test there, once."""
    project.makepyfile(
        """
import dagster as dg
import pytest
from resources_for_tests import FailingTeardown


@pytest.fixture
def uses(resource):
    yield resource


@pytest.mark.resource(FailingTeardown())
def test_marked(uses):
    pass
"""
    )
    result = project.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*teardown_after_execution raised OSError: disk gone*"])
    assert result.stdout.str().count("teardown_after_execution raised OSError") == 1


def test_setup_failure_of_a_marked_resource_is_a_setup_error_after_fixtures(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        """
import pytest

from resources_under_test import ORDER, Backend


@pytest.fixture
def seen():
    ORDER.append("fixture")
    yield
    ORDER.append("fixture teardown")


@pytest.mark.resource(Backend())
def test_unpatched(seen):
    pass


def test_order():
    assert ORDER == ["fixture", "fixture teardown"]
"""
    )
    result = project.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*the real backend was reached*"])
