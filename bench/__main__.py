"""``make bench``: every target of issues 14 and 22, measured, then one verdict per target.

Runs ``bench.run`` (targets 1 and 4), ``bench.property`` (3), ``bench.in_pytest`` (6 to 9: inside
a pytest test, collector on), ``bench.scale`` (2, and RSS growth per test) and ``bench.startup``
(5) one after the other, each with its sides interleaved, and prints their
reports and, at the end, the verdicts together. A report, not a test: it exits 0 whether or
not the targets are met. ``--quick`` runs fewer rounds (a smoke run, not a measurement).

    .venv/bin/python -m bench [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time

from bench import in_pytest as in_pytest_bench
from bench import property as property_bench
from bench import run as run_bench
from bench import scale as scale_bench
from bench import startup as startup_bench
from bench.targets import Verdict


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: fewer rounds")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    verdicts: list[Verdict] = []
    sections = [
        (
            "bench.run",
            run_bench.run,
            ["--rounds", "2", "--iterations", "60", "--defaults", "6", "--chunks", "6"]
            if args.quick
            else [],
        ),
        ("bench.property", property_bench.run, ["--repeat", "1"] if args.quick else []),
        (
            "bench.in_pytest",
            in_pytest_bench.run,
            ["--opens", "300", "--rounds", "1"] if args.quick else [],
        ),
        (
            "bench.scale",
            scale_bench.run,
            ["--tests", "300", "--rounds", "1"] if args.quick else [],
        ),
    ]
    for name, run, options in sections:
        print(f"\n===== {name} {' '.join(options)}".rstrip(), flush=True)
        verdicts.extend(run(options))
    print("\n===== bench.startup", flush=True)
    startup_verdict, medians = startup_bench.measure(5 if args.quick else 21)
    startup_bench.report(startup_verdict, medians, 5 if args.quick else 21)
    verdicts.append(startup_verdict)

    print(f"\n===== verdicts (total {time.perf_counter() - started:.0f} s)")
    for verdict in sorted(verdicts, key=lambda found: found.target.row):
        print(verdict.line())
    met = sum(verdict.met for verdict in verdicts)
    print(f"{met} of {len(verdicts)} targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
