"""A suite of thousands of tests, with the plugin and on raw Dagster: memory and CPU per test.

The same generated suite is run twice in pytest subprocesses, in alternating order over the
rounds:

* ``plugin``  each test opens its resources the plugin's way: ``@pytest.mark.resource`` (with the
              ``resource`` or ``resources`` fixture), ``run_context.open``, or, every tenth test,
              a ``@given`` test with a fresh ``run_context.run()`` per example;
* ``raw``     the same resources and bodies through ``dagster.build_resources`` on one shared
              instance, with the plugin switched off (``-p no:resources``).

Each test opens one to three resources: a token client with setup and teardown, a connection
pool with a nested settings resource, a configuration-only resource. A small plugin in the
subprocess samples the process's resident set size and CPU time after every 100 tests. Reported:
RSS growth per test (the slope of a least-squares line through the samples after the first 20%
of the suite, so imports and warm-up do not count) and CPU per test, with the plugin / raw
ratios. A report, not a test: it exits 0 whether or not the targets are met.

    .venv/bin/python -m bench.scale [--tests 3000] [--rounds 2] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from typing import Any

from bench.targets import SCALE_CPU, Verdict

# Growth of the resident set per test, with the plugin: what a test may keep after it ends.
TARGET_GROWTH_KB_PER_TEST = 10.0
# CPU of the suite with the plugin / the same suite on raw Dagster (docs/performance.md).
TARGET_CPU_RATIO = SCALE_CPU.bound
SAMPLE_EVERY = 100

RESOURCES = '''
import dagster as dg
from pydantic import PrivateAttr


class TokenClient(dg.ConfigurableResource):
    api_key: str = "key"
    _token: str | None = PrivateAttr(default=None)

    def setup_for_execution(self, context):
        self._token = "t-" + self.api_key

    def teardown_after_execution(self, context):
        self._token = None


class Settings(dg.ConfigurableResource):
    region: str = "eu"


class Pool(dg.ConfigurableResource):
    size: int = 2
    settings: Settings
    _connections: list = PrivateAttr(default_factory=list)

    def setup_for_execution(self, context):
        self._connections = [object() for _ in range(self.size)]

    def teardown_after_execution(self, context):
        self._connections.clear()


class Plain(dg.ConfigurableResource):
    name: str = "plain"


def kit(number):
    """One to three resources, by the test's number."""
    chosen = {"client": TokenClient(api_key=f"k{number}")}
    if number % 3 >= 1:
        chosen["pool"] = Pool(size=number % 4 + 1, settings=Settings())
    if number % 3 == 2:
        chosen["plain"] = Plain(name=f"p{number}")
    return chosen
'''

PLUGIN_TEST = """
@pytest.mark.resource(TokenClient, api_key="k{n}")
def test_{n}_marked(resource):
    assert resource._token == "t-k{n}"


def test_{n}_opened(run_context):
    with run_context.open(kit({n})) as live:
        assert live["client"]._token == "t-k{n}"
"""

PLUGIN_GIVEN = """
@settings(max_examples=5, database=None, deadline=None)
@given(st.integers(min_value=1, max_value=4))
def test_{n}_given(run_context, size):
    with run_context.run() as run, run.open(Pool(size=size, settings=Settings())) as pool:
        assert len(pool._connections) == size
"""

RAW_TEST = """
def test_{n}_marked():
    with dg.build_resources({{"client": TokenClient(api_key="k{n}")}}, instance=INSTANCE) as r:
        assert r.client._token == "t-k{n}"


def test_{n}_opened():
    with dg.build_resources(kit({n}), instance=INSTANCE) as live:
        assert live.client._token == "t-k{n}"
"""

RAW_GIVEN = """
@settings(max_examples=5, database=None, deadline=None)
@given(st.integers(min_value=1, max_value=4))
def test_{n}_given(size):
    pool = Pool(size=size, settings=Settings())
    with dg.build_resources({{"pool": pool}}, instance=INSTANCE) as r:
        assert len(r.pool._connections) == size
"""

SAMPLER = """
import json, os, resource, time

SAMPLES = []
_count = [0]


def _rss_kb():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _sample():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    SAMPLES.append([_count[0], _rss_kb(), usage.ru_utime + usage.ru_stime])


def pytest_sessionstart(session):
    _sample()


def pytest_runtest_logfinish(nodeid, location):
    _count[0] += 1
    if _count[0] % {every} == 0:
        _sample()


def pytest_sessionfinish(session):
    _sample()
    with open(os.environ["SCALE_SAMPLES"], "w") as out:
        json.dump(SAMPLES, out)
"""


def write_suite(directory: str, variant: str, tests: int) -> None:
    """About ``tests`` tests: pairs of a marked and an opened test, and every tenth pair a
    ``@given`` test, so that the count includes them."""
    parts = [
        "import dagster as dg\nimport pytest\n"
        "from hypothesis import given, settings, strategies as st\n",
        RESOURCES,
    ]
    if variant == "raw":
        parts.append("\nINSTANCE = dg.DagsterInstance.ephemeral()\n")
    single, given = (PLUGIN_TEST, PLUGIN_GIVEN) if variant == "plugin" else (RAW_TEST, RAW_GIVEN)
    number = written = 0
    while written < tests:
        parts.append(single.format(n=number))
        written += 2
        if number % 5 == 0:
            parts.append(given.format(n=number))
            written += 1
        number += 1
    with open(os.path.join(directory, "test_suite.py"), "w") as out:
        out.write("\n".join(parts))
    with open(os.path.join(directory, "conftest.py"), "w") as out:
        out.write(SAMPLER.replace("{every}", str(SAMPLE_EVERY)))
    with open(os.path.join(directory, "pytest.ini"), "w") as out:
        out.write("[pytest]\nfilterwarnings =\n    ignore::DeprecationWarning\n")


def run_suite(variant: str, tests: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"scale-{variant}-") as directory:
        write_suite(directory, variant, tests)
        samples_path = os.path.join(directory, "samples.json")
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x"]
        if variant == "raw":
            command += ["-p", "no:resources"]
        completed = subprocess.run(
            command,
            cwd=directory,
            env={**os.environ, "SCALE_SAMPLES": samples_path},
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            raise SystemExit(f"{variant} suite failed:\n{completed.stdout[-3000:]}")
        with open(samples_path) as samples_file:
            samples: list[list[float]] = json.load(samples_file)
    return summarize(samples)


def summarize(samples: list[list[float]]) -> dict[str, Any]:
    """RSS growth per test and CPU per test, both after the first 20% of the suite."""
    total = samples[-1][0]
    steady = [sample for sample in samples if sample[0] >= total * 0.2]
    counts = [sample[0] for sample in steady]
    growth = statistics.linear_regression(counts, [sample[1] for sample in steady]).slope
    cpu = (steady[-1][2] - steady[0][2]) / (steady[-1][0] - steady[0][0])
    return {
        "tests": int(total),
        "rss_start_mb": round(samples[0][1] / 1024, 1),
        "rss_end_mb": round(samples[-1][1] / 1024, 1),
        "growth_kb_per_test": round(growth, 2),
        "cpu_ms_per_test": round(cpu * 1000, 3),
    }


def main(argv: list[str] | None = None) -> int:
    run(argv)
    return 0


def run(argv: list[str] | None = None) -> list[Verdict]:
    """Measure, print the report, and return the verdict on target 2."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    results: dict[str, list[dict[str, Any]]] = {"plugin": [], "raw": []}
    for round_number in range(args.rounds):
        order = ("raw", "plugin") if round_number % 2 == 0 else ("plugin", "raw")
        for variant in order:
            results[variant].append(run_suite(variant, args.tests))
            print(f"round {round_number + 1} {variant:<6} {results[variant][-1]}", flush=True)
    plugin_growth = statistics.median(r["growth_kb_per_test"] for r in results["plugin"])
    raw_growth = statistics.median(r["growth_kb_per_test"] for r in results["raw"])
    cpu_ratios = tuple(
        p["cpu_ms_per_test"] / r["cpu_ms_per_test"]
        for p, r in zip(results["plugin"], results["raw"], strict=True)
    )
    cpu_ratio = statistics.median(cpu_ratios)
    verdicts = {
        "growth_kb_per_test": plugin_growth,
        "raw_growth_kb_per_test": raw_growth,
        "growth_target_met": plugin_growth <= TARGET_GROWTH_KB_PER_TEST,
        "cpu_ratio": round(cpu_ratio, 2),
        "cpu_target_met": cpu_ratio <= TARGET_CPU_RATIO,
    }
    print(
        textwrap.dedent(
            f"""
            RSS growth per test: plugin {plugin_growth:.1f} KB, raw Dagster {raw_growth:.1f} KB
              target <= {TARGET_GROWTH_KB_PER_TEST:.0f} KB: {
                "met" if verdicts["growth_target_met"] else "NOT met"
            }
            CPU per test, plugin / raw Dagster: {cpu_ratio:.2f}x
            """
        ).strip()
    )
    verdict = SCALE_CPU.judge(cpu_ratio, cpu_ratios)
    print(verdict.line())
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"results": results, "verdicts": verdicts}, out, indent=2)
    return [verdict]


if __name__ == "__main__":
    raise SystemExit(main())
