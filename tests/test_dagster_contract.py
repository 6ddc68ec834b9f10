"""What the plugin relies on in each of Dagster's private names (``pytest_resources._dagster``):
one test per name, on the installed Dagster, so that a release that changes one fails that test
with the name and the version. Real Dagster throughout.

No ``from __future__ import annotations`` here: it breaks nested ``configure_at_launch()``.
"""

import contextlib
import inspect
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
import pytest

from pytest_resources import _dagster as door


@contextlib.contextmanager
def relied_on(name: str) -> Iterator[None]:
    """Fail with the internal's name and the installed version if the body finds it changed."""
    __tracebackhide__ = True
    try:
        yield
    except Exception as error:
        pytest.fail(
            f"dagster {dg.__version__} changed {name}, which pytest_resources._dagster relies "
            f"on: {type(error).__name__}: {error}"
        )


def parameters(function: Any) -> list[str]:
    return list(inspect.signature(function).parameters)


class Inner(dg.ConfigurableResource):
    name: str = "inner"


class Outer(dg.ConfigurableResource):
    inner: Inner
    url: str = "https://example.test"


class WithSetup(dg.ConfigurableResource):
    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        pass


class WithTeardown(dg.ConfigurableResource):
    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        pass


class Secret(dg.ConfigurableResource):
    token: str
    port: int = 1


def test_a_changed_internal_fails_naming_it_and_the_version() -> None:
    """The twin of every test below: what ``relied_on`` says when the body finds a change."""
    with pytest.raises(pytest.fail.Exception) as failed, relied_on("InstanceRef.config_defaults"):
        assert parameters(door.InstanceRef.config_defaults) == ["base_dir", "renamed"]
    assert str(failed.value).startswith(
        f"dagster {dg.__version__} changed InstanceRef.config_defaults, which "
        "pytest_resources._dagster relies on: AssertionError: "
    )


def test_the_installed_dagster_passes_the_doors_check() -> None:
    with relied_on("the names pytest_resources._dagster resolves"):
        assert door._missing == []
        assert door.refusal(dg.__version__, door._missing) is None


def test_configurable_resource_factory() -> None:
    factory = door.ConfigurableResourceFactory
    with relied_on("ConfigurableResourceFactory"):
        # Every Pythonic resource and IO manager factory is one (isinstance, issubclass).
        assert issubclass(dg.ConfigurableResource, factory)
        assert issubclass(dg.ConfigurableIOManagerFactory, factory)
        assert issubclass(dg.ConfigurableIOManager, factory)
        # It holds the default of each hook: a class overrides one where its MRO finds another.
        for hook in ("setup_for_execution", "teardown_after_execution", "create_resource"):
            assert any(hook in vars(klass) for klass in factory.__mro__), hook
        assert "yield_for_execution" in vars(factory)
        # The two copy methods the plugin wraps, called with these arguments.
        assert parameters(factory._with_updated_values) == ["self", "values"]
        assert parameters(factory._resolve_and_update_nested_resources) == ["self", "context"]
        original = Outer(inner=Inner())
        copy = original._with_updated_values({"url": "https://copy.test"})
        assert type(copy) is Outer
        assert copy.url == "https://copy.test"
        assert original.url == "https://example.test"
        # Which path Dagster takes: a context manager for teardown or nested resources.
        assert WithSetup._is_cm_resource_cls() is False
        assert WithTeardown._is_cm_resource_cls() is True
        assert Outer._is_cm_resource_cls() is True
        # The config Dagster sends: an EnvVar as its name (1.8 leaves defaults out).
        assert Secret(token=dg.EnvVar("TOKEN"), port=2)._convert_to_config_dictionary() == {
            "token": {"env": "TOKEN"},
            "port": 2,
        }


def test_dagster_copies_through_the_class_attributes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dagster looks both copy methods up on the class at each initialization, so a wrapper set
    there (the plugin's, here a counter passing through) sees every copy."""
    factory = door.ConfigurableResourceFactory
    calls: list[str] = []
    resolve = factory._resolve_and_update_nested_resources
    update = factory._with_updated_values

    @contextlib.contextmanager
    def counted_resolve(self: Any, context: Any) -> Iterator[Any]:
        calls.append(f"resolve {type(self).__name__}")
        with resolve(self, context) as updated:
            yield updated

    def counted_update(self: Any, values: Any) -> Any:
        calls.append(f"update {type(self).__name__}")
        return update(self, values)

    monkeypatch.setattr(factory, "_resolve_and_update_nested_resources", counted_resolve)
    monkeypatch.setattr(factory, "_with_updated_values", counted_update)
    with relied_on("ConfigurableResourceFactory's copy methods"):
        with dg.build_resources({"outer": Outer(inner=Inner(name="nested"))}) as resources:
            assert resources.outer.inner.name == "nested"
        assert "resolve Outer" in calls
        assert "update Outer" in calls


def test_the_schema_work_of_each_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy's ``__init__`` calls these two through its module, in the shapes the plugin's
    sharing handles (anything else passes through unshared)."""
    module: Any = inspect.getmodule(door.ConfigurableResourceFactory)
    inferred: list[tuple[Any, ...]] = []
    curried: list[tuple[Any, ...]] = []
    infer, curry = module.infer_schema_from_config_class, module._curry_config_schema

    def recorded_infer(*args: Any, **kwargs: Any) -> Any:
        inferred.append((args, set(kwargs)))
        return infer(*args, **kwargs)

    def recorded_curry(schema_field: Any, data: Any) -> Any:
        curried.append((schema_field, data))
        return curry(schema_field, data)

    monkeypatch.setattr(module, "infer_schema_from_config_class", recorded_infer)
    monkeypatch.setattr(module, "_curry_config_schema", recorded_curry)
    with relied_on("infer_schema_from_config_class and _curry_config_schema"):
        Secret(token="t")._with_updated_values({"token": "u"})
        assert ((Secret,), {"fields_to_omit"}) in inferred or ((Secret,), set()) in inferred
        assert any(isinstance(field, dg.Field) for field, _ in curried)


def test_partial_resource() -> None:
    with relied_on("PartialResource"):
        partial = Secret.configure_at_launch(port=2)
        assert type(partial) is door.PartialResource
        assert partial.data == {"port": 2}
        assert partial.resource_cls is Secret


def test_wrap_resources_for_execution() -> None:
    with relied_on("wrap_resources_for_execution"):
        assert parameters(door.wrap_resources_for_execution) == ["resources"]
        given = {
            "inner": Inner.configure_at_launch(),
            "outer": Outer(inner=Inner.configure_at_launch()),
            "plain": 3,
            "defined": dg.ResourceDefinition.hardcoded_resource(4),
        }
        wrapped = door.wrap_resources_for_execution(given)
        assert list(wrapped) == list(given)
        assert all(isinstance(value, dg.ResourceDefinition) for value in wrapped.values())
        assert wrapped["defined"] is given["defined"]
        with dg.build_resources({"plain": wrapped["plain"]}) as resources:
            assert resources.plain == 3
        # What a code location's key depends on, as _definitions/plans.py reads it.
        assert set(wrapped["inner"].get_required_resource_keys(wrapped)) == set()


def test_resources_init_single_resource_event_generator(monkeypatch: pytest.MonkeyPatch) -> None:
    """Looked up in its module for each resource Dagster initializes; the plugin wraps the
    generator it returns to watch the teardown."""
    module = door.resources_init
    original = module.single_resource_event_generator
    seen: list[str] = []
    returned: list[Any] = []

    def watched(context: Any, resource_name: str, resource_def: Any) -> Iterator[Any]:
        seen.append(resource_name)
        events = original(context, resource_name, resource_def)
        returned.append(events)
        return events

    monkeypatch.setattr(module, "single_resource_event_generator", watched)
    with relied_on("resources_init.single_resource_event_generator"):
        # (The original may be the plugin's own wrapper already, with the same parameters.)
        assert parameters(original) == ["context", "resource_name", "resource_def"]
        with dg.build_resources({"torn": WithTeardown(), "plain": 1}):
            pass
        assert sorted(seen) == ["plain", "torn"]
        assert all(isinstance(events, Iterator) for events in returned)


@dg.asset
def uses_inner(inner: Inner) -> None:
    pass


@dg.asset
def uses_outer(outer: Outer) -> None:
    pass


def test_the_resources_each_step_initializes() -> None:
    """create_execution_plan, get_required_resource_keys_for_step and
    resolve_resource_dependencies, as _multiprocess/_facts.py reads a run's steps."""
    defs = dg.Definitions(
        assets=[uses_inner, uses_outer],
        jobs=[dg.define_asset_job("both")],
        resources={"inner": Inner(), "outer": Outer(inner=Inner())},
    )
    job = (getattr(defs, "resolve_job_def", None) or defs.get_job_def)("both")
    with relied_on("create_execution_plan"):
        plan = door.create_execution_plan(job, run_config={})
        step = plan.get_step_by_key("uses_inner")
        assert step.key == "uses_inner"
    with relied_on("resources_init.get_required_resource_keys_for_step"):
        needed = door.resources_init.get_required_resource_keys_for_step(job, step, plan)
        assert "inner" in needed
        assert "outer" not in needed
    with relied_on("resources_init.resolve_resource_dependencies"):
        dependencies = door.resources_init.resolve_resource_dependencies(job.resource_defs)
        assert isinstance(dependencies, Mapping)
        assert set(dependencies["inner"]) == set()


def test_instance_ref_config_defaults(tmp_path: Any) -> None:
    with relied_on("InstanceRef.config_defaults"):
        defaults = door.InstanceRef.config_defaults(str(tmp_path))
        assert {"run_storage", "event_log_storage", "compute_logs"} <= set(defaults)


def test_repository_snap() -> None:
    repository = dg.Definitions(
        resources={"secret": Secret(token=dg.EnvVar("TOKEN"), port=8080)}
    ).get_repository_def()
    with relied_on("RepositorySnap.from_def"):
        snapshot = door.RepositorySnap.from_def(repository)
        (resource,) = (snap for snap in snapshot.resources if snap.name == "secret")
        # JSON text for a value, an object naming the variable for an EnvVar.
        assert resource.configured_values["port"] == "8080"
        assert resource.configured_values["token"].name == "TOKEN"


def test_scoped_resources_builder() -> None:
    run = dg.DagsterRun(job_name="contract", run_id="contract-run")
    with relied_on("ScopedResourcesBuilder"), dg.DagsterInstance.ephemeral() as instance:
        context = dg.InitResourceContext(
            resource_config=None,
            resources=door.ScopedResourcesBuilder().build(None),
            resource_def=None,
            all_resource_defs={},
            instance=instance,
            dagster_run=run,
        )
        # InitResourceContext.run is dagster_run renamed (1.8 has only dagster_run).
        bound = context.run if hasattr(type(context), "run") else context.dagster_run
        assert bound is run
        assert context.instance is instance


def test_process_config() -> None:
    schema = Secret.to_config_schema()  # a DefinitionConfigSchema, as the strategies read it
    with relied_on("DefinitionConfigSchema"):
        assert schema.as_field().config_type is schema.config_type
    with relied_on("process_config"):
        assert door.process_config is not None, "gone: the strategies use the public, slow path"
        accepted = door.process_config(schema.config_type, {"token": "t"})
        refused = door.process_config(schema.config_type, {"port": 2})
        assert accepted.success
        assert not accepted.errors
        assert not refused.success
        assert all(isinstance(error.message, str) for error in refused.errors)
        assert any("token" in error.message for error in refused.errors)
