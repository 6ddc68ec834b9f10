"""Hypothesis strategies that generate config for Dagster's Pythonic config classes.

``resource_configs(cls, **overrides)`` draws dicts of constructor keyword arguments that both
pydantic and Dagster accept; ``resource_instances(cls, **overrides)`` draws the instances built
from them. Both work for any ``dagster.Config`` subclass: resources, IO managers and plain config
classes. Overrides follow ``hypothesis.extra.django.from_model``: a value, a strategy, or ``...``
to infer.

Every problem that an override can fix is reported when the strategy is created, naming the field
and showing the call that fixes it, as hypothesis' ``InvalidArgument``. A validator that rejects
what is drawn, or a rejected override value, shows only while drawing, and is reported the same
way.

The pieces: ``routes`` (where a field sits, the call that fixes it), ``constraints`` and
``scalars`` (constrained numbers and text), ``field_kinds`` (annotation -> strategy, a
registry), ``fields`` (one class's fields and overrides), ``acceptance`` (pydantic's and
Dagster's checks), ``env`` (EnvVar fields), ``redaction`` (secrets in messages) and ``plan``
(them together, for one class).
"""

from collections.abc import Mapping
from typing import Any, TypeVar

import dagster as dg
import hypothesis.strategies as st

from pytest_resources._strategies.env import ConfigWithEnv, env_applied
from pytest_resources._strategies.plan import Plan, plan_for_call
from pytest_resources._strategies.redaction import masked, shown_config

__all__ = [
    "ConfigWithEnv",
    "env_applied",
    "masked",
    "plan_for_audit",
    "register_resource_strategies",
    "resource_configs",
    "resource_configs_with_env",
    "resource_instances",
    "shown_config",
]

ConfigT = TypeVar("ConfigT", bound=dg.Config)


def resource_configs(
    cls: type[dg.Config], /, **overrides: Any
) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts of keyword arguments for ``cls(**config)`` that pydantic and Dagster both accept.

    Required fields are always present; defaulted fields are drawn but shrink away. Each override
    (by field name or alias) is a value, a strategy, or ``...`` to infer the field and always
    include it. Unknown names and fields that cannot be inferred raise ``InvalidArgument`` here.
    """
    return plan_for_call("resource_configs", cls, overrides).configs()


def resource_instances(cls: type[ConfigT], /, **overrides: Any) -> st.SearchStrategy[ConfigT]:
    """Instances ``cls(**config)`` built from ``resource_configs(cls, **overrides)``."""
    return plan_for_call("resource_instances", cls, overrides).instances()


def plan_for_audit(cls: type[dg.Config], overrides: Mapping[str, Any]) -> Plan[Any]:
    """The plan behind ``run_context.audit``: its messages show ``run_context.audit(...)``."""
    return plan_for_call("run_context.audit", cls, overrides)


def resource_configs_with_env(
    cls: type[dg.Config], /, **overrides: Any
) -> st.SearchStrategy[ConfigWithEnv]:
    """Like ``resource_configs``, but unconstrained top-level str and int fields may be drawn as
    ``EnvVar("NAME")`` / ``EnvVar.int("NAME")``; ``env`` holds the values to put in the environment.

    Apply ``env`` with ``env_applied(env)`` around the code that resolves the config (a launch,
    ``build_resources``...). Shrinks towards plain values.
    """
    plan = plan_for_call("resource_configs_with_env", cls, overrides, for_environ=True)
    return plan.configs_with_env()


def register_resource_strategies(*classes: type[dg.Config]) -> None:
    """Make ``st.from_type(cls)`` (and ``st.builds`` arguments annotated ``cls``) use
    ``resource_instances(cls)`` for each class. Every class is checked before any is registered."""
    strategies = [(cls, resource_instances(cls)) for cls in classes]
    for cls, strategy in strategies:
        st.register_type_strategy(cls, strategy)
