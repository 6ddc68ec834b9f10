"""What the plugin costs a project that never uses it: pytest's start-up, with and without it.

A tiny project (one test, no Dagster) is collected with ``python -m pytest --co -q``, with the
plugin loaded as installed (``plugin``) and with ``-p no:resources`` (``without``), alternating
the two ``--repeat`` times in one run. The CPU time of each pytest process (user + system, read
from the child's resource usage) is compared, median against median: unlike wall time it hardly
moves with the load of other jobs on the machine. Wall times are shown too. A report, not a
test: it exits 0.

    .venv/bin/python -m bench.startup [--repeat 21]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from bench.targets import STARTUP, Verdict

VARIANTS = {"plugin": [], "without": ["-p", "no:resources"]}


def collect_once(directory: str, extra: list[str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one ``pytest --co -q`` in ``directory``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider", *extra],
        cwd=directory,
        check=True,
        capture_output=True,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def measure(repeat: int) -> tuple[Verdict, dict[str, dict[str, float]]]:
    with tempfile.TemporaryDirectory(prefix="startup-") as directory:
        with open(os.path.join(directory, "test_plain.py"), "w") as out:
            out.write("def test_plain():\n    assert True\n")
        with open(os.path.join(directory, "pytest.ini"), "w") as out:
            out.write("[pytest]\n")
        for extra in VARIANTS.values():  # warm the disk cache and the bytecode
            collect_once(directory, extra)
        cpu: dict[str, list[float]] = {name: [] for name in VARIANTS}
        wall: dict[str, list[float]] = {name: [] for name in VARIANTS}
        for number in range(repeat):
            order = list(VARIANTS) if number % 2 == 0 else list(reversed(VARIANTS))
            for name in order:
                spent_cpu, spent_wall = collect_once(directory, VARIANTS[name])
                cpu[name].append(spent_cpu)
                wall[name].append(spent_wall)
    medians = {
        name: {"cpu_s": statistics.median(cpu[name]), "wall_s": statistics.median(wall[name])}
        for name in VARIANTS
    }
    ratio = medians["plugin"]["cpu_s"] / medians["without"]["cpu_s"]
    thirds = [
        statistics.median(cpu["plugin"][part::3]) / statistics.median(cpu["without"][part::3])
        for part in range(3)
        if cpu["plugin"][part::3]
    ]
    return STARTUP.judge(ratio, tuple(thirds)), medians


def report(verdict: Verdict, medians: dict[str, dict[str, float]], repeat: int) -> None:
    print(f"pytest --co -q on a one-test project, {repeat} runs each, alternating:")
    for name, values in medians.items():
        cpu_ms, wall_ms = values["cpu_s"] * 1000, values["wall_s"] * 1000
        print(f"  {name:<8} CPU {cpu_ms:7.1f} ms   wall {wall_ms:7.1f} ms")
    wall_ratio = medians["plugin"]["wall_s"] / medians["without"]["wall_s"]
    print(f"  wall time plugin / without = {wall_ratio:.3f}x (report only)")
    print(f"  {verdict.line()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args(argv)
    verdict, medians = measure(args.repeat)
    report(verdict, medians, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
