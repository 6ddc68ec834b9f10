"""The audit of private state: ``find_private_leaks`` on a resource, ``find_yielded_leaks``
on what it handed to ops, and ``assert_no_private_leaks`` failing a test on either."""

from __future__ import annotations

import re

from pydantic import BaseModel

from pytest_resources._errors import PrivateStateLeak
from pytest_resources._leak_audit.cache import _hits_in_forms
from pytest_resources._leak_audit.forms import _FORMS, _is_dagster_resource
from pytest_resources._leak_audit.needles import (
    _Needle,
    _private_needles_and_names,
    _PrivateName,
    _require_model,
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
from pytest_resources._leak_audit.resolved_config import ResolvedConfig
from pytest_resources._leak_audit.search import _NeedleIndex
from pytest_resources._leak_audit.secrets import find_secret_exposures
from pytest_resources._leak_audit.user_code import _storing_line


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
    model = _require_model(resource, "find_private_leaks")
    config = resolved_config
    if user_instance is None or user_instance is resource:
        audits = [(RESOURCE, model)]
    else:
        user_model = _require_model(user_instance, "find_private_leaks")
        if config is None:
            config = ResolvedConfig.of(user_model, live_copy=model)
        audits = [(LIVE_COPY, model)]
        if audit_user_instance:
            audits.append((USER_INSTANCE, user_model))
    leaks: list[Leak] = []
    for audited, audited_model in audits:
        leaks.extend(_audit_private_state(audited_model, key, when, audited, config, not_inspected))
    return leaks


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
    model = _require_model(live_copy, "find_yielded_leaks")
    if (
        yielded is model
        or not isinstance(yielded, BaseModel)
        or not isinstance(yielded, resource_class or type(model))
    ):
        return []
    return _audit_private_state(
        yielded,
        key,
        when,
        YIELDED_VALUE,
        resolved_config,
        not_inspected,
        also=_private_needles_and_names(model),
    )


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


def _audit_private_state(
    model: BaseModel,
    key: str | None,
    when: str | None,
    audited: str,
    config: ResolvedConfig | None,
    not_inspected: list[NotInspected] | None,
    also: tuple[list[_Needle], dict[str, _PrivateName], list[tuple[str, str]]] | None = None,
) -> list[Leak]:
    all_needles, names, skipped = _private_needles_and_names(model)
    if also is not None:
        all_needles = [*also[0], *all_needles]
        names = {**also[1], **names}
        skipped = [*also[2], *skipped]
    if not_inspected is not None:
        not_inspected.extend(
            NotInspected(key, type(model).__qualname__, attribute, when, error)
            for attribute, error in skipped
        )
    needles = _NeedleIndex(
        needle
        for needle in all_needles
        # The resource's key is the run's own naming: a private copy of it is no leak.
        if (config is None or not config.covers(needle.value))
        and not (isinstance(needle.value, str) and needle.value == key)
    )
    if not needles and not names:
        return []
    forms = [form for form in _FORMS if _is_dagster_resource(model) or not form.dagster_only]
    hits = list(_hits_in_forms(model, key, forms, needles, names))
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
            stored_at=_storing_line(
                type(model), hit.needle.attribute, landed.get(hit.needle.attribute, set())
            ),
        )
        for form, hit in hits
    ]


_FIRST_KEY = re.compile(r"""(?:\['__dict__'\])?\[['"]?([A-Za-z_]\w*)['"]?[\]=]""")
