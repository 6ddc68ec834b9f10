"""Drawing str and int fields as ``EnvVar``s, and putting their values in the environment
(``env_applied``)."""

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

import dagster as dg
import hypothesis.strategies as st

from pytest_resources._environ import env_applied

__all__ = ["ENVIRON_TEXT", "ConfigWithEnv", "env_applied", "with_env"]

# os.environ cannot hold NUL or lone surrogates.
ENVIRON_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"))

# EnvVar.int() returns a class that dagster does not export.
_INT_ENV_VAR = type(dg.EnvVar.int("_"))


class ConfigWithEnv(NamedTuple):
    """A config in which some str/int fields are ``EnvVar``s, and the variables they read."""

    config: dict[str, Any]
    env: dict[str, str]

    def __repr__(self) -> str:
        # EnvVar.int(...) holds a placeholder 0 and shows as 0: show what it is instead.
        shown = ", ".join(f"{key!r}: {_show_env_var(value)}" for key, value in self.config.items())
        return f"ConfigWithEnv(config={{{shown}}}, env={self.env!r})"


def _show_env_var(value: Any) -> str:
    if isinstance(value, dg.EnvVar):
        return f"EnvVar({value.env_var_name!r})"
    if isinstance(value, _INT_ENV_VAR):
        return f"EnvVar.int({value.name!r})"
    return repr(value)


def _fits_environ(value: str) -> bool:
    return "\x00" not in value and not any("\ud800" <= char <= "\udfff" for char in value)


def with_env(
    cls: type[dg.Config],
    environ_kinds: Mapping[str, type],
    accepted_config: Mapping[str, Any],
    use_environ: Mapping[str, bool],
) -> ConfigWithEnv:
    """An accepted config with the fields ``use_environ`` picks read from variables, where the
    class still takes them as ``EnvVar``s; the config as drawn otherwise."""
    config = dict(accepted_config)
    env: dict[str, str] = {}
    names: dict[str, str] = {}
    for key, wanted in use_environ.items():
        value = config.get(key)
        # type() rather than isinstance(): an absent field, a bool, a str enum or an EnvVar
        # given as an override stays as drawn.
        if not wanted or type(value) is not environ_kinds[key]:
            continue
        if isinstance(value, str) and not _fits_environ(value):
            continue
        name = re.sub(r"[^A-Za-z0-9]", "_", f"PYTEST_RESOURCES_{cls.__name__}_{key}").upper()
        config[key] = dg.EnvVar(name) if isinstance(value, str) else dg.EnvVar.int(name)
        env[name] = str(value)
        names[key] = name
    if not env:
        return ConfigWithEnv(config, env)
    try:
        kept = cls(**config)._convert_to_config_dictionary()
    except Exception:
        # A model validator saw the variable's name (or EnvVar.int's placeholder 0) instead
        # of its value: this class cannot take EnvVars for these fields.
        return ConfigWithEnv(dict(accepted_config), {})
    for key, name in names.items():
        # Dagster 1.8 drops an EnvVar.int whose placeholder 0 equals the field's default.
        if kept.get(key) != {"env": name}:
            config[key] = accepted_config[key]
            del env[name]
    return ConfigWithEnv(config, env)
