"""What a user pays inside a test: the mean per open in one pytest test, collector on.

Each measurement is one test of a generated test file, run by pytest with the plugin as
installed, so that the test's records accumulate as they do for a user and the garbage
collector runs as it does for a user (nothing here touches it):

* ``open``      ``with run_context.open(token): pass``, against
                ``with dagster.build_resources({"r": token}, instance=shared): pass``;
* ``run+open``  ``with run_context.run() as run, run.open(token): pass``, against the same;
* ``nested``    the same as ``run+open`` for a pair (an outer resource holding a token
                resource as a nested resource, both with setup and teardown);
* ``property``  a 100-example ``@given`` test opening each drawn token resource in its own
                ``run()``, against the same ``@given`` loop on ``dagster.build_resources``
                with Dagster's defaults (a new ephemeral instance per example).

The token resource has one ``str`` field and a setup and teardown that do nothing. Both sides
of a measurement alternate in blocks within the one test (the order swapped every block), and
the ratio is the total time of one side over the other's: a mean, so that the collections the
plugin's garbage triggers count. ``--before REF`` measures the package as it was at the git
ref ``REF`` too, in the same run, alternating with this checkout round by round. A report, not
a test: it exits 0.

    .venv/bin/python -m bench.in_pytest [--opens 1200] [--block 150] [--rounds 2] [--before main]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from bench.targets import IN_TEST_NESTED, IN_TEST_OPEN, IN_TEST_PROPERTY, IN_TEST_RUN, Verdict

TESTS = """
import json
import os
import time

import dagster
from hypothesis import HealthCheck, given, settings, strategies as st

OUT = os.environ["BENCH_OUT"]
OPENS = int(os.environ["BENCH_OPENS"])
BLOCK = int(os.environ["BENCH_BLOCK"])
SHARED = dagster.DagsterInstance.ephemeral()


class Token(dagster.ConfigurableResource):
    name: str = "token"

    def setup_for_execution(self, context):
        pass

    def teardown_after_execution(self, context):
        pass


class Pair(dagster.ConfigurableResource):
    token: Token

    def setup_for_execution(self, context):
        pass

    def teardown_after_execution(self, context):
        pass


def _write(name, sides):
    with open(os.path.join(OUT, name + ".json"), "w") as file:
        json.dump(sides, file)


def _raw(resource):
    with dagster.build_resources({"r": resource}, instance=SHARED):
        pass


def _interleaved(name, plugin, resource):
    plugin(resource)
    _raw(resource)
    totals = {"plugin": 0, "raw": 0}
    for block in range(OPENS // BLOCK):
        sides = [("plugin", plugin), ("raw", _raw)]
        for side, call in sides[::-1] if block % 2 else sides:
            started = time.perf_counter_ns()
            for _ in range(BLOCK):
                call(resource)
            totals[side] += time.perf_counter_ns() - started
    _write(name, {side: total / (OPENS // BLOCK * BLOCK) / 1e6 for side, total in totals.items()})


def test_open(run_context):
    def plugin(resource):
        with run_context.open(resource):
            pass

    _interleaved("open", plugin, Token())


def _in_a_run(run_context):
    def plugin(resource):
        with run_context.run() as run, run.open(resource):
            pass

    return plugin


def test_run_open(run_context):
    _interleaved("run+open", _in_a_run(run_context), Token())


def test_nested(run_context):
    _interleaved("nested", _in_a_run(run_context), Pair(token=Token()))


def _given(body):
    return settings(
        max_examples=100,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )(given(name=st.text(max_size=8))(body))


def test_property(run_context):
    @_given
    def plugin(name):
        with run_context.run() as run, run.open(Token(name=name)):
            pass

    @_given
    def defaults(name):
        with dagster.build_resources({"r": Token(name=name)}):
            pass

    totals = {"plugin": 0, "defaults": 0}
    for repeat in range(3):
        loops = [("plugin", plugin), ("defaults", defaults)]
        for side, loop in loops[::-1] if repeat % 2 else loops:
            started = time.perf_counter_ns()
            loop()
            totals[side] += time.perf_counter_ns() - started
    _write("property", {side: total / 300 / 1e6 for side, total in totals.items()})
"""

MEASURES = ("open", "run+open", "nested", "property")


def _package_at(ref: str, into: Path) -> Path:
    """The package as it was at ``ref``, unpacked under ``into`` (for ``PYTHONPATH``)."""
    archive = into / "before.tar"
    subprocess.run(
        ["git", "archive", "--output", str(archive), ref, "pytest_resources"],
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    with tarfile.open(archive) as tar:
        tar.extractall(into / "before", filter="data")
    return into / "before"


def _measure(work: Path, opens: int, block: int, package: Path | None) -> dict[str, dict]:
    out = Path(tempfile.mkdtemp(dir=work))
    env = {
        **os.environ,
        "BENCH_OUT": str(out),
        "BENCH_OPENS": str(opens),
        "BENCH_BLOCK": str(block),
    }
    if package is not None:  # found before the installed copy, plugin entry point included
        env["PYTHONPATH"] = os.pathsep.join([str(package), env.get("PYTHONPATH", "")])
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "test_bench_in_pytest.py",
        ],
        cwd=work,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return {name: json.loads((out / f"{name}.json").read_text()) for name in MEASURES}


def _ratio(name: str, sides: dict[str, float]) -> float:
    if name == "property":
        return sides["defaults"] / sides["plugin"]
    return sides["plugin"] / sides["raw"]


def run(argv: list[str] | None = None) -> list[Verdict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opens", type=int, default=1200, help="opens per side per test")
    parser.add_argument("--block", type=int, default=150, help="opens per block")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--before", metavar="REF", help="also measure the package at REF")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        (work / "test_bench_in_pytest.py").write_text(TESTS)
        checkouts: dict[str, Path | None] = {"after": None}
        if args.before:
            checkouts = {"before": _package_at(args.before, work), **checkouts}
        results: dict[str, list[dict[str, dict]]] = {name: [] for name in checkouts}
        for round_number in range(args.rounds):
            order = list(checkouts.items())
            for name, package in order[::-1] if round_number % 2 else order:
                results[name].append(_measure(work, args.opens, args.block, package))
    print(
        f"mean per open in one test of {args.opens} opens per side, blocks of {args.block}, "
        f"{args.rounds} rounds; property: per 100-example test, 3 repeats per round"
    )
    verdicts: list[Verdict] = []
    targets = dict(
        zip(MEASURES, (IN_TEST_OPEN, IN_TEST_RUN, IN_TEST_NESTED, IN_TEST_PROPERTY), strict=True)
    )
    for measure in MEASURES:
        for name, rounds in results.items():
            per_round = tuple(_ratio(measure, found[measure]) for found in rounds)
            totals = {
                side: sum(found[measure][side] for found in rounds) / len(rounds)
                for side in rounds[0][measure]
            }
            ratio = _ratio(measure, totals)
            shown = "  ".join(f"{side} {ms:.3f} ms" for side, ms in totals.items())
            rounds_shown = " ".join(f"{x:.2f}" for x in per_round)
            print(f"  {measure:<9} {name:<6} {shown}  ratio {ratio:.2f}x  (rounds {rounds_shown})")
            if name == "after":
                verdicts.append(targets[measure].judge(ratio, per_round))
    return verdicts


def main(argv: list[str] | None = None) -> int:
    for verdict in run(argv):
        print(verdict.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
