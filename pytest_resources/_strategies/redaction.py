"""How a drawn config is shown in messages: as the user would pass it, secrets redacted."""

import re
from collections.abc import Mapping
from typing import Any

import dagster as dg

from pytest_resources._strategies.routes import field_names_by_key, kwarg

# Field names whose values are not shown in messages, besides fields marked dagster__is_secret.
_SECRET_NAME = re.compile(r"token|passw|secret|api_?key|private_?key|credential", re.IGNORECASE)
# Shorter secrets are not masked inside an exception's text: "ab" would mask half the message.
_SHORTEST_MASKED_SECRET = 4


def _is_secret(cls: type[dg.Config], key: str) -> bool:
    info = cls.model_fields.get(field_names_by_key(cls).get(key, key))
    extra = info.json_schema_extra if info is not None else None
    marked = isinstance(extra, Mapping) and extra.get("dagster__is_secret") is True
    return marked or _SECRET_NAME.search(key) is not None


def shown_value(cls: type[dg.Config], key: str, value: Any) -> str:
    """``repr(value)`` of field ``key``, redacted when the field holds a secret."""
    from pytest_resources._leak_audit import redact

    return redact(value) if _is_secret(cls, key) else repr(value)


def shown_config(cls: type[dg.Config], config: Mapping[str, Any]) -> str:
    """``key=value, ...`` as the user would pass it, secrets redacted."""
    return ", ".join(kwarg(key, shown_value(cls, key, value)) for key, value in config.items())


def masked(cls: type[dg.Config], config: Mapping[str, Any], text: str) -> str:
    """``text`` with the values of ``config``'s secret fields redacted."""
    for key, value in config.items():
        long_enough = isinstance(value, str) and len(value) >= _SHORTEST_MASKED_SECRET
        if long_enough and _is_secret(cls, key):
            # Its repr first: an exception message often quotes the value with repr().
            for spelling in (repr(value), value):
                text = text.replace(spelling, shown_value(cls, key, value))
    return text
