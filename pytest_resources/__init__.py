"""pytest-resources: prove that Dagster resources behave over their whole lifetime.

The public surface is what this module exports. Importing it stays cheap (no dagster, no
hypothesis): the classes that need Dagster load on first access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pytest_resources._errors import LifecycleError, PrivateStateLeak, ResourceUsageError

if TYPE_CHECKING:
    from pytest_resources._recording import Event
    from pytest_resources._run import Lifecycle, Run, RunContext

__all__ = [
    "Event",
    "Lifecycle",
    "LifecycleError",
    "PrivateStateLeak",
    "ResourceUsageError",
    "Run",
    "RunContext",
]

_LAZY = {
    "Event": "pytest_resources._recording",
    "Lifecycle": "pytest_resources._run",
    "Run": "pytest_resources._run",
    "RunContext": "pytest_resources._run",
}


def __getattr__(name: str) -> Any:
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'pytest_resources' has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), name)
