"""The plan for one class: its field strategies, checked by pydantic and Dagster, as the
strategies the public functions return. Nested config classes get a plan of their own."""

import inspect
from collections.abc import Mapping
from typing import Any, Generic, TypeVar, cast

import dagster as dg
import hypothesis.strategies as st

from pytest_resources._strategies.acceptance import Acceptance, Accepted, is_accepted
from pytest_resources._strategies.constraints import Constraints
from pytest_resources._strategies.env import ConfigWithEnv, with_env
from pytest_resources._strategies.field_kinds import field_kind
from pytest_resources._strategies.fields import FieldStrategies, check_config_class
from pytest_resources._strategies.routes import Route, Site

ConfigT = TypeVar("ConfigT", bound=dg.Config)


class Plan(Generic[ConfigT]):
    """A class's field strategies (:class:`FieldStrategies`) and the checks every drawn config
    passes (:class:`Acceptance`), combined into configs, instances, or configs with EnvVars."""

    def __init__(
        self,
        cls: type[ConfigT],
        overrides: Mapping[str, Any],
        route: Route,
        *,
        for_environ: bool = False,
    ) -> None:
        self.cls = cls
        fields = FieldStrategies(cls, overrides, route, nested_instances, for_environ=for_environ)
        self.raw_configs = fields.configs
        self.environ_kinds = fields.environ_kinds
        self.defaults_kept = fields.defaults_kept
        self.checks: Acceptance[ConfigT] = Acceptance(
            cls,
            route,
            fields.schema,
            resource_keys=fields.resource_keys,
            fixed_keys=fields.fixed_keys,
            only_one_config=fields.only_one_config,
        )
        # What was rejected while drawing, for the audit's summary.
        self.stats = self.checks.stats

    def accepted(self) -> st.SearchStrategy[Accepted[ConfigT]]:
        # filter() does not narrow the type: every value left is an Accepted.
        return cast(
            "st.SearchStrategy[Accepted[ConfigT]]",
            self.raw_configs.map(self.checks.accept).filter(is_accepted),
        )

    def configs(self) -> st.SearchStrategy[dict[str, Any]]:
        return self.accepted().map(lambda accepted: accepted.config)

    def instances(self) -> st.SearchStrategy[ConfigT]:
        return self.accepted().map(lambda accepted: accepted.instance)

    def configs_with_env(self) -> st.SearchStrategy[ConfigWithEnv]:
        use_environ = st.fixed_dictionaries({key: st.booleans() for key in self.environ_kinds})
        return st.tuples(self.accepted(), use_environ).map(
            lambda drawn: with_env(self.cls, self.environ_kinds, drawn[0].config, drawn[1])
        )


def plan_for_call(
    entry_point: str, cls: Any, overrides: Mapping[str, Any], *, for_environ: bool = False
) -> Plan[Any]:
    """The plan for a user's call; a class that is no concrete Config raises InvalidArgument."""
    check_config_class(entry_point, cls)
    return Plan(cls, overrides, Route(entry_point), for_environ=for_environ)


def nested_instances(
    cls: type[dg.Config], overrides: Mapping[str, Any], site: Site
) -> st.SearchStrategy[dg.Config]:
    """Instances of a class a field holds, reported through the field in error messages."""
    if inspect.isabstract(cls):
        raise site.cannot_infer(f"is annotated with {cls.__name__}, which is abstract")
    return Plan(cls, overrides, site.route_into()).instances()


# Nested config classes are a field kind: the plan of their own class draws them.
@field_kind(dg.Config, subclasses=True)
def _nested_configs(
    annotation: type, constraints: Constraints, site: Site
) -> st.SearchStrategy[Any]:
    return nested_instances(annotation, {}, site)
