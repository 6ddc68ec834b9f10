"""Whether pydantic and Dagster both accept a drawn config, and when to stop drawing: a verdict
naming the field (and the call that fixes it) instead of hypothesis' health check."""

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

import dagster as dg
from hypothesis.errors import InvalidArgument
from pydantic import ValidationError

from pytest_resources._dagster import process_config
from pytest_resources._strategies.redaction import masked, shown_config, shown_value
from pytest_resources._strategies.routes import Route

if TYPE_CHECKING:
    from pytest_resources._dagster import DefinitionConfigSchema

ConfigT = TypeVar("ConfigT", bound=dg.Config)

# When this many configs in a row, from the first one drawn, are rejected, a validator accepts
# (almost) nothing we generate: stop and say which field needs an override, rather than let
# hypothesis fail a health check that names no field.
_REJECTIONS_BEFORE_GIVING_UP = 20


# Dagster's private config check, None when it moved (then the public path, slower).
_PROCESS_CONFIG: Callable[[Any, Mapping[str, Any]], Any] | None = process_config


def dagster_errors(schema: "DefinitionConfigSchema", config_dict: Mapping[str, Any]) -> list[str]:
    """What Dagster's config processing says about ``config_dict``, as a run would see it."""
    if _PROCESS_CONFIG is None:  # pragma: no cover - see _PROCESS_CONFIG
        return dagster_errors_by_public_api(schema, config_dict)
    result = _PROCESS_CONFIG(schema.config_type, config_dict)
    return [error.message for error in result.errors or []]


def dagster_errors_by_public_api(
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


class Rejection(NamedTuple):
    key: str | None  # the config key to blame, when the error names one
    message: str
    # The exception's type when it is neither pydantic's ValidationError nor a DagsterError.
    odd_error: str | None = None
    # For such an exception, the validator it came from, as its traceback shows it.
    raised_in: str | None = None


def rejection_from(error: Exception, cls: type[dg.Config], config: Mapping[str, Any]) -> Rejection:
    if isinstance(error, ValidationError) and error.errors():
        first = error.errors()[0]
        key = str(first["loc"][0]) if first["loc"] else None
        shown = repr(first["input"]) if key is None else shown_value(cls, key, first["input"])
        return Rejection(key, masked(cls, config, f"{first['msg']} (input {shown})"))
    message = masked(cls, config, " ".join(str(error).split()))
    if isinstance(error, ValidationError | dg.DagsterError):
        return Rejection(None, message)
    name = type(error).__qualname__
    return Rejection(
        None, f"{name}: {message}", odd_error=name, raised_in=_raising_validator(error)
    )


def _raising_validator(error: BaseException) -> str | None:
    """The innermost validator of a pydantic model on the traceback, with the fields it
    validates: ``field_validator Token.check_type (field 'token_type')``. None when no frame is
    one (a plain function validator, code the validator called): then no field is named."""
    found = None
    traceback = error.__traceback__
    while traceback is not None:
        frame = traceback.tb_frame
        owner = frame.f_locals.get("cls", type(frame.f_locals.get("self")))
        decorators = getattr(owner, "__pydantic_decorators__", None)
        for kind in ("field_validators", "model_validators"):
            for name, decorator in getattr(decorators, kind, {}).items():
                function = getattr(decorator.func, "__func__", decorator.func)
                if getattr(function, "__code__", None) is frame.f_code:
                    fields = getattr(decorator.info, "fields", ())
                    named = ", ".join(repr(field) for field in fields)
                    where = f" (field {named})" if len(fields) == 1 else f" (fields {named})"
                    found = f"{kind[:-1]} {owner.__name__}.{name}{where if fields else ''}"
        traceback = traceback.tb_next
    return found


@dataclass
class RejectionStats:
    accepted: int = 0
    rejected: int = 0
    by_key: Counter[str | None] = field(default_factory=Counter)
    # The first rejection for each key, with its config shown (secrets redacted).
    first: dict[str | None, tuple[Rejection, str]] = field(default_factory=dict)
    # Rejections by an exception other than a validation error, by its type: a defect of the
    # class, reported by the audit; with the first such message and config.
    odd_errors: Counter[str] = field(default_factory=Counter)
    first_odd: dict[str, tuple[Rejection, str]] = field(default_factory=dict)
    # Once given, the verdict stands: hypothesis must see the same error when it replays.
    verdict: str | None = None

    def record(self, rejection: Rejection, shown: str) -> None:
        self.rejected += 1
        self.by_key[rejection.key] += 1
        self.first.setdefault(rejection.key, (rejection, shown))
        if rejection.odd_error is not None:
            self.odd_errors[rejection.odd_error] += 1
            self.first_odd.setdefault(rejection.odd_error, (rejection, shown))


@dataclass(frozen=True)
class Accepted(Generic[ConfigT]):
    """A drawn config and the instance built from it while checking it."""

    config: dict[str, Any]
    instance: ConfigT


class Acceptance(Generic[ConfigT]):
    """The checks every drawn config of one class passes, and the verdict when none does."""

    def __init__(
        self,
        cls: type[ConfigT],
        route: Route,
        schema: "DefinitionConfigSchema",
        *,
        resource_keys: set[str],
        fixed_keys: set[str],
        only_one_config: bool,
    ) -> None:
        self.cls = cls
        self.route = route
        self.schema = schema
        self.resource_keys = resource_keys
        self.fixed_keys = fixed_keys
        self.only_one_config = only_one_config
        self.stats = RejectionStats()

    def __repr__(self) -> str:
        # Shown by hypothesis in "while generating ..." messages.
        return f"<checks for {self.cls.__name__}>"

    def accept(self, config: dict[str, Any]) -> Accepted[ConfigT] | None:
        # Any exception rejects the config: validators raise what they like (dagster's
        # check.invariant raises CheckError, some raise TypeError), and so may the conversion.
        try:
            instance = self.cls(**config)
            config_dict = {
                key: value
                for key, value in instance._convert_to_config_dictionary().items()
                if key not in self.resource_keys
            }
            errors = dagster_errors(self.schema, config_dict)
        except Exception as error:
            self._reject(rejection_from(error, self.cls, config), config)
            return None
        if errors:
            # Post-processing errors carry a stack trace of Dagster's internals: drop it.
            message = " ".join(errors[0].split("Stack Trace:")[0].split())
            self._reject(Rejection(None, f"Dagster: {message}"), config)
            return None
        self.stats.accepted += 1
        return Accepted(config, instance)

    def _reject(self, rejection: Rejection, config: dict[str, Any]) -> None:
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

    def _fixed_value_verdict(self, rejection: Rejection, config: dict[str, Any]) -> str:
        blamed = rejection.key
        keys = [blamed] if blamed is not None and blamed in self.fixed_keys else list(config)
        given = shown_config(self.cls, {key: config[key] for key in keys})
        return (
            f"{self.route.entry_point}({self.cls.__name__}, {given}) is rejected: "
            f"{rejection.message}. Pass a value that pydantic and Dagster accept"
            + self._odd_error_finding(rejection)
        )

    def _odd_error_finding(self, rejection: Rejection) -> str:
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


def is_accepted(accepted: Accepted[Any] | None) -> bool:
    return accepted is not None
