"""The resource under test is the user's class, unchanged: it behaves exactly as under plain
Dagster, and the plugin's reports never break, whatever a user's exception does.

Each class below relies on its own class object in a way a recording subclass would break; every
test runs the same code under plain ``dagster.build_resources`` and under the plugin, and expects
the same result.
"""

from __future__ import annotations

import pytest

# Correct resources that depend on their class: a registry that refuses a second class of the
# same name, class keywords, a lookup keyed by exact type, recursive subclass discovery.
CLASS_BOUND = """
from typing import ClassVar

import dagster as dg
import pytest

CONNECTORS = {}


class Connector(dg.ConfigurableResource):
    registry: ClassVar[dict] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__name__ in Connector.registry:
            raise TypeError(f"a connector named {cls.__name__} exists already")
        Connector.registry[cls.__name__] = cls


class Postgres(Connector):
    dsn: str = "postgresql://db"

    def setup_for_execution(self, context):
        self._dialect = CONNECTORS[type(self)]
        self._siblings = sorted(c.__name__ for c in walk(Connector))

    def teardown_after_execution(self, context):
        pass


class Mysql(Connector):
    dsn: str = "mysql://db"


CONNECTORS.update({Postgres: "pg", Mysql: "my"})


def walk(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from walk(sub)


class Store(dg.ConfigurableResource):
    scheme: ClassVar[str] = "file"

    def __init_subclass__(cls, scheme="file", **kwargs):
        super().__init_subclass__(**kwargs)
        cls.scheme = scheme


class S3Store(Store, scheme="s3"):
    bucket: str = "data"

    def setup_for_execution(self, context):
        self._url = f"{type(self).scheme}://{self.bucket}"


def observed(live):
    # What the resource's own code saw, and what a user of the live value sees.
    return {
        "type": type(live),
        "private": {k: v for k, v in (live.__pydantic_private__ or {}).items()},
        "vars": sorted(vars(live)),
        "copy": type(live.model_copy()),
        "equal to a copy": live == live.model_copy(),
    }


def plain(resource, key="it"):
    with dg.build_resources({key: resource}) as built:
        return observed(getattr(built, key))
"""


def test_class_bound_resources_behave_as_under_plain_dagster(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        CLASS_BOUND
        + """
CASES = [Postgres(), Mysql(), S3Store()]


@pytest.mark.parametrize("resource", CASES, ids=lambda r: type(r).__name__)
def test_open(run_context, resource):
    subclasses_before = list(Connector.__subclasses__())
    class_before = dict(vars(type(resource)))
    expected = plain(resource)
    with run_context.open(resource, key="it") as live:
        assert type(live) is type(resource)
        assert Connector.__subclasses__() == subclasses_before
        got = observed(live)
    assert got == expected
    assert dict(vars(type(resource))) == class_before
    assert Connector.__subclasses__() == subclasses_before


def test_values_seen_by_the_class_itself(run_context):
    with run_context.open({"pg": Postgres(), "s3": S3Store()}) as live:
        assert live["pg"]._dialect == "pg"
        assert live["pg"]._siblings == ["Mysql", "Postgres"]
        assert live["s3"]._url == "s3://data"
    assert run_context.lifecycle("pg").hooks == (
        "setup_for_execution",
        "create_resource",
        "yield_for_execution enter",
        "teardown_after_execution",
        "yield_for_execution exit",
    )


@pytest.mark.resource(Postgres, dsn="postgresql://marked")
def test_marked(resource):
    assert type(resource) is Postgres
    assert resource._dialect == "pg"


def test_in_a_real_run(run_context):
    seen = {}

    @dg.asset
    def uses(pg: Postgres, s3: S3Store):
        seen.update(pg=(type(pg), pg._dialect), s3=s3._url)

    result = run_context.materialize([uses], resources={"pg": Postgres(), "s3": S3Store()})
    assert result.success
    assert seen == {"pg": (Postgres, "pg"), "s3": "s3://data"}
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=6)


def test_hooks_are_wrapped_only_while_a_run_is_open(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import threading

import dagster as dg


class Base(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        self._ready = True

    def teardown_after_execution(self, context):
        pass


class Child(Base):
    def setup_for_execution(self, context):
        super().setup_for_execution(context)  # one setup, recorded once


def snapshot():
    return [dict(vars(cls)) for cls in (Base, Child, dg.ConfigurableResource)]


def test_overlapping_runs_restore_the_classes(run_context):
    before = snapshot()
    with run_context.run() as first, first.open(Base()) as outer:
        with run_context.run() as second, second.open({"a": Base(), "b": Child()}):
            pass
        assert second.lifecycle("b").setup_calls == 1
        assert outer._ready
    assert first.lifecycle(Base).hooks == (
        "setup_for_execution",
        "create_resource",
        "yield_for_execution enter",
        "teardown_after_execution",
        "yield_for_execution exit",
    )
    assert snapshot() == before


def test_calls_outside_the_run_are_not_recorded(run_context):
    context = dg.build_init_resource_context()
    bystander = Base()
    with run_context.open(Base()):
        # The same class, used at the same time by code that is not the run.
        worker = threading.Thread(target=bystander.setup_for_execution, args=(context,))
        worker.start()
        worker.join()
        bystander.teardown_after_execution(context)
    assert run_context.lifecycle(Base).setup_calls == 1
    assert run_context.lifecycle(Base).teardown_calls == 1
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)


# --- reports that never break -------------------------------------------------------------------


def test_unprintable_exceptions_and_exception_groups_are_reported(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
import dagster as dg

try:
    ExceptionGroup
except NameError:  # Python 3.10: pytest's own dependency backports it
    from exceptiongroup import ExceptionGroup


class HttpError(Exception):
    def __str__(self):
        raise AttributeError("response was never read")

    def __repr__(self):
        raise AttributeError("response was never read")


class Unprintable(dg.ConfigurableResource):
    def teardown_after_execution(self, context):
        raise HttpError()


class Grouped(dg.ConfigurableResource):
    def teardown_after_execution(self, context):
        raise ExceptionGroup(
            "cleanup failed", [OSError("socket still open"), ValueError("cursor not closed")]
        )


def test_unprintable(run_context):
    with run_context.open(Unprintable()):
        pass


def test_group(run_context):
    with run_context.open(Grouped()):
        pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*broke rule 5*",
            "*teardown_after_execution raised HttpError: <unprintable HttpError>",
            "*HttpError: <unprintable HttpError>",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*teardown_after_execution raised ExceptionGroup: cleanup failed (2 sub-exceptions)",
            "*+-- sub-exception 1:",
            "*OSError: socket still open",
            "*+-- sub-exception 2:",
            "*ValueError: cursor not closed",
        ]
    )
    result.stdout.no_fnmatch_line("*INTERNALERROR*")


def test_a_second_yield_has_its_own_message(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
from contextlib import contextmanager

import dagster as dg


class Retrying(dg.ConfigurableResource):
    @contextmanager
    def yield_for_execution(self, context):
        for attempt in range(2):
            yield self


def test_retrying(run_context):
    with run_context.open(Retrying()):
        pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*broke rule 3: yield_for_execution is entered and exited exactly once*",
            "*yield_for_execution yielded a second time when Dagster resumed it after the step*",
            "*hint: yield exactly once*",
        ]
    )
    result.stdout.no_fnmatch_line("*rule 5*")


# --- rule 6 and nesting -----------------------------------------------------------------------


NESTED = """
import dagster as dg


class Settings(dg.ConfigurableResource):
    region: str = "eu"


class Pool(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        self._connections = []

    def teardown_after_execution(self, context):
        self._connections.clear()


class Reader(dg.ConfigurableResource):
    pool: Pool
    settings: Settings


class Writer(dg.ConfigurableResource):
    pool: Pool
    settings: Settings
"""


def test_a_configuration_only_resource_may_be_shared(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        NESTED
        + """
def test_shared_settings(run_context):
    settings = Settings()
    with run_context.open(
        {"reader": Reader(pool=Pool(), settings=settings), "settings": settings,
         "writer": Writer(pool=Pool(), settings=settings)}
    ):
        pass
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


def test_an_instance_nested_in_two_parents_is_reported_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        NESTED
        + """
def test_shared_pool(run_context):
    pool, settings = Pool(), Settings()
    try:
        with run_context.open(
            {"reader": Reader(pool=pool, settings=settings),
             "writer": Writer(pool=pool, settings=settings)}
        ):
            pass
    finally:
        for key in ("reader.pool", "writer.pool"):
            assert run_context.lifecycle(key).setup_calls == 1
            assert run_context.lifecycle(key).teardown_calls == 1
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E*1 lifecycle rule broken:",
            "E*resource 'reader.pool' (*Pool) broke rule 6: one resource instance is initialized "
            "once per run",
            "E*the same Pool instance is reachable as 'reader.pool' and as 'writer.pool', so "
            "Dagster sets it up twice and hands out two different objects.",
        ]
    )
    result.stdout.no_fnmatch_line("*rule 4*")


# --- assert_once_per_process ------------------------------------------------------------------


def test_assert_once_per_process_counts_a_custom_yield(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import sqlite3
from contextlib import contextmanager

import dagster as dg
import pytest
from pytest_resources import Lifecycle, LifecycleError


class Database(dg.ConfigurableResource):
    path: str = ":memory:"

    @contextmanager
    def yield_for_execution(self, context):
        connection = sqlite3.connect(self.path)
        try:
            yield connection
        finally:
            connection.close()


def test_once(run_context):
    with run_context.open(Database()):
        pass
    run_context.lifecycle(Database).assert_once_per_process(processes=1)


def test_twice_in_one_run(run_context):
    with run_context.open(Database()):
        pass
    with run_context.open(Database()):
        pass
    with pytest.raises(LifecycleError, match="yield_for_execution enter 2"):
        run_context.lifecycle(Database).assert_once_per_process()


def test_never():
    with pytest.raises(LifecycleError, match="never set up"):
        Lifecycle(()).assert_once_per_process()
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=3)


# --- materialize takes what dagster.materialize takes -----------------------------------------


def test_materialize_takes_asset_specs_and_source_assets(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import dagster as dg


class Client(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        self._token = "t"


upstream = dg.AssetSpec("upstream")
raw = dg.SourceAsset("raw")


@dg.asset(deps=[upstream, raw])
def report(client: Client):
    return 1


def test_specs(run_context):
    result = run_context.materialize([upstream, raw, report], resources={"client": Client()})
    assert result.success
    plain = dg.materialize(
        [upstream, raw, report], resources={"client": Client()}, instance=run_context.instance
    )
    assert plain.success
    assert run_context.lifecycle(Client).setup_calls == 1
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


# --- a test's records are released when it ends -----------------------------------------------


@pytest.mark.slow(seconds=17)
def test_live_values_are_released_after_each_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import gc
import weakref

import dagster as dg
import pytest

REFERENCES = []


class Session:
    pass


class Client(dg.ConfigurableResource):
    host: str = "h"

    def setup_for_execution(self, context):
        self._session = Session()
        REFERENCES.append(weakref.ref(self._session))

    def teardown_after_execution(self, context):
        pass


class Broken(Client):
    def teardown_after_execution(self, context):
        raise RuntimeError("teardown failed")


@pytest.mark.resource(Client, host="marked")
def test_marked(resource):
    REFERENCES.append(weakref.ref(resource))


def test_opened(run_context):
    with run_context.open(Client()) as live:
        REFERENCES.append(weakref.ref(live))


def test_broken(run_context):
    with run_context.open(Broken()) as live:
        REFERENCES.append(weakref.ref(live))


def test_in_a_run(run_context):
    @dg.asset
    def uses(client: Client):
        REFERENCES.append(weakref.ref(client))

    run_context.materialize([uses], resources={"client": Client()})


def test_zy_a_later_failure():
    # pytest keeps the last failure's traceback (sys.last_traceback) for post-mortem debugging,
    # and with it that test's frames; the next failure replaces it.
    assert not "failing"


def test_zz_all_released():
    gc.collect()
    assert len(REFERENCES) == 8
    assert [type(ref()).__name__ for ref in REFERENCES if ref() is not None] == []
"""
    )
    # In a subprocess: an in-process run's hook recorder keeps every CallInfo, and with it the
    # frames of failed tests.
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=4, failed=2)


# --- a run's records shrink to what the report needs when it closes -----------------------------


def test_a_closed_run_keeps_its_events_and_nothing_live(run_context) -> None:
    import gc
    import weakref

    from resources_for_tests import Inner, Outer

    live_values = []
    for _ in range(3):
        with run_context.run() as run, run.open(Outer(inner=Inner())) as live:
            live_values.append(weakref.ref(live))
    del live
    gc.collect()
    assert [ref() for ref in live_values] == [None, None, None]
    assert run_context.lifecycle(Outer).setup_calls == 3
    assert run_context.lifecycle(Inner).teardown_calls == 3
    assert run_context.lifecycle("outer.inner").keys == ("outer.inner",)


def test_what_survives_an_open_is_its_few_records(run_context) -> None:
    import gc

    from resources_for_tests import Inner

    def open_one() -> None:
        with run_context.run() as run, run.open(Inner()):
            pass

    for _ in range(20):
        open_one()
    gc.collect()
    before = len(gc.get_objects())
    for _ in range(100):
        open_one()
    gc.collect()
    # Its five events and the run's recording; Dagster's run, the copies and the wrappers go.
    assert (len(gc.get_objects()) - before) / 100 < 30
    assert run_context.lifecycle(Inner).setup_calls == 120


def test_a_closed_run_keeps_the_exceptions_it_recorded(run_context) -> None:
    import time

    from resources_for_tests import Inner, TeardownRaises

    for _ in range(5):
        with run_context.run() as run, run.open(Inner()):
            pass
    opened = time.time_ns()
    with run_context.run() as run, run.open(TeardownRaises(), check=False):
        pass
    closed = time.time_ns()
    (teardown,) = [
        event
        for event in run_context.lifecycle(TeardownRaises).events
        if event.hook == "teardown_after_execution"
    ]
    assert str(teardown.exception) == "could not close the connection pool"
    assert teardown.outcome == "raised"
    # What a timeline of the run shows: each call's start and duration, in order.
    events = run_context.lifecycle(TeardownRaises).events
    assert all(opened <= e.started_ns <= e.started_ns + e.duration_ns <= closed for e in events)
