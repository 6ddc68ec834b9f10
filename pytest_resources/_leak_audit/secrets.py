"""The opt-in secrets check: secret config values shown in plaintext in ``repr()``, ``str()``,
the repository snapshot, or baked into the config schema as a default."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping

from pydantic import BaseModel

from pytest_resources._leak_audit.cache import _hits_in_forms
from pytest_resources._leak_audit.forms import _FORMS, _SNAPSHOT_FORM, _is_dagster_resource
from pytest_resources._leak_audit.needles import (
    _MAX_NESTED_RESOURCE_DEPTH,
    MIN_TEXT_LENGTH,
    _env_var_name,
    _env_var_value,
    _is_env_var,
    _is_significant,
    _needles_for,
    _nested_models,
    _public_fields,
    _require_model,
)
from pytest_resources._leak_audit.report import (
    LIVE_COPY,
    RESOURCE,
    USER_INSTANCE,
    SecretExposure,
    redact,
)
from pytest_resources._leak_audit.search import _NeedleIndex

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
SCHEMA_DEFAULT = "config schema default"
# Environment variable and field names that hold a secret: a schema default equal to the value
# of such a variable was read from the environment at import.
_SECRET_NAME = re.compile(
    r"token|secret|passw|pwd|api_?key|access_?key|private_?key|credential|auth|cert|session",
    re.IGNORECASE,
)


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
    model = _require_model(resource, "find_secret_exposures")
    user_model = (
        None if user_instance is None else _require_model(user_instance, "find_secret_exposures")
    )
    exposures = list(_secrets_in_schema_defaults(user_model or model, key, when))
    secrets = list(_secret_fields(model, user_model, prefix=""))
    if not secrets:
        return exposures
    needles = _NeedleIndex(
        needle
        for config_field, reason, plaintext in secrets
        for needle in _needles_for(config_field, reason, plaintext)
    )
    audits = (
        [(RESOURCE, model, True)]
        if user_model is None
        else [(LIVE_COPY, model, False), (USER_INSTANCE, user_model, True)]
    )
    for audited, audited_model, shows_in_snapshot in audits:
        forms = [form for form in _FORMS if form.is_text]
        if shows_in_snapshot and _is_dagster_resource(audited_model):
            forms.append(_SNAPSHOT_FORM)
        for form, hit in _hits_in_forms(audited_model, key, forms, needles, names={}):
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
        if len(value.strip()) >= MIN_TEXT_LENGTH:
            secret_variables.setdefault(value, []).append(name)
    pending: list[tuple[str, type[BaseModel], int]] = [("", type(model), 0)]
    seen: set[type[BaseModel]] = set()
    while pending:
        prefix, model_class, depth = pending.pop()
        if model_class in seen or depth > _MAX_NESTED_RESOURCE_DEPTH:
            continue
        seen.add(model_class)
        for name, info in model_class.model_fields.items():
            default = info.default
            if isinstance(default, str) and not _is_env_var(default):
                variables = secret_variables.get(str.__str__(default), [])
                looks_secret = _SECRET_NAME.search(name) or _is_marked_secret(model_class, name)
                named_secret = [
                    var for var in variables if looks_secret or _SECRET_NAME.search(var)
                ]
                if named_secret:
                    yield SecretExposure(
                        resource_key=key,
                        resource_class=model_class.__qualname__,
                        audited="the class",
                        config_field=f"{prefix}{name}",
                        reason=f"its default is the value of ${named_secret[0]}",
                        form=SCHEMA_DEFAULT,
                        path=f"{SCHEMA_DEFAULT}['{prefix}{name}']",
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
    user_fields = dict(_public_fields(user_instance)) if user_instance is not None else {}
    for name, value in _public_fields(resource):
        user_value = user_fields.get(name)
        if _is_env_var(user_value):
            reason = f"from EnvVar({_env_var_name(user_value)!r})"
        elif _is_marked_secret(type(resource), name):
            reason = "marked dagster__is_secret"
        else:
            continue
        plaintext = _env_var_value(value) if _is_env_var(value) else value
        if _is_significant(plaintext):
            yield f"{prefix}{name}", reason, plaintext
    user_nested = dict(_nested_models(user_instance)) if user_instance is not None else {}
    for field_path, nested in _nested_models(resource):
        yield from _secret_fields(nested, user_nested.get(field_path), f"{prefix}{field_path}.")


def _is_marked_secret(model_class: type[BaseModel], name: str) -> bool:
    extra = model_class.model_fields[name].json_schema_extra
    return isinstance(extra, Mapping) and extra.get("dagster__is_secret") is True
