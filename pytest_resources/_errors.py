"""The exceptions a user sees. Importing this module must stay cheap: no dagster, no hypothesis."""

from __future__ import annotations


class LifecycleError(AssertionError):
    """A resource broke a lifecycle rule (setup, teardown or ``yield_for_execution``)."""


class PrivateStateLeak(AssertionError):
    """A resource's private state showed up in a serialized form of its config."""


class ConfigFailure(AssertionError):
    """A resource's own code failed for a config ``run_context.audit`` generated (not an
    injected fault, not a broken rule); the message names the field, and how to constrain it
    or pin it for the audit."""


class ResourceUsageError(Exception):
    """``@pytest.mark.resource`` or ``run_context.open`` was given something it cannot use."""


class UnsupportedDagster(ResourceUsageError):
    """The installed Dagster is one the plugin cannot work with: older than it supports, or
    without a private name it relies on. Raised at the first use of a plugin feature; its
    message is shown alone, never a traceback."""

    __pytest_resources_plain__ = True


class ReleaseCheckUnavailable(UserWarning):
    """The release check was asked for where it cannot list descriptors and child processes:
    Linux without a readable /proc, another system without psutil (only threads are compared
    there), or Windows (threads and child processes only)."""


# Shown as ``pytest_resources.LifecycleError``: where users import them from, not this module.
for _public in (
    ConfigFailure,
    LifecycleError,
    PrivateStateLeak,
    ResourceUsageError,
    ReleaseCheckUnavailable,
):
    _public.__module__ = "pytest_resources"
del _public
