"""The text timeline of a failing run, for its failure report: time runs down, a column per
lane (process x resource key), each call on its own line with its outcome and duration, the
injected fault and the broken rules marked on the call where they happen. At most 100 columns;
a run with more lanes than fit gets none (the report's event lists stay)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytest_resources._report.lanes import Timeline, describe_event, timeline_of

WIDTH = 100
MAX_LANES = 10
_GLYPHS = {
    "setup_for_execution": "S",
    "teardown_after_execution": "T",
    "create_resource": "C",
    "yield_for_execution": "Y",
    "yield_for_execution enter": "Y",
    "yield_for_execution exit": "X",
}
LEGEND = "S setup  C create  Y/X yield enter/exit  T teardown  ! raised  * injected fault  | set up"


def text_timeline(run: Mapping[str, Any]) -> str:
    """The run's timeline, or "" when it has no events or more lanes than fit."""
    timeline = timeline_of(run)
    if not timeline.events or len(timeline.lanes) > MAX_LANES:
        return ""
    # Lanes are numbered, so that no lane is named like a call's letter.
    names = [str(number) for number in range(1, MAX_LANES + 1)]
    lines = [
        f"timeline of run {run['run_id'][:8]} ({len(timeline.lanes)} "
        f"lane{'s' if len(timeline.lanes) != 1 else ''}: a column per process x resource, "
        "time runs down by start):"
    ]
    lines.extend(
        _clip(line)
        for line in _wrap(
            [f"{names[i]} = {lane.label}" for i, lane in enumerate(timeline.lanes)], "    "
        )
    )
    lines.append(_clip(f"    {LEGEND}"))
    header = " ".join(names[i].ljust(2) for i in range(len(timeline.lanes))).rstrip()
    when = "+ms" if timeline.timed else ""
    lines.append(f"    {'#':>3} {when:>8}  {header}")
    lines.extend(_row(timeline, slot) for slot in range(len(timeline.events)))
    if timeline.unplaced_rules:
        rules = ", ".join(map(str, sorted(set(timeline.unplaced_rules))))
        lines.append(f"    rule(s) {rules} broken by the run as a whole (no call shows them)")
    return "\n".join(lines)


def _row(timeline: Timeline, slot: int) -> str:
    event = timeline.events[slot]
    lane = timeline.lane_of[event["sequence"]]
    cells = []
    for index in range(len(timeline.lanes)):
        if index == lane:
            mark = "*" if event["fault"] else "!" if event["outcome"] == "raised" else ""
            cells.append(f"{_GLYPHS.get(event['hook'], '?')}{mark}".ljust(2))
        elif any(s == index and start < slot < end for s, start, end in timeline.spans):
            cells.append("| ")
        else:
            cells.append(". ")
    when = ""
    if timeline.timed:
        when = f"{(event['started_ns'] - timeline.events[0]['started_ns']) / 1e6:.1f}"
    notes = ["<- injected fault"] if event["fault"] else []
    rules = sorted(
        {violation["rule"] for violation in timeline.broken_at.get(event["sequence"], ())}
    )
    if rules:
        notes.append(f"<- rule {', '.join(map(str, rules))} broken")
    text = f"{timeline.lanes[lane].key} {describe_event(event, short=True)}"
    prefix = f"    {event['sequence']:>3} {when:>8}  {' '.join(cells)}  "
    return _clip(prefix + text, " ".join(notes))


def _clip(line: str, notes: str = "") -> str:
    """``line`` and ``notes`` in at most WIDTH columns; the notes are never cut."""
    room = WIDTH - (len(notes) + 2 if notes else 0)
    if len(line) > room:
        line = line[: room - 3] + "..."
    return f"{line}  {notes}" if notes else line


def _wrap(items: list[str], indent: str) -> list[str]:
    lines: list[str] = []
    current = indent
    for item in items:
        if current.strip() and len(current) + len(item) + 3 > WIDTH:
            lines.append(current.rstrip())
            current = indent
        current += item + "   "
    lines.append(current.rstrip())
    return lines
