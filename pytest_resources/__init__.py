"""pytest-resources: prove that Dagster resources behave over their whole lifetime.

The public surface is what this module exports. Importing it stays cheap (no dagster, no
hypothesis): the classes that need Dagster load on first access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pytest_resources._errors import (
    ConfigFailure,
    LifecycleError,
    PrivateStateLeak,
    ReleaseCheckUnavailable,
    ResourceUsageError,
)

if TYPE_CHECKING:
    from pytest_resources._audit import AuditSummary
    from pytest_resources._context import Run, RunContext
    from pytest_resources._faults import Fault, InjectedFault, faults
    from pytest_resources._leak_audit import assert_no_private_leaks, find_private_leaks
    from pytest_resources._lifecycle import Lifecycle
    from pytest_resources._multiprocess.result import RunResult
    from pytest_resources._recording import Event
    from pytest_resources._release_check import release_check_available
    from pytest_resources._strategies import (
        ConfigWithEnv,
        env_applied,
        register_resource_strategies,
        resource_configs,
        resource_configs_with_env,
        resources,
    )

__all__ = [
    "AuditSummary",
    "ConfigFailure",
    "ConfigWithEnv",
    "Event",
    "Fault",
    "InjectedFault",
    "Lifecycle",
    "LifecycleError",
    "PrivateStateLeak",
    "ReleaseCheckUnavailable",
    "ResourceUsageError",
    "Run",
    "RunContext",
    "RunResult",
    "assert_no_private_leaks",
    "env_applied",
    "faults",
    "find_private_leaks",
    "register_resource_strategies",
    "release_check_available",
    "resource_configs",
    "resource_configs_with_env",
    "resources",
]

_LAZY = {
    "AuditSummary": "pytest_resources._audit",
    "Fault": "pytest_resources._faults",
    "InjectedFault": "pytest_resources._faults",
    "faults": "pytest_resources._faults",
    "Event": "pytest_resources._recording",
    "Lifecycle": "pytest_resources._lifecycle",
    "Run": "pytest_resources._context",
    "RunContext": "pytest_resources._context",
    "RunResult": "pytest_resources._multiprocess.result",
    "assert_no_private_leaks": "pytest_resources._leak_audit",
    "find_private_leaks": "pytest_resources._leak_audit",
    "release_check_available": "pytest_resources._release_check",
    "ConfigWithEnv": "pytest_resources._strategies",
    "env_applied": "pytest_resources._strategies",
    "register_resource_strategies": "pytest_resources._strategies",
    "resource_configs": "pytest_resources._strategies",
    "resource_configs_with_env": "pytest_resources._strategies",
    "resources": "pytest_resources._strategies",
}


def __getattr__(name: str) -> Any:
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'pytest_resources' has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), name)
