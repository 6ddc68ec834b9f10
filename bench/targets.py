"""The targets of issues 14 and 22 and how a measured ratio is judged against them.

Every ratio is measured with both sides interleaved in one run, so that load from anything
else on the machine hits both alike; see docs/performance.md.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """A ratio with its bound: ``at_most`` (lower is better) or ``at_least``."""

    row: int
    what: str
    bound: float
    at_most: bool

    def judge(self, value: float, spread: tuple[float, ...] = ()) -> Verdict:
        return Verdict(self, value, spread)


@dataclass(frozen=True)
class Verdict:
    target: Target
    value: float
    # The same ratio per round (or per repeat), to show how stable it is.
    spread: tuple[float, ...] = ()

    @property
    def met(self) -> bool:
        if self.target.at_most:
            return self.value <= self.target.bound
        return self.value >= self.target.bound

    def line(self) -> str:
        target = self.target
        sign = "<=" if target.at_most else ">="
        margin = abs(self.value - target.bound)
        verdict = f"met, {margin:.2f}x to spare" if self.met else f"NOT met, {margin:.2f}x short"
        per_round = " ".join(f"{x:.2f}" for x in self.spread)
        rounds = f"  (per round: {per_round})" if self.spread else ""
        return (
            f"target {target.row}: {target.what} = {self.value:.2f}x "
            f"(target {sign} {target.bound:g}x): {verdict}{rounds}"
        )


DEFAULT_OPEN = Target(
    1, "default run_context.open (audit on) / build_resources on a shared instance", 1.3, True
)
SCALE_CPU = Target(2, "CPU of a 3000-test suite, plugin / raw build_resources", 1.4, True)
PROPERTY = Target(
    3, "100-example property test, Dagster defaults / plugin run_context.check", 20.0, False
)
NESTED = Target(
    4, "nested resource, build_resources defaults / plugin open (no audit)", 20.0, False
)
STARTUP = Target(5, "pytest start-up, plugin installed and unused / -p no:resources", 1.05, True)

# Issue 22: what a user pays inside one test, collector on (bench/in_pytest.py, means).
IN_TEST_OPEN = Target(
    6, "run_context.open / build_resources on a shared instance, in one test", 1.15, True
)
IN_TEST_RUN = Target(7, "run() + open / the same, in one test", 1.15, True)
IN_TEST_NESTED = Target(8, "nested pair, run() + open / the same, in one test", 1.3, True)
IN_TEST_PROPERTY = Target(
    9, "100-example @given test, build_resources defaults / plugin run() + open", 20.0, False
)
