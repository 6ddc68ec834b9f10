"""The HTML report: one self-contained file (inline CSS and SVG, no script, no font, nothing
fetched) with a table of every test's runs and, for each broken run or failed test (every run
with ``--resources-report-all-runs``), its timeline, broken rules and findings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from pathlib import Path
from typing import Any

from pytest_resources._report.json_file import HTML_MARKER, document
from pytest_resources._report.lanes import format_duration
from pytest_resources._report.svg import svg_timeline

_FAILED = {"failed", "error", "xpassed"}
_STYLE = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1d232a}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 6px}
.summary{color:#555;margin-bottom:14px}code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:4px 8px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
td.mono{word-break:break-word;max-width:28em}th{background:#f3f4f6}td.num{text-align:right}
.verdict-ok,.outcome-passed{color:#1a7f37}
.verdict-broken,.outcome-failed,.outcome-error{color:#cf222e;font-weight:600}
.outcome-skipped,.outcome-xfailed{color:#6e7781}
.scroll{overflow-x:auto;border:1px solid #ddd;border-radius:6px}
svg.timeline{font:11px ui-monospace,Menlo,Consolas,monospace;display:block}
.stripe0{fill:#fff}.stripe1{fill:#f6f8fa}.pid{fill:#6e7781}.axis{fill:#6e7781;font-size:11px}
.live{fill:#8cb4e6;opacity:.55}.call rect{fill:#dafbe1;stroke:#1a7f37}
.call.raised rect{fill:#ffebe9;stroke:#cf222e}
.call.fault rect{fill:#fff1c2;stroke:#bf8700;stroke-width:2}
.rule circle{fill:#cf222e}.rule text{fill:#fff;font-weight:700;font-size:11px}
.legend{color:#555;font-size:12px;margin:4px 0 8px}.rules li{margin-bottom:4px}.hint{color:#555}
"""


def write_html(path: Path, tests: Iterable[Mapping[str, Any]], *, all_runs: bool) -> None:
    path.write_text(render(document(tests)["tests"], all_runs=all_runs), encoding="utf-8")


def render(tests: list[Mapping[str, Any]], *, all_runs: bool) -> str:
    shown: list[tuple[str, Mapping[str, Any], Mapping[str, Any]]] = []
    rows = []
    for test in tests:
        for run in test["runs"]:
            anchor = ""
            if all_runs or run["verdict"] == "broken" or test["outcome"] in _FAILED:
                anchor = f"run-{len(shown) + 1}"
                shown.append((anchor, test, run))
            rows.append(_row(test, run, anchor))
    runs = sum(len(test["runs"]) for test in tests)
    broken = sum(run["verdict"] == "broken" for test in tests for run in test["runs"])
    pids = {pid for test in tests for run in test["runs"] for pid in run["processes"]}
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="en"><head>',
            HTML_MARKER,
            '<meta charset="utf-8"><meta name="viewport" content="width=device-width">',
            "<title>pytest-resources lifecycle report</title>",
            f"<style>{_STYLE}</style></head><body>",
            "<h1>pytest-resources lifecycle report</h1>",
            f'<p class="summary">{_count(len(tests), "test")}, {_count(runs, "run")} in '
            f"{_count(len(pids), 'process', 'processes')}; {_count(broken, 'run')} broke a rule "
            "or left something behind.</p>",
            '<table class="runs"><thead><tr><th>test</th><th>outcome</th><th>run</th>'
            "<th>resources</th><th>processes</th><th>calls</th><th>checks</th>"
            "<th>verdict</th><th>time</th></tr></thead><tbody>",
            *rows,
            "</tbody></table>",
            *(_section(anchor, test, run) for anchor, test, run in shown),
            "</body></html>\n",
        ]
    )


def _count(number: int, noun: str, plural: str = "") -> str:
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def _row(test: Mapping[str, Any], run: Mapping[str, Any], anchor: str) -> str:
    run_id = escape(run["run_id"][:8])
    run_cell = f'<a href="#{anchor}">{run_id}</a>' if anchor else run_id
    resources = ", ".join(resource["key"] for resource in run["resources"])
    return (
        f'<tr><td class="mono">{escape(test["nodeid"])}</td>'
        f'<td class="outcome-{escape(test["outcome"])}">{escape(test["outcome"])}</td>'
        f'<td class="mono">{run_cell}</td><td>{escape(resources)}</td>'
        f'<td class="num">{len(run["processes"])}</td><td class="num">{len(run["events"])}</td>'
        f"<td>{escape(', '.join(run['checks']))}</td>"
        f'<td class="verdict-{run["verdict"]}">{run["verdict"]}</td>'
        f'<td class="num">{format_duration(run["time_ns"])}</td></tr>'
    )


def _section(anchor: str, test: Mapping[str, Any], run: Mapping[str, Any]) -> str:
    parts = [
        f'<section class="run" id="{anchor}"><h2><span class="mono">'
        f"{escape(test['nodeid'])}</span>, run {escape(run['run_id'][:8])}: "
        f'<span class="verdict-{run["verdict"]}">{run["verdict"]}</span></h2>'
    ]
    if run["events"]:
        parts.append(f'<div class="scroll">{svg_timeline(run)}</div>')
        parts.append(f'<p class="legend">{escape(_LEGEND)}</p>')
    else:
        parts.append("<p>No lifecycle call was recorded.</p>")
    if run["violations"]:
        parts.append('<h3>Broken rules</h3><ol class="rules">')
        for violation in run["violations"]:
            at = ", ".join(f"#{sequence}" for sequence in violation["events"])
            parts.append(
                f'<li class="broken-rule" data-rule="{violation["rule"]}"><b>rule '
                f"{violation['rule']}</b> ({escape(violation['title'])}), resource "
                f"<code>{escape(violation['key'])}</code>{' at ' + at if at else ''}: "
                f"{escape(violation['message'])}"
                f'<div class="hint">hint: {escape(violation["hint"])}</div></li>'
            )
        parts.append("</ol>")
    if run["findings"]:
        parts.append('<h3>Found</h3><ul class="findings">')
        parts.extend(f"<li>{escape(finding)}</li>" for finding in run["findings"])
        parts.append("</ul>")
    parts.append("</section>")
    return "".join(parts)


_LEGEND = (
    "Boxes are hook calls, in the order they began (#: the call's number in the run): green "
    "returned, red raised, yellow \u26a1 the injected fault; a red disc is a broken rule, on "
    "the call where it shows; a blue bar is where a resource is set up. Hover a box for its "
    "outcome, duration and line."
)
