"""What the end of a release-checked test costs: a full garbage collection (0.1-0.2 s once
Dagster is imported) only when a run left something behind that its live copies may hold."""

from __future__ import annotations

import pytest

# Counts the full collections that start while each test tears down (its fixtures, then the
# plugin's end of test), and shows them to the last test.
_COUNTING_CONFTEST = """
import gc

import pytest

FULL_COLLECTIONS = {}


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item):
    started = []
    # The test's own collection first: an automatic full one in the teardown that follows would
    # then need some 70,000 more allocations than frees, far more than a teardown makes.
    gc.collect()

    def count(phase, info):
        if phase == "start" and info["generation"] == 2:
            started.append(info)

    gc.callbacks.append(count)
    try:
        return (yield)
    finally:
        gc.callbacks.remove(count)
        FULL_COLLECTIONS[item.name] = len(started)
"""

_AUDITS = """
import dagster as dg
import pytest
from pydantic import PrivateAttr

from conftest import FULL_COLLECTIONS


class ReleasesItsLog(dg.ConfigurableResource):
    name: str
    _log: object = PrivateAttr(default=None)

    def setup_for_execution(self, context):
        self._log = open("released.log", "w")

    def teardown_after_execution(self, context):
        self._log.close()


# Opened by the first run, for the whole session (the ini file allows it): the copies of that
# run may hold it.
SESSION_LOGS = []
# Where the broken twin keeps every live copy, so that they outlive the young collections.
KEPT_COPIES = []


class SharesASessionLog(dg.ConfigurableResource):
    name: str

    def setup_for_execution(self, context):
        if not SESSION_LOGS:
            SESSION_LOGS.append(open("session.log", "a"))


@pytest.mark.release_check
def test_audit_releasing(run_context):
    run_context.audit(ReleasesItsLog, max_examples=10)


@pytest.mark.release_check
def test_audit_keeping(run_context):
    run_context.audit(SharesASessionLog, max_examples=3, use=KEPT_COPIES.append)


def test_counts():
    assert FULL_COLLECTIONS == {"test_audit_releasing": 0, "test_audit_keeping": 1}
"""


def test_an_audit_that_left_nothing_open_ends_without_a_full_collection(
    pytester: pytest.Pytester,
) -> None:
    # An audit's fault runs keep their live copies in exception frames and Dagster's own
    # cycles, which reach the oldest generation. The correct twin's runs left nothing open
    # that their copies could hold, so its end pays no full collection. The broken twin's
    # runs left an (allowed) file open and its copies survive the young collections, so its
    # end pays one.
    pytester.makeini("[pytest]\nresources_release_allow = */session.log\n")
    pytester.makeconftest(_COUNTING_CONFTEST)
    pytester.makepyfile(_AUDITS)
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-W", "ignore::ResourceWarning")
    result.assert_outcomes(passed=3)
