"""Where the time of a default ``run_context.open`` goes: a ``cProfile`` of many opens.

Opens the ``token`` resource (one field pair, a private token set in setup) and the ``nested``
one (a report service holding a token client) of ``bench/run.py`` ``--opens`` times each with
``run_context.open(resource)``, the leak audit on as by default, after a warm-up, and prints the
top entries by cumulative and by own time, plus how often Dagster inferred a config schema
(``infer_schema_from_config_class``) per resource initialized. With ``--raw`` it profiles
``dagster.build_resources`` on the shared instance instead, for comparison; with ``--no-audit``
the open without the leak audit (recording and the lifecycle rules alone).

    .venv/bin/python -m bench.profile [--opens 300] [--scenario token|nested|all] [--raw]
                                      [--no-audit] [--top 25] [--output PATH.prof]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
from typing import Any

import dagster

from bench.run import SCENARIOS
from pytest_resources import RunContext
from pytest_resources._session import Session

# Records accumulate per test; start a new one this often, as bench.run does.
CALLS_PER_TEST = 100


def opens(
    session: Session, resource: Any, use: Any, count: int, *, raw: bool, audit: bool = True
) -> None:
    context = RunContext(session)
    for number in range(count):
        if number % CALLS_PER_TEST == 0:
            session.end_test()
            session.begin_test("bench-profile")
        if raw:
            with dagster.build_resources({"r": resource}, instance=context.instance) as built:
                use(built.r)
        else:
            with context.open(resource, leak_audit=audit) as live:
                use(live)


def schema_inferences(stats: pstats.Stats) -> int:
    """Calls of Dagster's own ``infer_schema_from_config_class`` in the profile."""
    raw_stats: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    return sum(
        entry[1]
        for (file, _line, function), entry in raw_stats.items()
        if function == "infer_schema_from_config_class" and "pytest_resources" not in file
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opens", type=int, default=300)
    parser.add_argument("--scenario", choices=[*SCENARIOS, "all"], default="all")
    parser.add_argument("--raw", action="store_true", help="profile build_resources instead")
    parser.add_argument(
        "--no-audit", action="store_true", help="open with leak_audit=False (recording, rules)"
    )
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--output", help="also write the raw profile (pstats format) here")
    args = parser.parse_args(argv)

    names = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    session = Session()
    session.warm_up()
    for name in names:
        make, use = SCENARIOS[name]
        resource = make()
        audit = not args.no_audit
        opens(session, resource, use, 20, raw=args.raw, audit=audit)  # warm-up: lazy imports
        profiler = cProfile.Profile()
        profiler.enable()
        opens(session, resource, use, args.opens, raw=args.raw, audit=audit)
        profiler.disable()
        if args.output:
            suffix = f".{name}" if len(names) > 1 else ""
            profiler.dump_stats(f"{args.output}{suffix}")
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        what = (
            "build_resources (shared instance)"
            if args.raw
            else f"run_context.open ({'audited' if audit else 'leak_audit=False'})"
        )
        resources_per_open = 2 if name == "nested" else 1
        print(f"=== {name}: {args.opens} x {what}")
        print(
            f"infer_schema_from_config_class: {schema_inferences(stats)} calls for "
            f"{args.opens * resources_per_open} resource initializations"
        )
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)
        print(out.getvalue())
    session.end_test()
    session.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
