"""What writing the lifecycle report costs: the share of a 1,000-test suite's time spent on it.

One pytest session (in this process, so the report's functions can be timed) runs a generated
suite of ``--tests`` tests, each opening a resource with a nested one (2 resources, 10 lifecycle
calls a run); one test in 50 breaks rule 5, so its run's timeline is drawn in the HTML. The
session writes both files (``--resources-report`` and ``--resources-report-json``). The report's
time is what its code took in that same session: taking each test's runs as plain data when the
test ends, and writing the JSON and HTML files at the end; the ratio is that over the session's
wall time. Target: at most 5%. A report, not a test: it exits 0.

    .venv/bin/python -m bench.report [--tests 1000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SUITE = """
import dagster as dg
import pytest


class Token(dg.ConfigurableResource):
    name: str = "token"

    def setup_for_execution(self, context):
        pass

    def teardown_after_execution(self, context):
        pass


class Pair(dg.ConfigurableResource):
    token: Token
    broken: bool = False

    def setup_for_execution(self, context):
        pass

    def teardown_after_execution(self, context):
        if self.broken:
            raise RuntimeError("teardown failed")


@pytest.mark.parametrize("number", range({tests}))
def test_open(run_context, number):
    with run_context.run() as run, run.open(Pair(token=Token(), broken=number % 50 == 49)):
        pass
"""

BOUND = 0.05


class _Timed:
    """Seconds spent in the functions it wraps."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
                self.calls += 1

        return timed


def measure(tests: int) -> dict[str, float]:
    from pytest_resources._report import collect, html, runs

    timed = _Timed()
    # Looked up at each call (runs_of_test, write_html) or bound at import (write_json).
    runs.runs_of_test = timed.wrap(runs.runs_of_test)  # type: ignore[method-assign]
    html.write_html = timed.wrap(html.write_html)  # type: ignore[method-assign]
    collect.write_json = timed.wrap(collect.write_json)  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        (root / "test_suite.py").write_text(SUITE.replace("{tests}", str(tests)))
        started = time.perf_counter()
        pytest.main(
            [
                str(root / "test_suite.py"),
                "-q",
                "-p",
                "no:cacheprovider",
                "-W",
                "ignore::DeprecationWarning",
                "--tb=no",
                f"--resources-report={root / 'report.html'}",
                f"--resources-report-json={root / 'report.json'}",
            ]
        )
        total = time.perf_counter() - started
        sizes = {
            "html_kb": (root / "report.html").stat().st_size / 1024,
            "json_kb": (root / "report.json").stat().st_size / 1024,
        }
    return {"total_s": total, "report_s": timed.seconds, "ratio": timed.seconds / total, **sizes}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=1000)
    args = parser.parse_args(argv)
    result = measure(args.tests)
    verdict = "met" if result["ratio"] <= BOUND else "NOT met"
    print(
        f"\nreport: {args.tests} tests in {result['total_s']:.1f}s, writing the report "
        f"{result['report_s']:.2f}s = {result['ratio']:.1%} of the session (target <= "
        f"{BOUND:.0%}: {verdict}); HTML {result['html_kb']:.0f} KiB, JSON "
        f"{result['json_kb']:.0f} KiB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
