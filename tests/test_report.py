"""The lifecycle report: the text timeline in a failure report, ``--resources-report`` (HTML),
``--resources-report-json`` (JSON against the shipped schema), the shard merge, under xdist,
on a code location, and bad paths refused at startup."""

from __future__ import annotations

import html.parser
import json
import re
from pathlib import Path
from typing import Any

import pytest
from test_definitions import PLAIN, code_location

from pytest_resources._report.text import MAX_LANES, WIDTH, text_timeline
from pytest_resources.report import main as report_main

BROKEN_SUITE = """
import dagster as dg
import pytest
from pytest_resources import Fault


class Credentials(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        pass


class Client(dg.ConfigurableResource):
    credentials: Credentials

    def setup_for_execution(self, context):
        pass

    def teardown_after_execution(self, context):
        raise RuntimeError("connection already closed")


class Fine(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        pass

    def teardown_after_execution(self, context):
        pass


def test_broken_teardown(run_context):
    with run_context.open(Client(credentials=Credentials())):
        pass


def test_fault_in_setup(run_context):
    run_context.check(Fine(), fault=Fault("setup"))


def test_correct(run_context):
    with run_context.open(Fine()):
        pass
"""

MULTIPROCESS_SUITE = """
import dagster as dg


class Client(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        pass

    def teardown_after_execution(self, context):
        raise RuntimeError("teardown failed in a step")


class Store(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        pass


@dg.asset
def users(client: Client, store: Store):
    return ["ann"]


@dg.asset
def report(users, client: Client, store: Store):
    return len(users)


def test_multiprocess(run_context):
    run_context.materialize(
        [users, report],
        resources={"client": Client(), "store": Store()},
        executor="multiprocess",
    )
"""


class _Parsed(html.parser.HTMLParser):
    """What the report's HTML holds: elements by class, lanes, calls, rules; and any reference
    to something outside the file."""

    def __init__(self) -> None:
        super().__init__()
        self.lanes: list[tuple[str, str]] = []
        self.classes: list[str] = []
        self.rules: list[str] = []
        self.external: list[str] = []
        self.rows = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.classes.extend((attributes.get("class") or "").split())
        if "lane" in (attributes.get("class") or "").split():
            self.lanes.append((attributes["data-pid"] or "", attributes["data-key"] or ""))
        if tag == "g" and attributes.get("class") == "rule":
            self.rules.append(attributes["data-rule"] or "")
        if tag == "tr":
            self.rows += 1
        if tag in {"script", "link", "img", "iframe"} or any(
            name in {"src", "href"} and not (value or "").startswith("#") for name, value in attrs
        ):
            self.external.append(tag)


def _parse(path: Path) -> _Parsed:
    parsed = _Parsed()
    parsed.feed(path.read_text(encoding="utf-8"))
    parsed.close()
    return parsed


def _schema(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """The schema as a user gets it: the report command prints it."""
    capsys.readouterr()
    assert report_main(["schema"]) == 0
    return dict(json.loads(capsys.readouterr().out))


def _tests(path: Path) -> dict[str, Any]:
    return {test["nodeid"]: test for test in json.loads(path.read_text())["tests"]}


# --- the text timeline in the failure report -------------------------------------------------


def test_a_broken_rule_shows_the_runs_timeline_within_100_columns(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(BROKEN_SUITE)
    result = pytester.runpytest("-k", "broken_teardown")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E       timeline of run * (2 lanes: a column per process x resource, *",
            "E           1 = pid * client.credentials   2 = pid * client",
            "E             #      +ms  1  2",
            "*T!  client teardown raised RuntimeError: connection*  <- rule 5 broken",
        ]
    )
    timeline = [line for line in result.outlines if line.startswith("E  ") and "+ms" in line]
    assert timeline
    start = result.outlines.index(timeline[0]) - 3
    for line in result.outlines[start : start + 14]:
        assert len(line.removeprefix("E       ")) <= WIDTH, line


def _run_of(lanes: int) -> dict[str, Any]:
    events = [
        {
            "sequence": index + 1,
            "key": f"resource_{index}",
            "hook": "setup_for_execution",
            "pid": 100,
            "outcome": "raised" if index == 0 else "returned",
            "exception": "InjectedFault: injected" if index == 0 else None,
            "fault": index == 0,
            "duration_ns": 1000,
            "started_ns": 10**18 + index,
        }
        for index in range(lanes)
    ]
    violation = {"rule": 2, "key": "resource_0", "events": [lanes], "title": "t", "message": "m"}
    return {"run_id": "0123456789", "events": events, "violations": [violation]}


def test_the_text_timeline_marks_the_fault_and_the_rule_on_their_calls() -> None:
    lines = text_timeline(_run_of(3)).splitlines()
    assert lines[-3].endswith("<- injected fault")
    assert "S*" in lines[-3]
    assert lines[-1].endswith("<- rule 2 broken")
    assert all(len(line) <= WIDTH for line in lines)


def test_too_many_lanes_leave_the_event_lists_alone() -> None:
    assert text_timeline(_run_of(MAX_LANES))
    assert text_timeline(_run_of(MAX_LANES + 1)) == ""


# --- the HTML and JSON reports ---------------------------------------------------------------


def test_the_report_marks_broken_rules_and_the_fault_and_validates(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    pytester.makepyfile(BROKEN_SUITE)
    result = pytester.runpytest(
        "--resources-report=report.html", "--resources-report-json=report.json"
    )
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["pytest-resources: HTML report written to report.html"])
    document = json.loads((pytester.path / "report.json").read_text())
    schema = _schema(capsys)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(document, schema)
    # The twin that must fail: a report missing a field of its version.
    del document["tests"][0]["runs"][0]["events"][0]["pid"]
    with pytest.raises(jsonschema.ValidationError, match="'pid' is a required property"):
        jsonschema.validate(document, schema)
    tests = _tests(pytester.path / "report.json")
    by_name = {nodeid.split("::")[1]: test for nodeid, test in tests.items()}
    assert by_name["test_broken_teardown"]["outcome"] == "failed"
    [run] = by_name["test_broken_teardown"]["runs"]
    assert [v["rule"] for v in run["violations"]] == [5]
    assert run["verdict"] == "broken"
    [faulted] = by_name["test_fault_in_setup"]["runs"]
    assert [e["hook"] for e in faulted["events"] if e["fault"]] == ["setup_for_execution"]
    assert faulted["verdict"] == "ok"
    assert by_name["test_correct"]["runs"][0]["verdict"] == "ok"

    parsed = _parse(pytester.path / "report.html")
    assert parsed.external == []
    assert parsed.rows == 1 + 3  # the header and a row per run
    # Only the broken run is drawn without --resources-report-all-runs.
    assert parsed.rules == ["5"]
    assert "fault" not in parsed.classes
    pytester.runpytest("--resources-report=all.html", "--resources-report-all-runs")
    everything = _parse(pytester.path / "all.html")
    assert everything.classes.count("fault") == 1
    assert len(everything.lanes) == 2 + 1 + 1


def test_a_multiprocess_run_has_a_lane_per_process_and_resource(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(MULTIPROCESS_SUITE)
    result = pytester.runpytest_subprocess(
        "--resources-report=report.html", "--resources-report-json=report.json"
    )
    result.assert_outcomes(failed=1)
    [test] = _tests(pytester.path / "report.json").values()
    [run] = test["runs"]
    assert len(run["processes"]) == 2
    parsed = _parse(pytester.path / "report.html")
    expected = {(str(pid), key) for pid in run["processes"] for key in ("client", "store")}
    assert set(parsed.lanes) == expected
    assert len(parsed.lanes) == 4
    assert parsed.rules.count("5") == 2  # the failed teardown, in each step process


# --- one report from xdist workers and from shards -------------------------------------------

SHARD_SUITES = {
    "test_first": BROKEN_SUITE,
    "test_second": """
import dagster as dg


class Plain(dg.ConfigurableResource):
    def setup_for_execution(self, context):
        pass


def test_plain(run_context):
    with run_context.open(Plain()):
        pass


def test_nothing_opened():
    pass
""",
}


def _normalized_json(path: Path) -> Any:
    document = json.loads(path.read_text())
    for test in document["tests"]:
        test["duration_s"] = 0
        for run in test["runs"]:
            run["run_id"] = run["time_ns"] = 0
            run["processes"] = len(run["processes"])
            for event in run["events"]:
                event["pid"] = event["started_ns"] = event["duration_ns"] = 0
    return document


def _normalized_html(path: Path) -> str:
    text = path.read_text()
    text = re.sub(r"(pid|data-pid=\")\s*\d+", r"\1 P", text)
    text = re.sub(r"\d+(\.\d+)?(us|ms|s)\b", "T", text)
    text = re.sub(r"in \d+ process(es)?;", "in N processes;", text)
    return re.sub(r"\b[0-9a-f]{8}\b", "RUN", text)


def test_xdist_and_merged_shards_give_the_report_of_one_process(
    pytester: pytest.Pytester,
) -> None:
    pytest.importorskip("xdist")
    pytester.makepyfile(**SHARD_SUITES)
    # In this process where one process will do; xdist needs its own.
    pytester.runpytest(
        "-p", "no:xdist", "--resources-report=one.html", "--resources-report-json=one.json"
    ).assert_outcomes(passed=4, failed=1)
    pytester.runpytest_subprocess(
        "-n", "2", "--resources-report=xdist.html", "--resources-report-json=xdist.json"
    ).assert_outcomes(passed=4, failed=1)
    for shard in SHARD_SUITES:
        pytester.runpytest(f"{shard}.py", f"--resources-report-json={shard}.json")
    shards = [str(pytester.path / f"{shard}.json") for shard in SHARD_SUITES]
    merged = pytester.path / "merged.html"
    assert report_main(["merge", *shards, "-o", str(merged), "--json", "merged.json"]) == 0

    one = _normalized_json(pytester.path / "one.json")
    assert len(one["tests"]) == 4  # not the test that opened nothing
    assert _normalized_json(pytester.path / "xdist.json") == one
    assert _normalized_json(pytester.path / "merged.json") == one
    assert _normalized_html(pytester.path / "xdist.html") == _normalized_html(
        pytester.path / "one.html"
    )
    assert _normalized_html(merged) == _normalized_html(pytester.path / "one.html")


def test_a_code_location_audit_is_reported(pytester: pytest.Pytester) -> None:
    code_location(pytester, PLAIN)
    result = pytester.runpytest(
        "--dagster-definitions", "my_project.definitions", "--resources-report-json=cl.json"
    )
    result.assert_outcomes(passed=3)
    tests = _tests(pytester.path / "cl.json")
    keys = {r["key"] for test in tests.values() for run in test["runs"] for r in run["resources"]}
    # The plain value "greeting" has no hooks: its run records none.
    assert keys == {"warehouse", "warehouse.credentials", "io_manager"}


# --- bad paths -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (".", "*--resources-report=.: that is a directory; give a file path*"),
        ("missing/report.html", "*the directory missing does not exist; create it first.*"),
        ("notes.html", "*that file exists and was not written by pytest-resources; refusing*"),
    ],
)
def test_a_path_the_report_cannot_take_is_a_usage_error(
    pytester: pytest.Pytester, path: str, message: str
) -> None:
    pytester.makepyfile(test_one="def test_one():\n    pass\n")
    (pytester.path / "notes.html").write_text("<html>someone else's report</html>")
    result = pytester.runpytest(f"--resources-report={path}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: pytest-resources: {message}"])
    assert (pytester.path / "notes.html").read_text() == "<html>someone else's report</html>"


def test_a_report_of_ours_is_overwritten(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_one="def test_one(run_context):\n    pass\n")
    for _ in range(2):
        result = pytester.runpytest("--resources-report=r.html", "--resources-report-json=r.json")
        assert result.ret == pytest.ExitCode.OK


def test_merge_refuses_a_file_that_is_not_a_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.json"
    other.write_text('{"tests": []}')
    with pytest.raises(SystemExit) as exit_info:
        report_main(["merge", str(other), "-o", str(tmp_path / "r.html")])
    assert exit_info.value.code == 2
    assert "is not a pytest-resources JSON report" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def test_a_report_that_cannot_be_written_at_the_end_is_an_error_line(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(
        """
        import shutil


        def pytest_sessionfinish(session):
            shutil.rmtree("gone")
        """
    )
    pytester.makepyfile(test_one="def test_one(run_context):\n    pass\n")
    (pytester.path / "gone").mkdir()
    result = pytester.runpytest("--resources-report=gone/r.html")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["ERROR (pytest-resources): could not write the lifecycle report: *gone/r.html*"]
    )
    assert "Traceback" not in result.stdout.str()


def test_a_leak_is_listed_under_its_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import dagster as dg
        from pydantic import PrivateAttr


        class LeakyHeaders(dg.ConfigurableResource):
            headers: dict = {}
            _api_token: str = PrivateAttr(default="")

            def setup_for_execution(self, context):
                self._api_token = "sk-live-0123456789abcdef"
                self.headers["Authorization"] = self._api_token


        class Tidy(dg.ConfigurableResource):
            headers: dict = {}


        def test_leak(run_context):
            with run_context.open(LeakyHeaders()):
                pass


        def test_tidy(run_context):
            with run_context.open(Tidy()):
                pass
        """
    )
    result = pytester.runpytest("--resources-report=r.html", "--resources-report-json=r.json")
    result.assert_outcomes(passed=1, failed=1)
    by_name = {
        nodeid.split("::")[1]: test for nodeid, test in _tests(pytester.path / "r.json").items()
    }
    [leaky] = by_name["test_leak"]["runs"]
    assert leaky["verdict"] == "broken"
    assert leaky["violations"] == []
    assert leaky["findings"]
    assert all(
        f.startswith("leaky_headers: private _api_token shows in") for f in leaky["findings"]
    )
    assert by_name["test_tidy"]["runs"][0]["findings"] == []
    page = (pytester.path / "r.html").read_text()
    assert page.count('<ul class="findings">') == 1
    assert "leaky_headers: private _api_token shows in" in page
    assert "sk-live-0123456789abcdef" not in page  # the value is shown redacted, if at all
