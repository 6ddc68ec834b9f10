"""The checks a test's runs apply: the project's ini settings, as the test's marks override
them. Imported by the plugin and by code-location items; cheap (Dagster loads on first call)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_resources._settings import Settings


def settings_from(config: pytest.Config) -> Settings:
    from pytest_resources._release_check import DEFAULT_ALLOW
    from pytest_resources._settings import Settings

    allowed: list[str] = config.getini("resources_release_allow")
    threads = [
        pattern.removeprefix("thread:") for pattern in allowed if pattern.startswith("thread:")
    ]
    paths = [pattern for pattern in allowed if not pattern.startswith("thread:")]
    return Settings(
        leak_audit=config.getini("resources_leak_audit"),
        check_secrets=config.getini("resources_check_secrets"),
        release_check=config.getini("resources_release_check"),
        strict_detectors=config.getini("resources_strict_detectors"),
        release_allow=DEFAULT_ALLOW.extend(paths=paths, thread_names=threads),
    )


def choices_marked_on(item: pytest.Item) -> dict[str, bool | None]:
    return {
        "leak_audit": False if item.get_closest_marker("no_leak_audit") else None,
        "release_check": True if item.get_closest_marker("release_check") else None,
    }


def item_settings(item: pytest.Item) -> Settings:
    """The checks a test's runs apply: the project's, as the test's marks override them."""
    return settings_from(item.config).overridden(**choices_marked_on(item))
