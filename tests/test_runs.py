"""Real Dagster runs through ``run_context.materialize``: in-process, and a process per step.

In-process runs are checked through in-process pytester runs (milliseconds each). Multiprocess
runs start real step processes, which re-import the test module, so they run in one pytest
subprocess that holds every multiprocess case (each run costs a second or more).
"""

from __future__ import annotations

import os

import pytest
from plugin_internals import DirectRuns, RunFacts, check_run, format_violations
from resources_for_tests import Client
from test_fidelity import CLASS_BOUND

RESOURCES = """
import os

import dagster as dg
import pytest
from resources_for_tests import ForgetsTeardown


class Inner(dg.ConfigurableResource):
    size: int = 1

    def setup_for_execution(self, context):
        pass


class Client(dg.ConfigurableResource):
    username: str
    inner: Inner

    def setup_for_execution(self, context):
        pass

    def teardown_after_execution(self, context):
        pass


class RaisesOnTeardown(dg.ConfigurableResource):
    def teardown_after_execution(self, context):
        raise RuntimeError("connection already closed")


@dg.asset
def users(client: Client):
    return ["ann", "bob"]


@dg.asset
def report(users, client: Client):
    return len(users)


@dg.asset
def broken_step(client: Client):
    raise ValueError("step failed")


@dg.asset
def forgetful(forgets: ForgetsTeardown):
    return 1


@dg.asset
def raising(raises: RaisesOnTeardown):
    return 1


def client():
    return Client(username="ann", inner=Inner(size=2))
"""


# --- in-process runs ----------------------------------------------------------------------------


def test_in_process_run_records_every_hook(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
defs = dg.Definitions(assets=[users, report], resources={"client": client()})
job = dg.define_asset_job("both", selection=["users", "report"])
job_defs = dg.Definitions(assets=[users, report], jobs=[job], resources={"client": client()})


def test_assets(run_context):
    result = run_context.materialize([users, report], resources={"client": client()})
    assert result.success
    assert result.asset_value("report") == 2
    assert result.pids == (os.getpid(),)
    assert run_context.lifecycle("client").setup_calls == 1
    assert run_context.lifecycle("client").teardown_calls == 1
    assert run_context.lifecycle(Inner).keys == ("client.inner",)
    run_context.lifecycle("client").assert_once_per_process(processes=1)
    assert [e.event_type_value for e in result.all_events].count("RESOURCE_INIT_SUCCESS") == 1


def test_definitions_and_job(run_context):
    assert run_context.materialize(defs).output_for_node("report") == 2
    resolved = (getattr(job_defs, "resolve_job_def", None) or job_defs.get_job_def)("both")
    assert run_context.materialize(resolved).success
    assert run_context.lifecycle("client").setup_calls == 2


def test_failing_step_still_tears_down(run_context):
    result = run_context.materialize([broken_step], resources={"client": client()})
    assert not result.success
    assert run_context.lifecycle("client").hooks == (
        "setup_for_execution",
        "create_resource",
        "yield_for_execution enter",
        "teardown_after_execution",
        "yield_for_execution exit",
    )


def test_raise_on_error(run_context):
    with pytest.raises(ValueError, match="step failed"):
        run_context.materialize(
            [broken_step], resources={"client": client()}, raise_on_error=True
        )
    assert run_context.lifecycle("client").teardown_calls == 1
"""
    )
    pytester.runpytest().assert_outcomes(passed=4)


def test_in_process_broken_resources_fail_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
@dg.resource
def function_resource(context):
    yield "value"
    raise OSError("socket gone")


@dg.asset(required_resource_keys={"plain"})
def plain_user(context):
    return context.resources.plain


def test_forgets_teardown(run_context):
    run_context.materialize([forgetful], resources={"forgets": ForgetsTeardown()})


def test_teardown_raises(run_context):
    run_context.materialize([raising], resources={"raises": RaisesOnTeardown()})


def test_function_resource_teardown(run_context):
    run_context.materialize([plain_user], resources={"plain": function_resource})


def test_recorded_without_check(run_context):
    result = run_context.materialize(
        [raising], resources={"raises": RaisesOnTeardown()}, check=False
    )
    assert result.success
    assert type(result.error).__name__ == "LifecycleError"
    assert "broke rule 5: teardown must not raise" in str(result.error)
    assert len(result.teardown_failures) == 1
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(
        [
            "*LifecycleError: 1 lifecycle rule broken:",
            "*resource 'forgets' (resources_for_tests.ForgetsTeardown) broke rule 2:*",
            "*teardown_after_execution was called 0 times in this run; expected once*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*resource 'raises' (test_*.RaisesOnTeardown) broke rule 5:*",
            "*teardown_after_execution raised RuntimeError: connection already closed",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*resource 'io_manager, plain' (dagster.*ResourceDefinition) broke rule 5:*",
            "*Dagster reported in pid *: Teardown of resources [[]*plain*[]] failed.",
            "*OSError: socket gone",
        ]
    )


def test_assert_once_per_process_lists_pids_and_counts(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
def test_twice(run_context):
    with run_context.open(client(), key="client"):
        pass
    with run_context.open(client(), key="client"):
        pass
    run_context.lifecycle("client").assert_once_per_process()


def test_process_count(run_context):
    run_context.materialize([users], resources={"client": client()})
    run_context.lifecycle("client").assert_once_per_process(processes=2)
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "E*LifecycleError: not set up and torn down exactly once per process:",
            "E*run * pid * 'client': setup_for_execution 2, create_resource 2, "
            "yield_for_execution enter 2, yield_for_execution exit 2, "
            "teardown_after_execution 2   <- expected once",
        ]
    )
    result.stdout.fnmatch_lines(["E*1 processes initialized it; expected 2."])
    assert "_multiprocess.py" not in result.stdout.str()


def test_definitions_a_step_process_cannot_import(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        RESOURCES
        + """
def test_local_asset(run_context):
    @dg.asset
    def local(client: Client):
        return 1

    run_context.materialize([local], resources={"client": client()}, executor="multiprocess")


def test_local_resource_class(run_context):
    class Local(dg.ConfigurableResource):
        name: str = "x"

    run_context.materialize([users], resources={"client": Local()}, executor="multiprocess")


def test_bad_arguments(run_context):
    with pytest.raises(Exception, match="executor must be one of"):
        run_context.materialize([users], executor="threads")
    with pytest.raises(Exception, match="Dagster refuses 'fork'"):
        run_context.materialize([users], executor="multiprocess", start_method="fork")
    with pytest.raises(Exception, match="takes a non-empty list of assets"):
        run_context.materialize([], executor="multiprocess")
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "E*ResourceUsageError: run_context.materialize(executor='multiprocess'): asset local "
            "is defined inside test_local_asset() (test_*.py:*). Each step process imports the "
            "run's definitions again by module and name, so move it to module level*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "E*ResourceUsageError: run_context.materialize(executor='multiprocess'): resource "
            "'client' (test_*.test_local_resource_class.<locals>.Local) cannot be handed to the "
            "step processes*define the class at module level*",
        ]
    )


def test_orchestrator_rule(direct_runs: DirectRuns) -> None:
    """Rule 7 on a recording where the test process itself set a resource up."""
    with direct_runs.open(Client()):
        pass
    [recording] = direct_runs.recordings
    found = check_run(recording, RunFacts(orchestrator_pid=os.getpid()), [])
    assert [v.rule for v in found] == [7]
    pytest.LineMatcher(format_violations(found).splitlines()).fnmatch_lines(
        [
            "resource 'client' (resources_for_tests.Client) broke rule 7: the orchestrating "
            "process of a multiprocess run sets up none of its resources",
            f"  the orchestrating process (pid {os.getpid()}) ran setup_for_execution, "
            "create_resource, yield_for_execution enter, teardown_after_execution, "
            "yield_for_execution exit in a multiprocess run; only the step "
            "processes initialize a run's resources.",
        ]
    )
    # Events of another process (a step process) are not the orchestrator's.
    assert check_run(recording, RunFacts(orchestrator_pid=os.getpid() + 1), []) == []


# --- multiprocess runs ----------------------------------------------------------------------------


@pytest.mark.slow(seconds=30)
def test_multiprocess_runs(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_steps=RESOURCES
        + """
def test_forkserver(run_context):
    result = run_context.materialize(
        [users, report],
        resources={"client": client()},
        executor="multiprocess",
        release_check=True,  # nothing a correct resource opens stays open in a step process
    )
    assert result.success
    run_context.lifecycle("client").assert_once_per_process(processes=2)
    run_context.lifecycle("client.inner").assert_once_per_process(processes=2)
    assert os.getpid() not in result.pids
    assert sorted(result.pids) == sorted(result.step_pids)
    assert result.asset_value("report") == 2
    assert result.output_for_node("users") == ["ann", "bob"]


def test_failing_step_tears_down_in_its_process(run_context):
    result = run_context.materialize(
        [broken_step], resources={"client": client()}, executor="multiprocess"
    )
    assert not result.success
    lifecycle = run_context.lifecycle("client")
    assert [e.pid for e in lifecycle.events] == [result.pids[0]] * 5
    assert lifecycle.teardown_calls == 1
    assert result.pids[0] != os.getpid()


def test_forgets_teardown(run_context):
    run_context.materialize(
        [forgetful], resources={"forgets": ForgetsTeardown()}, executor="multiprocess"
    )


def test_teardown_raises(run_context):
    run_context.materialize(
        [raising], resources={"raises": RaisesOnTeardown()}, executor="multiprocess"
    )


@dg.asset
def builds_its_own(client: Client):
    with dg.build_resources({"extra": Inner()}):
        return 1


def test_a_resource_the_step_does_not_need(run_context):
    run_context.materialize(
        [builds_its_own], resources={"client": client()}, executor="multiprocess"
    )


import threading


class LeavesAThread(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        threading.Thread(target=threading.Event().wait, name="poller", daemon=True).start()


@dg.asset
def polled(poller: LeavesAThread):
    return 1


def test_release_check_per_step_process(run_context):
    run_context.materialize(
        [polled], resources={"poller": LeavesAThread()}, executor="multiprocess",
        release_check=True,
    )


def test_spawn(run_context):
    result = run_context.materialize(
        [users], resources={"client": client()}, executor="multiprocess", start_method="spawn"
    )
    assert result.success
    run_context.lifecycle("client").assert_once_per_process(processes=1)
"""
    )
    # In the same run, so that it starts its step processes' machinery once: resources that
    # depend on their own class object (test_fidelity.py) behave in a step process as in Dagster.
    pytester.makepyfile(
        test_class_bound_steps=CLASS_BOUND
        + """
@dg.asset
def dialect(pg: Postgres):
    assert type(pg) is Postgres
    return [pg._dialect, pg._siblings]


def test_multiprocess(run_context):
    result = run_context.materialize(
        [dialect], resources={"pg": Postgres()}, executor="multiprocess"
    )
    assert result.success
    assert result.asset_value("dialect") == ["pg", ["Mysql", "Postgres"]]
    run_context.lifecycle("pg").assert_once_per_process(processes=1)
"""
    )
    result = pytester.runpytest_subprocess("-rp")
    result.assert_outcomes(passed=4, failed=4)
    result.stdout.fnmatch_lines(["PASSED test_class_bound_steps.py::test_multiprocess"])
    result.stdout.fnmatch_lines(
        [
            "*resource 'forgets' (resources_for_tests.ForgetsTeardown) broke rule 2:*",
            "*teardown_after_execution was called 0 times in this run; expected once*",
            "*recorded events in run *, in order:",
            "*forgets*setup_for_execution*returned  pid *  at */resources_for_tests.py:*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*resource 'raises' (test_steps.RaisesOnTeardown) broke rule 5:*",
            "*teardown_after_execution raised RuntimeError: connection already closed",
            "*the exception Dagster would have swallowed (your frames):",
            '*File "*test_steps.py", line *, in teardown_after_execution',
            '*raise RuntimeError("connection already closed")',
            "*RuntimeError: connection already closed",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*resource 'extra' (test_steps.Inner) broke rule 8: a step process sets up only the "
            "resources its steps need",
            "*'extra' was set up in process *, which ran step(s) builds_its_own; none of them "
            "needs it.",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*_ test_release_check_per_step_process _*",
            "*LifecycleError: 1 thing left open after teardown:",
            "*opened by the setup of resource 'poller':",
            "*- thread: 'poller' (daemon thread, native id *), in process *",
        ]
    )
