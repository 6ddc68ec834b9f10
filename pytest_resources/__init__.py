"""pytest-resources: prove that Dagster resources behave over their whole lifetime.

The public surface is ``_PUBLIC``: every name the package exports, with the module that defines
it. Importing the package stays cheap (no dagster, no hypothesis): a name loads its module on
first access. The imports under ``TYPE_CHECKING`` are the same names, for type checkers (a test
keeps them equal).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_PUBLIC = {
    "AuditSummary": "pytest_resources._audit",
    "ConfigFailure": "pytest_resources._errors",
    "ConfigWithEnv": "pytest_resources._strategies",
    "Event": "pytest_resources._recording",
    "Fault": "pytest_resources._faults",
    "Hook": "pytest_resources._recording",
    "InjectedFault": "pytest_resources._faults",
    "Leak": "pytest_resources._leak_audit",
    "Lifecycle": "pytest_resources._lifecycle",
    "LifecycleError": "pytest_resources._errors",
    "Location": "pytest_resources._recording",
    "OpenResources": "pytest_resources._context",
    "PrivateStateLeak": "pytest_resources._errors",
    "ReleaseCheckUnavailable": "pytest_resources._errors",
    "ResourceUsageError": "pytest_resources._errors",
    "Run": "pytest_resources._context",
    "RunContext": "pytest_resources._context",
    "RunResult": "pytest_resources._multiprocess.result",
    "RunScope": "pytest_resources._context",
    "assert_no_private_leaks": "pytest_resources._leak_audit",
    "env_applied": "pytest_resources._strategies",
    "faults": "pytest_resources._faults",
    "find_private_leaks": "pytest_resources._leak_audit",
    "register_resource_strategies": "pytest_resources._strategies",
    "release_check_available": "pytest_resources._release_check",
    "resource_configs": "pytest_resources._strategies",
    "resource_configs_with_env": "pytest_resources._strategies",
    "resource_instances": "pytest_resources._strategies",
}

__all__ = sorted(_PUBLIC)

if TYPE_CHECKING:
    from pytest_resources._audit import AuditSummary as AuditSummary
    from pytest_resources._context import OpenResources as OpenResources
    from pytest_resources._context import Run as Run
    from pytest_resources._context import RunContext as RunContext
    from pytest_resources._context import RunScope as RunScope
    from pytest_resources._errors import ConfigFailure as ConfigFailure
    from pytest_resources._errors import LifecycleError as LifecycleError
    from pytest_resources._errors import PrivateStateLeak as PrivateStateLeak
    from pytest_resources._errors import ReleaseCheckUnavailable as ReleaseCheckUnavailable
    from pytest_resources._errors import ResourceUsageError as ResourceUsageError
    from pytest_resources._faults import Fault as Fault
    from pytest_resources._faults import InjectedFault as InjectedFault
    from pytest_resources._faults import faults as faults
    from pytest_resources._hooks import Hook as Hook
    from pytest_resources._hooks import Location as Location
    from pytest_resources._leak_audit import Leak as Leak
    from pytest_resources._leak_audit import assert_no_private_leaks as assert_no_private_leaks
    from pytest_resources._leak_audit import find_private_leaks as find_private_leaks
    from pytest_resources._lifecycle import Lifecycle as Lifecycle
    from pytest_resources._multiprocess.result import RunResult as RunResult
    from pytest_resources._recording import Event as Event
    from pytest_resources._release_check import release_check_available as release_check_available
    from pytest_resources._strategies import ConfigWithEnv as ConfigWithEnv
    from pytest_resources._strategies import env_applied as env_applied
    from pytest_resources._strategies import (
        register_resource_strategies as register_resource_strategies,
    )
    from pytest_resources._strategies import resource_configs as resource_configs
    from pytest_resources._strategies import resource_configs_with_env as resource_configs_with_env
    from pytest_resources._strategies import resource_instances as resource_instances


def __getattr__(name: str) -> Any:
    try:
        module = _PUBLIC[name]
    except KeyError:
        raise AttributeError(f"module 'pytest_resources' has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), name)
