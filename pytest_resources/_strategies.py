"""Hypothesis strategies that generate config for Dagster's Pythonic config classes.

``resource_configs(cls, **overrides)`` draws dicts of constructor keyword arguments that both
pydantic and Dagster accept; ``resources(cls, **overrides)`` draws the instances built from them.
Both work for any ``dagster.Config`` subclass: resources, IO managers and plain config classes.
Overrides follow ``hypothesis.extra.django.from_model``: a value, a strategy, or ``...`` to infer.

Every problem that an override can fix is reported when the strategy is created, naming the field
and showing the call that fixes it. A validator that rejects what is drawn, or a rejected override
value, shows only while drawing, and is reported the same way.
"""

import contextlib
import enum
import inspect
import keyword
import math
import os
import re
import types
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    Generic,
    Literal,
    NamedTuple,
    TypeVar,
    Union,
    cast,
    get_args,
    get_origin,
)

import annotated_types as at
import dagster as dg
import hypothesis.strategies as st
from hypothesis.errors import InvalidArgument
from pydantic import ValidationError, create_model
from pydantic.fields import FieldInfo

if TYPE_CHECKING:
    from dagster._core.definitions.definition_config_schema import DefinitionConfigSchema

__all__ = [
    "ConfigWithEnv",
    "env_applied",
    "register_resource_strategies",
    "resource_configs",
    "resource_configs_with_env",
    "resources",
]

ConfigT = TypeVar("ConfigT", bound=dg.Config)

_FILL_IN = "<a value or strategy>"

# When this many configs in a row, from the first one drawn, are rejected, a validator accepts
# (almost) nothing we generate: stop and say which field needs an override, rather than let
# hypothesis fail a health check that names no field.
_REJECTIONS_BEFORE_GIVING_UP = 20

_FINITE_FLOATS = st.floats(allow_nan=False, allow_infinity=False)
# Dagster rejects None as a list member or map value of an untyped container, so the values that
# stand in for ``Any`` never contain None. They stay small: Dagster validates every leaf.
_UNTYPED_MAX_SIZE = 5
_JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.booleans() | st.integers() | _FINITE_FLOATS | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=_UNTYPED_MAX_SIZE,
)
# os.environ cannot hold NUL or lone surrogates.
_ENVIRON_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"))


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def resource_configs(
    cls: type[dg.Config], /, **overrides: Any
) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts of keyword arguments for ``cls(**config)`` that pydantic and Dagster both accept.

    Required fields are always present; defaulted fields are drawn but shrink away. Each override
    (by field name or alias) is a value, a strategy, or ``...`` to infer the field and always
    include it. Unknown names and fields that cannot be inferred raise ``InvalidArgument`` here.
    """
    return _plan_for_call("resource_configs", cls, overrides).configs()


def resources(cls: type[ConfigT], /, **overrides: Any) -> st.SearchStrategy[ConfigT]:
    """Instances ``cls(**config)`` built from ``resource_configs(cls, **overrides)``."""
    return _plan_for_call("resources", cls, overrides).instances()


def plan_for_audit(cls: type[dg.Config], overrides: Mapping[str, Any]) -> "_Plan[Any]":
    """The plan behind ``run_context.audit``: its messages show ``run_context.audit(...)``."""
    return _plan_for_call("run_context.audit", cls, overrides)


class ConfigWithEnv(NamedTuple):
    """A config in which some str/int fields are ``EnvVar``s, and the variables they read."""

    config: dict[str, Any]
    env: dict[str, str]

    def __repr__(self) -> str:
        # EnvVar.int(...) holds a placeholder 0 and shows as 0: show what it is instead.
        shown = ", ".join(f"{key!r}: {_show_env_var(value)}" for key, value in self.config.items())
        return f"ConfigWithEnv(config={{{shown}}}, env={self.env!r})"


# EnvVar.int() returns a class that dagster does not export.
_INT_ENV_VAR = type(dg.EnvVar.int("_"))


def _show_env_var(value: Any) -> str:
    if isinstance(value, dg.EnvVar):
        return f"EnvVar({value.env_var_name!r})"
    if isinstance(value, _INT_ENV_VAR):
        return f"EnvVar.int({value.name!r})"
    return repr(value)


def resource_configs_with_env(
    cls: type[dg.Config], /, **overrides: Any
) -> st.SearchStrategy[ConfigWithEnv]:
    """Like ``resource_configs``, but unconstrained top-level str and int fields may be drawn as
    ``EnvVar("NAME")`` / ``EnvVar.int("NAME")``; ``env`` holds the values to put in the environment.

    Apply ``env`` with ``env_applied(env)`` around the code that resolves the config (a launch,
    ``build_resources``...). Shrinks towards plain values.
    """
    plan = _plan_for_call("resource_configs_with_env", cls, overrides, for_environ=True)
    return plan.configs_with_env()


@contextlib.contextmanager
def env_applied(env: Mapping[str, str]) -> Iterator[None]:
    """Set ``env`` in ``os.environ`` for the ``with`` block, then restore what was there.

    Use it per example inside a ``@given`` test: pytest's ``monkeypatch`` is function-scoped and
    trips hypothesis' ``function_scoped_fixture`` health check.
    """
    previous = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def register_resource_strategies(*classes: type[dg.Config]) -> None:
    """Make ``st.from_type(cls)`` (and ``st.builds`` arguments annotated ``cls``) use
    ``resources(cls)`` for each class. Every class is checked before any is registered."""
    strategies = [(cls, resources(cls)) for cls in classes]
    for cls, strategy in strategies:
        st.register_type_strategy(cls, strategy)


# ---------------------------------------------------------------------------------------------
# Error messages: where a field sits, and the call that overrides it
# ---------------------------------------------------------------------------------------------


def _kwarg(key: str, value: str) -> str:
    """``key=value`` as the user would type it; aliases need not be identifiers."""
    if key.isidentifier() and not keyword.iskeyword(key):
        return f"{key}={value}"
    return f"**{{{key!r}: {value}}}"


@dataclass(frozen=True)
class _Step:
    owner: type[dg.Config]
    key: str
    # How the strategy for the next class is passed for this field, "{}" standing for it,
    # e.g. "st.lists({})" for a list[Inner] field.
    wrapper: str


@dataclass(frozen=True)
class _Route:
    """How the user's call reaches a class: the entry point and the fields passed through."""

    entry_point: str
    steps: tuple[_Step, ...] = ()

    def through(self, owner: type[dg.Config], key: str, wrapper: str) -> "_Route":
        return _Route(self.entry_point, (*self.steps, _Step(owner, key, wrapper)))

    def describe(self, owner: type[dg.Config], key: str) -> str:
        path = "".join(f"{step.owner.__name__}.{step.key} -> " for step in self.steps)
        reached = f" (reached through {path}{owner.__name__})" if self.steps else ""
        return f"field {key!r} of {owner.__name__}{reached}"

    def fix(self, owner: type[dg.Config], key: str) -> str:
        """The call that overrides ``key`` of ``owner``, starting from the user's own call."""
        argument = _kwarg(key, _FILL_IN)
        classes = [*(step.owner for step in self.steps), owner]
        for step, inner in reversed(list(zip(self.steps, classes[1:], strict=True))):
            call = f"resources({inner.__name__}, {argument})"
            argument = _kwarg(step.key, step.wrapper.format(call))
        top = self.steps[0].owner if self.steps else owner
        return f"{self.entry_point}({top.__name__}, {argument})"


@dataclass(frozen=True)
class _Site:
    """The field whose strategy is being inferred, and where in its annotation we are."""

    route: _Route
    owner: type[dg.Config]
    key: str
    wrapper: str = "{}"
    # Named like a file system path: its text is drawn as a safe relative name (_path_names).
    path_like: bool = False

    def inside(self, wrapper: str) -> "_Site":
        return replace(self, wrapper=self.wrapper.format(wrapper))

    def route_into(self) -> _Route:
        return self.route.through(self.owner, self.key, self.wrapper)

    def cannot_infer(self, reason: str) -> InvalidArgument:
        return InvalidArgument(
            f"{self.route.describe(self.owner, self.key)} {reason}; pass a value: "
            f"{self.route.fix(self.owner, self.key)}"
        )


# ---------------------------------------------------------------------------------------------
# Constraints from pydantic / annotated-types metadata
# ---------------------------------------------------------------------------------------------


def _flatten(metadata: Iterable[object]) -> Iterator[object]:
    """Single constraints out of FieldInfo.metadata or Annotated arguments.

    conint/constr/StringConstraints/Interval arrive grouped; Field(...) inside a nested
    ``Annotated`` arrives as a FieldInfo.
    """
    for item in metadata:
        if isinstance(item, FieldInfo):
            yield from _flatten(item.metadata)
        elif isinstance(item, at.GroupedMetadata):
            yield from _flatten(item)
        elif item is not None:
            yield item


# annotated-types bounds, each with the attribute that holds it; _Constraints names its fields
# after those attributes.
_BOUNDS: tuple[tuple[type[Any], str], ...] = (
    (at.Gt, "gt"),
    (at.Ge, "ge"),
    (at.Lt, "lt"),
    (at.Le, "le"),
    (at.MultipleOf, "multiple_of"),
    (at.MinLen, "min_length"),
    (at.MaxLen, "max_length"),
)


@dataclass(frozen=True)
class _Constraints:
    gt: Any = None
    ge: Any = None
    lt: Any = None
    le: Any = None
    multiple_of: Any = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | re.Pattern[str] | None = None
    predicates: tuple[Callable[[Any], bool], ...] = ()

    def adding(self, metadata: Iterable[object]) -> "_Constraints":
        found: dict[str, Any] = {}
        predicates = list(self.predicates)
        for item in _flatten(metadata):
            bound = next((name for kind, name in _BOUNDS if isinstance(item, kind)), None)
            if bound is not None:
                found[bound] = getattr(item, bound)
            elif isinstance(item, at.Predicate):
                predicates.append(item.func)
            # pydantic keeps Field(pattern=...) in a private metadata class: read it by name.
            elif getattr(item, "pattern", None) is not None:
                found["pattern"] = item.pattern  # type: ignore[attr-defined]
        return replace(self, **found, predicates=tuple(predicates))

    def sizes(self, usual_max_size: int | None = None) -> dict[str, Any]:
        """min_size/max_size for a collection strategy; usual_max_size applies when unbounded."""
        min_size = self.min_length or 0
        max_size = self.max_length
        if max_size is None and usual_max_size is not None:
            max_size = max(usual_max_size, min_size)
        return {"min_size": min_size, "max_size": max_size}

    def has_length(self, value: Any) -> bool:
        return (self.min_length or 0) <= len(value) <= (self.max_length or math.inf)

    def apply_predicates(self, strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        for predicate in self.predicates:
            strategy = strategy.filter(predicate)
        return strategy


_NO_CONSTRAINTS = _Constraints()


def _integers(constraints: _Constraints) -> st.SearchStrategy[int]:
    lows = [math.ceil(constraints.ge)] if constraints.ge is not None else []
    if constraints.gt is not None:
        lows.append(math.floor(constraints.gt) + 1)
    highs = [math.floor(constraints.le)] if constraints.le is not None else []
    if constraints.lt is not None:
        highs.append(math.ceil(constraints.lt) - 1)
    low, high = max(lows, default=None), min(highs, default=None)
    if constraints.multiple_of is None:
        return st.integers(low, high)
    step = abs(int(constraints.multiple_of))
    # Draw the multiplier, so that every value is a multiple and the bounds still hold.
    return st.integers(
        None if low is None else -(-low // step),
        None if high is None else high // step,
    ).map(lambda multiplier: multiplier * step)


def _floats(constraints: _Constraints) -> st.SearchStrategy[float]:
    exclude_low, exclude_high = constraints.gt is not None, constraints.lt is not None
    low = constraints.gt if exclude_low else constraints.ge
    high = constraints.lt if exclude_high else constraints.le
    if constraints.multiple_of is None:
        return st.floats(
            low,
            high,
            exclude_min=exclude_low,
            exclude_max=exclude_high,
            allow_nan=False,
            allow_infinity=False,
        )
    step = constraints.multiple_of
    # pydantic checks multiple_of with a tolerance: rounding misses, and a multiple that sits on
    # an exclusive bound, are rare and rejected by validation.
    return st.integers(
        None if low is None else math.ceil(low / step),
        None if high is None else math.floor(high / step),
    ).map(lambda multiplier: multiplier * step)


# Words that make a str field a file system path: `path`, `db_path`, `output_dir`, `root_folder`,
# `logFile`... Drawn text there would be created wherever a resource's setup puts it.
_PATH_WORDS = frozenset(
    {
        "path",
        "paths",
        "dir",
        "dirs",
        "directory",
        "directories",
        "file",
        "files",
        "filename",
        "filenames",
        "filepath",
        "dirname",
        "dirpath",
        "pathname",
        "folder",
        "folders",
        "root",
        "location",
        "basedir",
        "workdir",
        "outdir",
        "tmpdir",
        "logdir",
        "datadir",
        "rootdir",
        "logfile",
        "dbpath",
    }
)


def _is_path_like(name: str) -> bool:
    """Whether a field name reads as a path: one of its words (snake or camel case) does."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower().split("_")
    return any(word in _PATH_WORDS for word in words)


# A relative name in the current directory: printable, no separator, never "." or "..", so that
# whatever a resource creates from it stays in the (temporary) working directory.
_PATH_NAME_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"


def _path_names(constraints: _Constraints) -> st.SearchStrategy[str]:
    low = max(constraints.min_length or 1, 1)
    high = constraints.max_length if constraints.max_length is not None else max(low, 12)
    if high < low:  # max_length=0: only the empty name fits
        return st.just("")
    if constraints.pattern is not None:
        # The field's own pattern wins; keep only what stays a relative name.
        return st.from_regex(constraints.pattern, fullmatch=True).filter(
            lambda text: (
                re.fullmatch(_PATH_NAME_PATTERN, text) is not None and constraints.has_length(text)
            )
        )
    first = st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789_")
    rest = st.text("abcdefghijklmnopqrstuvwxyz0123456789_.-", min_size=low - 1, max_size=high - 1)
    return st.tuples(first, rest).map("".join)


def _text(constraints: _Constraints, site: _Site) -> st.SearchStrategy[str]:
    if site.path_like:
        return _path_names(constraints)
    if constraints.pattern is None:
        return st.text(**constraints.sizes())
    # pydantic's pattern is a search; a full match is a subset of it that is easy to generate.
    try:
        matching = st.from_regex(constraints.pattern, fullmatch=True)
        matching.validate()
    except (re.error, InvalidArgument) as error:
        raise site.cannot_infer(
            f"has pattern {constraints.pattern!r}, which Python's re cannot generate from ({error})"
        ) from error
    if constraints.min_length is None and constraints.max_length is None:
        return matching
    return matching.filter(constraints.has_length)


# ---------------------------------------------------------------------------------------------
# Inferring a strategy from an annotation
# ---------------------------------------------------------------------------------------------


def _is_resource_class(annotation: Any) -> bool:
    # ConfigurableResourceFactory, the base of every resource and IO manager, is not public:
    # recognise it by the classmethod all of them share.
    return (
        isinstance(annotation, type)
        and issubclass(annotation, dg.Config)
        and hasattr(annotation, "configure_at_launch")
    )


def _infer_field(info: FieldInfo, site: _Site) -> st.SearchStrategy[Any]:
    metadata = list(info.metadata)
    if "resource_param" in metadata:
        raise site.cannot_infer("is a ResourceParam[...], a value Dagster passes in, not config")
    if "resource_dependency" in metadata:
        # Dagster rewrites `db: Inner` to
        # `Annotated[Inner | PartialResource, "resource_dependency"]`,
        # and `ResourceDependency[T]` to `Annotated[Any, "resource_dependency"]`.
        resource_classes = [m for m in get_args(info.annotation) if _is_resource_class(m)]
        if not resource_classes:
            raise site.cannot_infer("is a ResourceDependency[...]")
        return _nested_instances(resource_classes[0], {}, site)
    if isinstance(info.discriminator, str):
        return _discriminated_union(info.annotation, info.discriminator, site)
    return _infer(info.annotation, _NO_CONSTRAINTS.adding(metadata), site)


def _infer(annotation: Any, constraints: _Constraints, site: _Site) -> st.SearchStrategy[Any]:
    origin = get_origin(annotation)
    arguments = get_args(annotation)
    if origin is Annotated:
        return _infer(arguments[0], constraints.adding(arguments[1:]), site)
    if annotation is Any:
        return _JSON_VALUES
    # Dagster rewrites a bare ResourceDependency[T] (see _infer_field), not Optional[...] of one.
    if origin is dg.ResourceDependency:
        raise site.cannot_infer("is a ResourceDependency[...]")
    if origin in (Union, types.UnionType):
        present = [member for member in arguments if member is not type(None)]
        # Dagster takes no other union (discriminated ones are handled by _infer_field).
        if len(present) == 1:
            # None first, so that optional values shrink to None.
            return st.none() | _infer(present[0], constraints, site.inside("st.none() | {}"))
    if origin is Literal:
        return st.sampled_from(arguments)
    if origin is list:
        items = _infer(arguments[0], _NO_CONSTRAINTS, site.inside("st.lists({})"))
        return constraints.apply_predicates(st.lists(items, **constraints.sizes()))
    if origin in (dict, Mapping):
        keys = _infer(arguments[0], _NO_CONSTRAINTS, site)
        values = _infer(
            arguments[1], _NO_CONSTRAINTS, site.inside("st.dictionaries(st.text(), {})")
        )
        return constraints.apply_predicates(st.dictionaries(keys, values, **constraints.sizes()))
    strategy = _infer_class(annotation, constraints, site) if isinstance(annotation, type) else None
    if strategy is None:
        raise site.cannot_infer(f"has the annotation {annotation!r}, which has no strategy")
    return constraints.apply_predicates(strategy)


def _infer_class(
    annotation: type, constraints: _Constraints, site: _Site
) -> st.SearchStrategy[Any] | None:
    if issubclass(annotation, enum.Enum):
        return st.sampled_from(annotation)
    # bool first: it is an int subclass, and int fields must get real ints.
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return _integers(constraints)
    if annotation is float:
        return _floats(constraints)
    if annotation is str:
        return _text(constraints, site)
    if annotation is list:
        return st.lists(_JSON_VALUES, **constraints.sizes(_UNTYPED_MAX_SIZE))
    if annotation is dict:
        return st.dictionaries(st.text(), _JSON_VALUES, **constraints.sizes(_UNTYPED_MAX_SIZE))
    if issubclass(annotation, dg.Config):
        return _nested_instances(annotation, {}, site)
    if issubclass(annotation, dg.ResourceDefinition):
        raise site.cannot_infer(
            f"is annotated with {annotation.__name__}, a resource definition, not config"
        )
    return None


def _discriminated_union(
    annotation: Any, discriminator: str, site: _Site
) -> st.SearchStrategy[dg.Config]:
    """Config instances of any member; Dagster converts them to its selector form itself."""
    options = [
        _nested_instances(member, {discriminator: tag}, site)
        for member in get_args(annotation)
        for tag in get_args(member.model_fields[discriminator].annotation)
    ]
    return st.one_of(options)


def _nested_instances(
    cls: type[dg.Config], overrides: Mapping[str, Any], site: _Site
) -> st.SearchStrategy[dg.Config]:
    if inspect.isabstract(cls):
        raise site.cannot_infer(f"is annotated with {cls.__name__}, which is abstract")
    return _Plan(cls, overrides, site.route_into()).instances()


# ---------------------------------------------------------------------------------------------
# Checking that pydantic and Dagster accept a config
# ---------------------------------------------------------------------------------------------


def _private_process_config() -> Callable[[Any, Mapping[str, Any]], Any] | None:
    try:
        from dagster._config import process_config
    except ImportError:  # pragma: no cover - the private API moved: use the public path
        return None
    return process_config


_PROCESS_CONFIG = _private_process_config()


def _dagster_errors(schema: "DefinitionConfigSchema", config_dict: Mapping[str, Any]) -> list[str]:
    """What Dagster's config processing says about ``config_dict``, as a run would see it."""
    if _PROCESS_CONFIG is None:  # pragma: no cover - see _private_process_config
        return _dagster_errors_by_public_api(schema, config_dict)
    result = _PROCESS_CONFIG(schema.config_type, config_dict)
    return [error.message for error in result.errors or []]


def _dagster_errors_by_public_api(
    schema: "DefinitionConfigSchema", config_dict: Mapping[str, Any]
) -> list[str]:
    """The same check through ``dg.validate_run_config``: slower, as it validates a one-op job."""
    probe = dg.op(name="config_probe", config_schema=schema.as_field())(_carry_schema_only)
    job = dg.GraphDefinition(name="config_probe", node_defs=[probe]).to_job()
    try:
        dg.validate_run_config(job, {"ops": {"config_probe": {"config": dict(config_dict)}}})
    except dg.DagsterInvalidConfigError as error:
        return [evaluation_error.message for evaluation_error in error.errors]
    return []


def _carry_schema_only() -> None:
    """The body of the op that carries a schema for ``validate_run_config``; never runs."""


class _Rejection(NamedTuple):
    key: str | None  # the config key to blame, when the error names one
    message: str
    # The exception's type when it is neither pydantic's ValidationError nor a DagsterError.
    odd_error: str | None = None


# Field names whose values are not shown in messages, besides fields marked dagster__is_secret.
_SECRET_NAME = re.compile(r"token|passw|secret|api_?key|private_?key|credential", re.IGNORECASE)
# Shorter secrets are not masked inside an exception's text: "ab" would mask half the message.
_SHORTEST_MASKED_SECRET = 4


def _is_secret(cls: type[dg.Config], key: str) -> bool:
    info = cls.model_fields.get(_field_names_by_key(cls).get(key, key))
    extra = info.json_schema_extra if info is not None else None
    marked = isinstance(extra, Mapping) and extra.get("dagster__is_secret") is True
    return marked or _SECRET_NAME.search(key) is not None


def shown_value(cls: type[dg.Config], key: str, value: Any) -> str:
    """``repr(value)`` of field ``key``, redacted when the field holds a secret."""
    from pytest_resources._leak_audit import redact

    return redact(value) if _is_secret(cls, key) else repr(value)


def shown_config(cls: type[dg.Config], config: Mapping[str, Any]) -> str:
    """``key=value, ...`` as the user would pass it, secrets redacted."""
    return ", ".join(_kwarg(key, shown_value(cls, key, value)) for key, value in config.items())


def masked(cls: type[dg.Config], config: Mapping[str, Any], text: str) -> str:
    """``text`` with the values of ``config``'s secret fields redacted."""
    for key, value in config.items():
        long_enough = isinstance(value, str) and len(value) >= _SHORTEST_MASKED_SECRET
        if long_enough and _is_secret(cls, key):
            text = text.replace(value, shown_value(cls, key, value))
    return text


def _rejection_from(
    error: Exception, cls: type[dg.Config], config: Mapping[str, Any]
) -> _Rejection:
    if isinstance(error, ValidationError) and error.errors():
        first = error.errors()[0]
        key = str(first["loc"][0]) if first["loc"] else None
        shown = repr(first["input"]) if key is None else shown_value(cls, key, first["input"])
        return _Rejection(key, masked(cls, config, f"{first['msg']} (input {shown})"))
    message = masked(cls, config, " ".join(str(error).split()))
    if isinstance(error, ValidationError | dg.DagsterError):
        return _Rejection(None, message)
    name = type(error).__qualname__
    return _Rejection(None, f"{name}: {message}", odd_error=name)


@dataclass
class _RejectionStats:
    accepted: int = 0
    rejected: int = 0
    by_key: Counter[str | None] = field(default_factory=Counter)
    # The first rejection for each key, with its config shown (secrets redacted).
    first: dict[str | None, tuple[_Rejection, str]] = field(default_factory=dict)
    # Rejections by an exception other than a validation error, by its type: a defect of the
    # class, reported by the audit; with the first such message and config.
    odd_errors: Counter[str] = field(default_factory=Counter)
    first_odd: dict[str, str] = field(default_factory=dict)
    # Once given, the verdict stands: hypothesis must see the same error when it replays.
    verdict: str | None = None

    def record(self, rejection: _Rejection, shown: str) -> None:
        self.rejected += 1
        self.by_key[rejection.key] += 1
        self.first.setdefault(rejection.key, (rejection, shown))
        if rejection.odd_error is not None:
            self.odd_errors[rejection.odd_error] += 1
            self.first_odd.setdefault(rejection.odd_error, f"{rejection.message}, for ({shown})")


@dataclass(frozen=True)
class _Accepted(Generic[ConfigT]):
    """A drawn config and the instance built from it while checking it."""

    config: dict[str, Any]
    instance: ConfigT


# ---------------------------------------------------------------------------------------------
# The plan for one class
# ---------------------------------------------------------------------------------------------


def _plan_for_call(
    entry_point: str, cls: Any, overrides: Mapping[str, Any], *, for_environ: bool = False
) -> "_Plan[Any]":
    if not (isinstance(cls, type) and issubclass(cls, dg.Config)):
        if isinstance(cls, dg.Config):
            hint = f"; pass the class itself: {entry_point}({type(cls).__name__})"
        elif hasattr(cls, "resource_cls"):
            resource_name = cls.resource_cls.__name__
            hint = f"; pass the class, not configure_at_launch(): {entry_point}({resource_name})"
        else:
            hint = ""
        raise InvalidArgument(
            f"{entry_point}() takes a dagster Config, ConfigurableResource or "
            f"ConfigurableIOManager class, not {cls!r}{hint}"
        )
    if inspect.isabstract(cls):
        raise InvalidArgument(
            f"{entry_point}({cls.__name__}): {cls.__name__} is abstract (it does not implement "
            f"{', '.join(sorted(cls.__abstractmethods__))}); pass a concrete subclass"
        )
    return _Plan(cls, overrides, _Route(entry_point), for_environ=for_environ)


def _config_schema(cls: type[dg.Config], route: _Route) -> "DefinitionConfigSchema":
    """Dagster's schema for ``cls``; an annotation Dagster rejects is reported by field."""
    try:
        return cls.to_config_schema()
    except Exception as error:
        # Dagster rejects a class as a whole, and not every error names the field: find it.
        rejected = [
            f"{route.describe(cls, info.alias or name)}, {info.annotation!r}"
            for name, info in cls.model_fields.items()
            if _dagster_rejects_alone(cls, name, info)
        ]
        where = rejected[0] if rejected else f"a field of {cls.__name__}"
        raise InvalidArgument(
            f"Dagster rejects the annotation of {where}, so no override can make "
            f"{cls.__name__} usable: change the annotation. Dagster says: {error}"
        ) from error


def _dagster_rejects_alone(cls: type[dg.Config], name: str, info: FieldInfo) -> bool:
    field_definition: dict[str, Any] = {name: (info.annotation, info)}
    try:
        create_model(cls.__name__, __base__=dg.Config, **field_definition).to_config_schema()
    except Exception:
        return True
    return False


def _field_names_by_key(cls: type[dg.Config]) -> dict[str, str]:
    names = {}
    for name, info in cls.model_fields.items():
        names[name] = name
        if info.alias:
            names[info.alias] = name
    return names


def _valid_names(cls: type[dg.Config]) -> str:
    if not cls.model_fields:
        return "it has no fields"
    return "valid names: " + ", ".join(
        f"{name!r} (alias {info.alias!r})" if info.alias else repr(name)
        for name, info in cls.model_fields.items()
    )


def _as_strategy(value: Any) -> st.SearchStrategy[Any]:
    return value if isinstance(value, st.SearchStrategy) else st.just(value)


def _fits_environ(value: str) -> bool:
    return "\x00" not in value and not any("\ud800" <= char <= "\udfff" for char in value)


class _Plan(Generic[ConfigT]):
    """The strategies for one class's fields, and the checks every drawn config passes."""

    def __init__(
        self,
        cls: type[ConfigT],
        overrides: Mapping[str, Any],
        route: _Route,
        *,
        for_environ: bool = False,
    ) -> None:
        self.cls = cls
        self.route = route
        self.stats = _RejectionStats()
        overridden = self._resolve_override_names(overrides)
        self.schema = _config_schema(cls, route)
        dagster_fields = getattr(self.schema.config_type, "fields", {})

        required: dict[str, st.SearchStrategy[Any]] = {}
        optional: dict[str, st.SearchStrategy[Any]] = {}
        # Nested resources are not config: Dagster's schema omits them, and so must its check.
        self.resource_keys: set[str] = set()
        self.environ_kinds: dict[str, type] = {}
        # Keys overridden with plain values: a rejection of one of them is final.
        self.fixed_keys: set[str] = set()
        # Defaulted fields the strategies cannot infer: never drawn, they keep their default.
        self.defaults_kept: list[str] = []
        for name, info in cls.model_fields.items():
            key = info.alias or name
            dagster_field = dagster_fields.get(key)
            if dagster_field is None:
                self.resource_keys.add(key)
            # Only unconstrained fields: pydantic checks an EnvVar's name against the constraints.
            if for_environ and info.annotation in (str, int) and not info.metadata:
                self.environ_kinds[key] = str if info.annotation is str else int
            # Dagster 1.8 requires a discriminated union that has a default; pydantic does not.
            always_present = (
                name in overridden
                or info.is_required()
                or (dagster_field is not None and dagster_field.is_required)
            )
            site = _Site(route, cls, key, path_like=_is_path_like(name) or _is_path_like(key))
            given = overridden.get(name, Ellipsis)
            if given is not Ellipsis:
                strategy = _as_strategy(given)
                if not isinstance(given, st.SearchStrategy):
                    self.fixed_keys.add(key)
            elif self.environ_kinds.get(key) is str:
                strategy = _path_names(_NO_CONSTRAINTS) if site.path_like else _ENVIRON_TEXT
            elif always_present:
                strategy = _infer_field(info, site)
            else:
                try:
                    strategy = _infer_field(info, site)
                except InvalidArgument:
                    # Leaving a default out is always valid: the field keeps it.
                    self.defaults_kept.append(key)
                    continue
            (required if always_present else optional)[key] = strategy

        permissive = cls.model_config.get("extra") == "allow"
        fixed = st.fixed_dictionaries(required, optional=optional)
        self.raw_configs = self._with_extras(fixed) if permissive else fixed
        # Hypothesis sees that there is nothing else to try and gives up with "Unsatisfiable",
        # which names no field: say which values were rejected instead.
        self.only_one_config = (
            not optional and not permissive and required.keys() <= self.fixed_keys
        )

    def __repr__(self) -> str:
        # Shown by hypothesis in "while generating ..." messages.
        return f"<checks for {self.cls.__name__}>"

    def _resolve_override_names(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        names = _field_names_by_key(self.cls)
        overridden: dict[str, Any] = {}
        given_as: dict[str, str] = {}
        for key, value in overrides.items():
            if key not in names:
                raise InvalidArgument(
                    f"{self.route.entry_point}({self.cls.__name__}, {_kwarg(key, '...')}): "
                    f"{self.cls.__name__} has no field {key!r}; {_valid_names(self.cls)}"
                )
            name = names[key]
            if name in overridden:
                raise InvalidArgument(
                    f"{self.route.entry_point}({self.cls.__name__}): {given_as[name]!r} and "
                    f"{key!r} both name field {name!r}; pass only one"
                )
            overridden[name] = value
            given_as[name] = key
        return overridden

    def _with_extras(
        self, fixed: st.SearchStrategy[dict[str, Any]]
    ) -> st.SearchStrategy[dict[str, Any]]:
        """Permissive classes take undeclared keys too; avoid names the class already uses."""
        taken = set(_field_names_by_key(self.cls)) | set(dir(self.cls))
        extra_keys = st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True).filter(
            lambda key: key not in taken
        )
        extras = st.dictionaries(extra_keys, _JSON_VALUES, max_size=3)
        return st.tuples(fixed, extras).map(lambda parts: {**parts[1], **parts[0]})

    # -- strategies --------------------------------------------------------------------------

    def accepted(self) -> st.SearchStrategy[_Accepted[ConfigT]]:
        # filter() does not narrow the type: every value left is an _Accepted.
        return cast(
            "st.SearchStrategy[_Accepted[ConfigT]]",
            self.raw_configs.map(self._accept).filter(_is_accepted),
        )

    def configs(self) -> st.SearchStrategy[dict[str, Any]]:
        return self.accepted().map(lambda accepted: accepted.config)

    def instances(self) -> st.SearchStrategy[ConfigT]:
        return self.accepted().map(lambda accepted: accepted.instance)

    def configs_with_env(self) -> st.SearchStrategy[ConfigWithEnv]:
        use_environ = st.fixed_dictionaries({key: st.booleans() for key in self.environ_kinds})
        return st.tuples(self.accepted(), use_environ).map(lambda drawn: self._with_env(*drawn))

    # -- checks ------------------------------------------------------------------------------

    def _accept(self, config: dict[str, Any]) -> _Accepted[ConfigT] | None:
        # Any exception rejects the config: validators raise what they like (dagster's
        # check.invariant raises CheckError, some raise TypeError), and so may the conversion.
        try:
            instance = self.cls(**config)
            config_dict = {
                key: value
                for key, value in instance._convert_to_config_dictionary().items()
                if key not in self.resource_keys
            }
            dagster_errors = _dagster_errors(self.schema, config_dict)
        except Exception as error:
            self._reject(_rejection_from(error, self.cls, config), config)
            return None
        if dagster_errors:
            # Post-processing errors carry a stack trace of Dagster's internals: drop it.
            message = " ".join(dagster_errors[0].split("Stack Trace:")[0].split())
            self._reject(_Rejection(None, f"Dagster: {message}"), config)
            return None
        self.stats.accepted += 1
        return _Accepted(config, instance)

    def _reject(self, rejection: _Rejection, config: dict[str, Any]) -> None:
        stats = self.stats
        stats.record(rejection, shown_config(self.cls, config))
        # Only judge before any config was accepted: after that, rejections may come from the
        # shrinker trying simpler values, and raising would hide the test's own failure.
        if stats.verdict is None and stats.accepted == 0:
            if rejection.key in self.fixed_keys or self.only_one_config:
                stats.verdict = self._fixed_value_verdict(rejection, config)
            elif stats.rejected >= _REJECTIONS_BEFORE_GIVING_UP:
                stats.verdict = self._hopeless_verdict()
        if stats.verdict is not None:
            # The verdict quotes the error; its traceback through Dagster's internals is noise.
            raise InvalidArgument(stats.verdict) from None

    def _fixed_value_verdict(self, rejection: _Rejection, config: dict[str, Any]) -> str:
        blamed = rejection.key
        keys = [blamed] if blamed is not None and blamed in self.fixed_keys else list(config)
        given = shown_config(self.cls, {key: config[key] for key in keys})
        return (
            f"{self.route.entry_point}({self.cls.__name__}, {given}) is rejected: "
            f"{rejection.message}. Pass a value that pydantic and Dagster accept"
            + self._odd_error_finding(rejection)
        )

    def _odd_error_finding(self, rejection: _Rejection) -> str:
        odd_error = rejection.odd_error
        if odd_error is None:
            return ""
        return (
            f". Note: validating {self.cls.__name__} raised {odd_error}, not a validation "
            f"error: that is a defect of {self.cls.__name__}, whose users get a {odd_error} "
            "instead of pydantic's message naming the field (a validator should raise "
            "ValueError or AssertionError, which pydantic reports as a ValidationError)"
        )

    def _hopeless_verdict(self) -> str:
        key, count = self.stats.by_key.most_common(1)[0]
        rejection, shown = self.stats.first[key]
        summary = (
            f"none of the first {self.stats.rejected} configs drawn for {self.cls.__name__} "
            f"was accepted"
        )
        if key is None:
            return (
                f"{summary}; {count} were rejected with: {rejection.message} (the first for "
                f"{shown}). Pass values for the fields it names: "
                f"{self.route.fix(self.cls, 'FIELD')}" + self._odd_error_finding(rejection)
            )
        return (
            f"{summary}; {count} were rejected for {self.route.describe(self.cls, key)}: "
            f"{rejection.message}. If a validator accepts few values there, pass them: "
            f"{self.route.fix(self.cls, key)}"
        )

    def _with_env(
        self, accepted: _Accepted[ConfigT], use_environ: dict[str, bool]
    ) -> ConfigWithEnv:
        config = dict(accepted.config)
        env: dict[str, str] = {}
        names: dict[str, str] = {}
        for key, wanted in use_environ.items():
            value = config.get(key)
            # type() rather than isinstance(): an absent field, a bool, a str enum or an EnvVar
            # given as an override stays as drawn.
            if not wanted or type(value) is not self.environ_kinds[key]:
                continue
            if isinstance(value, str) and not _fits_environ(value):
                continue
            name = re.sub(r"[^A-Za-z0-9]", "_", f"PYTEST_RESOURCES_{self.cls.__name__}_{key}")
            name = name.upper()
            config[key] = dg.EnvVar(name) if isinstance(value, str) else dg.EnvVar.int(name)
            env[name] = str(value)
            names[key] = name
        if not env:
            return ConfigWithEnv(config, env)
        try:
            kept = self.cls(**config)._convert_to_config_dictionary()
        except Exception:
            # A model validator saw the variable's name (or EnvVar.int's placeholder 0) instead
            # of its value: this class cannot take EnvVars for these fields.
            return ConfigWithEnv(dict(accepted.config), {})
        for key, name in names.items():
            # Dagster 1.8 drops an EnvVar.int whose placeholder 0 equals the field's default.
            if kept.get(key) != {"env": name}:
                config[key] = accepted.config[key]
                del env[name]
        return ConfigWithEnv(config, env)


def _is_accepted(accepted: _Accepted[Any] | None) -> bool:
    return accepted is not None
