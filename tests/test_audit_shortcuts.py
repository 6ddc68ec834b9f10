"""What makes the checks cheap never changes what they find.

The leak audit builds a model's serialized forms once per (class, key, plain data) and searches
them once per set of private values; copies of a resource share Dagster's schema work while a
recording is active. Each case here is one such shortcut could get wrong: state changed in
place, a leak that appears only in teardown, an equal but different value, serialization code
of the user's, config values equal in Python but different to Dagster. Every audit is compared
with the same audit from empty caches.
"""

from __future__ import annotations

import dataclasses
import gc
import math
import uuid
import weakref
from collections.abc import Iterator
from typing import Annotated, Any

import dagster as dg
import pytest
from plugin_internals import (
    Leak,
    RunContext,
    Session,
    audit_cache,
    find_private_leaks,
    forget_audited_forms,
    hooks_module,
)
from pydantic import Field, PlainSerializer, PrivateAttr, computed_field, field_serializer

TOKEN = "tok-" + "5e1f" * 6
# Read by the serialization code below: set only during teardown.
SHOWN_IN_TEARDOWN: dict[str, str] = {"value": ""}


@pytest.fixture(scope="module")
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as shared:
        yield shared


@pytest.fixture(autouse=True)
def empty_caches() -> Iterator[None]:
    forget_audited_forms()
    SHOWN_IN_TEARDOWN["value"] = ""
    yield
    forget_audited_forms()


def audit(live: Any, when: str, **options: Any) -> list[Leak]:
    """The audit with whatever the caches hold, checked against the audit from empty caches."""
    found = find_private_leaks(live, key="r", when=when, **options)
    forget_audited_forms()
    assert find_private_leaks(live, key="r", when=when, **options) == found
    # Leave the caches primed with this state, as the run's next audit finds them.
    find_private_leaks(live, key="r", when=when, **options)
    return found


def audit_setup_and_teardown(
    resource: dg.ConfigurableResource[Any], instance: dg.DagsterInstance, **options: Any
) -> tuple[list[Leak], list[Leak]]:
    with dg.build_resources({"r": resource}, instance=instance) as built:
        live = built.r
        after_setup = audit(live, "after setup", **options)
    return after_setup, audit(live, "after teardown", **options)


# --- the resources -----------------------------------------------------------------------------


class CopiesTokenInTeardown(dg.ConfigurableResource):
    """Clean after setup; teardown writes the token into a public dict, in place."""

    headers: dict[str, str] = Field(default_factory=dict)
    _token: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._token = TOKEN

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.headers["Authorization"] = self._token


class RemembersInTeardown(dg.ConfigurableResource):
    """A run id lands in a public dict during setup, as a header; it becomes private state only
    when teardown files it in a private dict, in place. The public data never changes."""

    headers: dict[str, str] = Field(default_factory=dict)
    _seen: dict[str, str] = PrivateAttr(default_factory=dict)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self.headers["X-Run"] = "run-" + uuid.uuid4().hex

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self._seen["last run"] = self.headers["X-Run"]


class ReplacesWithEqual(dg.ConfigurableResource):
    """Teardown swaps private and public values for equal objects that are not the same."""

    limits: list[Any] = Field(default_factory=list)
    _token: str = PrivateAttr(default="")
    _quota: int = PrivateAttr(default=0)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._token = TOKEN
        self._quota = 250_000
        self.limits.append(250_000)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self._token = "".join(list(TOKEN))  # equal, another object
        self.limits[0] = 250_000.0  # equal to the int, written differently


class ReprShowsTeardown(dg.ConfigurableResource):
    name: str = "reports"
    _token: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._token = TOKEN

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        SHOWN_IN_TEARDOWN["value"] = self._token

    def __repr__(self) -> str:
        return f"ReprShowsTeardown(name={self.name!r}, last={SHOWN_IN_TEARDOWN['value']})"


class ComputedShowsTeardown(ReprShowsTeardown):
    __repr__ = object.__repr__  # only the computed field shows the value

    @computed_field  # type: ignore[prop-decorator]
    @property
    def last(self) -> str:
        return SHOWN_IN_TEARDOWN["value"]


class SerializerShowsTeardown(dg.ConfigurableResource):
    name: str = "reports"
    _token: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._token = TOKEN

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        SHOWN_IN_TEARDOWN["value"] = self._token

    @field_serializer("name")
    def _name_with_last(self, name: str) -> str:
        return f"{name} {SHOWN_IN_TEARDOWN['value']}".strip()


def _with_last(value: str) -> str:
    return f"{value} {SHOWN_IN_TEARDOWN['value']}".strip()


class AnnotatedShowsTeardown(dg.ConfigurableResource):
    name: Annotated[str, PlainSerializer(_with_last)] = "reports"
    _token: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._token = TOKEN

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        SHOWN_IN_TEARDOWN["value"] = self._token


# --- the leak audit ----------------------------------------------------------------------------


def test_a_leak_written_in_place_during_teardown_is_found(instance: dg.DagsterInstance) -> None:
    after_setup, after_teardown = audit_setup_and_teardown(CopiesTokenInTeardown(), instance)

    assert after_setup == []
    assert "model_dump()['headers']['Authorization']" in {leak.path for leak in after_teardown}
    assert {leak.when for leak in after_teardown} == {"after teardown"}


def test_private_state_filled_in_place_is_searched_for_again(
    instance: dg.DagsterInstance,
) -> None:
    after_setup, after_teardown = audit_setup_and_teardown(RemembersInTeardown(), instance)

    assert after_setup == []
    assert {leak.private_attribute for leak in after_teardown} == {"_seen['last run']"}
    assert "model_dump()['headers']['X-Run']" in {leak.path for leak in after_teardown}


def test_values_replaced_by_equal_objects_give_the_same_findings(
    instance: dg.DagsterInstance,
) -> None:
    after_setup, after_teardown = audit_setup_and_teardown(ReplacesWithEqual(), instance)

    # The quota is in the public list both times; the float is written 250000.0 in the text
    # forms, which is not the token 250000.
    assert {leak.private_attribute for leak in after_setup} == {"_quota"}
    assert {leak.private_attribute for leak in after_teardown} == {"_quota"}
    assert "repr()[limits=…]" in {leak.path for leak in after_setup}
    assert "repr()[limits=…]" not in {leak.path for leak in after_teardown}


@pytest.mark.parametrize(
    ("resource_class", "form"),
    [
        (ReprShowsTeardown, "repr()"),
        (ComputedShowsTeardown, "model_dump()"),
        (SerializerShowsTeardown, "model_dump()"),
        (AnnotatedShowsTeardown, "model_dump()"),
    ],
)
def test_forms_built_by_the_users_code_are_built_again(
    instance: dg.DagsterInstance, resource_class: type[dg.ConfigurableResource[Any]], form: str
) -> None:
    """The data does not change in teardown, only what the class's own code shows."""
    after_setup, after_teardown = audit_setup_and_teardown(resource_class(), instance)

    assert after_setup == []
    assert form in {leak.form for leak in after_teardown}


def test_the_users_instance_is_audited_on_its_own_data(instance: dg.DagsterInstance) -> None:
    """A live copy and the user's instance with the same config share forms; the copy's public
    dict filled during the run is not the instance's."""
    resource = CopiesTokenInTeardown()
    with dg.build_resources({"r": resource}, instance=instance) as built:
        live = built.r
    leaks = audit(live, "after teardown", user_instance=resource)

    assert {leak.audited for leak in leaks} == {"live copy"}
    assert resource.headers == {}


class HoldsClient(dg.ConfigurableResource):
    base_url: str = "https://api.example"
    _client: object = PrivateAttr(default=None)


class _Client:
    def __repr__(self) -> str:
        return "<Client session=5e1f5e1f5e1f5e1f>"


def test_no_cache_keeps_a_resources_objects_alive() -> None:
    # Dagster keeps the locals of the frame that first builds a repository snapshot in this
    # process (Session.warm_up does this for a session): not the objects under test.
    find_private_leaks(HoldsClient(base_url="https://warm.up"), key="r", when="after setup")
    client = _Client()
    alive = weakref.ref(client)
    resource = HoldsClient()
    resource._client = client
    find_private_leaks(resource, key="r", when="after setup")
    find_private_leaks(resource, key="r", when="after setup")

    del resource, client
    gc.collect()

    assert alive() is None


# --- Dagster's schema work, shared between copies ----------------------------------------------


class Tuned(dg.ConfigurableResource):
    ratio: float = 1.0
    tags: list[str] = Field(default_factory=list)


class Outer(dg.ConfigurableResource):
    inner: Tuned
    name: str = "outer"


@pytest.fixture
def own_session() -> Iterator[Session]:
    """A session of its own (the plugin's run_context would fail the test for what it catches)."""
    session = Session()
    session.warm_up()  # as the plugin does: Dagster's first-use work happens outside tests
    session.begin_test("test_audit_shortcuts")
    yield session
    session.end_test()
    session.close()


@pytest.fixture
def own_context(own_session: Session) -> RunContext:
    return RunContext(own_session)


def test_each_copy_gets_its_own_config_in_one_test(own_context: RunContext) -> None:
    """Values equal in Python (0.0 and -0.0, [] and ()) are different config to Dagster."""
    for ratio, tags in [(0.0, ["a"]), (-0.0, ["a"]), (0.0, ["b"]), (-0.0, [])]:
        with own_context.open(Tuned(ratio=ratio, tags=tags)) as live:
            assert math.copysign(1, live.ratio) == math.copysign(1, ratio)
            assert live.tags == tags


def test_launch_config_and_nested_resources_in_one_test(own_context: RunContext) -> None:
    for name in ("first", "second"):
        with own_context.open(
            {"tuned": Tuned.configure_at_launch()},
            resource_config={"tuned": {"ratio": 2.5, "tags": [name]}},
        ) as live:
            assert live["tuned"].tags == [name]
        with own_context.open(Outer(inner=Tuned(tags=[name]), name=name)) as outer:
            assert (outer.name, outer.inner.tags) == (name, [name])


def test_what_was_cached_goes_with_the_test(own_session: Session) -> None:
    with RunContext(own_session).open(HoldsClient()):
        pass
    assert audit_cache._cached_forms

    own_session.end_test()

    assert not audit_cache._cached_forms
    assert not audit_cache._cached_hits
    own_session.begin_test("test_audit_shortcuts")


def _reachable(root: object, depth: int = 0) -> Iterator[object]:
    yield root
    if depth < 8:
        if isinstance(root, dict):
            for item in (*root.keys(), *root.values()):
                yield from _reachable(item, depth + 1)
        elif isinstance(root, list | tuple | set | frozenset):
            for item in root:
                yield from _reachable(item, depth + 1)


def test_no_cache_holds_a_tests_class(own_context: RunContext) -> None:
    """A class made in a test (as pytester's inner runs and hypothesis examples make them) can
    go when the test ends: the shared schemas and the audit's shortcuts hold classes weakly."""

    def make_class() -> type[dg.ConfigurableResource[Any]]:
        class MadeInTheTest(dg.ConfigurableResource):
            """Made in the test."""

            name: str = "made"
            _token: str = PrivateAttr(default="")

        return MadeInTheTest

    made = make_class()
    for name in ("first", "second"):
        with own_context.open(made(name=name)) as live:
            assert live.name == name
    caches = [
        dict(hooks_module._inferred_schemas),
        hooks_module._curried_schemas,
        dict(audit_cache._plain_classes),
        audit_cache._cached_forms,
        audit_cache._cached_hits,
    ]
    assert any(made in cache for cache in caches[:1])  # it was shared: held weakly
    strongly_held = {
        id(item) for cache in caches for key, value in cache.items() for item in _reachable(value)
    }
    assert id(made) not in strongly_held


# --- whole runs --------------------------------------------------------------------------------


def test_a_resource_reopened_in_one_test_is_audited_each_time(pytester: pytest.Pytester) -> None:
    """Equal config each time: the second open leaks in setup, the third only in teardown."""
    pytester.makepyfile(
        f"""
import dagster as dg
import pytest
from pydantic import PrivateAttr

OPENS = []


class Api(dg.ConfigurableResource):
    headers: dict = {{}}
    _token: str = PrivateAttr(default="")

    def setup_for_execution(self, context):
        OPENS.append(1)
        self._token = "{TOKEN}"
        if len(OPENS) == 2:
            self.headers["Authorization"] = self._token

    def teardown_after_execution(self, context):
        if len(OPENS) == 3:
            self.headers["Authorization"] = self._token


def test_reopens(run_context):
    for expected in ("clean", "leaks in setup", "leaks in teardown"):
        try:
            with run_context.open(Api()):
                pass
        except AssertionError as error:
            print("open", len(OPENS), str(error).splitlines()[2])
        else:
            print("open", len(OPENS), "passed")
"""
    )
    result = pytester.runpytest("-s")
    # The errors caught in the test still fail it, at its end.
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*open 1 passed",
            "open 2 resource 'api' (Api), live copy, seen after setup and after teardown:",
            "open 3 resource 'api' (Api), live copy, seen after teardown:",
            "*2 runs broke a rule",
        ]
    )
    assert TOKEN not in result.stdout.str()


# --- run state emptied in teardown ---------------------------------------------------------------


class Pool(dg.ConfigurableResource):
    size: int = 2
    _connections: list[object] = PrivateAttr(default_factory=list)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._connections = [object() for _ in range(self.size)]

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self._connections.clear()


class PoolKeptOnClass(Pool):
    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        super().setup_for_execution(context)
        type(self).last_pool = self._connections  # type: ignore[attr-defined]


def test_a_list_emptied_in_teardown_is_not_the_empty_default(own_context: RunContext) -> None:
    """Equal to the user's instance's own empty list, but not the same list: no run state."""
    with own_context.run() as run, run.open(Pool()) as pool:
        assert len(pool._connections) == 2


def test_the_same_list_kept_on_the_class_is_still_found(own_context: RunContext) -> None:
    """Emptied, but the run's own list: found as itself."""
    with (
        pytest.raises(AssertionError, match="outlived the run") as raised,
        own_context.run() as run,
        run.open(PoolKeptOnClass()),
    ):
        pass
    assert "vars(PoolKeptOnClass)['last_pool']" in str(raised.value)


def test_a_method_patched_in_after_an_audit_counts(
    instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The class was plain at the first audit; a test then patches a __repr__ in."""
    with dg.build_resources({"r": ReplacesWithEqual()}, instance=instance) as built:
        live = built.r
        audit(live, "after setup")
        monkeypatch.setattr(
            ReplacesWithEqual, "__repr__", lambda self: f"Client({self._token})", raising=False
        )
        leaks = audit(live, "after setup")
    assert "repr()[char 7]" in {leak.path for leak in leaks}


# --- the repository snapshot, read without building a repository ------------------------------


class _Inner(dg.ConfigurableResource):
    region: str = "eu"


class _Outer(dg.ConfigurableResource):
    inner: _Inner
    retries: int = 3
    headers: dict[str, str] = Field(default_factory=dict)


class _Store(dg.ConfigurableIOManager):
    root: str

    def handle_output(self, context: Any, obj: Any) -> None: ...

    def load_input(self, context: Any) -> Any: ...


@pytest.mark.parametrize(
    "resource",
    [
        _Inner(),
        _Inner(region="us"),
        _Outer(inner=_Inner(region="us"), headers={"auth": TOKEN}, retries=0),
        _Outer(inner=_Inner(), retries=dg.EnvVar.int("RETRIES")),  # type: ignore[arg-type]
        _Store(root=dg.EnvVar("STORE_ROOT")),
    ],
    ids=["defaults", "configured", "nested", "env var", "io manager"],
)
def test_the_snapshot_form_is_what_the_repository_snapshot_holds(resource: Any) -> None:
    assert audit_cache._repository_snapshot(resource, "r") == audit_cache._snapshot_of_a_repository(
        resource, "r"
    )


def test_a_shortcut_form_that_disagrees_with_its_reference_is_the_plugins_error() -> None:
    """The probe's twin: a form whose shortcut no longer matches Dagster's own serialization is
    never used, and said once for the session."""
    disagrees = audit_cache.Form(
        "a shortcut test form",
        lambda model, key: {"configured_values": {}},
        dagster_only=True,
        reference=lambda model, key: {"configured_values": {"value": "probed"}},
    )
    agrees = dataclasses.replace(disagrees, name="an agreeing test form", reference=disagrees.build)
    try:
        assert not audit_cache._form_available(disagrees)
        assert audit_cache._form_available(agrees)
        assert [
            message for message in audit_cache.unbuildable_forms() if "test form" in message
        ] == [
            "the leak audit cannot build the form a shortcut test form on dagster "
            f"{dg.__version__} (ValueError: it differs from what Dagster's own snapshot holds), "
            "so every audit of this session skipped it. A Dagster API the plugin relies on has "
            "changed: please report it to pytest-resources, or pin dagster to a version it "
            "supports."
        ]
    finally:
        audit_cache._probed_forms.pop(disagrees.name, None)
        audit_cache._probed_forms.pop(agrees.name, None)
