"""What ``run_context.open`` costs next to Dagster's own ``build_resources``.

One full lifecycle (open, use, close) of a resource with ``setup_for_execution`` and
``teardown_after_execution`` is timed, in one process, three ways:

* ``open``      ``run_context.open(res, leak_audit=False)``: recording and the rule checks;
* ``audited``   ``run_context.open(res)``: the same plus the private-state leak audit (on by
                default), audited after setup and after teardown;
* ``released``  ``run_context.open(res, leak_audit=False, release_check=True)``: ``open`` plus
                the opt-in release check (open fds, threads, child processes);
* ``shared``    ``dagster.build_resources({"r": res}, instance=shared)``: the floor, Dagster alone
                on the same shared ephemeral instance ``open`` uses;
* ``defaults``  ``dagster.build_resources({"r": res})``: what a hand-written test pays without
                an instance, since Dagster then makes a new ephemeral instance per call.

Two scenarios: ``token`` (one such resource) and ``nested`` (an outer resource holding one as a
nested resource, both with setup and teardown). After a warm-up, every round alternates the
variants in short chunks, in a rotating order, so that load from elsewhere on the machine hits
them alike; each call is timed on its own and the median per call is reported, with the ratios
per round to show how stable they are. A report, not a test: it exits 0 whether or not the
targets are met.

    .venv/bin/python bench/run.py [--json PATH] [--rounds 5] [--iterations 300] [--defaults 30]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from typing import Any

import dagster
from pydantic import PrivateAttr

from bench.targets import DEFAULT_OPEN, NESTED, Verdict
from pytest_resources import RunContext
from pytest_resources._hooks import Hook
from pytest_resources._session import Session

VARIANTS = ("open", "audited", "released", "shared", "defaults")
# open / shared at most this: what recording and the rule checks may add on top of Dagster.
TARGET_OPEN_OVER_SHARED = 1.5
# defaults / open at least this: what the shared instance saves a test over Dagster's defaults.
TARGET_DEFAULTS_OVER_OPEN = NESTED.bound
# Records accumulate per test; start a new one this often to keep memory flat.
CALLS_PER_TEST = 100


# --- the resources under test ----------------------------------------------------------------


class TokenClient(dagster.ConfigurableResource):
    """A client that logs in on setup and forgets its token on teardown."""

    username: str
    password: str
    _api_token: str | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dagster.InitResourceContext) -> None:
        self._api_token = f"token-{self.username}-{len(self.password)}"

    def teardown_after_execution(self, context: dagster.InitResourceContext) -> None:
        self._api_token = None

    def whoami(self) -> str:
        if self._api_token is None:
            raise RuntimeError("not logged in")
        return self.username


class ReportService(dagster.ConfigurableResource):
    """An outer resource that holds a nested ``TokenClient`` and sets up its own session."""

    client: TokenClient
    base_url: str
    _session: str | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dagster.InitResourceContext) -> None:
        self._session = f"{self.base_url}/{self.client.whoami()}"

    def teardown_after_execution(self, context: dagster.InitResourceContext) -> None:
        self._session = None

    def fetch(self) -> str:
        if self._session is None:
            raise RuntimeError("no session")
        return f"{self._session}/report?user={self.client.whoami()}"


def make_token() -> TokenClient:
    return TokenClient(username="bench", password="s3cret")


def make_nested() -> ReportService:
    return ReportService(client=make_token(), base_url="https://reports.example")


def use_token(live: TokenClient) -> None:
    if live.whoami() != "bench":
        raise RuntimeError("wrong live token client")


def use_nested(live: ReportService) -> None:
    if not live.fetch().endswith("user=bench"):
        raise RuntimeError("wrong live report service")


SCENARIOS: dict[str, tuple[Callable[[], Any], Callable[[Any], None]]] = {
    "token": (make_token, use_token),
    "nested": (make_nested, use_nested),
}


# --- the variants ------------------------------------------------------------------------------


class Bench:
    def __init__(self) -> None:
        self.session = Session()
        self.ctx = RunContext(self.session)
        self.calls_in_test = 0
        # CPU time of this process per call, by variant: what other jobs' load hardly moves.
        self.cpu_ms: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
        self.test_runs = self.session.begin_test("bench")

    @property
    def shared_instance(self) -> dagster.DagsterInstance:
        return self.ctx.instance

    def fresh_test(self) -> None:
        self.session.end_test()
        self.test_runs = self.session.begin_test("bench")
        self.calls_in_test = 0

    def call(self, variant: str, res: Any, use: Callable[[Any], None]) -> None:
        if variant == "open":
            with self.ctx.open(res, leak_audit=False) as live:
                use(live)
        elif variant == "audited":
            with self.ctx.open(res) as live:
                use(live)
        elif variant == "released":
            with self.ctx.open(res, leak_audit=False, release_check=True) as live:
                use(live)
        elif variant == "shared":
            with dagster.build_resources({"r": res}, instance=self.shared_instance) as built:
                use(built.r)
        else:
            with dagster.build_resources({"r": res}) as built:
                use(built.r)

    def check_recorded(self, res: Any) -> None:
        """The ``open`` path really recorded the hooks (so the timing is not of a no-op)."""
        self.fresh_test()
        with self.ctx.open(res):
            pass
        hooks = [e.hook for r in self.test_runs.recordings for e in r.events]
        if Hook.SETUP not in hooks or Hook.TEARDOWN not in hooks:
            raise RuntimeError(f"run_context.open recorded no setup/teardown: {hooks}")
        self.fresh_test()

    def close(self) -> None:
        self.session.end_test()
        self.session.close()


def time_block(
    bench: Bench, variant: str, res: Any, use: Callable[[Any], None], n: int
) -> list[float]:
    """Per-call wall times in ms for ``n`` consecutive calls of one variant."""
    times = []
    clock, cpu_clock = time.perf_counter_ns, time.process_time_ns
    for _ in range(n):
        if variant in (
            "open",
            "audited",
            "released",
        ):  # outside the clock: records are not the cost measured
            if bench.calls_in_test >= CALLS_PER_TEST:
                bench.fresh_test()
            bench.calls_in_test += 1
        start, cpu_start = clock(), cpu_clock()
        bench.call(variant, res, use)
        times.append((clock() - start) / 1e6)
        bench.cpu_ms[variant].append((cpu_clock() - cpu_start) / 1e6)
    return times


def run_scenario(bench: Bench, name: str, args: argparse.Namespace) -> dict[str, Any]:
    make, use = SCENARIOS[name]
    res = make()
    bench.check_recorded(res)
    iterations = {
        "open": args.iterations,
        "audited": args.iterations,
        "released": args.iterations,
        "shared": args.iterations,
        "defaults": args.defaults,
    }
    for variant in VARIANTS:  # warm-up: imports, caches, the recording subclass, the instance
        time_block(bench, variant, res, use, max(3, iterations[variant] // 10))
    for cpu_times in bench.cpu_ms.values():
        cpu_times.clear()  # the warm-up is not measured
    samples: dict[str, list[float]] = {v: [] for v in VARIANTS}
    round_medians: dict[str, list[float]] = {v: [] for v in VARIANTS}
    # Each round is cut into chunks that alternate the variants (in a rotating order), so that
    # load from anything else on the machine hits every variant alike.
    chunks = max(1, min(args.chunks, *iterations.values()))
    for _round in range(args.rounds):
        bench.fresh_test()
        gc.collect()
        in_round: dict[str, list[float]] = {v: [] for v in VARIANTS}
        for chunk in range(chunks):
            shift = chunk % len(VARIANTS)
            for variant in VARIANTS[shift:] + VARIANTS[:shift]:
                total = iterations[variant]
                n = total * (chunk + 1) // chunks - total * chunk // chunks
                in_round[variant].extend(time_block(bench, variant, res, use, n))
        for variant in VARIANTS:
            samples[variant].extend(in_round[variant])
            round_medians[variant].append(statistics.median(in_round[variant]))
    result: dict[str, Any] = {"variants": {}}
    for variant in VARIANTS:
        times = sorted(samples[variant])
        result["variants"][variant] = {
            "calls": len(times),
            "median_ms": statistics.median(times),
            "p10_ms": times[len(times) // 10],
            "p90_ms": times[len(times) * 9 // 10],
            "round_medians_ms": round_medians[variant],
        }
    med = {v: result["variants"][v]["median_ms"] for v in VARIANTS}
    cpu = {v: statistics.median(bench.cpu_ms[v]) for v in VARIANTS}
    result["cpu_median_ms"] = cpu
    open_over_shared = med["open"] / med["shared"]
    defaults_over_open = med["defaults"] / med["open"]
    rounds = range(args.rounds)
    result["ratios"] = {
        "open_over_shared": open_over_shared,
        "open_over_shared_by_round": [
            round_medians["open"][i] / round_medians["shared"][i] for i in rounds
        ],
        "open_over_shared_target_max": TARGET_OPEN_OVER_SHARED,
        "open_over_shared_pass": open_over_shared <= TARGET_OPEN_OVER_SHARED,
        "defaults_over_open": defaults_over_open,
        "defaults_over_open_by_round": [
            round_medians["defaults"][i] / round_medians["open"][i] for i in rounds
        ],
        "defaults_over_open_target_min": TARGET_DEFAULTS_OVER_OPEN,
        "defaults_over_open_pass": defaults_over_open >= TARGET_DEFAULTS_OVER_OPEN,
        "open_overhead_ms": med["open"] - med["shared"],
        "audited_over_shared": med["audited"] / med["shared"],
        "audited_over_shared_by_round": [
            round_medians["audited"][i] / round_medians["shared"][i] for i in rounds
        ],
        "defaults_over_audited": med["defaults"] / med["audited"],
        "cpu_audited_over_shared": cpu["audited"] / cpu["shared"],
        "cpu_defaults_over_open": cpu["defaults"] / cpu["open"],
        "leak_audit_ms": med["audited"] - med["open"],
        "release_check_ms": med["released"] - med["open"],
    }
    return result


# --- reporting ---------------------------------------------------------------------------------


def environment() -> dict[str, Any]:
    def version(dist: str) -> str:
        with contextlib.suppress(metadata.PackageNotFoundError):
            return metadata.version(dist)
        return "unknown"

    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "dagster": version("dagster"),
        "pytest": version("pytest"),
        "pytest_dagster_resources": version("pytest-dagster-resources"),
    }


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_report(env: dict[str, Any], params: dict[str, Any], results: dict[str, Any]) -> None:
    print(
        f"pytest-dagster-resources bench  {env['date']}  python {env['python']}  "
        f"dagster {env['dagster']}  {env['cpus']} cpu(s)"
    )
    print(
        f"{params['rounds']} rounds x {params['iterations']} calls ({params['defaults']} for "
        f"defaults), variants alternated {params['chunks']}x per round, after warm-up"
    )
    for name, result in results.items():
        print()
        print(f"scenario {name!r}")
        print(f"  {'variant':<10}{'median ms':>11}{'p10 ms':>9}{'p90 ms':>9}  round medians ms")
        for variant in VARIANTS:
            v = result["variants"][variant]
            rounds = " ".join(f"{m:.2f}" for m in v["round_medians_ms"])
            print(
                f"  {variant:<10}{v['median_ms']:>11.3f}{v['p10_ms']:>9.3f}{v['p90_ms']:>9.3f}"
                f"  {rounds}"
            )
        r = result["ratios"]
        print(
            f"  open / shared     = {r['open_over_shared']:6.2f}x  (target <= "
            f"{TARGET_OPEN_OVER_SHARED}x)  {verdict(r['open_over_shared_pass'])}"
            f"   overhead {r['open_overhead_ms']:+.3f} ms/call"
        )
        print(f"    by round: {' '.join(f'{x:.2f}' for x in r['open_over_shared_by_round'])}")
        print(
            f"  defaults / open   = {r['defaults_over_open']:6.2f}x  (target >= "
            f"{TARGET_DEFAULTS_OVER_OPEN:g}x)  {verdict(r['defaults_over_open_pass'])}"
        )
        print(f"    by round: {' '.join(f'{x:.1f}' for x in r['defaults_over_open_by_round'])}")
        print(
            f"  audited / shared  = {r['audited_over_shared']:6.2f}x  (target 1 for token)"
            f"   the leak audit adds {r['leak_audit_ms']:+.3f} ms/call"
        )
        print(f"    by round: {' '.join(f'{x:.2f}' for x in r['audited_over_shared_by_round'])}")
        print(f"  defaults / audited = {r['defaults_over_audited']:5.2f}x  (report only)")
        cpu = result["cpu_median_ms"]
        print(
            "  CPU medians ms: "
            + "  ".join(f"{variant} {cpu[variant]:.3f}" for variant in VARIANTS)
            + f"\n    CPU audited / shared = {r['cpu_audited_over_shared']:.2f}x, "
            f"CPU defaults / open = {r['cpu_defaults_over_open']:.2f}x  (report only: this "
            "process's CPU time, which other jobs' load hardly moves)"
        )
        print(f"  release check     (report only)   adds {r['release_check_ms']:+.3f} ms/call")
    verdicts = target_verdicts(results)
    if verdicts:
        print()
        for found in verdicts:
            print(found.line())


def target_verdicts(results: dict[str, Any]) -> list[Verdict]:
    """Target 1 on the token resource, target 4 on the nested one (when measured)."""
    verdicts = []
    if "token" in results:
        r = results["token"]["ratios"]
        verdicts.append(
            DEFAULT_OPEN.judge(r["audited_over_shared"], tuple(r["audited_over_shared_by_round"]))
        )
    if "nested" in results:
        r = results["nested"]["ratios"]
        verdicts.append(
            NESTED.judge(r["defaults_over_open"], tuple(r["defaults_over_open_by_round"]))
        )
    return verdicts


def main(argv: list[str] | None = None) -> int:
    run(argv)
    return 0


def run(argv: list[str] | None = None) -> list[Verdict]:
    """Measure, print the report, and return the verdicts on targets 1 and 4."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="PATH", help="also write the numbers to PATH as JSON")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (5)")
    parser.add_argument(
        "--iterations", type=int, default=300, help="calls per round for open and shared (300)"
    )
    parser.add_argument(
        "--defaults", type=int, default=30, help="calls per round for defaults (30)"
    )
    parser.add_argument(
        "--chunks", type=int, default=30, help="alternations of the variants per round (30)"
    )
    parser.add_argument(
        "--scenario",
        choices=[*SCENARIOS, "all"],
        default="all",
        help="which resource to time (all)",
    )
    args = parser.parse_args(argv)
    if min(args.rounds, args.iterations, args.defaults, args.chunks) < 1:
        parser.error("--rounds, --iterations, --defaults and --chunks must be at least 1")

    names = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    params = {
        "rounds": args.rounds,
        "iterations": args.iterations,
        "defaults": args.defaults,
        "chunks": args.chunks,
        "scenarios": names,
    }
    env = environment()
    bench = Bench()
    started = time.perf_counter()
    try:
        results = {name: run_scenario(bench, name, args) for name in names}
    finally:
        bench.close()
    elapsed = time.perf_counter() - started
    print_report(env, params, results)
    print(f"\n(total {elapsed:.1f} s)")
    if args.json:
        payload = {
            "environment": env,
            "parameters": params,
            "elapsed_s": elapsed,
            "scenarios": results,
        }
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=2)
            fh.write("\n")
        print(f"wrote {args.json}")
    return target_verdicts(results)


if __name__ == "__main__":
    sys.exit(main())
