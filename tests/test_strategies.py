"""Tests of the hypothesis strategies in pytest_resources._strategies, against real Dagster.

Every class here is defined without ``from __future__ import annotations``: it breaks Dagster's
nested ``configure_at_launch()`` resources.
"""

import enum
import math
import os
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Optional, Union

import annotated_types as at
import dagster as dg
import dagster._check as dg_check
import hypothesis.strategies as st
import pytest
from dagster._config import process_config
from hypothesis import Phase, find, given, settings
from hypothesis.errors import InvalidArgument
from plugin_internals import (
    ConfigWithEnv,
    dagster_errors_by_public_api,
    env_applied,
    register_resource_strategies,
)
from pydantic import (
    Field,
    StringConstraints,
    conint,
    conlist,
    constr,
    field_validator,
    model_validator,
)

from pytest_resources import resource_configs, resource_configs_with_env, resource_instances

# ---------------------------------------------------------------------------------------------
# One class per row of the field table in docs/strategies.md
# ---------------------------------------------------------------------------------------------


class Color(enum.Enum):
    RED = "r"
    GREEN = "g"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Cat(dg.Config):
    kind: Literal["cat"] = "cat"
    meows: int = 0


class Dog(dg.Config):
    kind: Literal["dog"] = "dog"
    barks: float


class Inner(dg.Config):
    a: str
    b: int | None = None


class Extra(dg.PermissiveConfig):
    known: int = 0


class Scalars(dg.ConfigurableResource):
    s: str
    i: int
    b: bool
    f: float = 0.5


class Constrained(dg.ConfigurableResource):
    i: int = Field(ge=1, le=100)
    gt: int = Field(default=5, gt=0, lt=10)
    ci: conint(gt=0, multiple_of=3)  # type: ignore[valid-type]
    f: float = Field(default=1.0, gt=0.0, le=2.5)
    cs: constr(min_length=2, pattern=r"^[a-z]+$")  # type: ignore[valid-type]
    sc: Annotated[str, StringConstraints(max_length=5)] = ""
    pat: str = Field(default="ab1", pattern=r"^[a-z]{2}\d$")
    ml: list[int] = Field(default_factory=lambda: [1], min_length=1, max_length=3)
    cl: conlist(int, max_length=2) = Field(default_factory=list)  # type: ignore[valid-type]
    nested_ann: list[Annotated[int, Field(ge=0)]] = Field(default_factory=list)
    grouped: Annotated[int, at.Interval(ge=-3, le=3)] = 0
    even: Annotated[int, at.Predicate(lambda value: value % 2 == 0)] = 0
    step: float = Field(default=1.0, multiple_of=0.25, ge=1.0)
    short: str = Field(default="a", pattern=r"^a+$", max_length=3)


class Choices(dg.ConfigurableResource):
    color: Color
    level: Level = Level.LOW
    lit: Literal["a", "b"]


class Optionals(dg.ConfigurableResource):
    opt: Optional[int] = None  # noqa: UP045 - typing.Optional is a case to cover
    opt2: int | None = None
    req_opt: str | None


class Containers(dg.ConfigurableResource):
    ints: list[int] = []  # noqa: RUF012 - a literal mutable default is a case to cover
    bare_list: list = Field(default_factory=list)  # type: ignore[type-arg]
    any_list: list[Any] = Field(default_factory=list)
    str_to_int: dict[str, int] = {}  # noqa: RUF012 - a literal mutable default is a case to cover
    bare_dict: dict = Field(default_factory=dict)  # type: ignore[type-arg]
    str_to_any: dict[str, Any] = Field(default_factory=dict)
    int_to_str: Mapping[int, str] = Field(default_factory=dict)
    anything: Any = None
    nested_lists: list[list[str]] = Field(default_factory=list)


class Nested(dg.ConfigurableResource):
    inner: Inner
    inners: list[Inner] = Field(default_factory=list)
    inner_by_name: dict[str, Inner] = Field(default_factory=dict)
    maybe_inner: Inner | None = None
    extra: Extra = Extra()


# Dagster 1.8 takes discriminated unions written with typing.Union only.
class Unions(dg.ConfigurableResource):
    pet: Union[Cat, Dog] = Field(discriminator="kind")  # noqa: UP007
    other_pet: Annotated[Union[Cat, Dog], Field(discriminator="kind")] = Cat()  # noqa: UP007


class Aliased(dg.ConfigurableResource):
    user_name: str = Field(alias="user-name")
    port: int = Field(default=1, alias="portNumber")
    api_key: str = Field(default="", json_schema_extra={"dagster__is_secret": True})


class Simple(dg.ConfigurableResource):
    host: str


class Outer(dg.ConfigurableResource):
    db: Simple
    maybe_db: Simple | None = None
    name: str = "x"


class Perm(dg.PermissiveConfig):
    known: int


class Store(dg.ConfigurableIOManager):
    root: str
    depth: int = 1

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        """Stores nothing: only the config matters here."""

    def load_input(self, context: dg.InputContext) -> None:
        return None


EVERY_KIND = [
    Scalars,
    Constrained,
    Choices,
    Optionals,
    Containers,
    Nested,
    Unions,
    Aliased,
    Outer,
    Perm,
    Store,
    Inner,
    Extra,
]

QUICK = settings(max_examples=15, database=None, deadline=None)
FIND = settings(database=None, derandomize=True, phases=[Phase.generate, Phase.shrink])


def resource_keys(instance: dg.Config) -> set[str]:
    return {
        info.alias or name
        for name, info in type(instance).model_fields.items()
        if isinstance(getattr(instance, name), (dg.ConfigurableResource, dg.ConfigurableIOManager))
    }


def assert_pydantic_and_dagster_accept(cls: type[dg.Config], config: dict[str, Any]) -> None:
    """cls(**config) succeeds, and Dagster's config processing accepts the instance's config
    dictionary (without nested resources) against cls.to_config_schema()."""
    instance = cls(**config)
    config_dict = {
        key: value
        for key, value in instance._convert_to_config_dictionary().items()
        if key not in resource_keys(instance)
    }
    result = process_config(cls.to_config_schema().config_type, config_dict)
    assert result.success, (config_dict, [error.message for error in result.errors or []])
    assert same_config(cls(**config), instance)


def same_config(left: dg.Config, right: dg.Config) -> bool:
    """Same class, same config. Not ``==``: pydantic before 2.6 also compares Dagster's internal
    ``__dict__`` state there, which differs between two instances built alike."""
    return type(left) is type(right) and left.model_dump() == right.model_dump()


def minimal(strategy: st.SearchStrategy[Any], condition: Any = lambda _: True) -> Any:
    return find(strategy, condition, settings=FIND)


# ---------------------------------------------------------------------------------------------
# Every field kind: accepted by pydantic and by Dagster
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", EVERY_KIND, ids=lambda cls: cls.__name__)
@QUICK
@given(data=st.data())
def test_every_drawn_config_is_accepted_by_pydantic_and_dagster(
    cls: type[dg.Config], data: st.DataObject
) -> None:
    assert_pydantic_and_dagster_accept(cls, data.draw(resource_configs(cls)))


@pytest.mark.parametrize("cls", [Scalars, Nested, Outer, Store, Inner], ids=lambda c: c.__name__)
@QUICK
@given(data=st.data())
def test_resources_draws_instances(cls: type[dg.Config], data: st.DataObject) -> None:
    assert type(data.draw(resource_instances(cls))) is cls


@QUICK
@given(resource_configs(Scalars))
def test_scalars_are_real_ints_and_finite_floats(config: dict[str, Any]) -> None:
    assert type(config["i"]) is int
    assert type(config["b"]) is bool
    assert type(config["s"]) is str
    assert math.isfinite(config.get("f", 0.0))


@pytest.mark.slow(seconds=3)
def test_constraints_are_read_from_metadata_so_minimal_values_sit_on_the_bounds() -> None:
    assert minimal(resource_configs(Constrained)) == {"i": 1, "ci": 3, "cs": "aa"}
    bounded = minimal(resource_configs(Constrained, gt=..., f=..., pat=..., ml=..., grouped=...))
    assert bounded["gt"] == 1
    assert bounded["f"] > 0.0
    assert re.fullmatch(r"[a-z]{2}\d", bounded["pat"])
    assert bounded["ml"] == [0]
    assert bounded["grouped"] == 0
    negative = minimal(resource_configs(Constrained, grouped=...), lambda c: c["grouped"] < 0)
    # The lower bound (drawn as an edge) or the negative value nearest zero: both are simplest.
    assert negative.pop("grouped") in (-3, -1)
    assert negative == {"i": 1, "ci": 3, "cs": "aa"}


@QUICK
@given(resource_configs(Constrained, cl=..., nested_ann=..., sc=..., even=..., step=..., short=...))
def test_constrained_values_are_generated_in_bounds(config: dict[str, Any]) -> None:
    assert len(config["cl"]) <= 2
    assert all(value >= 0 for value in config["nested_ann"])
    assert len(config["sc"]) <= 5
    assert config["ci"] % 3 == 0
    assert config["even"] % 2 == 0
    assert config["step"] >= 1.0
    assert config["step"] % 0.25 == 0
    assert re.fullmatch("a{1,3}", config["short"])


def test_enums_give_members_and_literals_give_their_values() -> None:
    assert minimal(resource_configs(Choices)) == {"color": Color.RED, "lit": "a"}
    assert minimal(resource_configs(Choices), lambda c: "level" in c)["level"] is Level.LOW


def test_optional_fields_shrink_to_none() -> None:
    assert minimal(resource_configs(Optionals)) == {"req_opt": None}
    assert minimal(resource_configs(Optionals), lambda c: c.get("opt2") is not None) == {
        "req_opt": None,
        "opt2": 0,
    }


@QUICK
@given(resource_configs(Containers))
def test_untyped_containers_never_hold_none(config: dict[str, Any]) -> None:
    for key in ("bare_list", "any_list"):
        assert None not in config.get(key, [])
    for key in ("bare_dict", "str_to_any"):
        assert None not in config.get(key, {}).values()
    assert all(type(key) is int for key in config.get("int_to_str", {}))


@QUICK
@given(resource_configs(Nested))
def test_nested_config_fields_hold_config_instances(config: dict[str, Any]) -> None:
    assert isinstance(config["inner"], Inner)
    assert all(isinstance(value, Inner) for value in config.get("inners", []))
    assert all(isinstance(value, Inner) for value in config.get("inner_by_name", {}).values())
    assert config.get("maybe_inner") is None or isinstance(config["maybe_inner"], Inner)
    assert isinstance(config.get("extra", Extra()), Extra)


def test_discriminated_unions_hold_instances_of_every_member() -> None:
    # Dagster 1.8 also requires other_pet, and rejects its default Cat() (it drops a value equal
    # to the default, then misses it): compare the field every version treats alike.
    assert minimal(resource_configs(Unions))["pet"] == Cat()
    dog = minimal(resource_configs(Unions), lambda c: isinstance(c["pet"], Dog))["pet"]
    assert dog == Dog(barks=0.0)


def test_aliased_fields_are_keyed_by_alias_and_secrets_are_strings() -> None:
    assert minimal(resource_configs(Aliased)) == {"user-name": ""}
    assert minimal(resource_configs(Aliased, api_key=...), lambda c: c["api_key"] != "") == {
        "user-name": "",
        "api_key": "0",
    }


def test_nested_resources_are_built_recursively() -> None:
    assert same_config(minimal(resource_instances(Outer)), Outer(db=Simple(host="")))
    config = minimal(resource_configs(Outer), lambda c: c.get("maybe_db") is not None)
    assert config.keys() == {"db", "maybe_db"}
    assert all(same_config(config[key], Simple(host="")) for key in config)


def test_permissive_config_also_gets_undeclared_keys() -> None:
    config = minimal(resource_configs(Perm), lambda c: len(c) > 1)
    (extra_key,) = set(config) - {"known"}
    assert extra_key not in dir(Perm)
    assert Perm(**config).model_dump()[extra_key] == config[extra_key]


# ---------------------------------------------------------------------------------------------
# A drawn config, launched in a real run
# ---------------------------------------------------------------------------------------------


class Mode(enum.Enum):
    FAST = "fast"
    SAFE = "safe"


class LaunchedInner(dg.Config):
    # Dagster 1.10's schema refuses a default instance of a config with a required field
    # (Inner(a="x") as a default): every field here has a default.
    a: str = "x"
    b: int | None = None


class Launchable(dg.ConfigurableResource):
    host: str
    port: int = Field(default=5432, ge=1, le=65535)
    mode: Mode = Mode.SAFE
    tags: list[str] = Field(default_factory=list)
    limits: dict[str, float] = Field(default_factory=dict)
    inner: LaunchedInner = LaunchedInner()
    # No default: up to 1.12, Dagster's schema requires a union field even with a default, and
    # the config it sends leaves out a value equal to that default (launching it then fails).
    pet: Union[Cat, Dog] = Field(discriminator="kind")  # noqa: UP007
    user_name: str = Field(default="u", alias="user-name")
    timeout: float | None = None


@pytest.fixture(scope="module")
def dagster_instance() -> dg.DagsterInstance:
    return dg.DagsterInstance.ephemeral()


def launch(
    cls: type[dg.ConfigurableResource[Any]],
    config_dict: Mapping[str, Any],
    instance: dg.DagsterInstance,
) -> dict[str, Any]:
    """Materialize one asset using ``cls.configure_at_launch()`` configured by run config;
    return the model_dump() of the resource the asset received."""
    received = []

    @dg.asset
    def probe(r: dg.ResourceParam[Any]) -> None:
        received.append(r.model_dump())

    result = dg.materialize(
        [probe],
        resources={"r": cls.configure_at_launch()},
        run_config={"resources": {"r": {"config": dict(config_dict)}}},
        instance=instance,
    )
    assert result.success
    (dumped,) = received
    return dumped


@settings(max_examples=5, database=None, deadline=None)
@given(resource_configs(Launchable, mode=..., pet=..., inner=..., user_name=...))
def test_drawn_configs_launch_in_a_real_run(
    dagster_instance: dg.DagsterInstance, config: dict[str, Any]
) -> None:
    expected = Launchable(**config)
    received = launch(Launchable, expected._convert_to_config_dictionary(), dagster_instance)
    assert received == expected.model_dump()


# ---------------------------------------------------------------------------------------------
# EnvVar opt-in
# ---------------------------------------------------------------------------------------------


class FromEnv(dg.ConfigurableResource):
    user: str
    count: int = 0
    retries: int = 3
    token: str = Field(default="", json_schema_extra={"dagster__is_secret": True})
    port: int = Field(default=1, ge=1)


def resolved(example: ConfigWithEnv) -> dict[str, Any]:
    """The config with each EnvVar replaced by the value the run will read."""
    values: dict[str, Any] = {}
    for key, value in example.config.items():
        if isinstance(value, dg.EnvVar):
            value = example.env[value.env_var_name]
        elif type(value).__name__ == "IntEnvVar":
            value = int(example.env[value.name])
        values[key] = value
    return values


@settings(max_examples=8, database=None, deadline=None)
@given(resource_configs_with_env(FromEnv, count=..., retries=..., token=..., port=...))
def test_env_vars_resolve_to_the_drawn_values_in_a_real_run(
    dagster_instance: dg.DagsterInstance, example: ConfigWithEnv
) -> None:
    assert not isinstance(example.config["port"], dg.EnvVar), "constrained fields stay plain"
    assert all("\x00" not in value for value in example.env.values())
    with env_applied(example.env):
        run_config = FromEnv(**example.config)._convert_to_config_dictionary()
        received = launch(FromEnv, run_config, dagster_instance)
    assert received == FromEnv(**resolved(example)).model_dump()
    assert not set(example.env) & set(os.environ)


def test_env_vars_are_opt_in_per_field_and_shrink_to_plain_values() -> None:
    assert minimal(resource_configs_with_env(FromEnv)) == ConfigWithEnv({"user": ""}, {})
    both = minimal(
        resource_configs_with_env(FromEnv, token=...),
        lambda e: (
            isinstance(e.config["user"], dg.EnvVar) and isinstance(e.config["token"], dg.EnvVar)
        ),
    )
    assert both.env == {"PYTEST_RESOURCES_FROMENV_USER": "", "PYTEST_RESOURCES_FROMENV_TOKEN": ""}
    assert repr(both).startswith(
        "ConfigWithEnv(config={'user': EnvVar('PYTEST_RESOURCES_FROMENV_USER'), "
    )
    # Dagster's own repr of EnvVar.int(...) is its placeholder, 0.
    retries = minimal(
        resource_configs_with_env(FromEnv, retries=...),
        lambda e: "PYTEST_RESOURCES_FROMENV_RETRIES" in e.env,
    )
    assert repr(retries) == (
        "ConfigWithEnv(config={'user': '', 'retries': EnvVar.int("
        "'PYTEST_RESOURCES_FROMENV_RETRIES')}, env={'PYTEST_RESOURCES_FROMENV_RETRIES': '0'})"
    )


@settings(max_examples=10, database=None, deadline=None)
@given(resource_configs_with_env(FromEnv, user="a\x00b"))
def test_a_value_os_environ_cannot_hold_stays_plain(example: ConfigWithEnv) -> None:
    assert example.config["user"] == "a\x00b"
    assert "PYTEST_RESOURCES_FROMENV_USER" not in example.env


class ValidatedAfterEnv(dg.ConfigurableResource):
    code: int

    @model_validator(mode="after")
    def code_is_not_zero(self) -> "ValidatedAfterEnv":
        if self.code == 0:
            raise ValueError("code must not be 0")
        return self


@settings(max_examples=10, database=None, deadline=None)
@given(resource_configs_with_env(ValidatedAfterEnv))
def test_a_class_that_rejects_the_env_var_placeholder_gets_plain_values(
    example: ConfigWithEnv,
) -> None:
    # EnvVar.int holds 0 until the run resolves it, and this model validator rejects 0.
    assert example.env == {}
    assert type(example.config["code"]) is int


def test_env_applied_restores_the_environment() -> None:
    os.environ["PYTEST_RESOURCES_TEST_KEPT"] = "before"
    try:
        with env_applied(
            {"PYTEST_RESOURCES_TEST_KEPT": "during", "PYTEST_RESOURCES_TEST_NEW": "x"}
        ):
            assert os.environ["PYTEST_RESOURCES_TEST_KEPT"] == "during"
            assert os.environ["PYTEST_RESOURCES_TEST_NEW"] == "x"
        assert os.environ["PYTEST_RESOURCES_TEST_KEPT"] == "before"
        assert "PYTEST_RESOURCES_TEST_NEW" not in os.environ
    finally:
        del os.environ["PYTEST_RESOURCES_TEST_KEPT"]


# ---------------------------------------------------------------------------------------------
# Overrides
# ---------------------------------------------------------------------------------------------


@QUICK
@given(resource_configs(Aliased, user_name="admin", portNumber=st.integers(1, 9)))
def test_overrides_by_name_and_alias_take_values_and_strategies(config: dict[str, Any]) -> None:
    assert config["user-name"] == "admin"
    assert 1 <= config["portNumber"] <= 9


def test_ellipsis_infers_a_defaulted_field_and_always_includes_it() -> None:
    assert minimal(resource_configs(Aliased, port=...)) == {"user-name": "", "portNumber": 0}


class NeedsConn(dg.ConfigurableResource):
    conn: dg.ResourceDependency[str]
    name: str = ""


def test_a_value_for_a_resource_dependency_makes_the_class_usable() -> None:
    assert minimal(resource_configs(NeedsConn, conn="dsn")) == {"conn": "dsn"}
    instance = minimal(resource_instances(Outer, db=resource_instances(Simple, host="h")))
    assert same_config(instance.db, Simple(host="h"))


@pytest.mark.parametrize(
    ("cls", "overrides", "message"),
    [
        (
            Scalars,
            {"q": 1},
            "resource_configs(Scalars, q=...): Scalars has no field 'q'; "
            "valid names: 's', 'i', 'b', 'f'",
        ),
        (
            Aliased,
            {"nope": 1},
            "resource_configs(Aliased, nope=...): Aliased has no field 'nope'; valid names: "
            "'user_name' (alias 'user-name'), 'port' (alias 'portNumber'), 'api_key'",
        ),
        (
            Aliased,
            {"user_name": "a", "user-name": "b"},
            "resource_configs(Aliased): 'user_name' and 'user-name' both name field 'user_name'; "
            "pass only one",
        ),
        (
            Scalars,
            {"user-name": 1},
            "resource_configs(Scalars, **{'user-name': ...}): Scalars has no field 'user-name'; "
            "valid names: 's', 'i', 'b', 'f'",
        ),
        (
            dg.ConfigurableResource,
            {"host": "h"},
            "resource_configs(ConfigurableResource, host=...): ConfigurableResource has no field "
            "'host'; it has no fields",
        ),
    ],
    ids=["unknown", "unknown-with-aliases", "name-and-alias", "not-an-identifier", "no-fields"],
)
def test_bad_override_names_raise_at_call_time(
    cls: type[dg.Config], overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidArgument) as raised:
        resource_configs(cls, **overrides)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("not_a_class", "hint"),
    [
        (42, ""),
        (Simple(host="h"), "; pass the class itself: resource_instances(Simple)"),
        (
            Simple.configure_at_launch(),
            "; pass the class, not configure_at_launch(): resource_instances(Simple)",
        ),
    ],
    ids=["int", "instance", "partial"],
)
def test_something_other_than_a_config_class_raises_at_call_time(
    not_a_class: Any, hint: str
) -> None:
    with pytest.raises(InvalidArgument) as raised:
        resource_instances(not_a_class)
    assert str(raised.value) == (
        "resource_instances() takes a dagster Config, ConfigurableResource or "
        f"ConfigurableIOManager class, not {not_a_class!r}{hint}"
    )


def test_an_abstract_class_raises_at_call_time() -> None:
    with pytest.raises(InvalidArgument, match=r"ConfigurableIOManager is abstract \(it does not"):
        resource_instances(dg.ConfigurableIOManager)


# ---------------------------------------------------------------------------------------------
# Fields that cannot be inferred
# ---------------------------------------------------------------------------------------------


class Param(dg.ConfigurableResource):
    client: dg.ResourceParam[str]


class Item(dg.Config):
    client: dg.ResourceParam[str]


class Holder(dg.ConfigurableResource):
    items: list[Item] = Field(default_factory=list)


class LegacyHolder(dg.ConfigurableResource):
    legacy: dg.ResourceDefinition


class HasStore(dg.ConfigurableResource):
    store: dg.ConfigurableIOManager


class MaybeConn(dg.ConfigurableResource):
    conn: dg.ResourceDependency[str] | None = None


class Wraps(dg.ConfigurableResource):
    needs: NeedsConn | None = None


class RustPattern(dg.ConfigurableResource):
    code: str = Field(pattern=r"^(?<prefix>ab)$")


class IntLiteral(dg.ConfigurableResource):
    ok: str = ""
    choice: Literal[1, 2]


class Coded(dg.ConfigurableResource):
    code: str

    @field_validator("code")
    @classmethod
    def prefixed(cls, value: str) -> str:
        if not value.startswith("X-"):
            raise ValueError("code must start with 'X-'")
        return value


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: resource_configs(NeedsConn),
            "field 'conn' of NeedsConn is a ResourceDependency[...]; "
            "pass a value: resource_configs(NeedsConn, conn=<a value or strategy>)",
        ),
        (
            lambda: resource_instances(Param),
            "field 'client' of Param is a ResourceParam[...], a value Dagster passes in, not "
            "config; pass a value: resource_instances(Param, client=<a value or strategy>)",
        ),
        (
            lambda: resource_configs(Wraps, needs=...),
            "field 'conn' of NeedsConn (reached through Wraps.needs -> NeedsConn) is a "
            "ResourceDependency[...]; pass a value: resource_configs(Wraps, "
            "needs=st.none() | resource_instances(NeedsConn, conn=<a value or strategy>))",
        ),
        (
            lambda: resource_configs(Holder, items=...),
            "field 'client' of Item (reached through Holder.items -> Item) is a "
            "ResourceParam[...], a value Dagster passes in, not config; pass a value: "
            "resource_configs(Holder, items=st.lists(resource_instances(Item, "
            "client=<a value or strategy>)))",
        ),
        (
            lambda: resource_configs(LegacyHolder),
            "field 'legacy' of LegacyHolder is annotated with ResourceDefinition, a resource "
            "definition, not config; pass a value: "
            "resource_configs(LegacyHolder, legacy=<a value or strategy>)",
        ),
        (
            lambda: resource_configs(HasStore),
            "field 'store' of HasStore is annotated with ConfigurableIOManager, which is "
            "abstract; pass a value: resource_configs(HasStore, store=<a value or strategy>)",
        ),
        (
            lambda: resource_configs(MaybeConn, conn=...),
            "field 'conn' of MaybeConn is a ResourceDependency[...]; pass a value: "
            "resource_configs(MaybeConn, conn=<a value or strategy>)",
        ),
    ],
    ids=[
        "dependency",
        "param",
        "nested-optional",
        "nested-list",
        "definition",
        "abstract",
        "optional-dependency",
    ],
)
def test_fields_that_cannot_be_inferred_name_the_field_and_the_fix(call: Any, message: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        call()
    assert str(raised.value) == message


def test_the_suggested_fix_works() -> None:
    fixed = resource_configs(Holder, items=st.lists(resource_instances(Item, client=st.just("c"))))
    assert minimal(fixed, lambda c: c["items"]) == {"items": [Item(client="c")]}


def test_a_pattern_python_cannot_generate_from_asks_for_an_override() -> None:
    with pytest.raises(InvalidArgument, match=r"^field 'code' of RustPattern has pattern .*"):
        resource_configs(RustPattern)
    assert minimal(resource_configs(RustPattern, code="ab")) == {"code": "ab"}


def test_an_annotation_dagster_rejects_is_reported_by_field_at_call_time() -> None:
    with pytest.raises(InvalidArgument) as raised:
        resource_configs(IntLiteral)
    assert str(raised.value).startswith(
        "Dagster rejects the annotation of field 'choice' of IntLiteral, "
        "typing.Literal[1, 2], so no override can make IntLiteral usable"
    )


def test_a_validator_that_rejects_most_values_names_the_field_while_drawing() -> None:
    with pytest.raises(InvalidArgument) as raised:
        minimal(resource_configs(Coded))
    assert re.fullmatch(
        r"none of the first 20 configs drawn for Coded was accepted; 20 were rejected for field "
        r"'code' of Coded: Value error, code must start with 'X-' \(input '.*'\)\. If a "
        r"validator accepts few values there, pass them: "
        r"resource_configs\(Coded, code=<a value or strategy>\)",
        str(raised.value),
    )
    fixed = resource_configs(Coded, code=st.from_regex(r"X-[a-z]+", fullmatch=True))
    assert minimal(fixed) == {"code": "X-a"}


def test_a_rejected_value_override_is_reported_at_once() -> None:
    with pytest.raises(InvalidArgument) as raised:
        minimal(resource_configs(Constrained, i=0))
    assert str(raised.value) == (
        "resource_configs(Constrained, i=0) is rejected: Input should be greater than or equal "
        "to 1 (input 0). Pass a value that pydantic and Dagster accept"
    )


UNSET = dg.EnvVar("PYTEST_RESOURCES_TEST_NEVER_SET")


def test_a_config_only_dagster_rejects_is_reported_with_dagsters_message() -> None:
    with pytest.raises(InvalidArgument) as raised:
        minimal(resource_configs(Simple, host=UNSET))
    assert re.fullmatch(
        r"resource_configs\(Simple, host='PYTEST_RESOURCES_TEST_NEVER_SET'\) is rejected: "
        r"Dagster: Post processing at path root:host .* You have attempted to fetch the "
        r"environment variable \"PYTEST_RESOURCES_TEST_NEVER_SET\" which is not set\. .*\. "
        r"Pass a value that pydantic and Dagster accept",
        str(raised.value),
    )


class Pair(dg.ConfigurableResource):
    host: str
    port: int


def test_configs_dagster_keeps_rejecting_are_reported_with_dagsters_message() -> None:
    with pytest.raises(InvalidArgument) as raised:
        minimal(resource_configs(Pair, host=UNSET))
    assert re.fullmatch(
        r"none of the first 20 configs drawn for Pair was accepted; 20 were rejected with: "
        r"Dagster: .*PYTEST_RESOURCES_TEST_NEVER_SET.* \(the first for host=.*\)\. "
        r"Pass values for the fields it names: "
        r"resource_configs\(Pair, FIELD=<a value or strategy>\)",
        str(raised.value),
    )


# ---------------------------------------------------------------------------------------------
# register_resource_strategies, and the public-API Dagster check
# ---------------------------------------------------------------------------------------------


class Registered(dg.ConfigurableResource):
    host: str = Field(min_length=3)


def test_registered_classes_are_drawn_by_from_type_and_builds() -> None:
    register_resource_strategies(Registered)
    assert same_config(minimal(st.from_type(Registered)), Registered(host="000"))

    def connect(resource: Registered) -> str:
        return resource.host

    assert minimal(st.builds(connect)) == "000"


def test_registering_a_class_that_cannot_be_inferred_raises() -> None:
    with pytest.raises(InvalidArgument, match="field 'conn' of NeedsConn"):
        register_resource_strategies(NeedsConn)


def test_the_public_api_check_agrees_with_process_config() -> None:
    schema = Pair.to_config_schema()
    assert dagster_errors_by_public_api(schema, {"host": "h", "port": 1}) == []
    (error,) = dagster_errors_by_public_api(schema, {"host": 1, "port": 1})
    assert error.startswith("Invalid scalar at path root:ops:config_probe:config:host.")
    assert not process_config(schema.config_type, {"host": 1, "port": 1}).success


# ---------------------------------------------------------------------------------------------
# What a user sees in pytest
# ---------------------------------------------------------------------------------------------

USER_TEST_FILE = """
import dagster as dg
from hypothesis import given, settings
from pytest_resources import resource_configs


class Db(dg.ConfigurableResource):
    username: str
    port: int = 5432
"""


def test_a_failing_property_reports_a_minimal_readable_config(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        USER_TEST_FILE
        + """
@settings(database=None)
@given(resource_configs(Db))
def test_username_is_long(config):
    assert len(config["username"]) > 3
"""
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*config={'username': ''},*"])


def test_an_unknown_override_fails_at_collection_naming_valid_fields(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        USER_TEST_FILE
        + """
@given(resource_configs(Db, usr="admin"))
def test_db(config):
    pass
"""
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*InvalidArgument: resource_configs(Db, usr=...): Db has no field 'usr'; "
            "valid names: 'username', 'port'"
        ]
    )


def test_a_hopeless_validator_fails_the_test_with_the_fix(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        USER_TEST_FILE
        + """
from pydantic import field_validator


class Coded(dg.ConfigurableResource):
    code: str

    @field_validator("code")
    @classmethod
    def prefixed(cls, value):
        if not value.startswith("X-"):
            raise ValueError("code must start with 'X-'")
        return value


@settings(database=None)
@given(resource_configs(Coded))
def test_coded(config):
    pass
"""
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E   *InvalidArgument: none of the first 20 configs drawn for Coded was accepted; "
            "20 were rejected for field 'code' of Coded: Value error, code must start with 'X-'"
            "*If a validator accepts few values there, pass them: "
            "resource_configs(Coded, code=<a value or strategy>)"
        ]
    )


def test_runs_are_reproducible_with_hypothesis_seed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        USER_TEST_FILE
        + """
# Hypothesis derandomizes on CI (its "ci" profile): the seed must matter here.
@settings(database=None, max_examples=10, derandomize=False)
@given(resource_configs(Db))
def test_show(config):
    print("DRAWN", repr(config))
"""
    )

    def drawn(seed: int) -> list[str]:
        result = pytester.runpytest_inprocess(
            "-p", "no:cacheprovider", "-s", f"--hypothesis-seed={seed}"
        )
        result.assert_outcomes(passed=1)
        # The first print shares its line with the test file's name.
        return [line[line.index("DRAWN") :] for line in result.stdout.lines if "DRAWN" in line]

    first = drawn(1234)
    assert len(first) == 10
    assert drawn(1234) == first
    assert drawn(4321) != first


# ---------------------------------------------------------------------------------------------
# Any exception while building a config rejects it; the class's own defects are said as such
# ---------------------------------------------------------------------------------------------


class OddNumbersOnly(dg.ConfigurableResource):
    """Dagster's own idiom: check.invariant in a model validator raises CheckError."""

    number: int
    label: str = ""

    @model_validator(mode="after")
    def odd(self) -> "OddNumbersOnly":
        dg_check.invariant(self.number % 2 == 1, "number must be odd")
        return self


class NeverValid(dg.ConfigurableResource):
    number: int
    api_token: str

    @model_validator(mode="after")
    def never(self) -> "NeverValid":
        dg_check.invariant(False, f"no token like {self.api_token} works")
        return self


class TypeErrorForEmpty(dg.ConfigurableResource):
    name: str = "x"

    @field_validator("name")
    @classmethod
    def not_empty(cls, value: str) -> str:
        if not value:
            raise TypeError("name must not be empty")
        return value


@pytest.mark.parametrize(
    "strategy",
    [
        resource_configs(OddNumbersOnly),
        resource_instances(OddNumbersOnly).map(lambda resource: resource.model_dump()),
        resource_configs_with_env(OddNumbersOnly).map(lambda drawn: drawn.config),
    ],
    ids=["resource_configs", "resources", "resource_configs_with_env"],
)
@QUICK
@given(data=st.data())
def test_a_validator_raising_check_error_rejects_the_config(
    strategy: st.SearchStrategy[dict[str, Any]], data: st.DataObject
) -> None:
    number = data.draw(strategy)["number"]
    assert isinstance(number, dg.EnvVar | int)
    if isinstance(number, int):
        assert number % 2 == 1


@QUICK
@given(config=resource_configs(TypeErrorForEmpty, name=...))
def test_a_validator_raising_type_error_rejects_the_config(config: dict[str, Any]) -> None:
    assert config["name"] != ""


def test_when_no_config_is_found_the_exception_fields_and_values_are_named() -> None:
    with pytest.raises(InvalidArgument) as raised:
        minimal(resource_configs(NeverValid))
    message = str(raised.value)
    assert re.fullmatch(
        r"none of the first 20 configs drawn for NeverValid was accepted; 20 were rejected "
        r"with: CheckError: Invariant failed\. Description: no token like.* works \(the first "
        r"for number=-?\d+, api_token=.*\)\. Pass values for the fields it names: "
        r"resource_configs\(NeverValid, FIELD=<a value or strategy>\)\. Note: validating "
        r"NeverValid raised CheckError, not a validation error: that is a defect of NeverValid, "
        r"whose users get a CheckError instead of pydantic's message naming the field \(a "
        r"validator should raise ValueError or AssertionError, which pydantic reports as a "
        r"ValidationError\)",
        message,
    )


def test_a_secret_value_is_redacted_when_no_config_is_found() -> None:
    long_token = "sk-" + "0123456789" * 2
    with pytest.raises(InvalidArgument) as raised:
        minimal(resource_configs(NeverValid, api_token=long_token))
    message = str(raised.value)
    assert long_token not in message
    assert "api_token='sk…' (23 chars)" in message
    assert "no token like 'sk…' (23 chars) works" in message


def test_a_rejected_fixed_value_names_the_exception_type() -> None:
    with pytest.raises(InvalidArgument) as raised:
        minimal(resource_configs(TypeErrorForEmpty, name=""))
    assert str(raised.value).startswith(
        "resource_configs(TypeErrorForEmpty, name='') is rejected: TypeError: name must not be "
        "empty. Pass a value that pydantic and Dagster accept. Note: validating "
        "TypeErrorForEmpty raised TypeError, not a validation error: that is a defect of "
        "TypeErrorForEmpty"
    )


# ---------------------------------------------------------------------------------------------
# Defaulted fields that cannot be inferred keep their default
# ---------------------------------------------------------------------------------------------


class Credentials(dg.ConfigurableResource):
    user: str


class DefaultsItCannotInfer(dg.ConfigurableResource):
    name: str
    credentials: dg.ResourceDependency[Credentials | None] = None
    param: dg.ResourceParam[str | None] = None
    legacy: dg.ResourceDefinition | None = None
    store: dg.ConfigurableIOManager | None = None
    code: str = Field(default="ab", pattern=r"^(?<prefix>ab)$")


def test_a_defaulted_field_that_cannot_be_inferred_keeps_its_default() -> None:
    strategy = resource_instances(DefaultsItCannotInfer)

    @QUICK
    @given(strategy)
    def every_instance_keeps_the_defaults(resource: DefaultsItCannotInfer) -> None:
        assert (resource.credentials, resource.param, resource.legacy, resource.store) == (
            (None,) * 4
        )
        assert resource.code == "ab"

    every_instance_keeps_the_defaults()
    assert minimal(resource_configs(DefaultsItCannotInfer)) == {"name": ""}


def test_a_field_that_cannot_be_inferred_still_asks_for_a_value_when_required() -> None:
    with pytest.raises(InvalidArgument, match="field 'credentials' of DefaultsItCannotInfer"):
        resource_configs(DefaultsItCannotInfer, credentials=...)


# ---------------------------------------------------------------------------------------------
# Path-like fields: relative, printable names
# ---------------------------------------------------------------------------------------------


class Paths(dg.ConfigurableResource):
    path: str
    db_path: str = "db.sqlite"
    output_dir: str | None = None
    root_folder: str = "."
    logFile: str = "log.txt"
    location: str = "here"
    filenames: list[str] = Field(default_factory=list)
    short_dir: str = Field(default="a", max_length=3)


PATH_KEYS = (
    "path",
    "db_path",
    "output_dir",
    "root_folder",
    "logFile",
    "location",
    "short_dir",
)


def is_safe_relative_name(name: str) -> bool:
    return (
        name not in ("", ".", "..")
        and name.isprintable()
        and not os.path.isabs(name)
        and "\x00" not in name
        and "/" not in name
        and os.sep not in name
    )


@settings(max_examples=200, database=None, deadline=None)
@given(config=resource_configs(Paths, **{key: ... for key in PATH_KEYS}, filenames=...))
def test_path_like_fields_are_drawn_as_relative_printable_names(config: dict[str, Any]) -> None:
    names = [config[key] for key in PATH_KEYS if config[key] is not None] + config["filenames"]
    assert all(is_safe_relative_name(name) for name in names), names
    assert len(config["short_dir"]) <= 3


class NotPaths(dg.ConfigurableResource):
    profile: str
    name: str
    rooted: str = ""


def test_other_text_fields_are_drawn_freely() -> None:
    assert minimal(resource_configs(NotPaths)) == {"profile": "", "name": ""}
    # Characters no drawn path name holds (_PATH_NAME_PATTERN) still come in other fields.
    found = minimal(
        resource_configs(NotPaths),
        lambda config: not is_safe_relative_name(config["profile"] + "x"),
    )
    assert not is_safe_relative_name(found["profile"] + "x")


@QUICK
@given(drawn=resource_configs_with_env(Paths))
def test_path_like_fields_stay_relative_names_as_env_vars(drawn: ConfigWithEnv) -> None:
    assert all(is_safe_relative_name(value) for value in drawn.env.values())
