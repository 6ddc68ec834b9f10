"""The pytest side of a code location: its module as a collector, one item per resource key
and per audited class, and what each item runs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster
import pytest
from hypothesis.errors import InvalidArgument

from pytest_resources._definitions.loading import DefinitionsError, load_definitions, module_path
from pytest_resources._definitions.options import Options, options_from
from pytest_resources._definitions.plans import (
    AuditPlan,
    ResourcePlan,
    plan_audits,
    plan_resources,
)
from pytest_resources._definitions.tuning import INI_OPTION, tune_audits
from pytest_resources._environ import env_applied
from pytest_resources._errors import ConfigFailure, LifecycleError, PrivateStateLeak
from pytest_resources._reports import unset_variables
from pytest_resources._totals import counted


class CodeLocation(pytest.File):
    """The module of the Definitions; its items are the resource keys, then the audits."""

    options: Options

    def collect(self) -> Iterator[CodeLocationItem]:
        with env_applied(self.options.env):
            try:
                defs = load_definitions(self.options.target)
                resource_plans = plan_resources(defs)
                audit_plans = plan_audits(defs) if self.options.audit_examples else []
            except DefinitionsError as error:
                raise self.CollectError(str(error)) from None
        for plan in resource_plans:
            item = CodeLocationItem.from_parent(
                self,
                name=f"resource[{plan.key}]",
                callobj=_item_function(run_resource_item, plan, self.options),
            )
            item.extra_keyword_matches.add(plan.class_name)  # -k ApiResource: every key of it
            yield item
        names = [plan.name for plan in audit_plans]
        # Two classes of one name from different modules keep their items apart.
        unique = [
            name if names.count(name) == 1 else _full_name(audit)
            for name, audit in zip(names, audit_plans, strict=True)
        ]
        if self.options.audit_examples:
            try:
                audit_plans = tune_audits(
                    audit_plans, unique, self.options.audit_fields, self.config
                )
            except DefinitionsError as error:
                raise self.CollectError(str(error)) from None
        for name, audit in zip(unique, audit_plans, strict=True):
            yield CodeLocationItem.from_parent(
                self,
                name=f"audit[{name}]",
                callobj=_item_function(run_audit_item, audit, self.options),
            )


def _full_name(audit: AuditPlan) -> str:
    return f"{audit.resource_class.__module__}.{audit.name}"


def _item_function(run: Any, plan: ResourcePlan | AuditPlan, options: Options) -> Any:
    def check_code_location(run_context: Any) -> None:
        __tracebackhide__ = True
        run(run_context, plan, options)

    check_code_location.plan = plan  # type: ignore[attr-defined]
    check_code_location.options = options  # type: ignore[attr-defined]
    return check_code_location


class CodeLocationItem(pytest.Function):
    """One resource key of the code location, opened as the code location wires it, or one
    resource class, audited with generated configs."""

    @property
    def plan(self) -> ResourcePlan | AuditPlan:
        return self.obj.plan  # type: ignore[no-any-return]

    def reportinfo(self) -> tuple[Path, int, str]:
        # Where the resource is defined, as a hand-written test points at itself; the module
        # of the Definitions when that is unknown.
        path, lineno = self.plan.source or (self.path, 1)
        return path, lineno - 1, self.name

    def summary_row(self, settings: Any) -> dict[str, Any]:
        """The item's key, class and checks, carried by its reports to the summary table."""
        checks = ["lifecycle rules"]
        if settings.leak_audit:
            checks.append("leak audit")
        if settings.check_secrets:
            checks.append("secrets")
        if settings.release_check:
            checks.append("release check")
        plan = self.plan
        if isinstance(plan, AuditPlan):
            examples: int = self.obj.options.audit_examples
            checks.insert(0, f"{counted(examples, 'generated config')} x faults")
            return {"key": self.name, "class": plan.name, "checks": ", ".join(checks)}
        return {"key": plan.key, "class": plan.class_name, "checks": ", ".join(checks)}


def collect_code_location(session: pytest.Session) -> list[pytest.Item]:
    """The code location's items; a collection error is reported as pytest reports one."""
    config = session.config
    try:
        options = options_from(config)
        path = module_path(options.target, config.invocation_params.dir)
    except DefinitionsError as error:
        raise pytest.UsageError(f"pytest-resources: {error}") from None
    # The module was found without running it: an error importing it (or a parent package) is
    # the collector's, reported with its traceback as for any test module.
    try:
        nodeid = str(path.relative_to(config.rootpath)).replace(os.sep, "/")
    except ValueError:
        nodeid = options.target.module.replace(".", "/") + ".py"
    node = CodeLocation.from_parent(session, path=path, nodeid=nodeid)
    node.options = options
    report = session.ihook.pytest_make_collect_report(collector=node)
    session.ihook.pytest_collectreport(report=report)
    if not report.passed:
        return []
    return [item for item in report.result if isinstance(item, pytest.Item)]


# -- running one item ---------------------------------------------------------------------------


def run_resource_item(run_context: Any, plan: ResourcePlan, options: Options) -> None:
    __tracebackhide__ = True
    with env_applied(options.env):
        missing = [name for name in plan.env_vars() if name not in os.environ]
        if missing:
            _skip_for_env(plan.key, missing, options)
        for key, fields in plan.unconfigured.items():
            _skip(
                f"resource {key!r} is a configure_at_launch() partial and no job of the "
                f"Definitions configures its required field(s) {', '.join(fields)}; give a job "
                f"config={{'resources': {{{key!r}: {{'config': {{...}}}}}}}} or deselect it"
            )
        try:
            with run_context.open(plan.resources, resource_config=plan.resource_config):
                pass
        except dagster.DagsterInvalidConfigError as error:
            # Also variables no field shows up front (a function resource's own config).
            unset = [name for _, name in unset_variables(error)]
            if unset:
                _skip_for_env(plan.key, list(dict.fromkeys(unset)), options)
            if not _only_missing_config(error):
                raise
            messages = " ".join(evaluation.message for evaluation in error.errors)
            _skip(
                f"resource {plan.key!r} needs run config that no job of the Definitions gives: "
                f"{messages}"
            )
        except (LifecycleError, PrivateStateLeak) as error:
            # The report names the resource, the rule and the user's code lines: a traceback
            # into this module would add nothing.
            error.__pytest_resources_plain__ = True  # type: ignore[union-attr]
            raise


def run_audit_item(run_context: Any, plan: AuditPlan, options: Options) -> None:
    __tracebackhide__ = True
    with env_applied(options.env):
        try:
            run_context.audit(
                plan.resource_class, max_examples=options.audit_examples, **plan.overrides
            )
        except (ConfigFailure, InvalidArgument) as error:
            # Their fix names run_context.audit's arguments, which an item has none of.
            note = (
                f"pytest-resources: to pin a field for this item, add a line "
                f"'{plan.name}.FIELD = VALUE' to the ini option {INI_OPTION}, or return "
                f"{{'FIELD': value or strategy}} from a conftest.py hook "
                f"pytest_resources_audit_fields(resource_class, key, config)"
            )
            error.__notes__ = [*getattr(error, "__notes__", []), note]
            raise


def _only_missing_config(error: dagster.DagsterInvalidConfigError) -> bool:
    """Whether run config is missing, and nothing is wrong with the config that was given."""
    missing = {"MISSING_REQUIRED_FIELD", "MISSING_REQUIRED_FIELDS"}
    return bool(error.errors) and all(
        getattr(evaluation.reason, "name", None) in missing for evaluation in error.errors
    )


def _skip_for_env(key: str, missing: list[str], options: Options) -> None:
    __tracebackhide__ = True
    plural = "s" if len(missing) > 1 else ""
    them = "them" if plural else "it"
    source = (
        f" ({options.env_source} does not give {them})"
        if options.env_source
        else f", or give {them} in a .env file in the rootdir or --dagster-definitions-env FILE"
    )
    _skip(
        f"resource {key!r} needs the environment variable{plural} {', '.join(missing)}: set "
        f"{them}{source}"
    )


def _skip(reason: str) -> None:
    """Skip, reported at the item's own location (the Definitions' module), not this one's."""
    __tracebackhide__ = True
    raise pytest.skip.Exception(reason, _use_item_location=True)
