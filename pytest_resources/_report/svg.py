"""A run's timeline as inline SVG: a lane per process x resource key, a box per hook call in
the order the calls began (its outcome by colour, its details in a tooltip), a bar where the
resource is set up, the injected fault and each broken rule marked on the call where it
happens."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from pytest_resources._report.lanes import HOOK_LABELS, Timeline, describe_event, timeline_of

_LABEL_WIDTH = 190
_SLOT_WIDTH = 84
_LANE_HEIGHT = 34
_HEADER = 40
_PROCESS_COLOURS = ("#4e79a7", "#59a14f", "#b07aa1", "#9c755f", "#76b7b2", "#edc948")


def svg_timeline(run: Mapping[str, Any]) -> str:
    timeline = timeline_of(run)
    width = _LABEL_WIDTH + _SLOT_WIDTH * max(len(timeline.events), 1) + 10
    height = _HEADER + _LANE_HEIGHT * max(len(timeline.lanes), 1) + 6
    parts = [
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="lifecycle timeline of run {escape(run["run_id"][:8])}">'
    ]
    parts.extend(_lanes(timeline, width))
    parts.extend(_header(timeline))
    parts.extend(_spans(timeline))
    parts.extend(_calls(timeline))
    parts.append("</svg>")
    return "".join(parts)


def _lanes(timeline: Timeline, width: int) -> list[str]:
    processes = list(dict.fromkeys(lane.pid for lane in timeline.lanes))
    parts = []
    for index, lane in enumerate(timeline.lanes):
        y = _HEADER + index * _LANE_HEIGHT
        colour = _PROCESS_COLOURS[processes.index(lane.pid) % len(_PROCESS_COLOURS)]
        parts.append(
            f'<g class="lane" data-pid="{lane.pid}" data-key="{escape(lane.key)}">'
            f'<rect class="stripe{index % 2}" x="0" y="{y}" width="{width}" '
            f'height="{_LANE_HEIGHT}"/>'
            f'<rect x="0" y="{y}" width="6" height="{_LANE_HEIGHT}" fill="{colour}"/>'
            f'<text x="12" y="{y + 21}"><tspan class="pid">pid {lane.pid}</tspan> '
            f"{escape(_shorten(lane.key, 17))}</text></g>"
        )
    return parts


def _header(timeline: Timeline) -> list[str]:
    parts = ['<text class="axis" x="12" y="30">process, resource</text>']
    first = timeline.events[0]["started_ns"] if timeline.events else 0
    for slot, event in enumerate(timeline.events):
        x = _LABEL_WIDTH + slot * _SLOT_WIDTH + _SLOT_WIDTH // 2
        parts.append(
            f'<text class="axis" x="{x}" y="16" text-anchor="middle">#{event["sequence"]}</text>'
        )
        if timeline.timed:
            parts.append(
                f'<text class="axis" x="{x}" y="30" text-anchor="middle">'
                f"+{(event['started_ns'] - first) / 1e6:.1f}ms</text>"
            )
    return parts


def _spans(timeline: Timeline) -> list[str]:
    parts = []
    for lane, start, end in timeline.spans:
        x1 = _LABEL_WIDTH + start * _SLOT_WIDTH + _SLOT_WIDTH // 2
        x2 = _LABEL_WIDTH + min(
            end * _SLOT_WIDTH + _SLOT_WIDTH // 2, len(timeline.events) * _SLOT_WIDTH
        )
        y = _HEADER + lane * _LANE_HEIGHT + _LANE_HEIGHT // 2 - 3
        parts.append(f'<rect class="live" x="{x1}" y="{y}" width="{x2 - x1}" height="6"/>')
    return parts


def _calls(timeline: Timeline) -> list[str]:
    parts = []
    for slot, event in enumerate(timeline.events):
        lane = timeline.lane_of[event["sequence"]]
        x = _LABEL_WIDTH + slot * _SLOT_WIDTH + 4
        y = _HEADER + lane * _LANE_HEIGHT + 5
        kind = "fault" if event["fault"] else event["outcome"]
        label = HOOK_LABELS.get(event["hook"], event["hook"])
        if event["fault"]:
            label = f"\u26a1 {label}"
        tooltip = f"#{event['sequence']} pid {event['pid']} {event['key']}: {describe_event(event)}"
        if event["location"]:
            tooltip += f" (at {event['location']})"
        if event["fault"]:
            tooltip += " - the injected fault"
        parts.append(
            f'<g class="call {kind}" data-sequence="{event["sequence"]}">'
            f"<title>{escape(tooltip)}</title>"
            f'<rect x="{x}" y="{y}" width="{_SLOT_WIDTH - 8}" height="{_LANE_HEIGHT - 10}" '
            f'rx="4"/><text x="{x + (_SLOT_WIDTH - 8) // 2}" y="{y + 16}" '
            f'text-anchor="middle">{escape(label)}</text></g>'
        )
        for offset, violation in enumerate(timeline.broken_at.get(event["sequence"], ())):
            rule = violation["rule"]
            cx = x + _SLOT_WIDTH - 12 - offset * 16
            parts.append(
                f'<g class="rule" data-rule="{rule}"><title>rule {rule} broken by '
                f"{escape(violation['key'])}: {escape(violation['title'])}. "
                f"{escape(violation['message'])}</title>"
                f'<circle cx="{cx}" cy="{y}" r="8"/>'
                f'<text x="{cx}" y="{y + 4}" text-anchor="middle">{rule}</text></g>'
            )
    return parts


def _shorten(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "\u2026"
