"""Fields the code location's audit items pin or draw from a strategy of the project's: the ini
table ``dagster_definitions_audit_fields`` and the conftest hook
``pytest_resources_audit_fields``, checked against the audited classes before any item runs."""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest
from pydantic import ValidationError

from pytest_resources._definitions.loading import DefinitionsError
from pytest_resources._definitions.plans import AuditPlan
from pytest_resources._strategies.redaction import shown_value
from pytest_resources._strategies.routes import field_names_by_key, valid_names

INI_OPTION = "dagster_definitions_audit_fields"
_HOOK = "pytest_resources_audit_fields"


def parse_field_lines(lines: list[str]) -> dict[str, dict[str, Any]]:
    """``CLASS.field = value`` lines, by class name (as in ``audit[CLASS]``) then field."""
    table: dict[str, dict[str, Any]] = {}
    for line in lines:
        target, equals, text = line.partition("=")
        name, dot, field_name = target.strip().rpartition(".")
        if not (equals and dot and name and field_name):
            raise DefinitionsError(
                f"the ini option {INI_OPTION}: {line!r} is not 'CLASS.field = value'; write one "
                "line per field, e.g. WarehouseResource.path = ':memory:'"
            )
        try:
            value = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            raise DefinitionsError(
                f"the ini option {INI_OPTION}: the value of {line!r} is not a Python literal; "
                "quote text ('...'), write numbers, True, False, None, lists or dicts as in "
                "Python, or give a strategy from a pytest_resources_audit_fields hook"
            ) from None
        table.setdefault(name, {})[field_name] = value
    return table


def tune_audits(
    audits: list[AuditPlan],
    names: list[str],
    table: Mapping[str, Mapping[str, Any]],
    config: pytest.Config,
) -> list[AuditPlan]:
    """Each audit with the ini table's fields, then the hook's (which win), checked: a class
    the code location does not audit, a field its class lacks or a value it rejects is an
    error naming the fix. ``names`` are the audits' item names, ``audit[NAME]``."""
    unknown = sorted(set(table) - set(names))
    if unknown:
        raise DefinitionsError(
            f"the ini option {INI_OPTION} names {', '.join(map(repr, unknown))}, which the code "
            f"location does not audit; write the name shown in its item audit[NAME]: "
            f"{', '.join(names) or 'it audits no class'}"
        )
    tuned = []
    for audit, name in zip(audits, names, strict=True):
        from_ini, from_hook = table.get(name, {}), _hook_fields(audit, config)
        for source, given in (
            (f"the ini option {INI_OPTION}", from_ini),
            (f"a {_HOOK} hook", from_hook),
        ):
            for field_name, value in given.items():
                _check_field(audit.resource_class, field_name, value, f"{source}, for {name},")
        overrides = {**audit.overrides, **from_ini, **from_hook}
        tuned.append(dataclasses.replace(audit, overrides=overrides))
    return tuned


def _hook_fields(audit: AuditPlan, config: pytest.Config) -> dict[str, Any]:
    """What the hook implementations return for a class; the first to give a field wins
    (pytest calls the innermost conftest's first)."""
    results = config.hook.pytest_resources_audit_fields(
        resource_class=audit.resource_class, key=audit.key, config=config
    )
    fields: dict[str, Any] = {}
    for result in results:
        if not isinstance(result, Mapping):
            raise DefinitionsError(
                f"{_HOOK}(resource_class={audit.name}, ...) returned "
                f"{type(result).__name__}; return a dict of field names to values or "
                "hypothesis strategies, or None to leave the class as it is"
            )
        for field_name, value in result.items():
            fields.setdefault(field_name, value)
    return fields


def _check_field(resource_class: type[Any], field_name: Any, value: Any, where: str) -> None:
    from hypothesis.strategies import SearchStrategy

    names = field_names_by_key(resource_class)
    if field_name not in names:
        raise DefinitionsError(
            f"{where} pins {field_name!r}, which is no field of "
            f"{resource_class.__qualname__}; pin one of its fields, {valid_names(resource_class)}"
        )
    if isinstance(value, SearchStrategy):
        return  # the audit says when none of its values is accepted
    validator = resource_class.__pydantic_validator__
    try:
        # One field alone, its own validators included, on an instance with no fields set.
        validator.validate_assignment(resource_class.model_construct(), names[field_name], value)
    except ValidationError as error:
        reason = error.errors()[0]["msg"]
    except Exception as error:  # a validator that raises what pydantic does not wrap
        reason = f"validating it raised {type(error).__name__}"
    else:
        return
    raise DefinitionsError(
        f"{where} pins {field_name} = "
        f"{shown_value(resource_class, field_name, value)}, which "
        f"{resource_class.__qualname__} rejects: {reason}; pin a value it accepts"
    )
