"""The audits of serialized forms: ``find_private_leaks`` on a resource, ``find_yielded_leaks``
on what it handed to ops, the opt-in ``find_secret_exposures``, and ``assert_no_private_leaks``
failing a test on them."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping

from pydantic import BaseModel

import pytest_resources._leak_audit.values as values
from pytest_resources._errors import PrivateStateLeak
from pytest_resources._leak_audit.config import ResolvedConfig
from pytest_resources._leak_audit.forms import (
    FORMS,
    SNAPSHOT_FORM,
    hits_in_forms,
    is_dagster_resource,
)
from pytest_resources._leak_audit.report import (
    LIVE_COPY,
    RESOURCE,
    USER_INSTANCE,
    YIELDED_VALUE,
    Leak,
    NotInspected,
    SecretExposure,
    format_leak_report,
    format_not_inspected,
    redact,
)
from pytest_resources._leak_audit.search import NeedleIndex

_FIRST_KEY = re.compile(r"""(?:\['__dict__'\])?\[['"]?([A-Za-z_]\w*)['"]?[\]=]""")
_REPR_HINT = "Leave secrets out of repr() and str(): declare the field with Field(repr=False)."
_MARKED_SECRET_HINT = (
    "dagster__is_secret only masks a field in the UI: the repository snapshot keeps the "
    "plaintext. Set the field with EnvVar('NAME') so the snapshot holds only the variable's name."
)
_SCHEMA_DEFAULT_HINT = (
    "A default computed at import (EnvVar('NAME').get_value(), os.environ[...]) puts the secret "
    "in the config schema and every snapshot: declare the field without a default and set it "
    "with EnvVar('NAME') where the resource is configured."
)
_SCHEMA_DEFAULT = "config schema default"
# Environment variable and field names that hold a secret: a schema default equal to the value
# of such a variable was read from the environment at import.
_SECRET_NAME = re.compile(
    r"token|secret|passw|pwd|api_?key|access_?key|private_?key|credential|auth|cert|session",
    re.IGNORECASE,
)


def find_private_leaks(
    resource: object,
    *,
    key: str | None = None,
    when: str | None = None,
    user_instance: object | None = None,
    audit_user_instance: bool = True,
    resolved_config: ResolvedConfig | None = None,
    not_inspected: list[NotInspected] | None = None,
) -> list[Leak]:
    """Every place where ``resource``'s run state shows in a serialized form of its config.

    ``resource`` is typically the live copy Dagster set up for a run. When the user's own instance
    is given it is audited too (unless ``audit_user_instance=False``: a run never changes it, so
    once per run is enough). Run state is every private value that is not config: what
    ``resolved_config`` covers (by default :meth:`ResolvedConfig.of` the user's instance, its
    ``EnvVar``s as the live copy resolved them) is no leak wherever it is kept. Without either,
    the audit cannot tell config from run state and counts every private value.
    Private values the audit cannot read (a dead ``weakref.proxy``, a proxy whose every attribute
    raises) are skipped, and appended to ``not_inspected`` when given.
    Raises ``TypeError`` for an object that is not a pydantic model.
    """
    model = values.require_model(resource, "find_private_leaks")
    config = resolved_config
    audits = [(RESOURCE, model)]
    if user_instance is not None and user_instance is not resource:
        user_model = values.require_model(user_instance, "find_private_leaks")
        config = config or ResolvedConfig.of(user_model, live_copy=model)
        audits = [
            (LIVE_COPY, model),
            *([(USER_INSTANCE, user_model)] if audit_user_instance else []),
        ]
    return [
        leak
        for audited, audited_model in audits
        for leak in _audit(audited_model, key, when, audited, config, not_inspected)
    ]


def find_yielded_leaks(
    live_copy: object,
    yielded: object,
    *,
    key: str | None = None,
    when: str | None = None,
    resource_class: type | None = None,
    resolved_config: ResolvedConfig | None = None,
    not_inspected: list[NotInspected] | None = None,
) -> list[Leak]:
    """The live copy's run state in what ``yield_for_execution`` handed to ops.

    Audited when ``yielded`` is another instance of the resource's class (``resource_class``,
    by default the live copy's), such as a ``model_copy``: ops log and serialize it as the
    resource's config. A client or connection handed to ops is run state by design, not audited.
    """
    model = values.require_model(live_copy, "find_yielded_leaks")
    if (
        yielded is model
        or not isinstance(yielded, BaseModel)
        or not isinstance(yielded, resource_class or type(model))
    ):
        return []
    return _audit(yielded, key, when, YIELDED_VALUE, resolved_config, not_inspected, also=model)


def assert_no_private_leaks(
    obj: object,
    *,
    key: str | None = None,
    when: str | None = None,
    user_instance: object | None = None,
    check_secrets: bool = False,
) -> None:
    """Fail with :class:`PrivateStateLeak` listing every leak of ``obj``'s private state.

    ``obj`` is a resource (or any pydantic model), typically the live copy a run set up; pass the
    user's instance as ``user_instance`` to have it audited too and its config values excused.
    ``check_secrets=True`` also fails on secret config shown in plaintext (see
    :func:`find_secret_exposures`). Raises ``TypeError`` for an object that is not a pydantic model.
    """
    __tracebackhide__ = True
    skipped: list[NotInspected] = []
    problems: list[Leak | SecretExposure] = [
        *find_private_leaks(
            obj, key=key, when=when, user_instance=user_instance, not_inspected=skipped
        )
    ]
    if check_secrets:
        problems.extend(find_secret_exposures(obj, key=key, when=when, user_instance=user_instance))
    if problems:
        report = format_leak_report(problems)
        raise PrivateStateLeak(
            f"{report}\n\n{format_not_inspected(skipped)}" if skipped else report
        )


def _audit(
    model: BaseModel,
    key: str | None,
    when: str | None,
    audited: str,
    config: ResolvedConfig | None,
    not_inspected: list[NotInspected] | None,
    also: BaseModel | None = None,
) -> list[Leak]:
    """``model``'s private values (and those of ``also``, the live copy a yielded copy came from)
    in every form of ``model``."""
    all_needles, names, skipped = values.private_needles(model)
    if also is not None:
        also_needles, also_names, also_skipped = values.private_needles(also)
        all_needles, names = [*also_needles, *all_needles], {**also_names, **names}
        skipped = [*also_skipped, *skipped]
    if not_inspected is not None:
        not_inspected.extend(
            NotInspected(key, type(model).__qualname__, attribute, when, error)
            for attribute, error in skipped
        )
    needles = NeedleIndex(
        needle
        for needle in all_needles
        # The resource's key is the run's own naming: a private copy of it is no leak.
        if (config is None or not config.covers(needle.value))
        and not (isinstance(needle.value, str) and needle.value == key)
    )
    if not needles.needles and not names:
        return []
    forms = [form for form in FORMS if is_dagster_resource(model) or not form.dagster_only]
    hits = list(hits_in_forms(model, key, forms, needles, names))
    # The fields each private value landed in: the line that copied it there is the one to show.
    landed: dict[str, set[str]] = {}
    for form, hit in hits:
        field_name = _FIRST_KEY.match(hit.path[len(form.name) :])
        if field_name and field_name.group(1) in type(model).model_fields:
            landed.setdefault(hit.needle.attribute, set()).add(field_name.group(1))
    return [
        Leak(
            resource_key=key,
            resource_class=type(model).__qualname__,
            audited=audited,
            private_attribute=hit.needle.attribute,
            matched="name" if hit.by_name else "value",
            form=form.name,
            path=hit.path,
            when=when,
            redacted_value=redact(hit.needle.value),
            stored_at=values.storing_line(
                type(model), hit.needle.attribute, landed.get(hit.needle.attribute, set())
            ),
        )
        for form, hit in hits
    ]


def find_secret_exposures(
    resource: object,
    *,
    key: str | None = None,
    when: str | None = None,
    user_instance: object | None = None,
) -> list[SecretExposure]:
    """Secret config values shown in plaintext in ``repr()``, ``str()`` or the repository snapshot.

    A field is secret when marked ``json_schema_extra={"dagster__is_secret": True}`` or set from an
    ``EnvVar`` on the user's instance (only known when ``user_instance`` is given). ``repr()`` and
    ``str()`` of both objects are checked; the snapshot is built from the user's instance (or from
    ``resource`` without one), because that is the object Dagster builds the UI's snapshot from.
    """
    model = values.require_model(resource, "find_secret_exposures")
    user_model = (
        None
        if user_instance is None
        else values.require_model(user_instance, "find_secret_exposures")
    )
    exposures = list(_secrets_in_schema_defaults(user_model or model, key, when))
    needles = NeedleIndex(
        needle
        for config_field, reason, plaintext in _secret_fields(model, user_model, prefix="")
        for needle in values.needles_for(config_field, reason, plaintext)
    )
    if not needles.needles:
        return exposures
    audits = (
        [(RESOURCE, model)]
        if user_model is None
        else [(USER_INSTANCE, user_model), (LIVE_COPY, model)]
    )
    # A plain secret shows alike in both objects' repr(): said once, for the user's instance.
    shown: set[tuple[str, str]] = set()
    for audited, audited_model in audits:
        forms = [form for form in FORMS if form.is_text]
        if audited != LIVE_COPY and is_dagster_resource(audited_model):
            forms.append(SNAPSHOT_FORM)
        for form, hit in hits_in_forms(audited_model, key, forms, needles, names={}):
            if (hit.needle.attribute, hit.path) in shown:
                continue
            shown.add((hit.needle.attribute, hit.path))
            exposures.append(
                SecretExposure(
                    resource_key=key,
                    resource_class=type(audited_model).__qualname__,
                    audited=audited,
                    config_field=hit.needle.attribute,
                    reason=hit.needle.detail,
                    form=form.name,
                    path=hit.path,
                    when=when,
                    redacted_value=redact(hit.needle.value),
                    hint=_REPR_HINT if form.is_text else _MARKED_SECRET_HINT,
                )
            )
    return exposures


def _secrets_in_schema_defaults(
    model: BaseModel, key: str | None, when: str | None
) -> Iterator[SecretExposure]:
    """Field defaults that are the value of a secret-looking environment variable: a secret read
    at import and baked into the config schema (which every snapshot carries)."""
    secret_variables: dict[str, list[str]] = {}
    for name, value in os.environ.items():
        if len(value.strip()) >= values.MIN_TEXT_LENGTH:
            secret_variables.setdefault(value, []).append(name)
    pending: list[tuple[str, type[BaseModel], int]] = [("", type(model), 0)]
    seen: set[type[BaseModel]] = set()
    while pending:
        prefix, model_class, depth = pending.pop()
        if model_class in seen or depth > values.MAX_NESTED_RESOURCE_DEPTH:
            continue
        seen.add(model_class)
        for name, info in model_class.model_fields.items():
            default = info.default
            if isinstance(default, str) and not values.is_env_var(default):
                looks_secret = _SECRET_NAME.search(name) or _is_marked_secret(model_class, name)
                named_secret = [
                    variable
                    for variable in secret_variables.get(str.__str__(default), [])
                    if looks_secret or _SECRET_NAME.search(variable)
                ]
                if named_secret:
                    yield SecretExposure(
                        resource_key=key,
                        resource_class=model_class.__qualname__,
                        audited="the class",
                        config_field=f"{prefix}{name}",
                        reason=f"its default is the value of ${named_secret[0]}",
                        form=_SCHEMA_DEFAULT,
                        path=f"{_SCHEMA_DEFAULT}['{prefix}{name}']",
                        when=when,
                        redacted_value=redact(default),
                        hint=_SCHEMA_DEFAULT_HINT,
                    )
            annotation = info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                pending.append((f"{prefix}{name}.", annotation, depth + 1))


def _secret_fields(
    resource: BaseModel, user_instance: BaseModel | None, prefix: str
) -> Iterator[tuple[str, str, object]]:
    """(field path, why it is secret, its plaintext) for each secret field, nested ones included."""
    user_fields = dict(values.public_fields(user_instance)) if user_instance is not None else {}
    for name, value in values.public_fields(resource):
        user_value = user_fields.get(name)
        if values.is_env_var(user_value):
            reason = f"from EnvVar({user_value.env_var_name!r})"
        elif _is_marked_secret(type(resource), name):
            reason = "marked dagster__is_secret"
        else:
            continue
        plaintext = value.get_value() if values.is_env_var(value) else value
        if values.is_significant(plaintext):
            yield f"{prefix}{name}", reason, plaintext
    user_nested = dict(values.nested_models(user_instance)) if user_instance is not None else {}
    for field_path, nested in values.nested_models(resource):
        yield from _secret_fields(nested, user_nested.get(field_path), f"{prefix}{field_path}.")


def _is_marked_secret(model_class: type[BaseModel], name: str) -> bool:
    extra = model_class.model_fields[name].json_schema_extra
    return isinstance(extra, Mapping) and extra.get("dagster__is_secret") is True
