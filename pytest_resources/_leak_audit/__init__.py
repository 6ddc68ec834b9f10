"""Audit a resource for private run state that shows up in a serialized form of its config.

A Dagster ``ConfigurableResource`` keeps config in pydantic fields and run state (a token, a
connection, a client) in ``PrivateAttr`` attributes. Config is written out in many places: run
config, the repository snapshot the UI shows, logs that print ``repr()``. Private state must stay
out of all of them. :func:`find_private_leaks` serializes a resource every way Dagster or a user
would and looks for its private attributes' names (as keys) and values (as values) in the result;
:func:`assert_no_private_leaks` turns the findings into a test failure. The opt-in
:func:`find_secret_exposures` looks for secret config values shown in plaintext.

Matching is structural, never a substring search over whole text: dict keys and leaf values of the
structured forms are compared one by one, and the text forms (``repr()``, ``str()``) only count a
value found as a whole token. See docs/leak-audit.md for the rules and the thresholds.

One module per concern, each importing only those listed before it: ``report`` (the findings'
records and the failure message), ``needles`` (what a resource holds), ``user_code`` (the user's
classes and the line that stored a value), ``resolved_config`` (what is config, not run state),
``forms`` (the serialized forms), ``search`` (finding needles in one form), ``cache`` (the same
audit, not repeated), ``run_state`` (what outlives the run), ``secrets`` (the opt-in secrets
check) and ``findings`` (the audits themselves).

Dagster is imported lazily so that importing this package stays cheap for the plugin.
"""

from pytest_resources._leak_audit.cache import forget_audited_forms
from pytest_resources._leak_audit.findings import (
    assert_no_private_leaks,
    find_private_leaks,
    find_yielded_leaks,
)
from pytest_resources._leak_audit.needles import (
    MIN_NUMBER_MAGNITUDE,
    MIN_OBJECT_TEXT_LENGTH,
    MIN_TEXT_LENGTH,
)
from pytest_resources._leak_audit.report import (
    Leak,
    NotInspected,
    SecretExposure,
    format_leak_report,
    format_not_inspected,
    redact,
)
from pytest_resources._leak_audit.resolved_config import ResolvedConfig
from pytest_resources._leak_audit.run_state import RunStateWatch
from pytest_resources._leak_audit.secrets import find_secret_exposures

__all__ = [
    "MIN_NUMBER_MAGNITUDE",
    "MIN_OBJECT_TEXT_LENGTH",
    "MIN_TEXT_LENGTH",
    "Leak",
    "NotInspected",
    "ResolvedConfig",
    "RunStateWatch",
    "SecretExposure",
    "assert_no_private_leaks",
    "find_private_leaks",
    "find_secret_exposures",
    "find_yielded_leaks",
    "forget_audited_forms",
    "format_leak_report",
    "format_not_inspected",
    "redact",
]
