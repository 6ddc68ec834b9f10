"""The project's and the test's choices for the checks that can be switched off."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from pytest_resources._release_check import DEFAULT_ALLOW, AllowList


@dataclass(frozen=True)
class Settings:
    """The project's and the test's choices for the checks that can be switched off."""

    leak_audit: bool = True
    check_secrets: bool = False
    release_check: bool = False
    strict_detectors: bool = False
    release_allow: AllowList = DEFAULT_ALLOW

    def overridden(self, **choices: bool | None) -> Settings:
        """A copy with the choices that were made (not None)."""
        made: dict[str, Any] = {name: value for name, value in choices.items() if value is not None}
        return dataclasses.replace(self, **made)
