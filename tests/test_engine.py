"""The engine's pure parts, called directly: the step-process wire codec, the ledger of what a
test reported, the rule and hook enums, the fault places, and the misuse errors they raise."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest
from plugin_internals import (
    PLACES,
    Event,
    Hook,
    Ledger,
    Leftover,
    Location,
    Place,
    Problems,
    Recording,
    Rule,
    RunFacts,
    Session,
    TeardownFailure,
    Violation,
    check_run,
    format_user_traceback,
    wire,
)

from pytest_resources import (
    Fault,
    LifecycleError,
    PrivateStateLeak,
    ResourceUsageError,
    RunContext,
    faults,
)


class Client(dg.ConfigurableResource):  # type: ignore[type-arg]
    username: str = "alice"


def _raise_in_user_code() -> None:
    raise KeyError("token expired")


def _event_with(exception: BaseException | None) -> Event:
    return Event(
        sequence=3,
        key="client",
        resource_class=Client,
        hook=Hook.TEARDOWN,
        run_id="run-1",
        pid=4242,
        outcome="raised" if exception else "returned",
        exception=exception,
        location=Location("tests/test_engine.py", 7),
    )


# --- the wire codec ------------------------------------------------------------------------------


def test_an_event_travels_as_one_line_and_comes_back_the_same() -> None:
    line = wire.encode(wire.event_record(_event_with(None), time_ns=99))
    assert line.endswith("\n")
    assert line.count("\n") == 1
    record = wire.decode(line)
    assert isinstance(record, wire.EventRecord)
    assert record.time_ns == 99
    assert (record.class_module, record.class_qualname) == (__name__, "Client")
    assert wire.to_event(record, Client) == _event_with(None)


def test_an_exception_comes_back_with_its_name_message_and_the_users_frames() -> None:
    try:
        _raise_in_user_code()
    except KeyError as error:
        raised = error
    record = wire.decode(wire.encode(wire.event_record(_event_with(raised), time_ns=1)))
    assert isinstance(record, wire.EventRecord)
    back = wire.to_event(record, Client).exception
    assert isinstance(back, wire.RemoteException)
    assert (type(back).__name__, type(back).__module__, str(back)) == (
        "KeyError",
        "builtins",
        "'token expired'",
    )
    shown = "".join(format_user_traceback(back))
    assert 'raise KeyError("token expired")' in shown
    assert shown.endswith("KeyError: 'token expired'\n")
    # One stand-in class per original type.
    again = wire.to_event(record, Client).exception
    assert type(again) is type(back)


def test_what_a_step_process_left_open_travels_too() -> None:
    record = wire.LeftOpenRecord(5, 31337, "file", "/tmp/report.csv", "client")
    back = wire.decode(wire.encode(record))
    assert back == record
    assert isinstance(back, wire.LeftOpenRecord)
    assert wire.to_leftover(back) == Leftover("file", "/tmp/report.csv, in process 31337", "client")


def test_a_line_that_is_no_record_is_refused() -> None:
    with pytest.raises(ValueError, match="kind"):
        wire.decode('{"time_ns": 1, "kind": "gossip"}')


def test_an_engine_events_exception_takes_the_same_form() -> None:
    reported = wire.reported_exception("OSError", "disk full", ['  File "x.py", line 1\n'])
    error = wire.remote_exception(reported)
    assert (type(error).__name__, str(error)) == ("OSError", "disk full")
    assert format_user_traceback(error) == ['  File "x.py", line 1\n', "OSError: disk full\n"]


# --- rules, hooks and places ---------------------------------------------------------------------


def test_every_rule_has_its_number_and_title() -> None:
    assert [int(rule) for rule in Rule] == list(range(1, 11))
    assert all(rule.title for rule in Rule)
    assert f"rule {Rule.TEARDOWN_RAISES}" == "rule 5"
    assert Rule(7) is Rule.ORCHESTRATOR


def test_a_hook_is_its_name() -> None:
    assert Hook.SETUP == "setup_for_execution"
    assert f"{Hook.YIELD_EXIT:<25}|" == "yield_for_execution exit |"
    assert {"teardown_after_execution": 1}[Hook.TEARDOWN] == 1


def test_rule_5_from_dagsters_engine_event_only_where_no_recorded_teardown_explains_it() -> None:
    recording = Recording("run-1")
    recording.register({"client": Client()})
    recording.events.append(_event_with(RuntimeError("closing failed")))
    failures = (
        TeardownFailure(4242, "Teardown of resources [client] failed.", ("client",), None),
        TeardownFailure(777, "Teardown of resources [io_manager] failed.", ("io_manager",), None),
    )
    explained = Violation(
        Rule.TEARDOWN_RAISES, "client", Client, "", "", tuple(recording.events), "run-1"
    )
    found = check_run(recording, RunFacts(teardown_failures=failures), [explained])
    assert [(v.rule, v.key, v.what_happened) for v in found] == [
        (
            Rule.TEARDOWN_RAISES,
            "io_manager",
            "Dagster reported in pid 777: Teardown of resources [io_manager] failed.",
        )
    ]
    assert found[0].resource_class is dg.ResourceDefinition


def test_fault_places_are_their_names_in_the_order_a_run_meets_them() -> None:
    assert PLACES == (
        "nested_setup",
        "setup",
        "setup_call",
        "setup_http",
        "create_resource",
        "later_setup",
        "body",
        "teardown",
    )
    assert [place.hook for place in Place] == [
        Hook.SETUP,
        Hook.SETUP,
        None,
        None,
        Hook.CREATE,
        None,
        None,
        Hook.TEARDOWN,
    ]
    assert repr(Fault("body")) == "Fault(where='body')"
    assert repr(Fault("setup_call", call="m.f")) == "Fault(where='setup_call', call='m.f')"


@pytest.mark.parametrize(
    "misuse",
    [lambda: Fault("setpu"), lambda: faults(places=["setpu"]), lambda: faults(places=[])],
)
def test_an_unknown_fault_place_is_a_usage_error_naming_the_places(misuse: object) -> None:
    places = "'nested_setup', 'setup', 'setup_call', 'setup_http', 'create_resource'"
    with pytest.raises(ResourceUsageError, match=places):
        misuse()  # type: ignore[operator]


# --- the ledger ----------------------------------------------------------------------------------


def _problems() -> Problems:
    return Problems(never_exited=("run_context.open() at test_x.py:3",))


def test_a_problem_is_reported_until_something_shows_it() -> None:
    ledger = Ledger()
    first, second = _problems(), _problems()
    ledger.add(first, "run-1")
    ledger.add(second, "run-2")
    ledger.add(Problems(), "run-2")  # nothing found: nothing to report
    assert ledger.unreported() == [first, second]
    assert ledger.unreported("run-2") == [second]
    ledger.mark_reported([first])
    assert ledger.unreported() == [second]


def test_a_raised_problem_is_shown_by_the_error_type_it_was_raised_as() -> None:
    ledger = Ledger()
    problems = _problems()
    ledger.add(problems, "run-1")
    ledger.mark_shown_by(ValueError("the test's own failure"))
    assert ledger.unreported() == [problems]
    ledger.mark_raised(problems)
    ledger.mark_shown_by(PrivateStateLeak("another run's leak"))
    assert ledger.unreported() == []


def test_a_noted_problem_is_shown_by_the_error_that_carries_it_only() -> None:
    ledger = Ledger()
    problems = _problems()
    ledger.add(problems, "run-1")
    carrier = RuntimeError("step failed")
    ledger.noted(problems, carrier)
    if hasattr(carrier, "add_note"):  # Python 3.11+
        assert "entered and never exited" in carrier.__notes__[0]
        ledger.mark_shown_by(LifecycleError("not the carrier"))
        assert ledger.unreported() == [problems]
        ledger.mark_shown_by(carrier)
    assert ledger.unreported() == ([] if hasattr(carrier, "add_note") else [problems])


# --- misuse of materialize -----------------------------------------------------------------------


@pytest.fixture
def context() -> Iterator[RunContext]:
    session = Session()
    session.begin_test("test_engine")
    yield RunContext(session)
    session.end_test()
    session.close()


@dg.op
def _nothing() -> None:
    pass


@dg.job
def _a_job() -> None:
    _nothing()


@dg.job
def _another_job() -> None:
    _nothing()


@pytest.mark.parametrize("jobs", [[], [_a_job, _another_job]])
def test_a_definitions_without_assets_must_hold_one_job(
    context: RunContext, jobs: list[dg.JobDefinition]
) -> None:
    with pytest.raises(ResourceUsageError, match=f"this one holds {len(jobs)}; pass the job"):
        context.materialize(dg.Definitions(jobs=jobs))


def test_a_lifecycle_never_opened_is_a_usage_error(context: RunContext) -> None:
    with pytest.raises(ResourceUsageError, match="no resource 'clinet' was opened in this test"):
        context.lifecycle("clinet")
