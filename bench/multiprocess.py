"""What a multiprocess run under the plugin costs next to the same run through plain Dagster.

Two variants run the same two-asset graph (``users`` -> ``report``, one resource with setup and
teardown, a step process each) with Dagster's multiprocess executor:

* ``plugin``  ``run_context.materialize([...], resources=..., executor="multiprocess")``: the
              session's recording instance, the job rebuilt in each step process from importable
              references, every hook recorded there, read back and checked per process;
* ``plain``   ``dagster.execute_job(reconstructable(job), instance=...)`` on a persistent
              instance of its own: what a hand-written test of the same run pays.

Each variant runs in a fresh interpreter per round (so each pays for its own forkserver once,
as a test session does): one warm-up run, then ``--runs`` timed runs. Rounds alternate the
variants. The median per run is reported, with the ratio per round. Then the per-process cost
of the recording itself: importing ``pytest_resources._multiprocess.step_process`` in a step
process that has ``dagster`` already (what a spawn start pays; a forkserver preloads it), and
writing one event.

    .venv/bin/python -m bench.multiprocess [--rounds 3] [--runs 4] [--start-method forkserver]
                                           [--json PATH]
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
import time
from typing import Any

TARGET = 1.15  # plugin / plain at most this

ASSETS = """
import dagster as dg


class TokenClient(dg.ConfigurableResource):
    username: str
    password: str

    def setup_for_execution(self, context):
        self._token = f"token-{self.username}"

    def teardown_after_execution(self, context):
        self._token = None


@dg.asset
def users(client: TokenClient):
    return ["ann", "bob"]


@dg.asset
def report(users, client: TokenClient):
    return len(users)


def client():
    return TokenClient(username="bench", password="s3cret")


def plain_job():
    defs = dg.Definitions(
        assets=[users, report],
        jobs=[dg.define_asset_job("plain", executor_def=dg.multiprocess_executor)],
        resources={"client": client()},
    )
    resolve = getattr(defs, "resolve_job_def", None) or defs.get_job_def
    return resolve("plain")
"""

WORKER = """
import json, os, sys, tempfile, time, warnings
warnings.simplefilter("ignore")
import dagster as dg
import pr_bench_assets as m

variant, runs, start_method = sys.argv[1], int(sys.argv[2]), sys.argv[3]
times = []
if variant == "plain":
    directory = tempfile.mkdtemp()
    with open(os.path.join(directory, "dagster.yaml"), "w") as f:
        f.write("telemetry:\\n  enabled: false\\n")
    instance = dg.DagsterInstance.from_config(directory)
    recon = dg.reconstructable(m.plain_job)
    config = {"execution": {"config": {"start_method": {start_method: {}}}}}
    for i in range(runs + 1):
        start = time.perf_counter()
        result = dg.execute_job(recon, instance=instance, run_config=config)
        assert result.success
        if i:
            times.append(time.perf_counter() - start)
    instance.dispose()
else:
    from pytest_resources import RunContext
from pytest_resources._session import Session

    session = Session()
    context = RunContext(session)
    for i in range(runs + 1):
        session.begin_test("bench")
        start = time.perf_counter()
        result = context.materialize(
            [m.users, m.report], resources={"client": m.client()},
            executor="multiprocess", start_method=start_method,
        )
        elapsed = time.perf_counter() - start
        assert result.success and len(result.pids) == 2, result
        session.end_test()
        if i:
            times.append(elapsed)
    session.close()
print(json.dumps(times))
"""

CHILD_IMPORT = """
import time, dagster
start = time.perf_counter()
import pytest_resources._multiprocess.step_process
print(time.perf_counter() - start)
"""

EVENT_WRITE = """
import os, tempfile, time
from pytest_resources._multiprocess.step_process import ProcessRecorder
from pytest_resources._hooks import Hook
from pytest_resources._recording import RegisteredResource
from pytest_resources._wrappers import _Tag

class R: pass

recorder = ProcessRecorder(tempfile.mkdtemp())
recorder.run_id = "bench-run"
tag = _Tag(recorder, RegisteredResource("client", R))
n = 2000
start = time.perf_counter()
for _ in range(n):
    recorder.record(tag, Hook.SETUP, "returned", None, None)
print((time.perf_counter() - start) / n)
"""


def run_worker(script: str, *args: str, where: str | None = None) -> Any:
    """Run ``script`` in a fresh interpreter (in ``where``, whose modules it can import)."""
    env = {**os.environ, "DAGSTER_DISABLE_TELEMETRY": "yes"}
    if where:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [where, env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=where,
    )
    if done.returncode:
        raise SystemExit(f"a bench worker failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--start-method", default="forkserver", choices=("forkserver", "spawn"))
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()

    assets_dir = tempfile.mkdtemp(prefix="pr-bench-")
    with open(os.path.join(assets_dir, "pr_bench_assets.py"), "w", encoding="utf-8") as file:
        file.write(textwrap.dedent(ASSETS))
    worker = WORKER

    per_variant: dict[str, list[float]] = {"plugin": [], "plain": []}
    ratios = []
    for round_number in range(args.rounds):
        order = ("plugin", "plain") if round_number % 2 == 0 else ("plain", "plugin")
        medians = {}
        for variant in order:
            times = run_worker(worker, variant, str(args.runs), args.start_method, where=assets_dir)
            per_variant[variant].extend(times)
            medians[variant] = statistics.median(times)
        ratios.append(medians["plugin"] / medians["plain"])
        print(
            f"round {round_number + 1}: plugin {medians['plugin'] * 1000:7.0f} ms/run   "
            f"plain {medians['plain'] * 1000:7.0f} ms/run   ratio {ratios[-1]:.2f}",
            flush=True,
        )

    plugin = statistics.median(per_variant["plugin"])
    plain = statistics.median(per_variant["plain"])
    child_import = statistics.median(float(run_worker(CHILD_IMPORT)) for _ in range(5))
    event_write = float(run_worker(EVENT_WRITE))
    ratio = plugin / plain
    print()
    print(f"{args.start_method}, 2 steps, {args.rounds} rounds x {args.runs} runs per variant")
    print(f"  plugin  {plugin * 1000:7.0f} ms per run (median)")
    print(f"  plain   {plain * 1000:7.0f} ms per run (median)")
    print(
        f"  ratio   {ratio:.2f}  (target <= {TARGET}; per round: "
        f"{', '.join(f'{r:.2f}' for r in ratios)})"
    )
    print(
        "  step process: import pytest_resources._multiprocess.step_process "
        f"{child_import * 1000:.0f} ms "
        "(spawn only; a forkserver preloads it)"
    )
    print(f"  step process: one recorded hook call written {event_write * 1e6:.0f} us")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump(
                {
                    "start_method": args.start_method,
                    "plugin_ms": plugin * 1000,
                    "plain_ms": plain * 1000,
                    "ratio": ratio,
                    "ratios_per_round": ratios,
                    "child_import_ms": child_import * 1000,
                    "event_write_us": event_write * 1e6,
                    "time": time.time(),
                },
                file,
                indent=2,
            )


if __name__ == "__main__":
    main()
