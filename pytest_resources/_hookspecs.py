"""The hooks pytest-resources adds, for a ``conftest.py`` to implement."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest


@pytest.hookspec
def pytest_resources_audit_fields(
    resource_class: type[Any], key: str, config: pytest.Config
) -> Mapping[str, Any] | None:
    """Fields to pin for the ``--dagster-definitions-audit`` item of ``resource_class``: a dict
    of field names (or aliases) to a value every generated config takes, or to a hypothesis
    strategy to draw it from; ``None`` leaves the class as it is.

    :param resource_class: the audited class.
    :param key: the first resource key of the ``Definitions`` that holds it.
    :param config: the pytest config.

    Called once per audited class while the code location is collected. When several conftest
    files give one field, the innermost wins; a field given here wins over the ini option
    ``dagster_definitions_audit_fields``.
    """
