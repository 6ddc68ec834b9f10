"""Audit a whole code location: one pytest item per resource key of its ``Definitions``.

``pytest --dagster-definitions my_project.definitions`` loads the ``Definitions`` the way
``dagster dev -m`` does (a module attribute, the one ``Definitions`` in the module, or a
``@dg.definitions`` loader), and each resource key becomes an item that opens that resource as
the code location wires it (its nested resources, the top-level resources it depends on, the run
config a job gives a ``configure_at_launch()`` partial) through ``run_context.open``, so every
check of a hand-written test applies. Imported only when the option is given.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import re
import sys
from collections.abc import Generator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import dagster
import pytest
from dagster._config.pythonic_config.resource import (
    ConfigurableResourceFactory,
    PartialResource,
)
from dagster._core.execution.build_resources import wrap_resources_for_execution

from pytest_resources._errors import LifecycleError, PrivateStateLeak
from pytest_resources._item_settings import item_settings

# EnvVar.int() returns a class that dagster does not export.
_INT_ENV_VAR = type(dagster.EnvVar.int("_"))
# Dagster's message for an unset variable, for variables no field shows up front (a function
# resource's own config, for instance).
_UNSET_VARIABLE = re.compile(r'environment variable "([^"]+)" which is not set')
_MODULE_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_ATTRIBUTE = re.compile(r"^[A-Za-z_]\w*$")
# The report attribute that carries an item's row of the summary table to the xdist controller.
REPORT_ATTRIBUTE = "pytest_resources_code_location"
# How much of a skip reason the summary table shows.
_REASON_WIDTH = 70


class DefinitionsError(Exception):
    """The code location could not be found or loaded; the message says what to change."""


@dataclass(frozen=True)
class Target:
    """Where the Definitions are: a module, optionally an attribute, and who named them."""

    module: str
    attribute: str | None
    named_by: str

    def __str__(self) -> str:
        return f"{self.module}:{self.attribute}" if self.attribute else self.module


def parse_target(text: str, named_by: str) -> Target:
    module, _, attribute = text.strip().partition(":")
    if not _MODULE_NAME.match(module) or (attribute and not _ATTRIBUTE.match(attribute)):
        hint = ""
        if "/" in text or text.endswith(".py"):
            hint = (
                " It looks like a path: pytest may have taken a test path as the option's value; "
                "write --dagster-definitions=MODULE, or put the option after the test paths."
            )
        raise DefinitionsError(
            f"{named_by} takes a module name or module:attribute (my_project.definitions or "
            f"my_project.definitions:defs), got {text!r}.{hint}"
        )
    return Target(module, attribute or None, named_by)


def target_from_pyproject(rootpath: Path) -> Target:
    """The module ``dagster dev`` would load from the project's pyproject.toml."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - pytest depends on tomli before Python 3.11
        import tomli as tomllib

    path = rootpath / "pyproject.toml"
    how_to_name = (
        "name the module: --dagster-definitions my_project.definitions, or the ini option "
        "dagster_definitions"
    )
    if not path.is_file():
        raise DefinitionsError(
            f"--dagster-definitions without a module looks in {path}, which does not exist; "
            f"{how_to_name}."
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise DefinitionsError(f"cannot read {path}: {error}") from None
    tool = data.get("tool", {})
    dagster_block = tool.get("dagster", {})
    if isinstance(dagster_block.get("module_name"), str):
        return parse_target(dagster_block["module_name"], f"[tool.dagster] module_name in {path}")
    modules = [
        entry.get("name")
        for entry in dagster_block.get("modules", [])
        if isinstance(entry, dict) and entry.get("type") == "module"
    ]
    if len(modules) == 1 and isinstance(modules[0], str):
        return parse_target(modules[0], f"[tool.dagster] modules in {path}")
    if len(modules) > 1:
        raise DefinitionsError(
            f"[tool.dagster] modules in {path} lists {len(modules)} code locations "
            f"({', '.join(map(str, modules))}); {how_to_name}."
        )
    project = tool.get("dg", {}).get("project", {})
    if isinstance(project.get("code_location_target_module"), str):
        return parse_target(
            project["code_location_target_module"],
            f"[tool.dg.project] code_location_target_module in {path}",
        )
    if isinstance(project.get("root_module"), str):
        return parse_target(
            f"{project['root_module']}.definitions", f"[tool.dg.project] root_module in {path}"
        )
    raise DefinitionsError(
        f"--dagster-definitions without a module reads [tool.dagster] module_name or "
        f"[tool.dg.project] root_module from {path}, which has neither; {how_to_name}."
    )


# -- the environment ----------------------------------------------------------------------------


def read_env_file(path: Path) -> dict[str, str]:
    """The variables of a .env file, parsed as ``dagster dev`` parses it (python-dotenv)."""
    from dotenv import dotenv_values

    if not path.is_file():
        raise DefinitionsError(f"--dagster-definitions-env: no such file {path}.")
    return {key: value for key, value in dotenv_values(path).items() if value is not None}


@contextmanager
def applied_env(env: Mapping[str, str]) -> Iterator[None]:
    """The file's variables over the process's, as ``dagster dev`` applies a .env; restored
    afterwards."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# -- loading ------------------------------------------------------------------------------------


def module_path(target: Target, working_directory: Path) -> Path:
    """The file of the target's module, found without running it. Like ``dagster dev -m``,
    the working directory goes on ``sys.path`` when the module is not importable otherwise."""
    origin = _module_origin(target.module)
    if origin is None and str(working_directory) not in sys.path:
        sys.path.insert(0, str(working_directory))
        importlib.invalidate_caches()
        origin = _module_origin(target.module)
    if origin is None:
        raise DefinitionsError(
            f"{target.named_by}: cannot find the module {target.module!r}; install the project "
            f"(pip install -e .) or run pytest from the directory that holds it."
        )
    return Path(origin)


def _module_origin(name: str) -> str | None:
    try:
        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError as error:
        parts = name.split(".")
        if error.name in {".".join(parts[:end]) for end in range(1, len(parts))}:
            return None  # a parent package is missing
        raise  # a parent package imports something missing: the collector reports it
    if spec is None or not spec.origin or not os.path.exists(spec.origin):
        return None
    return spec.origin


def load_definitions(target: Target) -> dagster.Definitions:
    """The Definitions a target names: an attribute, or the one found in the module."""
    module = importlib.import_module(target.module)
    if target.attribute is not None:
        if not hasattr(module, target.attribute):
            raise DefinitionsError(
                f"{target.named_by}: the module {target.module} has no attribute "
                f"{target.attribute!r}."
            )
        return _as_definitions(getattr(module, target.attribute), target, target.attribute)
    found = _definitions_in(module)
    if not found:
        raise DefinitionsError(
            f"{target.named_by}: the module {target.module} holds no Definitions (a "
            f"dg.Definitions at module level, or a function decorated with @dg.definitions); "
            f"point at the module that does, or name the object: {target.module}:ATTRIBUTE."
        )
    if len(found) > 1:
        names = ", ".join(f"{target.module}:{name}" for name in found)
        raise DefinitionsError(
            f"{target.named_by}: the module {target.module} holds {len(found)} Definitions "
            f"({names}); name the one to audit, e.g. --dagster-definitions={names.split(', ')[0]}."
        )
    ((name, value),) = found.items()
    return _as_definitions(value, target, name)


def _is_lazy_definitions(value: Any) -> bool:
    # @dg.definitions (dagster >= 1.10) and the older @lazy_definitions both make a
    # LazyDefinitions object, in a module that moved between releases.
    return type(value).__name__ == "LazyDefinitions" and callable(value)


def _definitions_in(module: ModuleType) -> dict[str, Any]:
    """Module-level Definitions and lazy loaders, by attribute name, each object once; lazy
    loaders win, as in Dagster's own discovery."""
    lazy: dict[str, Any] = {}
    eager: dict[str, Any] = {}
    seen: set[int] = set()
    for name, value in vars(module).items():
        if id(value) in seen:
            continue
        if _is_lazy_definitions(value):
            lazy[name] = value
        elif isinstance(value, dagster.Definitions):
            eager[name] = value
        else:
            continue
        seen.add(id(value))
    return lazy or eager


def _as_definitions(value: Any, target: Target, name: str) -> dagster.Definitions:
    where = f"{target.module}:{name}"
    if _is_lazy_definitions(value):
        if getattr(value, "has_context_arg", False):
            raise DefinitionsError(
                f"{target.named_by}: {where} is a @dg.definitions loader that takes a "
                "ComponentLoadContext, which only Dagster's defs-folder loading provides; point "
                "at the module whose loader takes no argument (usually my_project.definitions)."
            )
        value = value()
    elif inspect.isfunction(value):
        if inspect.signature(value).parameters:
            raise DefinitionsError(
                f"{target.named_by}: {where} is a function that takes arguments; name a "
                "Definitions or a loader that takes none."
            )
        value = value()
    if not isinstance(value, dagster.Definitions):
        raise DefinitionsError(
            f"{target.named_by}: {where} is a {type(value).__name__}, not a dg.Definitions."
        )
    return value


# -- what each item opens -----------------------------------------------------------------------


@dataclass(frozen=True)
class ResourcePlan:
    """How one resource key is opened, as its code location wires it."""

    key: str
    class_name: str
    # The key and every top-level resource it depends on (configure_at_launch partials,
    # required_resource_keys), as the Definitions give them.
    resources: dict[str, Any]
    resource_config: dict[str, Any] = field(default_factory=dict)
    # configure_at_launch() partials with required fields no job configures, and those fields.
    unconfigured: dict[str, tuple[str, ...]] = field(default_factory=dict)
    source: tuple[Path, int] | None = None

    def env_vars(self) -> list[str]:
        """The variables that EnvVar fields and ``{"env": ...}`` config read, in order."""
        names: dict[str, None] = {}
        for value in (*self.resources.values(), self.resource_config):
            names.update(dict.fromkeys(_env_var_names(value)))
        return list(names)


def _env_var_names(value: Any) -> Iterator[str]:
    if isinstance(value, dagster.EnvVar):
        yield value.env_var_name
    elif isinstance(value, _INT_ENV_VAR):
        yield value.name
    elif isinstance(value, Mapping):
        if set(value) == {"env"} and isinstance(value["env"], str):
            yield value["env"]
        else:
            for item in value.values():
                yield from _env_var_names(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _env_var_names(item)
    elif isinstance(value, PartialResource):
        yield from _env_var_names(value.data)
    elif isinstance(value, (ConfigurableResourceFactory, dagster.Config)):
        try:
            config = value._convert_to_config_dictionary()
        except Exception:  # Dagster's own error, raised again when the resource opens, says more
            return
        yield from _env_var_names(config)


def _class_of(value: Any) -> type[Any] | None:
    if isinstance(value, PartialResource):
        return value.resource_cls
    if isinstance(value, ConfigurableResourceFactory):
        return type(value)
    return None


def _describe_class(value: Any) -> str:
    resource_class = _class_of(value)
    if resource_class is not None:
        return resource_class.__qualname__
    if isinstance(value, dagster.ResourceDefinition):
        function = getattr(value, "resource_fn", None)
        name = getattr(function, "__name__", None)
        return f"@resource {name}" if name else type(value).__name__
    return type(value).__name__


def _job_resource_configs(defs: dagster.Definitions) -> dict[str, Any]:
    """Each resource key's config from the first job of the Definitions that gives one."""
    found: dict[str, Any] = {}
    for job in defs.jobs or ():
        # define_asset_job keeps its config as given; a JobDefinition keeps it privately (its
        # public run_config fails while the Definitions have not bound its resources yet).
        config: Any = getattr(job, "config", None)
        if config is None:
            config = getattr(job, "_original_config_argument", None)
        if isinstance(config, dagster.RunConfig):
            config = config.to_config_dict()  # type: ignore[no-untyped-call]
        if not isinstance(config, Mapping):
            continue
        resources = config.get("resources")
        if not isinstance(resources, Mapping):
            continue
        for key, entry in resources.items():
            if isinstance(entry, Mapping) and "config" in entry:
                found.setdefault(key, entry["config"])
    return found


def _missing_fields(partial: PartialResource[Any], config: Mapping[str, Any]) -> tuple[str, ...]:
    given = {*partial.data, *config}
    fields = partial.resource_cls.model_fields
    return tuple(
        info.alias or name
        for name, info in fields.items()
        if info.is_required() and name not in given and (info.alias or name) not in given
    )


def _dependencies(key: str, wrapped: Mapping[str, dagster.ResourceDefinition]) -> list[str]:
    """The key and the top-level keys it needs, transitively, in the order found."""
    order = [key]
    for current in order:
        definition = wrapped.get(current)
        if definition is None:
            continue
        try:
            needed_keys = definition.get_required_resource_keys(wrapped)
        except Exception:  # e.g. a nested partial under no key: Dagster says so when it opens
            continue
        for needed in sorted(needed_keys):
            if needed not in order:
                order.append(needed)
    return order


def _audit_overrides(value: Any) -> dict[str, Any]:
    """What the generator cannot draw for a class, taken from the code location: the values of
    its ``ResourceDependency`` fields (Dagster rewrites their annotation to ``Annotated[Any,
    'resource_dependency']``). Nested resource fields are drawn as instances of their class."""
    if not isinstance(value, ConfigurableResourceFactory):
        return {}
    overrides = {}
    for name in type(value).model_fields:
        held = getattr(value, name, None)
        if isinstance(held, (ConfigurableResourceFactory, PartialResource)):
            continue
        if "resource_dependency" in repr(type(value).model_fields[name].metadata):
            overrides[name] = held
    return overrides


def _source_line(value: Any) -> tuple[Path, int] | None:
    """Where a resource's class (or a function resource's function) is defined."""
    source = _class_of(value) or getattr(value, "resource_fn", None) or value
    if not (inspect.isclass(source) or inspect.isfunction(source)):
        return None
    try:
        path = inspect.getsourcefile(source)
        lineno = inspect.getsourcelines(source)[1]
    except (OSError, TypeError):
        return None
    return (Path(path), lineno) if path else None


@dataclass(frozen=True)
class AuditPlan:
    """One resource class of the code location, audited with generated configs."""

    resource_class: type[Any]
    # The first key that holds it; what the generator cannot draw comes from its instance.
    key: str
    overrides: dict[str, Any]

    @property
    def name(self) -> str:
        return self.resource_class.__qualname__

    @property
    def source(self) -> tuple[Path, int] | None:
        return _source_line(self.resource_class)


def plan_audits(defs: dagster.Definitions) -> list[AuditPlan]:
    plans: dict[type[Any], AuditPlan] = {}
    for key, value in (defs.resources or {}).items():
        resource_class = _class_of(value)
        if resource_class is not None and resource_class not in plans:
            plans[resource_class] = AuditPlan(resource_class, key, _audit_overrides(value))
    return list(plans.values())


def plan_resources(defs: dagster.Definitions) -> list[ResourcePlan]:
    given = dict(defs.resources or {})
    wrapped = wrap_resources_for_execution(given)
    job_configs = _job_resource_configs(defs)
    plans = []
    for key, value in given.items():
        keys = _dependencies(key, wrapped)
        resources = {name: given[name] for name in keys if name in given}
        resource_config = {}
        unconfigured = {}
        for name, resource in resources.items():
            # What takes its config from the run: a partial, or a function resource.
            if not isinstance(resource, (PartialResource, dagster.ResourceDefinition)):
                continue
            config = job_configs.get(name, {})
            if name in job_configs:
                resource_config[name] = config
            missing = (
                _missing_fields(resource, config) if isinstance(resource, PartialResource) else ()
            )
            if missing:
                unconfigured[name] = missing
        plans.append(
            ResourcePlan(
                key=key,
                class_name=_describe_class(value),
                resources=resources,
                resource_config=resource_config,
                unconfigured=unconfigured,
                source=_source_line(value),
            )
        )
    return plans


# -- pytest nodes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """The command line's and the ini file's choices for the code-location audit."""

    target: Target
    env: dict[str, str]
    env_source: str
    audit_examples: int


def options_from(config: pytest.Config) -> Options:
    value = config.getoption("dagster_definitions")
    ini_value = str(config.getini("dagster_definitions")).strip()
    if value:
        target = parse_target(value, "--dagster-definitions")
    elif ini_value:
        target = parse_target(ini_value, "the ini option dagster_definitions")
    else:
        target = target_from_pyproject(config.rootpath)
    env_option = config.getoption("dagster_definitions_env") or str(
        config.getini("dagster_definitions_env")
    )
    if env_option:
        env_path = Path(env_option)
        if not env_path.is_absolute():
            env_path = config.invocation_params.dir / env_path
        env, env_source = read_env_file(env_path), str(env_option)
    elif (config.rootpath / ".env").is_file():
        env, env_source = read_env_file(config.rootpath / ".env"), ".env"
    else:
        env, env_source = {}, ""
    audit_option = config.getoption("dagster_definitions_audit")
    if audit_option is None:
        ini_audit = str(config.getini("dagster_definitions_audit")).strip() or "0"
        if not ini_audit.isdigit():
            raise DefinitionsError(
                f"the ini option dagster_definitions_audit takes a number of generated configs "
                f"per resource class, got {ini_audit!r}."
            )
        audit_option = int(ini_audit)
    if audit_option < 0:
        raise DefinitionsError(
            "--dagster-definitions-audit takes a number of generated configs per resource "
            f"class (0 for none), got {audit_option}."
        )
    return Options(target, env, env_source, audit_option)


class CodeLocation(pytest.File):
    """The module of the Definitions; its items are the resource keys, then the audits."""

    options: Options

    def collect(self) -> Iterator[CodeLocationItem]:
        with applied_env(self.options.env):
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
        for audit in audit_plans:
            # Two classes of one name from different modules keep their items apart.
            unique = audit.name if names.count(audit.name) == 1 else _full_name(audit)
            yield CodeLocationItem.from_parent(
                self,
                name=f"audit[{unique}]",
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
            checks.insert(0, f"{examples} generated configs x faults")
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
    except Exception:
        # A parent package failed to import: the collector imports it again and reports the
        # error with its traceback, as for any test module.
        path = config.rootpath / (options.target.module.replace(".", os.sep) + ".py")
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
    with applied_env(options.env):
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
            unset = _UNSET_VARIABLE.findall(str(error))
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
    with applied_env(options.env):
        run_context.audit(
            plan.resource_class, max_examples=options.audit_examples, **plan.overrides
        )


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


# -- the summary table --------------------------------------------------------------------------


@dataclass
class SummaryRow:
    key: str
    resource_class: str
    checks: str
    verdict: str = "passed"
    seconds: float = 0.0


@dataclass
class CodeLocationSummary:
    """What each item of the code location came to, from its reports (also under xdist)."""

    rows: dict[str, SummaryRow] = field(default_factory=dict)

    def add(self, report: pytest.TestReport) -> None:
        described = getattr(report, REPORT_ATTRIBUTE, None)
        if not isinstance(described, dict):
            return
        row = self.rows.setdefault(
            report.nodeid,
            SummaryRow(described["key"], described["class"], described["checks"]),
        )
        row.seconds += report.duration
        verdict = _verdict(report)
        if verdict is not None:
            row.verdict = verdict

    def lines(self) -> list[str]:
        header = ("key", "class", "checks run", "verdict", "time")
        table = [header] + [
            (row.key, row.resource_class, row.checks, row.verdict, f"{row.seconds:.2f}s")
            for row in self.rows.values()
        ]
        widths = [max(len(line[column]) for line in table) for column in range(len(header))]
        return [
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
            for line in table
        ]


def _verdict(report: pytest.TestReport) -> str | None:
    if hasattr(report, "wasxfail"):
        return "xpassed" if report.passed else "xfailed"
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
        reason = reason.removeprefix("Skipped: ").partition(": set")[0]
        reason = re.sub(r"^resource '[^']*' ", "", reason)  # the table shows the key
        if len(reason) > _REASON_WIDTH:
            reason = reason[: _REASON_WIDTH - 3] + "..."
        return f"skipped: {reason}" if reason else "skipped"
    if report.failed:
        return "failed" if report.when == "call" else "error"
    return "passed" if report.when == "call" else None


class CodeLocationPlugin:
    """The hooks of ``--dagster-definitions``, registered only when it is asked for."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.summary = CodeLocationSummary()

    def pytest_report_header(self) -> list[str]:
        try:
            options = options_from(self.config)
        except DefinitionsError:
            return []  # collection stops with the error
        env = f", variables from {options.env_source}" if options.env_source else ""
        return [
            f"pytest-resources: code location {options.target} (named by "
            f"{options.target.named_by}){env}"
        ]

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, items: list[pytest.Item]
    ) -> None:
        # First, so that -k, -m and --deselect choose among the code location's items too.
        items.extend(collect_code_location(session))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if isinstance(item, CodeLocationItem):
            setattr(report, REPORT_ATTRIBUTE, item.summary_row(item_settings(item)))
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Also on the xdist controller: the row travels with the worker's report.
        self.summary.add(report)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.summary.rows:
            terminalreporter.write_sep("-", "pytest-resources: code location")
            for line in self.summary.lines():
                terminalreporter.write_line(line)
