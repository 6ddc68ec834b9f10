"""The command line's and the ini file's choices for the code-location audit, and the .env
file whose variables its items see."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pytest_resources._definitions.loading import (
    DefinitionsError,
    Target,
    dg_source_root,
    parse_target,
    target_from_pyproject,
)
from pytest_resources._definitions.tuning import INI_OPTION, parse_field_lines


def read_env_file(path: Path) -> dict[str, str]:
    """The variables of a .env file, parsed as ``dagster dev`` parses it (python-dotenv)."""
    from dotenv import dotenv_values

    if not path.is_file():
        raise DefinitionsError(f"--dagster-definitions-env: no such file {path}.")
    return {key: value for key, value in dotenv_values(path).items() if value is not None}


@dataclass(frozen=True)
class Options:
    """The command line's and the ini file's choices for the code-location audit."""

    target: Target
    env: dict[str, str]
    env_source: str
    audit_examples: int
    # The ini table of fields the audits pin: class name (as in audit[NAME]) -> field -> value.
    audit_fields: dict[str, dict[str, Any]]


def options_from(config: pytest.Config) -> Options:
    value = config.getoption("dagster_definitions")
    ini_value = str(config.getini("dagster_definitions")).strip()
    if value:
        target = parse_target(value, "--dagster-definitions", dg_source_root(config.rootpath))
    elif ini_value:
        target = parse_target(
            ini_value, "the ini option dagster_definitions", dg_source_root(config.rootpath)
        )
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
    audit_fields = parse_field_lines(config.getini(INI_OPTION))
    return Options(target, env, env_source, audit_option, audit_fields)
