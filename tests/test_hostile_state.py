"""Private state that fights inspection never becomes the resource's failure: the audit skips what
it cannot read, names it, and still finds the leaks it can; teardown always runs."""

from __future__ import annotations

import threading

import dagster as dg
import pytest
from plugin_internals import find_private_leaks
from pydantic import PrivateAttr

SECRET = "sk-live-0123456789abcdef"

HOSTILE = f"""
import threading
import time
import weakref

import dagster as dg
import pytest
from pydantic import PrivateAttr

TORN_DOWN = []


class Unreadable:
    '''A lazy proxy: every attribute, __class__ included, raises.'''

    def __getattribute__(self, name):
        raise RuntimeError(f"lazy proxy: {{name}}")


class Gone:
    pass


class Tracked(dg.ConfigurableResource):
    def teardown_after_execution(self, context):
        TORN_DOWN.append(type(self).__name__)


class HoldsItself(Tracked):
    _items: list = PrivateAttr(default_factory=list)

    def setup_for_execution(self, context):
        self._items.append(self._items)
        self._items.append({{"self": self._items}})


class HoldsProxy(Tracked):
    _client: object = PrivateAttr(default=None)

    def setup_for_execution(self, context):
        self._client = Unreadable()


class HoldsDeadReference(Tracked):
    _target: object = PrivateAttr(default=None)

    def setup_for_execution(self, context):
        self._target = weakref.proxy(Gone())


class MutatedByThread(Tracked):
    _cache: dict = PrivateAttr(default_factory=dict)
    _stop: object = PrivateAttr(default=None)
    _thread: object = PrivateAttr(default=None)

    def setup_for_execution(self, context):
        self._stop = threading.Event()

        def fill():
            count = 0
            while not self._stop.is_set():
                self._cache[f"entry-{{count}}-of-the-cache"] = [f"value-{{count}}-long"]
                count += 1
                if len(self._cache) > 2000:
                    self._cache.clear()

        self._thread = threading.Thread(target=fill, daemon=True)
        self._thread.start()
        time.sleep(0.01)

    def teardown_after_execution(self, context):
        self._stop.set()
        self._thread.join()
        super().teardown_after_execution(context)


class LeaksBesideProxy(Tracked):
    '''Broken: its token lands in a public field, beside a value nobody can read.'''

    headers: dict = {{}}
    _client: object = PrivateAttr(default=None)
    _token: str = PrivateAttr(default="")

    def setup_for_execution(self, context):
        self._client = Unreadable()
        self._token = "{SECRET}"
        self.headers["Authorization"] = self._token


class LeaksInsideCycle(Tracked):
    '''Broken: its token sits in a list that holds itself, and lands in a public field.'''

    headers: dict = {{}}
    _items: list = PrivateAttr(default_factory=list)

    def setup_for_execution(self, context):
        self._items.extend([self._items, "{SECRET}"])
        self.headers["Authorization"] = self._items[1]
"""


def test_unreadable_private_state_is_skipped_and_named(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        HOSTILE
        + """
@pytest.mark.parametrize(
    "cls", [HoldsItself, HoldsProxy, HoldsDeadReference, MutatedByThread], ids=lambda c: c.__name__
)
def test_opened(run_context, cls):
    with run_context.open(cls()):
        pass
    assert TORN_DOWN == [cls.__name__]
    TORN_DOWN.clear()


@pytest.mark.resource(HoldsProxy())
def test_marked(resource):
    pass
"""
    )
    result = pytester.runpytest("-rA")
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(
        [
            "Not inspected by the leak audit (it could not read these values, so it skipped "
            "them; the resource was set up and torn down as usual):",
            "  - resource 'holds_proxy' (HoldsProxy): _client, after setup and after teardown "
            "(RuntimeError: lazy proxy: __class__)",
            "*",
            "  - resource 'holds_dead_reference' (HoldsDeadReference): _target, after setup and "
            "after teardown (ReferenceError: weakly-referenced object no longer exists)",
            "*; 3 values not inspected by the leak audit (each test's report names them: "
            "pytest -rA)",
        ]
    )
    # A list that holds itself and a dict another thread resizes are inspected, not skipped.
    assert "_items" not in result.stdout.str()
    assert "_cache" not in result.stdout.str()


def test_leaks_beside_unreadable_state_are_still_found(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        HOSTILE
        + """
@pytest.mark.parametrize("cls", [LeaksBesideProxy, LeaksInsideCycle], ids=lambda c: c.__name__)
def test_opened(run_context, cls):
    with run_context.open(cls()):
        pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*PrivateStateLeak*",
            "*resource 'leaks_beside_proxy' (LeaksBesideProxy), live copy, seen after setup and "
            "after teardown:",
            "*private attribute _token = 'sk…' (24 chars), stored at *",
            "*Not inspected by the leak audit*",
            "  - resource 'leaks_beside_proxy' (LeaksBesideProxy): _client, after setup and "
            "after teardown (RuntimeError: lazy proxy: __class__)",
        ]
    )
    result.stdout.fnmatch_lines(["*private attribute _items[[]1[]] = 'sk…' (24 chars)*"])
    assert SECRET not in result.stdout.str()


def test_a_failing_audit_never_fails_setup(pytester: pytest.Pytester) -> None:
    """Whatever the audit itself raises is kept out of Dagster's initialization: the resource
    is set up and torn down as under plain Dagster, and the audit that could not be done is
    named. (The plugin's own search is made to fail here: no audit of user code can be.)"""
    pytester.makeconftest(
        """
import pytest
from plugin_internals import audit_search


@pytest.fixture(autouse=True)
def broken_search(monkeypatch):
    def fail(*args, **kwargs):
        raise TypeError("the plugin's own search failed")

    monkeypatch.setattr(audit_search.NeedleIndex, "matches", fail)
"""
    )
    pytester.makepyfile(
        HOSTILE
        + f"""
class HoldsToken(Tracked):
    _token: str = PrivateAttr(default="")

    def setup_for_execution(self, context):
        self._token = "{SECRET}"


def test_opened(run_context):
    with run_context.open(HoldsToken()):
        pass
    assert TORN_DOWN == ["HoldsToken"]
"""
    )
    result = pytester.runpytest("-rA")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "  - resource 'holds_token' (HoldsToken): every private value (the leak audit "
            "failed on this resource), after setup and after teardown (TypeError: the plugin's own "
            "search failed)",
        ]
    )


class _Cyclic(dg.ConfigurableResource):
    label: str = "x"
    _nest: list[object] = PrivateAttr(default_factory=list)


def test_the_walk_is_bounded_in_depth_and_copes_with_cycles() -> None:
    resource = _Cyclic()
    deep: list[object] = []
    for _ in range(10_000):  # deeper than Python's recursion limit
        deep = [deep]
    wide: list[object] = []
    wide.extend([wide] * 50)  # a cycle walked without a visited set explodes
    resource._nest.extend([deep, wide, resource._nest])
    skipped: list[object] = []
    assert find_private_leaks(resource, not_inspected=skipped) == []
    assert skipped == []


class _Resized(dg.ConfigurableResource):
    label: str = "x"
    _cache: dict[str, list[str]] = PrivateAttr(default_factory=dict)


def test_a_dict_resized_by_another_thread_is_read_at_one_moment() -> None:
    resource = _Resized()
    stop = threading.Event()

    def resize() -> None:
        count = 0
        while not stop.is_set():
            resource._cache[f"entry-{count}-of-the-cache"] = [f"value-{count}-long"]
            count += 1
            if count % 500 == 0:
                resource._cache.clear()

    thread = threading.Thread(target=resize)
    thread.start()
    try:
        for _ in range(200):
            skipped: list[object] = []
            find_private_leaks(resource, not_inspected=skipped)
            assert skipped == []
    finally:
        stop.set()
        thread.join()


CHANGED_DAGSTER = """
import pytest
from dagster._core.remote_representation import external_data


def changed_signature(repository_def):
    raise TypeError("from_def() missing 1 required keyword-only argument: 'context'")


@pytest.fixture(autouse=True, scope="session")
def snapshot_api_changed():
    # What a Dagster release that changes RepositorySnap.from_def looks like to the plugin.
    external_data.RepositorySnap.from_def = staticmethod(changed_signature)
    yield
"""


@pytest.mark.slow(seconds=5)
def test_a_form_the_plugin_cannot_build_is_its_own_error(pytester: pytest.Pytester) -> None:
    """A Dagster that moved an API the audit builds a form with weakens every audit: said once
    for the session, as the plugin's error; the other forms still find the leak."""
    pytester.makeconftest(CHANGED_DAGSTER)
    pytester.makepyfile(
        HOSTILE
        + """
def test_leaky(run_context):
    with run_context.open(LeaksInsideCycle()):
        pass


def test_clean(run_context):
    with run_context.open(HoldsItself()):
        pass
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*run config: [[]'resources'[]][[]'leaks_inside_cycle'[]]*",
            "ERROR (pytest-resources): the leak audit cannot build the form repository snapshot "
            "on dagster * (TypeError: from_def() missing *), so every audit of this session "
            "skipped it. A Dagster API the plugin relies on has changed: please report it to "
            "pytest-resources, or pin dagster to a version it supports.",
        ]
    )
    assert result.stdout.str().count("ERROR (pytest-resources)") == 1


def test_a_resource_whose_state_does_not_pickle_is_no_plugin_error(
    pytester: pytest.Pytester,
) -> None:
    """The twin: a form this resource's own code refuses (it will not be pickled) is skipped for
    it alone, as not applicable."""
    pytester.makepyfile(
        """
import threading

import dagster as dg
from pydantic import PrivateAttr


class RefusesPickling(dg.ConfigurableResource):
    name: str = "client"
    _lock: object = PrivateAttr(default=None)

    def setup_for_execution(self, context):
        self._lock = threading.Lock()

    def __getstate__(self):
        raise TypeError("a RefusesPickling holds a lock and is never pickled")


def test_opened(run_context):
    with run_context.open(RefusesPickling()):
        pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "ERROR (pytest-resources)" not in result.stdout.str()
