"""Audit a resource for private run state in the serialized forms of its config.

A Dagster ``ConfigurableResource`` keeps config in pydantic fields and run state (a token, a
connection, a client) in ``PrivateAttr`` attributes. Config is written out in many places: run
config, the repository snapshot the UI shows, logs that print ``repr()``; private state must stay
out of all of them. Matching is structural, never a substring search over whole text: keys and
leaves of the structured forms are compared one by one, and the text forms only count a value
found as a whole token. See docs/leak-audit.md for the rules and the thresholds.

Modules, each importing only those before it: ``report`` (the findings and the message),
``values`` (what a resource holds), ``config`` (what is config, not run state), ``search``
(needles in one form), ``forms`` (the forms, searched once per plain data), ``audits`` (the
audits of the forms), ``run_state`` (what outlives the run); ``process_state`` (what setup adds
to the process run after run) comes before ``forms``, which forgets it with the test.
"""

from pytest_resources._leak_audit.audits import (
    assert_no_private_leaks,
    find_private_leaks,
    find_secret_exposures,
    find_yielded_leaks,
)
from pytest_resources._leak_audit.config import ResolvedConfig
from pytest_resources._leak_audit.forms import forget_audited_forms, unbuildable_forms
from pytest_resources._leak_audit.report import (
    Leak,
    NotInspected,
    SecretExposure,
    format_leak_report,
    format_not_inspected,
    redact,
)
from pytest_resources._leak_audit.run_state import RunStateWatch, shared_across_runs
from pytest_resources._leak_audit.values import describe_error

__all__ = [
    "Leak",
    "NotInspected",
    "ResolvedConfig",
    "RunStateWatch",
    "SecretExposure",
    "assert_no_private_leaks",
    "describe_error",
    "find_private_leaks",
    "find_secret_exposures",
    "find_yielded_leaks",
    "forget_audited_forms",
    "format_leak_report",
    "format_not_inspected",
    "redact",
    "shared_across_runs",
    "unbuildable_forms",
]
