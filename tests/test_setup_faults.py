"""Faults inside a resource's setup: the setup_call place (a callable the user names) and the
setup_http place (requests, httpx), through check and audit; and check's working directory."""

from __future__ import annotations

import pytest

TOKENS = '''
"""The user's own client module: what a resource's setup calls."""


def fetch_token():
    return "token"


class Client:
    def fetch(self):
        return "token"

    @staticmethod
    def fetch_static():
        return "token"
'''

# A background flusher whose setup starts its thread, then asks for a token: when the token
# request fails, Dagster never tears the resource down, so only setup can stop the thread.
RESOURCES = """
import threading

import dagster as dg
import pytest
from pydantic import PrivateAttr

import tokens
from pytest_resources import Fault, InjectedFault, ResourceUsageError


class Flusher(dg.ConfigurableResource):
    name: str = "flusher"
    _stop: threading.Event = PrivateAttr(default_factory=threading.Event)
    _thread: threading.Thread | None = PrivateAttr(default=None)
    _token: str = PrivateAttr(default="")

    def start(self):
        # Ends on its own after a while, so that a leaked one cannot hang the session.
        self._thread = threading.Thread(
            target=self._stop.wait, args=(5,), name="flusher", daemon=True
        )
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join()

    def setup_for_execution(self, context):
        self.start()
        self._token = tokens.fetch_token()

    def teardown_after_execution(self, context):
        self.stop()


class SafeFlusher(Flusher):
    def setup_for_execution(self, context):
        self.start()
        try:
            self._token = tokens.fetch_token()
        except BaseException:
            self.stop()  # Dagster will not call teardown after a failed setup
            raise
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(tokens=TOKENS)
    pytester.syspathinsert()
    return pytester


def test_a_thread_left_by_a_setup_that_fails_half_way_is_reported(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        RESOURCES
        + """
FETCH = Fault("setup_call", call="tokens.fetch_token")


@pytest.mark.release_check
def test_broken_check(run_context):
    run_context.check(Flusher(), fault=FETCH)


@pytest.mark.release_check
def test_correct_check(run_context):
    lifecycle = run_context.check(SafeFlusher(), fault=FETCH)
    assert lifecycle.setup_calls == 1 and lifecycle.teardown_calls == 0


@pytest.mark.release_check
def test_broken_audit(run_context):
    run_context.audit(Flusher, max_examples=3, setup_calls=["tokens.fetch_token"])


@pytest.mark.release_check
def test_correct_audit(run_context):
    summary = run_context.audit(SafeFlusher, max_examples=3, setup_calls=["tokens.fetch_token"])
    assert summary.by_fault["setup_call(tokens.fetch_token)"] == 3
    print(summary)


@pytest.mark.release_check
def test_other_places_miss_it(run_context):
    # Without the place inside setup the broken flusher passes: setup's fault fires first.
    run_context.audit(Flusher, max_examples=3)
"""
    )
    result = project.runpytest("-s")
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ test_broken_check _*",
            "E*LifecycleError: 1 thing left open after teardown:",
            "E*opened by the setup of resource 'flusher':",
            "E*- thread: 'flusher' (daemon thread, native id *)",
            "*_ test_broken_audit _*",
            "E*LifecycleError: 1 thing left open after teardown:",
            "E*- thread: 'flusher' (daemon thread, native id *)",
            "E*The run that failed had Fault(where='setup_call', call='tokens.fetch_token') "
            "injected.",
        ]
    )
    result.stdout.fnmatch_lines(
        ["*audited SafeFlusher: 3 generated configs*setup_call(tokens.fetch_token) 3*"]
    )


def test_the_callable_fails_only_in_the_setup_thread_and_is_restored(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        RESOURCES
        + """
ORIGINAL = tokens.fetch_token
SEEN = {}


class AsksFromAnotherThreadFirst(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        helper = threading.Thread(target=lambda: SEEN.update(helper=tokens.fetch_token()))
        helper.start()
        helper.join()
        SEEN["patched"] = tokens.fetch_token is not ORIGINAL
        tokens.fetch_token()


class Retries(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        try:
            tokens.fetch_token()
        except InjectedFault:
            SEEN["retried"] = tokens.fetch_token()  # a second call reaches the original


class Methods(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        tokens.Client().fetch()


class StaticMethod(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        tokens.Client.fetch_static()


def test_thread_and_restore(run_context):
    fetch = Fault("setup_call", call="tokens.fetch_token")
    run_context.check(AsksFromAnotherThreadFirst(), fault=fetch)
    assert SEEN == {"helper": "token", "patched": True}
    assert tokens.fetch_token is ORIGINAL
    assert tokens.fetch_token() == "token"


def test_a_handled_failure_passes(run_context):
    lifecycle = run_context.check(Retries(), fault=Fault("setup_call", call="tokens.fetch_token"))
    assert SEEN["retried"] == "token"
    assert lifecycle.setup_calls == 1


def test_methods(run_context):
    original = tokens.Client.__dict__["fetch_static"]
    run_context.check(Methods(), fault=Fault("setup_call", call="tokens.Client.fetch"))
    run_context.check(
        StaticMethod(), fault=Fault("setup_call", call="tokens.Client.fetch_static")
    )
    assert tokens.Client.__dict__["fetch_static"] is original
    assert tokens.Client().fetch() == tokens.Client.fetch_static() == "token"
    assert "__wrapped__" not in vars(tokens.Client.fetch)
"""
    )
    project.runpytest().assert_outcomes(passed=3)


def test_a_call_setup_never_makes_does_not_apply(project: pytest.Pytester) -> None:
    project.makepyfile(
        RESOURCES
        + """
class NoToken(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        pass


def test_check(run_context):
    run_context.check(NoToken(), fault=Fault("setup_call", call="tokens.fetch_token"))


def test_audit(run_context):
    summary = run_context.audit(NoToken, max_examples=1, setup_calls=["tokens.fetch_token"])
    assert summary.not_applicable["setup_call(tokens.fetch_token)"] == (
        "its setup never called tokens.fetch_token"
    )


def test_bad_names(run_context):
    with pytest.raises(ResourceUsageError, match="call= names the callable"):
        Fault("setup_call")
    with pytest.raises(ResourceUsageError, match="only that place takes it"):
        Fault("setup", call="tokens.fetch_token")
    with pytest.raises(ResourceUsageError, match="tokens has no callable 'fetch_tokn'"):
        run_context.check(NoToken(), fault=Fault("setup_call", call="tokens.fetch_tokn"))
    with pytest.raises(ResourceUsageError, match="no module 'tokenz' can be imported"):
        run_context.audit(NoToken, setup_calls=["tokenz.fetch_token"])
    with pytest.raises(ResourceUsageError, match="by its module and name"):
        run_context.audit(NoToken, setup_calls=["fetch_token"])
"""
    )
    result = project.runpytest()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "E*ResourceUsageError: run_context.check(): Fault(where='setup_call', "
            "call='tokens.fetch_token') does not apply to 'no_token': its setup never called "
            "tokens.fetch_token."
        ]
    )
    result.stdout.no_fnmatch_line("*FaultNotApplicable*")


REQUESTS_RESOURCES = """
import threading

import dagster as dg
import pytest
import requests
import responses
from pydantic import PrivateAttr

from pytest_resources import Fault

TOKEN_URL = "https://auth.example.com/token"


@pytest.fixture(autouse=True)
def auth_server():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as server:
        server.post(TOKEN_URL, json={"token": "t0k"})
        yield server


class ApiClient(dg.ConfigurableResource):
    client_id: str = "me"
    _stop: threading.Event = PrivateAttr(default_factory=threading.Event)
    _thread: threading.Thread | None = PrivateAttr(default=None)

    def setup_for_execution(self, context):
        self._thread = threading.Thread(
            target=self._stop.wait, args=(5,), name="refresher", daemon=True
        )
        self._thread.start()
        self.fetch_token()

    def fetch_token(self):
        response = requests.post(TOKEN_URL + "?secret=hunter2", data={"id": self.client_id})
        response.raise_for_status()
        return response.json()["token"]

    def teardown_after_execution(self, context):
        self._stop.set()
        self._thread.join()


class SafeApiClient(ApiClient):
    def setup_for_execution(self, context):
        self._thread = threading.Thread(
            target=self._stop.wait, args=(5,), name="refresher", daemon=True
        )
        self._thread.start()
        try:
            self.fetch_token()
        except requests.RequestException:
            self._stop.set()
            self._thread.join()
            raise
"""


def test_an_http_request_sent_in_setup_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        REQUESTS_RESOURCES
        + """
@pytest.mark.release_check
def test_broken(run_context):
    run_context.audit(ApiClient, max_examples=2)


@pytest.mark.release_check
def test_correct(run_context):
    summary = run_context.audit(SafeApiClient, max_examples=2)
    assert summary.by_fault["setup_http"] == 2


def test_the_error_is_the_librarys_own(run_context):
    caught = []

    class Catches(ApiClient):
        def setup_for_execution(self, context):
            try:
                self.fetch_token()
            except requests.ConnectionError as error:
                caught.append(str(error))
            self._thread = None

        def teardown_after_execution(self, context):
            pass

    run_context.check(Catches(), fault=Fault("setup_http"))
    assert caught == [
        "pytest-resources injected a failure into an HTTP request its setup sends "
        "(resource 'catches'): POST https://auth.example.com/token"
    ]
    assert requests.post(TOKEN_URL).json() == {"token": "t0k"}  # restored
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "E*LifecycleError: 1 thing left open after teardown:",
            "E*- thread: 'refresher' (daemon thread, native id *)",
            "E*The run that failed had Fault(where='setup_http') injected.",
        ]
    )
    result.stdout.no_fnmatch_line("*hunter2*")


def test_httpx_requests_fail_too(pytester: pytest.Pytester) -> None:
    pytest.importorskip("httpx")
    pytester.makepyfile(
        """
import asyncio
from contextlib import asynccontextmanager

import dagster as dg
import httpx
import pytest

from pytest_resources import Fault


def answer(request):
    return httpx.Response(200, json={"token": "t0k"})


async def answer_async(request):
    return answer(request)


class SyncClient(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        with httpx.Client(transport=httpx.MockTransport(answer)) as client:
            client.get("https://auth.example.com/token")


class AsyncClient(dg.ConfigurableResource):
    @asynccontextmanager
    async def yield_for_execution(self, context):
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer_async)) as client:
            await client.get("https://auth.example.com/token")
        yield self


class Catches(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        try:
            with httpx.Client(transport=httpx.MockTransport(answer)) as client:
                client.get("https://auth.example.com/token")
        except httpx.ConnectError as error:
            assert error.request.url.host == "auth.example.com"


def test_sync(run_context):
    run_context.check(SyncClient(), fault=Fault("setup_http"))


def test_async(run_context):
    run_context.check(AsyncClient(), fault=Fault("setup_http"))


def test_the_error_is_httpx_own(run_context):
    run_context.check(Catches(), fault=Fault("setup_http"))


def test_restored_after_each_setup(run_context):
    run_context.check(Catches(), fault=Fault("setup_http"))
    run_context.check(Catches(), fault=Fault("setup_http"))
    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        assert client.get("https://auth.example.com/token").json() == {"token": "t0k"}
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=4)


def test_check_writes_nothing_into_the_project(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import os

import dagster as dg
from hypothesis import given, settings, strategies as st

from pytest_resources import Fault, faults

ROOT = os.getcwd()


class WritesItsLog(dg.ConfigurableResource):
    log_file: str

    def setup_for_execution(self, context):
        with open(self.log_file, "w") as log:
            log.write("started")
        assert os.getcwd() != ROOT


@settings(max_examples=10, database=None)
@given(name=st.sampled_from(["a.log", "b.log"]), fault=st.none() | faults(places=["body"]))
def test_check(run_context, name, fault):
    run_context.check(WritesItsLog(log_file=name), fault=fault)
    assert os.getcwd() == ROOT


def test_open_writes_where_the_test_runs(run_context):
    with run_context.open(WritesItsLog(log_file="c.log")):
        pass
"""
    )
    result = pytester.runpytest()
    # The twin: opened in the test's own directory, the same setup writes there and fails.
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test_open_writes_where_the_test_runs*", "*AssertionError*"])
    assert sorted(path.name for path in pytester.path.glob("*.log")) == ["c.log"]
