"""A run's lanes, one per process x resource key, and what happens in each: the one reading of
a run record (:mod:`.runs`) that both timelines, the text and the SVG, draw."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Short names of the hooks, as a lane's boxes and the text timeline show them.
HOOK_LABELS = {
    "setup_for_execution": "setup",
    "teardown_after_execution": "teardown",
    "create_resource": "create",
    "yield_for_execution": "yield",
    "yield_for_execution enter": "yield enter",
    "yield_for_execution exit": "yield exit",
}
# What opens a lane's span of being set up, and what closes it.
_OPENS = {"setup_for_execution", "yield_for_execution enter", "create_resource"}
_CLOSES = {"teardown_after_execution", "yield_for_execution exit"}


@dataclass(frozen=True)
class Lane:
    pid: int
    key: str

    @property
    def label(self) -> str:
        return f"pid {self.pid} {self.key}"


@dataclass
class Timeline:
    """A run's events in time order, the lane of each, the violations shown at each event (by
    sequence) and the rules broken where no event shows them."""

    lanes: list[Lane]
    events: list[Mapping[str, Any]]
    lane_of: dict[int, int]
    broken_at: dict[int, list[Mapping[str, Any]]] = field(default_factory=dict)
    unplaced_rules: list[int] = field(default_factory=list)
    # (lane, first slot, last slot): where a resource is set up, by slots of ``events``; the
    # last slot is len(events) for a resource never torn down.
    spans: list[tuple[int, int, int]] = field(default_factory=list)
    timed: bool = False


def timeline_of(run: Mapping[str, Any]) -> Timeline:
    events = list(run["events"])
    timed = bool(events) and all(e["started_ns"] for e in events)
    if timed:  # the step processes' events arrive after the test process's: order by time
        events.sort(key=lambda e: (e["started_ns"], e["sequence"]))
    lanes: dict[Lane, int] = {}
    lane_of = {}
    for event in events:
        lane_of[event["sequence"]] = lanes.setdefault(Lane(event["pid"], event["key"]), len(lanes))
    timeline = Timeline(list(lanes), events, lane_of, timed=timed)
    for violation in run["violations"]:
        placed = violation["events"]
        if placed:
            timeline.broken_at.setdefault(_last(placed, events), []).append(violation)
        else:
            timeline.unplaced_rules.append(violation["rule"])
    opened: dict[int, int] = {}
    for slot, event in enumerate(events):
        lane = lane_of[event["sequence"]]
        if event["hook"] in _OPENS and event["outcome"] == "returned":
            opened.setdefault(lane, slot)
        elif event["hook"] in _CLOSES and lane in opened:
            timeline.spans.append((lane, opened.pop(lane), slot))
    # Never closed: set up until the end of the run.
    timeline.spans.extend((lane, start, len(events)) for lane, start in opened.items())
    return timeline


def _last(sequences: list[int], events: list[Mapping[str, Any]]) -> int:
    """Of a violation's events, the one met last in time order."""
    order = {e["sequence"]: slot for slot, e in enumerate(events)}
    return max(sequences, key=lambda sequence: order.get(sequence, -1))


def describe_event(event: Mapping[str, Any], *, short: bool = False) -> str:
    """The event in words: its hook (``short``: its short name), outcome and duration."""
    outcome = f"raised {event['exception']}" if event["exception"] else event["outcome"]
    hook = HOOK_LABELS.get(event["hook"], event["hook"]) if short else event["hook"]
    return f"{hook} {outcome} in {format_duration(event['duration_ns'])}"


def format_duration(nanoseconds: int) -> str:
    if nanoseconds >= 1_000_000_000:
        return f"{nanoseconds / 1e9:.2f}s"
    if nanoseconds >= 1_000_000:
        return f"{nanoseconds / 1e6:.1f}ms"
    return f"{nanoseconds / 1e3:.0f}us"
