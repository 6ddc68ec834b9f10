"""A 100-example property test under the plugin, next to the same loop on Dagster's defaults.

* ``plugin``    ``@given(resource_instances(TokenClient))`` with
                ``run_context.check(resource)``: a fresh run per example, every rule and the
                leak audit checked;
* ``defaults``  the same ``@given`` loop with ``dagster.build_resources({"r": resource})`` per
                example: what a hand-written property test pays (a new ephemeral instance per
                example) and it checks nothing;
* ``generation`` the same loop with an empty body: hypothesis drawing each config and building
                the resource (pydantic's and Dagster's validation). Both other loops pay it, so
                ``defaults / generation`` is the most any checking could reach (report only).

Both loops draw the same examples (``derandomize=True``). Each loop runs ``--repeat`` times,
alternating (in turns, the order reversed every other time), and the medians are compared. A
report, not a test: it exits 0.

    .venv/bin/python -m bench.property [--examples 100] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import dagster
from hypothesis import HealthCheck, given, settings

from bench.run import TokenClient
from bench.targets import PROPERTY, Verdict
from pytest_resources import RunContext, resource_instances
from pytest_resources._session import Session


def property_loop(examples: int, body: Callable[[TokenClient], None]) -> Callable[[], None]:
    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(resource=resource_instances(TokenClient))
    def loop(resource: TokenClient) -> None:
        body(resource)

    return loop


def main(argv: list[str] | None = None) -> int:
    run(argv)
    return 0


def run(argv: list[str] | None = None) -> list[Verdict]:
    """Measure, print the report, and return the verdict on target 3."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    session = Session()
    session.warm_up()
    session.begin_test("bench-property")
    context = RunContext(session)

    def with_plugin(resource: TokenClient) -> None:
        context.check(resource)

    def with_defaults(resource: TokenClient) -> None:
        with dagster.build_resources({"r": resource}) as built:
            built.r.whoami()

    loops = {
        "plugin": property_loop(args.examples, with_plugin),
        "defaults": property_loop(args.examples, with_defaults),
        "generation": property_loop(args.examples, lambda resource: None),
    }
    # Hypothesis builds a strategy, and Dagster compiles its record classes, on first use only.
    for body in (with_plugin, with_defaults):
        property_loop(5, body)()
    seconds: dict[str, list[float]] = {name: [] for name in loops}
    for repeat in range(args.repeat):
        order = list(loops.items())
        if repeat % 2:
            order.reverse()
        for name, loop in order:
            start = time.perf_counter()
            loop()
            seconds[name].append(time.perf_counter() - start)
            # Each loop is a test of its own, as a user's property test is: its records and the
            # audit's caches go with it, so every loop audits its configs afresh.
            session.end_test()
            session.begin_test("bench-property")
    session.end_test()
    session.close()

    median = {name: statistics.median(times) for name, times in seconds.items()}
    verdict = PROPERTY.judge(
        median["defaults"] / median["plugin"],
        tuple(d / p for d, p in zip(seconds["defaults"], seconds["plugin"], strict=True)),
    )
    print(f"{args.examples}-example property test, median of {args.repeat}, alternating:")
    for name, value in median.items():
        print(f"  {name:<10} {value:7.2f} s   ({value / args.examples * 1000:6.1f} ms/example)")
    ceiling = median["defaults"] / median["generation"]
    print(f"  defaults / generation = {ceiling:.1f}x: the most checking could reach (report only)")
    print(verdict.line())
    return [verdict]


if __name__ == "__main__":
    raise SystemExit(main())
