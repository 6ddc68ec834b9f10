"""Observe, never change: the interpreter's global state (the garbage collector, warnings
filters, hooks) is as the user's code left it, whatever the checks did meanwhile."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from test_release_check_runs import RESOURCES

import pytest_resources

GLOBAL_STATE_OF_THE_USER = """
import gc

import pytest_resources
import sys
import threading
import warnings


def user_hook(args):
    pass


def user_excepthook(args):
    pass


def global_state():
    return (
        gc.isenabled(),
        gc.get_threshold(),
        gc.get_debug(),
        gc.get_freeze_count() > 0,  # objects the user froze are still frozen
        # hypothesis adds its own callback once, to time collections, whoever draws first.
        [c for c in gc.callbacks if not c.__module__.startswith("hypothesis")],
        list(warnings.filters),
        sys.unraisablehook,
        threading.excepthook,
        sys.gettrace(),
        sys.getprofile(),
    )


@pytest.fixture
def users_own_settings():
    '''What coverage, a server framework or the user's conftest may have set.'''
    frozen_by_the_user = [object() for _ in range(100)]
    gc.freeze()
    gc.set_threshold(5000, 20, 20)
    previous_hook, previous_excepthook = sys.unraisablehook, threading.excepthook
    sys.unraisablehook, threading.excepthook = user_hook, user_excepthook
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="the user's own filter")
        before = global_state()
        yield before
        assert global_state() == before
    sys.unraisablehook, threading.excepthook = previous_hook, previous_excepthook
    gc.set_threshold(700, 10, 10)
    gc.unfreeze()
    del frozen_by_the_user
"""


@pytest.mark.slow(seconds=3)
def test_the_checks_leave_the_interpreters_state_as_it_was(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + GLOBAL_STATE_OF_THE_USER
        + """
def test_a_clean_run(run_context, users_own_settings):
    with run_context.open(ThreadStarter(), release_check=True):
        pass
    assert global_state() == users_own_settings


# A leftover makes the check collect garbage and wait for it to go; the state is compared as the
# fixture ends.
@pytest.mark.xfail(raises=pytest_resources.LifecycleError, strict=True)
def test_a_run_that_leaves_a_thread(run_context, users_own_settings):
    with run_context.open(ThreadStarter(join_it=False), release_check=True):
        pass


# Compared when the fixture ends, after the marked run closed: while a release check lasts,
# ResourceWarnings are shown "always" to it (as pytest's own capture does while a test runs).
@pytest.mark.resource(FileHolder(path="held.txt"), release_check=True)
def test_marked(resource, users_own_settings):
    pass


def test_an_audit(run_context, users_own_settings):
    run_context.audit(ThreadStarter, max_examples=3)
    assert global_state() == users_own_settings
"""
    )
    # pytest < 8.4 installs its own unraisable and thread hooks around each phase, so the user's
    # hooks would differ between setup and teardown whatever the plugin does.
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:unraisableexception", "-p", "no:threadexception"
    )
    result.assert_outcomes(passed=3, xfailed=1)


# What changes the interpreter for every thread and outlives a `with` block: none of it belongs in
# a plugin that observes.
_GLOBAL_SETTERS = {
    ("gc", "freeze"),
    ("gc", "unfreeze"),
    ("gc", "disable"),
    ("gc", "enable"),
    ("gc", "set_threshold"),
    ("gc", "set_debug"),
    ("sys", "settrace"),
    ("sys", "setprofile"),
    ("sys", "setrecursionlimit"),
    ("threading", "settrace"),
    ("threading", "setprofile"),
}


def test_no_module_of_the_package_changes_the_interpreters_settings() -> None:
    package = Path(pytest_resources.__file__).parent
    calls = [
        f"{path.relative_to(package)}:{node.lineno}: {node.func.value.id}.{node.func.attr}()"
        for path in sorted(package.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and (node.func.value.id, node.func.attr) in _GLOBAL_SETTERS
    ]
    assert calls == []
